"""``tinyheat import-frames FILE... --label L --dataset DIR``: import radiometric MLX90640
frames (degC) written by other tools into a dataset folder, each as a JPEG + lossless PGM
sidecar (spec: ``datasets/FORMAT.md`` sections 1, 3 and 4).

Accepted inputs (a frame is 768 temperatures in degC, row-major 24 rows x 32 columns):

(a) *one frame per line* (``.csv``/``.txt``/...): fields separated by commas, semicolons or
    whitespace. The LAST 768 numeric fields of a line are the frame, so leading time/index
    columns are allowed (non-numeric ones, like ``12:00:01``, are ignored). The first line is
    a header, and skipped, if it has a field starting with a letter (``nan``/``inf`` aside) or
    its values are the column numbers 0..767 / 1..768. The number of numeric fields per line
    is the one most lines have; a line with another count is skipped and reported.
(b) *24 lines x 32 values per frame* (e.g. ``frameN.txt``), comma or whitespace separated;
    a file may hold several frames one after another (blank lines between them are allowed).
    A frame block with a line of another value count is skipped and reported; an incomplete
    last block is reported.
(c) ``.npz`` (the container ``tinyheat record`` writes): array ``frames`` (n, 24, 32) or
    (n, 768) in degC, optional ``t_ms`` (n,) ms since boot and optional ``ta_degC`` (n,).

The format of a text file is the one most of its lines fit ((a) if >= 768 numeric fields,
(b) if exactly 32). Bad lines never reject the file: the good frames are imported and each bad
line is reported with its 1-based line number. NaN/inf or out-of-range values are *invalid
pixels* (greyscale 0, sidecar 0); a frame with no valid pixel at all is skipped and reported.

Each frame is stored through :meth:`DatasetStore.add` with session ``import:<file stem>``,
source ``<path>:<n>`` (n = 1-based line of the frame's first line, or 1-based frame number in
an ``.npz``), in file then line order; identical frames are stored once.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from ..dataset import sample_format as sf
from ..dataset.store import DatasetStore, ManifestRow

_SPLIT = re.compile(r"[,;\s]+")
_NON_FINITE = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


class FrameFileError(ValueError):
    """A whole file that cannot be read as frames; the message says why."""


@dataclass
class Frames:
    """Frames read from one file.

    ``frames``: float32 (n, 24, 32) degC; ``where``: (n,) 1-based line (text) or frame number
    (``.npz``) of each frame; ``t_ms`` / ``ta_degC``: (n,) or None; ``skipped``: (line or frame
    number, reason) for every part of the file that was not turned into a frame.
    """

    frames: np.ndarray
    where: list[int]
    t_ms: np.ndarray | None = None
    ta_degC: np.ndarray | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _numbers(line: str) -> list[float]:
    """Numeric fields of a text line (non-numeric fields dropped)."""
    out = []
    for tok in _SPLIT.split(line.strip()):
        if not tok:
            continue
        try:
            out.append(float(tok))
        except ValueError:
            pass
    return out


def _is_header(line: str, values: list[float]) -> bool:
    for tok in _SPLIT.split(line.strip()):
        if tok and tok[0].isalpha() and tok.lower() not in _NON_FINITE:
            return True
    n = len(values)
    return n >= sf.PIXELS and (values[-sf.PIXELS:] == list(range(sf.PIXELS))
                               or values[-sf.PIXELS:] == list(range(1, sf.PIXELS + 1)))


def _usable(frame: np.ndarray) -> str | None:
    """None if the frame has a valid pixel, else the reason to skip it."""
    if sf.invalid_mask(frame).all():
        return "no valid pixel (all NaN/inf or outside -40..300 degC)"
    return None


def _parse_text(path: Path) -> Frames:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise FrameFileError(f"{path}: cannot read ({e.strerror or e})") from None
    lines = [(no, ln, _numbers(ln)) for no, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if lines and _is_header(lines[0][1], lines[0][2]):
        lines = lines[1:]
    if not lines:
        raise FrameFileError(f"{path}: no data lines")
    wide = [x for x in lines if len(x[2]) >= sf.PIXELS]
    grid = [x for x in lines if len(x[2]) == sf.COLS]
    if not wide and not grid:
        raise FrameFileError(f"{path}: line {lines[0][0]} has {len(lines[0][2])} values; expected 768 per line "
                             "(one frame per line) or 32 per line (24 lines per frame)")
    frames, where, skipped = [], [], []
    if len(wide) >= len(grid):
        count = Counter(len(x[2]) for x in wide).most_common(1)[0][0]
        for no, _, vals in lines:
            if len(vals) != count:
                skipped.append((no, f"{len(vals)} values, expected {count} (the count of the other lines)"))
                continue
            frame = sf.as_frame(vals[-sf.PIXELS:])
            why = _usable(frame)
            if why:
                skipped.append((no, why))
            else:
                frames.append(frame)
                where.append(no)
    else:
        for start in range(0, len(lines), sf.ROWS):
            block = lines[start:start + sf.ROWS]
            first = block[0][0]
            bad = [(no, len(vals)) for no, _, vals in block if len(vals) != sf.COLS]
            if bad:
                skipped.append((bad[0][0], f"{bad[0][1]} values, expected 32; frame of lines "
                                           f"{first}-{block[-1][0]} skipped"))
                continue
            if len(block) < sf.ROWS:
                skipped.append((first, f"incomplete frame: {len(block)} of 24 lines (lines {first}-{block[-1][0]})"))
                continue
            frame = sf.as_frame([v for _, _, vals in block for v in vals])
            why = _usable(frame)
            if why:
                skipped.append((first, why))
            else:
                frames.append(frame)
                where.append(first)
    arr = np.stack(frames) if frames else np.zeros((0, sf.ROWS, sf.COLS), np.float32)
    return Frames(arr, where, skipped=skipped)


def _optional(z, name: str, n: int, path: Path) -> np.ndarray | None:
    if name not in z.files:
        return None
    a = np.asarray(z[name])
    if a.shape != (n,):
        raise FrameFileError(f"{path}: {name} has shape {a.shape}, expected ({n},) to match frames")
    return a


def _parse_npz(path: Path) -> Frames:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "frames" not in z.files:
                raise FrameFileError(f"{path}: no 'frames' array (has {sorted(z.files)})")
            raw = np.asarray(z["frames"])
            if raw.ndim == 2 and raw.shape[1] == sf.PIXELS:
                raw = raw.reshape(-1, sf.ROWS, sf.COLS)
            if raw.ndim != 3 or raw.shape[1:] != (sf.ROWS, sf.COLS):
                raise FrameFileError(f"{path}: frames has shape {raw.shape}, expected (n, 24, 32)")
            if not np.issubdtype(raw.dtype, np.number):
                raise FrameFileError(f"{path}: frames has dtype {raw.dtype}, expected float32 degC")
            n = raw.shape[0]
            t_ms = _optional(z, "t_ms", n, path)
            ta = _optional(z, "ta_degC", n, path)
    except FrameFileError:
        raise
    except Exception as e:  # zipfile / numpy raise several types for a damaged container
        raise FrameFileError(f"{path}: not a readable .npz ({e})") from None
    raw = raw.astype(np.float32)
    keep, skipped = [], []
    for i in range(n):
        why = _usable(raw[i])
        if why:
            skipped.append((i + 1, why))
        else:
            keep.append(i)
    return Frames(raw[keep], [i + 1 for i in keep], None if t_ms is None else t_ms[keep],
                  None if ta is None else ta[keep], skipped)


def load_frames(path: str | Path) -> Frames:
    """Read every good frame of ``path`` (format by suffix: ``.npz``, else text) with what was skipped.

    Raises FrameFileError when the file as a whole cannot be read (missing, empty, no line
    fits either text format, damaged ``.npz``).
    """
    path = Path(path)
    if not path.is_file():
        raise FrameFileError(f"{path}: no such file")
    return _parse_npz(path) if path.suffix.lower() == ".npz" else _parse_text(path)


def read_frames(path: str | Path) -> np.ndarray:
    """Frames of ``path`` as float32 (n, 24, 32) degC, bad lines skipped (see :func:`load_frames`)."""
    return load_frames(path).frames


@dataclass
class FileResult:
    """Import outcome for one input file."""

    path: Path
    added: list[ManifestRow] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None


@dataclass
class ImportReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(len(f.added) for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def processed(self) -> int:
        """Valid frames seen (added + duplicates)."""
        return self.added + self.duplicates


def import_frames(paths, label: str, dataset: str | Path, *, progress: bool = False) -> ImportReport:
    """Import the frames of each file in ``paths`` (in order) under ``label`` into ``dataset``.

    A file that cannot be read is reported in its :class:`FileResult` and the others still
    import. Raises SampleError for an invalid label (before anything is written).
    """
    sf.check_label(label)
    store = DatasetStore(dataset)
    report = ImportReport()
    for p in paths:
        p = Path(p)
        res = FileResult(p)
        report.files.append(res)
        try:
            fr = load_frames(p)
        except FrameFileError as e:
            res.error = str(e)
            continue
        res.skipped = fr.skipped
        for k in tqdm(range(len(fr.frames)), desc=p.name, unit="frame", disable=None if progress else True,
                      leave=False):
            row = store.add(label, frame_degc=fr.frames[k], session=f"import:{p.stem}", source=f"{p}:{fr.where[k]}",
                            millis="" if fr.t_ms is None else str(int(fr.t_ms[k])),
                            ta_degC="" if fr.ta_degC is None else f"{float(fr.ta_degC[k]):.2f}")
            if row is None:
                res.duplicates += 1
            else:
                res.added.append(row)
    return report


def format_report(report: ImportReport, label: str, dataset: Path) -> str:
    lines = [f"{label}: added {report.added}, duplicates {report.duplicates} -> {dataset}"]
    for f in report.files:
        if f.error:
            lines.append(f"  {f.path}: not imported: {f.error}")
            continue
        lines.append(f"  {f.path}: added {len(f.added)}, duplicates {f.duplicates}, skipped {len(f.skipped)}")
        for no, why in f.skipped:
            lines.append(f"    skipped {f.path}:{no}: {why}")
    return "\n".join(lines)


@click.command("import-frames")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--label", "-l", required=True, help="Class label for every frame (1-31 of A-Z a-z 0-9 _ -).")
@click.option("--dataset", "-d", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset folder to add the frames to (created if missing).")
def import_frames_cmd(files: tuple[Path, ...], label: str, dataset: Path):
    """Import degC frames (CSV/text: 768 values per line or 24 lines x 32; or .npz) as samples.

    Bad lines are skipped and reported; the good frames of the file are kept. Exit code 0 if
    at least one valid frame was found (added or already present), 1 otherwise.
    """
    try:
        sf.check_label(label)
    except sf.SampleError as e:
        raise click.BadParameter(str(e), param_hint="--label") from None
    report = import_frames(files, label, dataset, progress=True)
    click.echo(format_report(report, label, dataset))
    if report.processed == 0:
        raise click.ClickException("no valid frames imported")
