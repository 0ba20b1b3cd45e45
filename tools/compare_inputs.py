"""Every model input kind on the real sets, one architecture, no successive halving (script).

    .venv/bin/python tools/compare_inputs.py [--epochs 12] [--arch cnn-s] [--shared ../shared/datasets]

Prints the selection table per set (pooled CV balanced accuracy under the `tinyheat tune`
protocol, training/cv.py). README "Two-channel and clipped relative input" reports its output; it
decides which input kinds the search space keeps (training/selection.py INPUT_KINDS).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from tinyheat.training.cv import plan_cv
from tinyheat.training.selection import ALL_INPUT_KINDS, ARCHITECTURES, format_table, search_space, select
from tinyheat.workflow import realsets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--arch", choices=sorted(ARCHITECTURES), default="cnn-s")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    a = ap.parse_args()
    for name in ("presence", "posture", "den16x12"):
        data = getattr(realsets, name)(a.shared)
        t0 = time.perf_counter()
        cands = search_space(a.epochs, inputs=ALL_INPUT_KINDS, architectures=(a.arch,))
        sel = select(data, plan_cv(data), cands, epochs=a.epochs, halving=False)
        print(f"== {name} ({len(data)} frames, {time.perf_counter() - t0:.0f} s)\n{format_table(sel)}", flush=True)


if __name__ == "__main__":
    main()
