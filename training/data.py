"""Load a dataset folder and split it by capture order, never by random frame.

Consecutive thermal frames are near-duplicates (a few Hz of a slowly moving subject), so a random
split puts copies of test frames into training and reports fake accuracy (the original Wio
Terminal project reported 100 % validation accuracy that way). Every split here cuts each class
into contiguous blocks of its capture order and drops ``gap`` frames around each cut.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..dataset import store as ds
from ..dataset import sample_format as sf


@dataclass
class LabelledFrames:
    """Frames of one dataset folder, sorted by (label, capture order).

    frames: (n, 24, 32) float32 degC (from the PGM sidecar, else the JPEG's inverse mapping).
    y: (n,) int class index into ``labels``; order: (n,) capture order within the label;
    session: (n,) str; files: (n,) str paths relative to the dataset folder.
    """

    frames: np.ndarray
    y: np.ndarray
    labels: list[str]
    order: np.ndarray
    session: np.ndarray
    files: np.ndarray
    root: str = ""

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> "LabelledFrames":
        idx = np.asarray(idx, dtype=int)
        return LabelledFrames(self.frames[idx], self.y[idx], self.labels, self.order[idx], self.session[idx],
                              self.files[idx], self.root)

    def counts(self) -> dict[str, int]:
        return {lab: int((self.y == i).sum()) for i, lab in enumerate(self.labels)}


def load_dataset(root: str | Path, labels: list[str] | None = None) -> LabelledFrames:
    """Read ``root/manifest.csv`` and every sample it lists.

    labels: the class order to use (e.g. a trained model's); None -> sorted labels of the dataset.
    Raises FileNotFoundError if there is no manifest, ValueError if the dataset is empty or holds a
    label that is not in ``labels``; a sample that does not decode raises SampleError naming the file.
    """
    root = Path(root)
    if not (root / ds.MANIFEST).exists():
        raise FileNotFoundError(f"{root} has no {ds.MANIFEST}: create the dataset with `tinyheat ingest` "
                                f"or `tinyheat import-frames`")
    rows = ds.read_manifest(root)
    if not rows:
        raise ValueError(f"{root}/{ds.MANIFEST} lists no samples")
    found = sorted({r.label for r in rows})
    labels = list(labels) if labels is not None else found
    unknown = set(found) - set(labels)
    if unknown:
        raise ValueError(f"dataset {root} has labels {sorted(unknown)} that the model does not know ({labels})")
    rows.sort(key=lambda r: (labels.index(r.label), r.order))
    frames = np.empty((len(rows), sf.ROWS, sf.COLS), dtype=np.float32)
    for i, r in enumerate(rows):
        try:
            frames[i] = sf.read_sample(root / r.file).temperatures()
        except sf.SampleError as e:
            raise sf.SampleError(f"{root / r.file}: {e}") from None
    return LabelledFrames(
        frames=frames,
        y=np.array([labels.index(r.label) for r in rows], dtype=int),
        labels=labels,
        order=np.array([r.order for r in rows], dtype=int),
        session=np.array([r.session for r in rows]),
        files=np.array([r.file for r in rows]),
        root=str(root),
    )


@dataclass
class Split:
    """Indices into a LabelledFrames: train / val (early stopping) / test, plus how they were cut."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    description: dict = field(default_factory=dict)


def _blocks(n: int, fractions: list[float]) -> list[tuple[int, int]]:
    """Cut range(n) into contiguous [start, end) blocks with the given fractions (summing to 1)."""
    edges = np.round(np.cumsum([0.0] + fractions) * n).astype(int)
    edges[-1] = n
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _take(idx: np.ndarray, start: int, end: int, n: int, gap: int, trim_start: bool, trim_end: bool) -> np.ndarray:
    a = start + (gap if trim_start and start > 0 else 0)
    b = end - (gap if trim_end and end < n else 0)
    return idx[a:max(a, b)]


def holdout_split(data: LabelledFrames, val_fraction: float = 0.15, test_fraction: float = 0.2,
                  gap: int = 3) -> Split:
    """Per class in capture order: first part train, then a val block, last block test.

    ``gap`` frames are dropped on both sides of each cut so near-duplicates do not straddle it.
    Raises ValueError when a class is too small to give every block at least one frame.
    """
    train, val, test = [], [], []
    for c in range(len(data.labels)):
        idx = np.nonzero(data.y == c)[0]  # already in capture order
        n = len(idx)
        (a0, a1), (b0, b1), (c0, c1) = _blocks(n, [1 - val_fraction - test_fraction, val_fraction, test_fraction])
        tr = _take(idx, a0, a1, n, gap, False, True)
        va = _take(idx, b0, b1, n, gap, True, True)
        te = _take(idx, c0, c1, n, gap, True, False)
        if min(len(tr), len(va), len(te)) == 0:
            raise ValueError(f"class {data.labels[c]!r} has {n} samples: too few for a capture-order split "
                             f"with gap {gap} (need about {int(3 * gap / min(val_fraction, test_fraction)) + 3})")
        train.append(tr)
        val.append(va)
        test.append(te)
    return Split(np.concatenate(train), np.concatenate(val), np.concatenate(test),
                 {"kind": "capture-order holdout", "per_class": "train | val | test as contiguous blocks",
                  "val_fraction": val_fraction, "test_fraction": test_fraction, "gap_frames": gap})


def kfold_splits(data: LabelledFrames, folds: int = 5, val_fraction: float = 0.15, gap: int = 3) -> list[Split]:
    """k-fold cross-validation over contiguous capture-order blocks of each class.

    Fold k tests block k of every class; training uses the other blocks minus ``gap`` frames on each
    side of the test block; the val block (early stopping) is the last ``val_fraction`` of the
    training frames that come before the test block (or after it, for fold 0), also gapped.
    """
    splits = []
    for k in range(folds):
        train, val, test = [], [], []
        for c in range(len(data.labels)):
            idx = np.nonzero(data.y == c)[0]
            n = len(idx)
            t0, t1 = _blocks(n, [1 / folds] * folds)[k]
            te = idx[t0:t1]
            rest = np.r_[np.arange(0, max(0, t0 - gap)), np.arange(min(n, t1 + gap), n)].astype(int)
            nval = max(1, int(round(val_fraction * len(rest))))
            # val: the contiguous run of `rest` nearest below the test block, else just above it
            below = rest[rest < t0]
            v = below[-nval:] if len(below) >= nval else rest[rest >= t1][:nval]
            tr = np.setdiff1d(rest, np.arange(v.min() - gap, v.max() + gap + 1))
            train.append(idx[tr])
            val.append(idx[v])
            test.append(te)
        splits.append(Split(np.concatenate(train), np.concatenate(val), np.concatenate(test),
                            {"kind": "capture-order k-fold", "fold": k, "folds": folds, "gap_frames": gap,
                             "val_fraction": val_fraction}))
    return splits
