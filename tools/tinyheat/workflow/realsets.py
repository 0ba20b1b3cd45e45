"""The labelled real recordings of ``../shared/datasets`` as in-memory datasets, for ``tinyheat bench``.

Each loader returns a :class:`tinyheat.training.data.LabelledFrames` (degC, 24 x 32, capture order
within each label, ``session`` = recording). The recordings themselves are described in
``../shared/datasets/README.md``; nothing here is copied into the repository.

- ``presence``: ``mlx90640-presence/{person,empty}.csv``, 220 frames each, one session per label.
- ``posture``: ``fir-action-ceiling``: the three ceiling recordings with their segment labels
  mapped to ``floor`` (lying, sleeping, falled), ``seated`` (sit, sitdown) and ``upright`` (walk,
  stand, standup, active); ``falling`` (a transition) and unlabelled frames are left out;
  ``upright`` keeps every 5th frame (it is 10x the other classes at 8 frames/s).
- ``den16x12``: ``mlx90641-den`` (MLX90641, 16 x 12, 15.6 frames/s): ``empty`` (frames 0-2039) and
  ``person`` (2102-4403, at the computer), every 8th frame, each pixel repeated 2 x 2 to 24 x 32.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..session.importers import from_time_csv
from ..training.data import LabelledFrames

POSTURE = {"lying": "floor", "sleeping": "floor", "falled": "floor", "sit": "seated", "sitdown": "seated",
           "walk": "upright", "stand": "upright", "standup": "upright", "active": "upright"}


def _assemble(parts: list[tuple[str, str, np.ndarray]]) -> LabelledFrames:
    """parts: (label, session, frames (n, 24, 32)) in capture order -> LabelledFrames sorted by label."""
    labels = sorted({p[0] for p in parts})
    frames, y, session, order = [], [], [], []
    for lab in labels:
        k = 0
        for plab, sess, f in parts:
            if plab != lab:
                continue
            frames.append(f)
            y += [labels.index(lab)] * len(f)
            session += [sess] * len(f)
            order += list(range(k, k + len(f)))
            k += len(f)
    n = len(y)
    return LabelledFrames(np.concatenate(frames).astype(np.float32), np.array(y), labels, np.array(order),
                          np.array(session), np.array([f"#{i}" for i in range(n)]))


def presence(shared: Path) -> LabelledFrames:
    d = Path(shared) / "mlx90640-presence"
    return _assemble([(lab, lab, np.loadtxt(d / f"{lab}.csv", delimiter=",").reshape(-1, 24, 32))
                      for lab in ("empty", "person")])


def posture(shared: Path, upright_stride: int = 5) -> LabelledFrames:
    d = Path(shared) / "fir-action-ceiling"
    parts = []
    with open(d / "labels.csv", newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].endswith(".csv"):
                continue
            px = np.asarray(from_time_csv(d / row[0]).frames)  # (n, 24, 32) degC, the session importer
            trip = [t for t in row[1:] if t != ""]
            for s, e, action in zip(trip[0::3], trip[1::3], trip[2::3]):
                lab = POSTURE.get(action)
                if lab is None:
                    continue
                seg = px[int(s):int(e)]
                if lab == "upright":
                    seg = seg[::upright_stride]
                parts.append((lab, row[0][:15], seg))
    return _assemble(parts)


def den16x12(shared: Path, stride: int = 8) -> LabelledFrames:
    d = Path(shared) / "mlx90641-den"
    px = np.asarray(from_time_csv(d / "frames.csv").frames).repeat(2, axis=1).repeat(2, axis=2)  # 12x16 -> 24x32
    return _assemble([("empty", "den", px[0:2040:stride]), ("person", "den", px[2102:4404:stride])])


REAL_SETS = {"presence": presence, "posture": posture, "den16x12": den16x12}
