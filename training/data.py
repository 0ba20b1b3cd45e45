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


