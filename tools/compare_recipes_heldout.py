"""Held-out check of training recipes (issue 19): train on the first 80 % of each class in capture
order (3-frame gap), test on the last 20 %, float balanced accuracy, seeds 0-2 (mean +- SD).
The script behind the README's "default recipe" comparison; a benchmark, not a test.

Usage: ``python tools/compare_recipes_heldout.py VARIANT[,VARIANT...] SET[,SET...] [SHARED_DATASETS]``
SET: ``demo`` (datasets/demo) or a real set of ``tinyheat.workflow.realsets.REAL_SETS`` (needs
``../shared/datasets``). VARIANT: a key of ``VARIANTS`` below ("default(now)" is the current default;
"issue" the independent recipe quoted in issue 19; steps = optimizer steps, or a string = epochs).
"""
import math
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
import numpy as np
warnings.filterwarnings("ignore")
from tinyheat.workflow.realsets import REAL_SETS
from tinyheat.training.data import load_dataset
from tinyheat.training.selection import Trainer, input_spec, AUGMENT_FOR, ARCHITECTURES
from tinyheat.training.recipes import get_recipe
from tinyheat.training.cv import pooled_balanced_accuracy

REPO = Path(__file__).resolve().parents[1]
SH = Path(sys.argv[3]) if len(sys.argv) > 3 else REPO.parent / "shared" / "datasets"
def sets():
    for n in sys.argv[2].split(","):
        yield n, (load_dataset(REPO / "datasets" / "demo") if n == "demo" else REAL_SETS[n](SH))

def split(d, frac=0.2, gap=3):
    tr, te = [], []
    for c in range(len(d.labels)):
        idx = np.nonzero(d.y == c)[0]
        cut = int(round(len(idx) * (1 - frac)))
        tr.append(idx[:max(0, cut - gap)]); te.append(idx[cut:])
    return np.concatenate(tr), np.concatenate(te)

base = get_recipe("default")
ISSUE = replace(base, name="issue", input=input_spec("relative-clipped", None), conv=ARCHITECTURES["cnn-m"], dense=0,
                augment=AUGMENT_FOR["relative-clipped"], mixup_alpha=0.0, label_smoothing=0.05, learning_rate=3e-3,
                lr_schedule="cosine", batch_size=64)
VARIANTS = {
  "default(now)": (base, None),
  "issue": (ISSUE, 300),
  "issue+mixup": (replace(ISSUE, mixup_alpha=0.3), 300),
  "issue+dense16": (replace(ISSUE, dense=16), 300),
  "issue/window": (replace(ISSUE, input=input_spec("window-fixed", None), augment=AUGMENT_FOR["window-fixed"]), 300),
  "issue-k2s2": (replace(ISSUE, conv=((8, 2, 2, True), (16, 3, 1, True), (32, 3, 1, False))), 300),
  "issue-k4s4": (replace(ISSUE, conv=((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False))), 300),
  "k4s4-24ep-b32": (replace(ISSUE, batch_size=32, conv=((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False))), "24"),
  "k4s4-win": (replace(ISSUE, input=input_spec("window-fixed", None), augment=AUGMENT_FOR["window-fixed"], conv=((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False))), 300),
  "k4s4-40ep-b32": (replace(ISSUE, batch_size=32, conv=((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False))), "40"),
  "issue/24ep-b32": (replace(ISSUE, batch_size=32, lr_schedule="constant", learning_rate=2e-3, label_smoothing=0.0), "24"),
}
only = sys.argv[1].split(",") if len(sys.argv) > 1 else list(VARIANTS)
res = {}
for name, d in sets():
    tr, te = split(d)
    for v in only:
        r0, steps = VARIANTS[v]
        accs = []
        t0 = time.time()
        for seed in (0, 1, 2):
            if steps is None: ep = r0.epochs
            elif isinstance(steps, str): ep = int(steps)
            else: ep = max(3, math.ceil(steps * r0.batch_size / len(tr)))
            r = replace(r0, seed=seed, epochs=ep)
            t = Trainer(d.frames[tr], d.y[tr], len(d.labels), r)
            t.train_to(ep)
            accs.append(pooled_balanced_accuracy(d.y[te], t.predict(d.frames[te]).argmax(1)))
        res[(name, v)] = accs
        print(f"{name:<10} {v:<16} {np.mean(accs):.3f} +- {np.std(accs):.3f}  {[round(a,3) for a in accs]}  ep={ep} n={len(tr)}/{len(te)} {time.time()-t0:.0f}s", flush=True)
