"""A tinyheat dataset folder: ``<label>/<label>.<N>.jpg`` (+ ``.pgm``) and ``manifest.csv``.

Spec: ``datasets/FORMAT.md`` section 4. Every writer (ingest, import-frames, capture, the demo
simulator) adds samples through :class:`DatasetStore`, so naming, de-duplication, the
never-overwrite rule and crash safety live in one place.

Crash safety (FORMAT.md section 4, "Writing"): a sample is added in three steps,

1. its bytes go to hidden temporary files ``<label>/.<label>.<N>.jpg.partial`` (and ``.pgm.partial``);
2. its manifest row is appended with a single ``write`` (the commit point; on an error, e.g. a full
   disk, the manifest is cut back to its previous length);
3. the temporary files are linked to their final names (never replacing a file) and removed
   (a Ctrl-C here finishes this step before it stops the program).

One writer at a time: opening a store takes the dataset's writer lock (:mod:`.lock`, the
``filelock`` package; a second writer waits and says who holds it) and :meth:`DatasetStore.close`
gives it back. A dataset damaged by two writers of older versions at once (one file listed twice
in the manifest) is repaired when a store is opened: the row whose SHA-256 matches the file on
disk is kept, the others are dropped (their source is still where it was: re-run the command).

Opening a store repairs what an interruption (Ctrl-C, kill, full disk, power cut) left behind
and lists it in :attr:`DatasetStore.repairs`: a torn last manifest line is cut off, temporary
files whose row was committed are moved into place (roll forward), the others removed (roll
back). A re-run of the interrupted command then yields exactly the dataset an uninterrupted run
would have.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from . import sample_format as sf
from .lock import WriterLock

MANIFEST = "manifest.csv"
#: Suffix of a sample file being written (step 1 above); the name also starts with ".".
PARTIAL = ".partial"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class IndexSpaceFull(DatasetError):
    """The label's next index would exceed :data:`sample_format.MAX_INDEX`; nothing was written."""


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


_FILE_RE = re.compile(r"^(?P<folder>[^/]*)/(?P<name>[^/]*)$")


def _check_row(path: Path, line: int, r: dict) -> ManifestRow:
    """One manifest row -> ManifestRow, or DatasetError naming the row (1-based line of the file)."""
    where = f"{path}: row {line}"
    if None in r or any(r.get(k) is None for k in COLUMNS):
        n = sum(v is not None for k, v in r.items() if k is not None) + len(r.get(None) or [])
        raise DatasetError(f"{where} has {n} fields, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
    label = r["label"]
    if not sf.LABEL_RE.match(label):
        raise DatasetError(f"{where}: invalid label {label!r} (1-31 characters from A-Z a-z 0-9 _ -)")
    m = _FILE_RE.match(r["file"])
    sn = sf.parse_sample_name(m["name"]) if m else None
    if sn is None or m["folder"] != label or sn.label != label:
        raise DatasetError(f"{where}: file {r['file']!r} is not {label}/{label}.<N>.jpg inside the dataset")
    order = r["order"]
    if not order.isdigit():
        raise DatasetError(f"{where}: order {order!r} is not an integer >= 0")
    if not _SHA256_RE.match(r["sha256"]):
        raise DatasetError(f"{where}: sha256 {r['sha256']!r} is not 64 lower-case hex digits")
    return ManifestRow(r["file"], label, int(order), r["session"], r["millis"], r["ta_degC"], r["source"], r["sha256"])


def _parse_manifest(path: Path, text: str) -> list[ManifestRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = set(COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise DatasetError(f"{path}: manifest lacks columns {sorted(missing)}")
    rows, seen = [], {}
    for r in reader:
        row = _check_row(path, reader.line_num, r)
        if row.file in seen:
            raise DatasetError(f"{path}: row {reader.line_num} lists {row.file} again (first at row {seen[row.file]}; "
                               f"two writers at once?): `tinyheat ingest SRC --dataset {path.parent}` "
                               f"repairs it")
        seen[row.file] = reader.line_num
        rows.append(row)
    return rows


def read_manifest(dataset: str | Path) -> list[ManifestRow]:
    """Rows of ``DATASET/manifest.csv`` (empty list if there is none).

    Every row is checked against FORMAT.md section 4: 8 fields, a valid label, ``file`` exactly
    ``<label>/<label>.<N>.jpg`` (so never outside the dataset), ``order`` an integer >= 0, a
    SHA-256 hex digest, no file listed twice. Raises :class:`DatasetError` (a ValueError) naming
    the row, including for a torn last line left by an interrupted write (opening a
    :class:`DatasetStore` on the folder repairs that).
    """
    path = Path(dataset) / MANIFEST
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        raise DatasetError(f"{path}: the last row is incomplete (an interrupted write); run the "
                           f"interrupted command again (or `tinyheat ingest` into the dataset) to repair it")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DatasetError(f"{path}: row {line} is not UTF-8 (byte 0x{data[e.start]:02x}: saved as Latin-1 or "
                           f"Windows-1252 by an editor?); save the manifest as UTF-8") from None
    return _parse_manifest(path, text)


def _row_line(row: ManifestRow) -> bytes:
    """One manifest row as csv-module bytes (``\\r\\n`` line end, quoting as needed)."""
    buf = io.StringIO(newline="")
    csv.writer(buf).writerow((row.file, row.label, row.order, row.session, row.millis, row.ta_degC, row.source,
                              row.sha256))
    return buf.getvalue().encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _place(tmp: str | Path, final: str | Path) -> None:
    """Give ``tmp`` the name ``final`` without ever replacing a file; FileExistsError if it is taken."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise
    except OSError as e:  # file systems without hard links (FAT/exFAT): check, then rename
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
        os.rename(tmp, final)
        return
    os.unlink(tmp)


def _finish_place(tmp: str | Path, final: str | Path) -> None:
    """Idempotent end of :func:`_place` after an interruption: link if not yet there, drop the temporary name."""
    if os.path.lexists(tmp):
        if not os.path.lexists(final):
            _place(tmp, final)
        else:
            os.unlink(tmp)


class DatasetStore:
    """Append-only, crash-safe writer of a dataset folder (see the module docstring).

    >>> store = DatasetStore("data/mine")
    >>> row = store.add(label="face0", frame_degc=frame, session="import:x", source="x.csv")

    Opening repairs an interrupted write (listed in :attr:`repairs`, one line each). Raises
    :class:`DatasetError` for a manifest that violates the spec.
    """

    def __init__(self, dataset: str | Path, *, lock: bool = True):
        self.root = Path(dataset)
        self._fd: int | None = None
        self._lock: WriterLock | None = None
        #: What opening the store repaired (human-readable lines); empty if nothing.
        self.repairs: list[str] = []
        if lock:
            self._lock = WriterLock(self.root, "dataset").acquire()
        try:
            self._repair_manifest()
            self._repair_double_rows()
            self.rows = read_manifest(self.root)
        except BaseException:
            self.close()
            raise
        self.hashes = {r.sha256 for r in self.rows}
        self._next_order: dict[str, int] = {}
        for r in self.rows:
            self._next_order[r.label] = max(self._next_order.get(r.label, 0), r.order + 1)
        self._taken: dict[str, set[int]] = {}   # label -> indices with a file or a row
        self._next: dict[str, int] = {}         # label -> max taken + 1
        self._repair_partials()

    # -- opening and repair -------------------------------------------------------------------
    def _repair_manifest(self) -> None:
        path = self.root / MANIFEST
        if not path.exists():
            return
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            torn = data[keep:].decode("utf-8", "replace")
            with open(path, "r+b") as f:
                f.truncate(keep)
            self.repairs.append(f"{path}: removed an incomplete last row left by an interrupted write "
                                f"({torn[:40]}...)")

    def _repair_double_rows(self) -> None:
        """Rows listing one file twice (two writers of an older version at once): keep the row whose
        SHA-256 matches the file on disk, drop the others; files that match no row are renamed to
        ``.<name>.conflict`` (kept, out of the way). The manifest is rewritten atomically."""
        path = self.root / MANIFEST
        if not path.exists():
            return
        data = path.read_bytes()
        reader = csv.DictReader(io.StringIO(data.decode("utf-8", "replace"), newline=""))
        if set(COLUMNS) - set(reader.fieldnames or []):
            return  # read_manifest reports it
        rows = []
        for r in reader:
            try:
                rows.append(_check_row(path, reader.line_num, r))
            except DatasetError:
                return  # a row that violates the spec: read_manifest names it
        by_file: dict[str, list[ManifestRow]] = {}
        for r in rows:
            by_file.setdefault(r.file, []).append(r)
        doubles = {f: rs for f, rs in by_file.items() if len(rs) > 1}
        if not doubles:
            return
        drop: set[int] = set()
        for f, rs in doubles.items():
            jpg = self.root / f
            pgm = jpg.with_suffix(".pgm")
            try:
                digest = content_hash(jpg.read_bytes(), pgm.read_bytes() if pgm.exists() else None)
            except OSError:
                digest = None
            keep = next((r for r in rs if r.sha256 == digest), None)
            drop.update(id(r) for r in rs if r is not keep)
            if keep is None:
                for p in (jpg, pgm):
                    if p.exists():
                        os.replace(p, p.with_name(f".{p.name}.conflict"))
                self.repairs.append(f"{path}: {f} was listed {len(rs)} times (two writers at once) and matches "
                                    f"none of them: rows dropped, its files renamed to .{jpg.name}.conflict; "
                                    f"run the writing commands again to add the samples")
            else:
                self.repairs.append(f"{path}: {f} was listed {len(rs)} times (two writers at once): kept the row "
                                    f"matching the file, dropped {len(rs) - 1}; run the writing commands again "
                                    f"to add the dropped samples")
        kept = [r for r in rows if id(r) not in drop]
        tmp = path.with_name(f".{MANIFEST}.repair{PARTIAL}")
        _write_file(tmp, (",".join(COLUMNS) + "\r\n").encode() + b"".join(_row_line(r) for r in kept))
        os.replace(tmp, path)

    def _scan_label(self, label: str) -> None:
        """Fill the index cache of ``label`` from its folder (once per label and store)."""
        if label in self._taken:
            return
        taken = {int(r.file.rsplit(".", 2)[1]) for r in self.rows if r.label == label}
        folder = self.root / label
        if folder.is_dir():
            with os.scandir(folder) as it:
                for e in it:
                    name = e.name[:-4] + ".jpg" if e.name.endswith(".pgm") else e.name
                    sn = sf.parse_sample_name(name)
                    if sn is not None and sn.label == label:
                        taken.add(sn.index)
        self._taken[label] = taken
        self._next[label] = max(taken, default=-1) + 1

    def _repair_partials(self) -> None:
        by_file = {r.file: r for r in self.rows}
        if not self.root.is_dir():
            return
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and sf.LABEL_RE.match(p.name)):
            partials = sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(PARTIAL))
            stems = sorted({p.name[1:-len(PARTIAL) - 4] for p in partials})
            for stem in stems:
                jpg_tmp = folder / f".{stem}.jpg{PARTIAL}"
                pgm_tmp = folder / f".{stem}.pgm{PARTIAL}"
                row = by_file.get(f"{folder.name}/{stem}.jpg")
                final_jpg, final_pgm = folder / f"{stem}.jpg", folder / f"{stem}.pgm"
                if row is not None and self._roll_forward(row, jpg_tmp, pgm_tmp, final_jpg, final_pgm):
                    self.repairs.append(f"{folder.name}/{stem}.jpg: completed a sample whose manifest row "
                                        f"was written before the interruption")
                    continue
                for p in (jpg_tmp, pgm_tmp):
                    p.unlink(missing_ok=True)
                self.repairs.append(f"{folder.name}/{stem}.jpg: removed the unfinished files of a sample "
                                    f"that was never added (no manifest row)")

    @staticmethod
    def _roll_forward(row: ManifestRow, jpg_tmp: Path, pgm_tmp: Path, final_jpg: Path, final_pgm: Path) -> bool:
        """Move a committed sample's temporary files into place if they hold exactly its content."""
        jpg = jpg_tmp.read_bytes() if jpg_tmp.exists() else (final_jpg.read_bytes() if final_jpg.exists() else None)
        pgm = pgm_tmp.read_bytes() if pgm_tmp.exists() else (final_pgm.read_bytes() if final_pgm.exists() else None)
        if jpg is None or content_hash(jpg, pgm) != row.sha256:
            return False
        for tmp, final in ((pgm_tmp, final_pgm), (jpg_tmp, final_jpg)):
            if tmp.exists():
                if final.exists():
                    tmp.unlink()
                else:
                    _place(tmp, final)
        return True

    # -- adding ---------------------------------------------------------------------------------

    def _free_index(self, label: str, preferred: int | None) -> int:
        self._scan_label(label)
        if preferred is not None and 0 <= preferred <= sf.MAX_INDEX and preferred not in self._taken[label]:
            return preferred
        n = self._next[label]
        if n > sf.MAX_INDEX:
            raise IndexSpaceFull(f"label {label!r}: no index left ({label}.{sf.MAX_INDEX}.jpg is taken; "
                                 f"N goes up to {sf.MAX_INDEX}, datasets/FORMAT.md section 3): "
                                 f"store new samples under another label or in another dataset")
        return n

    def _take(self, label: str, n: int) -> None:
        self._taken[label].add(n)
        self._next[label] = max(self._next[label], n + 1)

    def add_bytes(self, label: str, jpg_bytes: bytes, pgm_bytes: bytes | None, *, session: str,
                  source: str, millis: str | int = "", ta_degC: str | float = "",
                  preferred_index: int | None = None) -> ManifestRow | None:
        """Store one already-validated sample; None if identical content is already in the dataset.

        The file keeps ``preferred_index`` when that name is free, else takes the next free index
        (``max(N) + 1`` of the label). The sample and its manifest row appear together or not at
        all. Raises SampleError (bad label), :class:`IndexSpaceFull`, OSError (e.g. ENOSPC: then
        nothing of this sample is left behind).
        """
        sf.check_label(label)
        digest = content_hash(jpg_bytes, pgm_bytes)
        if digest in self.hashes:
            return None
        folder = os.path.join(self.root, label)
        if label not in self._taken:
            os.makedirs(folder, exist_ok=True)
        if isinstance(ta_degC, float):
            ta_degC = f"{ta_degC:.2f}"
        n = self._free_index(label, preferred_index)
        while True:
            jpg_name, pgm_name = f"{label}.{n}.jpg", f"{label}.{n}.pgm"
            final_jpg, final_pgm = os.path.join(folder, jpg_name), os.path.join(folder, pgm_name)
            if os.path.lexists(final_jpg) or os.path.lexists(final_pgm):  # another writer took it
                self._take(label, n)
                n = self._free_index(label, None)
                continue
            tmp_jpg = os.path.join(folder, f".{jpg_name}{PARTIAL}")
            tmp_pgm = os.path.join(folder, f".{pgm_name}{PARTIAL}")
            row = ManifestRow(file=f"{label}/{jpg_name}", label=label, order=self._next_order.get(label, 0),
                              session=session, millis=str(millis), ta_degC=str(ta_degC), source=str(source),
                              sha256=digest)
            try:
                _write_file(tmp_jpg, jpg_bytes)
                if pgm_bytes is not None:
                    _write_file(tmp_pgm, pgm_bytes)
                self._append(row)
            except BaseException:
                for t in (tmp_jpg, tmp_pgm):
                    if os.path.lexists(t):
                        os.unlink(t)
                raise
            break
        self._take(label, n)
        self.rows.append(row)
        self.hashes.add(digest)
        self._next_order[label] = row.order + 1
        pairs = ([(tmp_pgm, final_pgm)] if pgm_bytes is not None else []) + [(tmp_jpg, final_jpg)]
        try:
            for tmp, final in pairs:
                _place(tmp, final)
        except KeyboardInterrupt:  # the row is committed: finish placing its files before stopping
            for tmp, final in pairs:
                _finish_place(tmp, final)
            raise
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
        """Append one row with a single write (the commit point); on failure cut the manifest back."""
        if self._fd is None:
            self._fd = os.open(os.path.join(self.root, MANIFEST), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        line = _row_line(row)
        size = os.fstat(self._fd).st_size
        data = line if size else (",".join(COLUMNS) + "\r\n").encode() + line
        try:
            _write_all(self._fd, data)
        except BaseException:
            os.ftruncate(self._fd, size)
            raise

    def close(self) -> None:
        """Close the manifest file and give back the writer lock (also done when the store is
        garbage-collected or its process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "DatasetStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
