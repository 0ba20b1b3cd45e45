"""A tinyheat dataset folder: ``<label>/<label>.<N>.jpg`` (+ ``.pgm``) and ``manifest.csv``.

Spec: ``datasets/FORMAT.md`` section 4. Every writer (ingest, import-frames, capture, the demo
simulator) adds samples through :class:`DatasetStore`, so naming, de-duplication and the
never-overwrite rule live in one place.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from . import sample_format as sf

MANIFEST = "manifest.csv"


@dataclass
class ManifestRow:
    file: str
    label: str
    order: int
    session: str
    millis: str = ""
    ta_degC: str = ""
    source: str = ""
    sha256: str = ""


COLUMNS = [f.name for f in fields(ManifestRow)]


def content_hash(jpg_bytes: bytes, pgm_bytes: bytes | None) -> str:
    """``sha256(jpg + pgm)`` hex digest (FORMAT.md section 4)."""
    return hashlib.sha256(jpg_bytes + (pgm_bytes or b"")).hexdigest()


def read_manifest(dataset: str | Path) -> list[ManifestRow]:
    """Rows of ``DATASET/manifest.csv`` (empty list if there is none). Raises ValueError on a bad header."""
    path = Path(dataset) / MANIFEST
    if not path.exists():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: manifest lacks columns {sorted(missing)}")
        return [ManifestRow(**{**{k: r[k] for k in COLUMNS}, "order": int(r["order"])}) for r in reader]


class DatasetStore:
    """Append-only writer of a dataset folder.

    >>> store = DatasetStore("data/mine")
    >>> row = store.add(label="face0", frame_degc=frame, session="import:x", source="x.csv")
    """

    def __init__(self, dataset: str | Path):
        self.root = Path(dataset)
        self.rows = read_manifest(self.root)
        self.hashes = {r.sha256 for r in self.rows}
        self._next_order: dict[str, int] = {}
        for r in self.rows:
            self._next_order[r.label] = max(self._next_order.get(r.label, 0), r.order + 1)

    def contains(self, sha256: str) -> bool:
        return sha256 in self.hashes

    def add_bytes(self, label: str, jpg_bytes: bytes, pgm_bytes: bytes | None, *, session: str,
                  source: str, millis: str | int = "", ta_degC: str | float = "",
                  preferred_index: int | None = None) -> ManifestRow | None:
        """Store one already-validated sample; None if identical content is already in the dataset.

        The file keeps ``preferred_index`` when that name is free, else takes the next free index.
        Files are created exclusively; the manifest row is appended after both files exist.
        """
        sf.check_label(label)
        digest = content_hash(jpg_bytes, pgm_bytes)
        if digest in self.hashes:
            return None
        folder = self.root / label
        folder.mkdir(parents=True, exist_ok=True)
        n = preferred_index if preferred_index is not None else sf.next_free_index(folder, label)
        while True:
            name = sf.SampleName(label, n)
            if not (folder / name.jpg).exists() and not (folder / name.pgm).exists():
                try:
                    with open(folder / name.jpg, "xb") as f:
                        f.write(jpg_bytes)
                except FileExistsError:
                    pass
                else:
                    if pgm_bytes is None:
                        break
                    try:
                        with open(folder / name.pgm, "xb") as f:
                            f.write(pgm_bytes)
                        break
                    except FileExistsError:
                        # Another writer took the .pgm name meanwhile: remove the .jpg just
                        # created here (never someone else's) so no half sample is left.
                        (folder / name.jpg).unlink()
            n = sf.next_free_index(folder, label)
        if isinstance(ta_degC, float):
            ta_degC = f"{ta_degC:.2f}"
        row = ManifestRow(file=f"{label}/{name.jpg}", label=label, order=self._next_order.get(label, 0),
                          session=session, millis=str(millis), ta_degC=str(ta_degC), source=str(source),
                          sha256=digest)
        self._append(row)
        return row

    def add(self, label: str, *, frame_degc=None, grey=None, session: str, source: str,
            millis: str | int = "", ta_degC: str | float = "") -> ManifestRow | None:
        """Encode a frame (degC (24, 32), or greyscale uint8 only) as JPEG (+ PGM) and store it."""
        if frame_degc is not None:
            frame_degc = sf.as_frame(frame_degc)
            grey = sf.to_grey(frame_degc)
        if grey is None:
            raise ValueError("need frame_degc or grey")
        jpg = sf.encode_jpeg(np.asarray(grey, dtype=np.uint8))
        pgm = sf.encode_pgm(frame_degc) if frame_degc is not None else None
        return self.add_bytes(label, jpg, pgm, session=session, source=source, millis=millis, ta_degC=ta_degC)

    def _append(self, row: ManifestRow) -> None:
        path = self.root / MANIFEST
        new = not path.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            if new:
                w.writeheader()
            w.writerow(asdict(row))
        self.rows.append(row)
        self.hashes.add(row.sha256)
        self._next_order[row.label] = row.order + 1
