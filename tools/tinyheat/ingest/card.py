"""``tinyheat ingest SRC --dataset DIR``: copy new samples from an SD card (or any folder,
including another dataset folder) into a dataset folder.

Spec: ``datasets/FORMAT.md`` sections 3 and 4. The logic is the plain function :func:`ingest`;
:data:`ingest_cmd` is the thin click adapter.

What is a sample in SRC (searched recursively; hidden files/dirs are skipped):

- ``<label>.<N>.jpg`` anywhere: label and preferred index N come from the file name;
- any other ``*.jpg`` / ``*.jpeg`` inside a sub-folder whose name is a valid label
  (``face0/IMG_0001.jpg``): label from the folder, next free N in the dataset;
- a ``.pgm`` with the same stem as the JPEG is its lossless sidecar.

Every sample is validated before anything is written: the JPEG must decode, be 32 x 24, 1- or
3-channel greyscale (R = G = B within :data:`COLOUR_TOLERANCE`); a sidecar, if present, must
decode as FORMAT.md section 3 says. A bad sidecar rejects the whole sample. Rejected files are
reported with their reason and never stop the run. Well-known non-sample files
(:data:`IGNORED_NAMES`, hidden files) are skipped silently; the device's own files
(:data:`DEVICE_FILE_RE`: its EEPROM backup) are listed as device files, not as rejected; every
other file is reported.

Metadata and capture order: a ``captures.csv`` (FORMAT.md section 3) or ``manifest.csv``
(section 4) in a folder of SRC gives session, millis, Ta and order for the files it lists;
samples it lists are stored in its row order (``manifest.csv``: by label then ``order``).
Samples listed nowhere come after them, ordered by session then N then path.

Content is copied byte for byte through :meth:`DatasetStore.add_bytes`, which de-duplicates by
``sha256(jpg + pgm)`` and never overwrites a file (a taken name gets the next free N).
"""
from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np
from PIL import Image
from tqdm import tqdm

from ..dataset import sample_format as sf
from ..dataset.store import MANIFEST, DatasetStore, ManifestRow, content_hash, read_manifest

CAPTURES = "captures.csv"
CAPTURES_COLUMNS = ("file", "label", "index", "session", "millis", "ta_degC")
#: Files that belong on the SD card / in a dataset but are not samples: skipped silently.
IGNORED_NAMES = frozenset({CAPTURES, MANIFEST, "labels.txt", "session.txt", "Thumbs.db", "desktop.ini"})
#: Files the device writes on its card besides samples: the sensor's calibration EEPROM backup
#: ``mlx90640_ee_<device ID as 3 x 4 hex digits>.bin`` (firmware/lib/tinyheat_core/th_device.h
#: TH_EEPROM_FILE_PREFIX and th_device.c th_device_eeprom_name). Listed as device files, not samples.
EEPROM_FILE_PREFIX = "mlx90640_ee_"
DEVICE_FILE_RE = re.compile(re.escape(EEPROM_FILE_PREFIX) + r"[0-9a-f]{12}\.bin", re.IGNORECASE)
#: Folders created by operating systems on removable media: skipped silently (hidden ones too).
IGNORED_DIRS = frozenset({"System Volume Information", "$RECYCLE.BIN", "LOST.DIR"})
JPEG_SUFFIXES = (".jpg", ".jpeg")
#: Largest |R - G| or |G - B| (grey levels) accepted in a 3-channel JPEG. A grey image saved as
#: RGB decodes with R = G = B exactly (Cb = Cr = 128); a little slack covers other encoders.
COLOUR_TOLERANCE = 8
#: Duplicates listed one by one in the summary (a re-run would otherwise list every sample).
MAX_LISTED_DUPLICATES = 10


@dataclass(frozen=True)
class Rejected:
    """A file of SRC that was not ingested, and why."""

    path: Path
    reason: str


@dataclass
class IngestReport:
    """Outcome of :func:`ingest`.

    ``added``: manifest rows appended (in capture order); ``duplicates``: (file in SRC, dataset
    file that already holds the same content); ``rejected``: files not ingested with the reason;
    ``notes``: non-fatal remarks (e.g. a ``captures.csv`` row naming a missing file);
    ``device_files``: the device's own files (its EEPROM backup), left alone.
    """

    added: list[ManifestRow] = field(default_factory=list)
    duplicates: list[tuple[Path, str]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    device_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def processed(self) -> int:
        """Number of valid samples seen (added + duplicates)."""
        return len(self.added) + len(self.duplicates)


@dataclass
class _Meta:
    """What a capture log says about one JPEG."""

    session: str = ""
    millis: str = ""
    ta_degC: str = ""
    seq: tuple = ()  # sort key within logged samples: (log number, row position)


@dataclass
class _Candidate:
    jpg: Path
    pgm: Path | None
    label: str
    index: int | None  # N from the file name, None for folder-labelled files
    meta: _Meta | None = None


def _resolve(path: Path, what: str) -> Path:
    """``path.resolve()``; a symbolic link loop becomes an OSError(ELOOP) naming ``path``."""
    try:
        return path.resolve()
    except RuntimeError:  # Python < 3.13 raises RuntimeError("Symlink loop ...")
        raise OSError(errno.ELOOP, f"cannot resolve the {what} path", str(path)) from None


def _safe_resolve(path: Path) -> Path | None:
    """``path.resolve()``, or None for a symbolic link loop / unreadable path."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def _regular_files(folder: Path, names: list[str], report: "IngestReport") -> list[str]:
    """The names that are regular files (symbolic links followed). A FIFO, socket or device would
    block or mislead a read, a link loop or a broken link cannot be read: each is skipped with a note."""
    keep = []
    for name in names:
        path = folder / name
        try:
            st = os.stat(path)
        except OSError as e:
            if _is_hidden(name):
                continue
            why = ("a symbolic link loop" if e.errno == errno.ELOOP else
                   "a broken symbolic link" if os.path.islink(path) else f"unreadable ({e.strerror or e})")
            report.rejected.append(Rejected(path, f"{why}; skipped"))
            continue
        if stat.S_ISREG(st.st_mode):
            keep.append(name)
        elif not _is_hidden(name):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else \
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
            report.notes.append(f"{path}: {kind}, not a file; skipped")
    return keep


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(src: Path, skip: Path | None, report: "IngestReport | None" = None):
    """Yield (folder, file names) for SRC and its sub-folders, sorted, hidden/system folders and ``skip`` pruned."""
    def unreadable(e: OSError) -> None:
        if report is not None:
            report.rejected.append(Rejected(Path(e.filename or src), f"folder not readable: {e.strerror or e}"))

    for dirpath, dirnames, filenames in os.walk(src, onerror=unreadable):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d) and d not in IGNORED_DIRS
                             and (skip is None or _resolve(here / d, "folder") != skip))
        yield here, sorted(filenames)


def _read_log(path: Path, report: IngestReport, log_no: int) -> dict[Path, _Meta]:
    """Read a ``captures.csv`` or ``manifest.csv``; {resolved JPEG path: metadata}. Problems go to ``report.notes``."""
    folder = path.parent
    out: dict[Path, _Meta] = {}
    try:
        if path.name == MANIFEST:
            rows = sorted(read_manifest(folder), key=lambda r: (r.label, r.order))
            for pos, r in enumerate(rows):
                target = _safe_resolve(folder / r.file)
                if target is not None:
                    out[target] = _Meta(r.session, r.millis, r.ta_degC, (log_no, pos))
            return out
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.DictReader(f)
            missing = set(CAPTURES_COLUMNS) - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"lacks columns {sorted(missing)}")
            for pos, r in enumerate(reader):
                name = (r.get("file") or "").strip()
                label = (r.get("label") or "").strip()
                if not name:
                    report.notes.append(f"{path}: row {pos + 2} has no file name; ignored")
                    continue
                # The firmware writes bare names; accept them beside the log or in <label>/.
                candidates = [folder / name] + ([folder / label / name] if label else [])
                target = next((c for c in candidates if _safe_resolve(c) is not None and c.is_file()), None)
                if target is None:
                    report.notes.append(f"{path}: row {pos + 2} names {name}, which is not there")
                    continue
                out[target.resolve()] = _Meta((r.get("session") or "").strip(), (r.get("millis") or "").strip(),
                                              (r.get("ta_degC") or "").strip(), (log_no, pos))
    except (OSError, ValueError, csv.Error) as e:
        msg = " ".join(str(e).split())
        report.notes.append(f"{path}: capture log not used ({msg}); order falls back to session then N")
        return {}
    return out


def _scan(src: Path, skip: Path | None, report: IngestReport) -> list[_Candidate]:
    """Find sample candidates in SRC; unexpected files go to ``report.rejected``."""
    candidates: list[_Candidate] = []
    logs: dict[Path, _Meta] = {}
    log_no = 0
    for folder, names in _walk(src, skip, report):
        names = _regular_files(folder, names, report)
        present = set(names)
        claimed_pgm: set[str] = set()
        for name in names:
            if name in (CAPTURES, MANIFEST):
                logs.update(_read_log(folder / name, report, log_no))
                log_no += 1
        for name in names:
            path = folder / name
            if _is_hidden(name) or name in IGNORED_NAMES or name.lower().endswith(".pgm"):
                continue
            if DEVICE_FILE_RE.fullmatch(name):
                report.device_files.append(path)
                continue
            stem, suffix = os.path.splitext(name)
            if suffix.lower() not in JPEG_SUFFIXES:
                report.rejected.append(Rejected(path, "not a sample: expected <label>.<N>.jpg (+ .pgm sidecar)"))
                continue
            sn = sf.parse_sample_name(name)
            if sn is not None:
                label, index = sn.label, sn.index
            elif folder != src and sf.LABEL_RE.match(folder.name):
                label, index = folder.name, None
            else:
                why = ("the name is not <label>.<N>.jpg" if folder == src else
                       f"the name is not <label>.<N>.jpg and the folder name {folder.name!r} is not a valid label")
                report.rejected.append(Rejected(path, f"no label: {why}"))
                continue
            pgm_name = stem + ".pgm"
            pgm = folder / pgm_name if pgm_name in present else None
            if pgm is not None:
                claimed_pgm.add(pgm_name)
            candidates.append(_Candidate(path, pgm, label, index))
        for name in names:
            if name.lower().endswith(".pgm") and not _is_hidden(name) and name not in claimed_pgm:
                report.rejected.append(Rejected(folder / name, "orphan sidecar: no .jpg with the same stem"))
    for c in candidates:
        c.meta = logs.get(_safe_resolve(c.jpg))
    return candidates


def _order_key(c: _Candidate):
    """Logged samples first in log order; then by session, N, path (FORMAT.md section 4 ``order``)."""
    if c.meta is not None:
        return (0, c.meta.seq, "", -1, str(c.jpg))
    return (1, (), "", c.index if c.index is not None else -1, str(c.jpg))


def validate_sample(jpg_bytes: bytes, pgm_bytes: bytes | None) -> None:
    """Check one sample's bytes against FORMAT.md section 3; raise :class:`SampleError` saying why.

    JPEG: decodes, 32 x 24, mode L or RGB with R = G = B (within :data:`COLOUR_TOLERANCE` grey
    levels). Sidecar: a 16-bit 32 x 24 binary PGM (``sample_format.decode_pgm``).
    """
    sf.decode_jpeg(jpg_bytes)
    with Image.open(io.BytesIO(jpg_bytes)) as im:
        if im.mode == "RGB":
            a = np.asarray(im, dtype=np.int16)
            spread = int(max(np.abs(a[..., 0] - a[..., 1]).max(), np.abs(a[..., 1] - a[..., 2]).max()))
            if spread > COLOUR_TOLERANCE:
                raise sf.SampleError(f"colour JPEG (R, G, B differ by up to {spread}), expected greyscale")
    if pgm_bytes is not None:
        try:
            sf.decode_pgm(pgm_bytes)
        except sf.SampleError as e:
            raise sf.SampleError(f"bad sidecar: {e}") from None


def ingest(src: str | Path, dataset: str | Path, *, progress: bool = False) -> IngestReport:
    """Copy the valid, new samples of folder ``src`` into dataset folder ``dataset``.

    Returns an :class:`IngestReport`; nothing in ``src`` is modified and no dataset file is ever
    overwritten. Re-running with the same ``src`` adds nothing.

    Raises FileNotFoundError if ``src`` does not exist, NotADirectoryError if it is not a
    folder, ValueError if ``src`` and ``dataset`` are the same folder or the dataset's
    ``manifest.csv`` is unreadable.
    """
    src, dataset = Path(src), Path(dataset)
    src_real, dataset_real = _resolve(src, "source"), _resolve(dataset, "dataset")
    if not src.exists():
        raise FileNotFoundError(f"source folder {src} does not exist (is the SD card mounted?)")
    if not src.is_dir():
        raise NotADirectoryError(f"source {src} is not a folder")
    if not os.access(src, os.R_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "source folder is not readable", str(src))
    if src_real == dataset_real:
        raise ValueError(f"source and dataset are the same folder ({src})")
    with DatasetStore(dataset) as store:
        return _ingest_into(store, src, dataset_real, progress)


def _ingest_into(store: DatasetStore, src: Path, dataset_real: Path, progress: bool) -> IngestReport:
    report = IngestReport()
    report.notes.extend(f"repaired: {r}" for r in store.repairs)
    held_by = {r.sha256: r.file for r in store.rows}
    # A dataset kept on the card itself must not be re-read as a source.
    candidates = sorted(_scan(src, dataset_real, report), key=_order_key)
    for c in tqdm(candidates, desc="ingest", unit="sample", disable=None if progress else True, leave=False):
        try:
            jpg_bytes = c.jpg.read_bytes()
            pgm_bytes = c.pgm.read_bytes() if c.pgm is not None else None
            validate_sample(jpg_bytes, pgm_bytes)
        except sf.SampleError as e:
            report.rejected.append(Rejected(c.jpg, str(e)))
            continue
        except OSError as e:
            report.rejected.append(Rejected(c.jpg, f"unreadable: {e.strerror or e}"))
            continue
        m = c.meta or _Meta()
        row = store.add_bytes(c.label, jpg_bytes, pgm_bytes, session=m.session, source=str(c.jpg),
                              millis=m.millis, ta_degC=m.ta_degC, preferred_index=c.index)
        if row is None:
            report.duplicates.append((c.jpg, held_by.get(content_hash(jpg_bytes, pgm_bytes), "?")))
        else:
            report.added.append(row)
            held_by[row.sha256] = row.file
    return report


def format_report(report: IngestReport, dataset: Path) -> str:
    """Human-readable summary: counts, then one line per rejected file and per note."""
    lines = [f"added {len(report.added)}, duplicates {len(report.duplicates)}, "
             f"rejected {len(report.rejected)} -> {dataset}"]
    by_label: dict[str, int] = {}
    for r in report.added:
        by_label[r.label] = by_label.get(r.label, 0) + 1
    if by_label:
        lines.append("  added per label: " + ", ".join(f"{k} {v}" for k, v in sorted(by_label.items())))
    for path, held in report.duplicates[:MAX_LISTED_DUPLICATES]:
        lines.append(f"  duplicate: {path} (same content as {held})")
    if len(report.duplicates) > MAX_LISTED_DUPLICATES:
        lines.append(f"  ... and {len(report.duplicates) - MAX_LISTED_DUPLICATES} more duplicates")
    for p in report.device_files:
        lines.append(f"  device file: {p} (the sensor's EEPROM backup; not a sample, left on the card)")
    for r in report.rejected:
        lines.append(f"  rejected: {r.path}: {r.reason}")
    for n in report.notes:
        lines.append(f"  note: {n}")
    return "\n".join(lines)


@click.command("ingest")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--dataset", "-d", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset folder to add the samples to (created if missing).")
def ingest_cmd(src: Path, dataset: Path):
    """Copy new samples from SRC (an SD-card mount, a folder, or another dataset) into a dataset.

    Exit code 0 if at least one valid sample was found (added or already present), 1 otherwise.
    """
    try:
        report = ingest(src, dataset, progress=True)
    except (FileNotFoundError, NotADirectoryError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(format_report(report, dataset))
    if report.processed == 0:
        raise click.ClickException(f"no valid samples found in {src}")
