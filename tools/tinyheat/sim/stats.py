"""Print per-label statistics of a dataset and how separable its classes are (a check, not a test).

    python -m tinyheat.sim.stats [DATASET]        (default: datasets/demo)

For each label: sample and session counts, median / max temperature (degC), share of pixels
above 30 degC, size of the largest >30 degC blob (pixels), Ta - median frame temperature (K).
Then two scikit-learn baselines trained on all sessions but the last and tested on the last
(split by capture session, because neighbouring frames are near-duplicates):

* ``hot-blob``: logistic regression on (max, p95, share > 30 degC, largest blob size) only,
  i.e. "is there a warm blob": it should NOT be enough to tell the classes apart well;
* ``pixels``: logistic regression on all 768 pixels minus the frame median.

Reads frames through ``read_sample`` (the PGM sidecar when present, else the JPEG inverse map).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from ..dataset.store import read_manifest
from ..dataset.sample_format import read_sample


def load(dataset: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frames (n, 24, 32) degC, labels (n,), sessions (n,), ta (n,) degC or NaN) in manifest order."""
    rows = read_manifest(dataset)
    if not rows:
        raise SystemExit(f"{dataset}: no manifest.csv or no rows")
    frames = np.array([read_sample(dataset / r.file).temperatures() for r in rows], dtype=np.float32)
    ta = np.array([float(r.ta_degC) if r.ta_degC else np.nan for r in rows])
    return frames, np.array([r.label for r in rows]), np.array([r.session for r in rows]), ta


def blob_features(frames: np.ndarray, thresh_degc: float = 30.0) -> np.ndarray:
    """(n, 4): max, 95th percentile, share of pixels > thresh, largest connected >thresh blob (px)."""
    feats = []
    for f in frames:
        lab, n = ndi.label(f > thresh_degc)
        biggest = np.bincount(lab.ravel())[1:].max() if n else 0
        feats.append([f.max(), np.percentile(f, 95), (f > thresh_degc).mean(), biggest])
    return np.array(feats, dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    args = sys.argv[1:] if argv is None else argv
    dataset = Path(args[0] if args else "datasets/demo")
    frames, labels, sessions, ta = load(dataset)
    feats = blob_features(frames)
    med = np.median(frames.reshape(len(frames), -1), axis=1)
    print(f"{dataset}: {len(frames)} samples")
    print(f"{'label':8} {'n':>4} {'sess':>4} {'median':>7} {'max':>6} {'>30C':>6} {'blob':>5} {'Ta-med':>6}")
    classes = sorted(str(c) for c in set(labels))
    for c in classes:
        m = labels == c
        print(f"{c:8} {m.sum():4d} {len(set(sessions[m])):4d} {np.median(med[m]):7.2f} {feats[m, 0].mean():6.2f} "
              f"{feats[m, 2].mean():6.3f} {feats[m, 3].mean():5.1f} {np.nanmean(ta[m] - med[m]):6.2f}")
    order = [str(s) for s in dict.fromkeys(sessions)]
    test = sessions == order[-1]
    print(f"split: train sessions {order[:-1]} ({(~test).sum()} samples), test session {order[-1]} ({test.sum()})")
    pixels = frames.reshape(len(frames), -1) - med[:, None]
    for name, x in (("hot-blob", feats), ("pixels", pixels)):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        clf.fit(x[~test], labels[~test])
        pred = clf.predict(x[test])
        print(f"{name:9} accuracy on the held-out session: {(pred == labels[test]).mean():.3f} "
              f"(chance {1 / len(classes):.3f}); confusion rows=true {classes}:")
        print(confusion_matrix(labels[test], pred, labels=classes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
