"""``tinyheat import-frames FILE... --label L --dataset DIR``: import radiometric MLX90640
frames written by other tools into a dataset folder, each as a JPEG + lossless PGM sidecar
(spec: ``datasets/FORMAT.md`` sections 1, 3 and 4; input rules: ``datasets/IMPORT.md``).

Accepted inputs (a frame is 768 temperatures, row-major 24 rows x 32 columns):

(a) *one frame per line* (``.csv``/``.txt``/...): fields separated by ``;``, a tab, ``,`` or
    spaces (the first of these found in the file). With ``;``, tab or space separators a
    decimal comma (``23,50``) is read as ``23.50``. A line must have exactly 768 fields, unless
    the frame's columns are named: by ``columns=(first, last)`` (1-based, inclusive, 768 wide;
    ``--columns 3-770``) or by a header whose fields number the pixels (``P000..P767``,
    ``p1..p768``, ``0..767``). Extra columns are never guessed.
(b) *24 lines x 32 values per frame* (e.g. ``frameN.txt``), same separators; a file may hold
    several frames one after another (blank lines between them are allowed).
(c) ``.npz`` (the container ``tinyheat record`` writes): array ``frames`` (n, 24, 32) or
    (n, 768), optional ``t_ms`` (n,) ms since boot and optional ``ta_degC`` (n,).

The format of a text file is decided on its first :data:`PEEK_LINES` non-blank lines (the field
count most of them have: 32 -> (b), else (a)), then the file is streamed: memory and time per
frame do not depend on the file's length. Bad lines never reject the file: each is reported with
its 1-based line number and the good frames are imported.

Units and sanity (:func:`frame_problem`): values are degC unless ``unit`` says ``K`` or ``F``.
Without an explicit unit, a file whose typical frame median lies outside
:data:`PLAUSIBLE_SCENE_DEGC` is refused with the unit it looks like (kelvin or Fahrenheit);
``--unit C`` accepts it as degC. NaN/inf or out-of-range values are *invalid pixels*
(greyscale 0, sidecar 0); a frame with no valid pixel, or whose valid pixels are all within
:data:`MIN_SPREAD_K` of each other (a constant frame: no sensor image), is skipped and reported.

Each frame is stored through :meth:`DatasetStore.add` with session ``import:<file stem>``,
source ``<path>:<n>`` (n = 1-based line of the frame's first line, or 1-based frame number in
an ``.npz``), in file then line order; identical frames are stored once.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Iterator

import click
import numpy as np
from tqdm import tqdm

from ..dataset import sample_format as sf
from ..dataset.store import DatasetStore, ManifestRow
from ..errors import UserError

_NON_FINITE = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}
_NUMBERED = re.compile(r"^\s*\"?(?P<prefix>[^0-9\"]*?)_?(?P<n>[0-9]+)\"?\s*$")
#: Non-blank lines read to decide a text file's format (separator, header, layout).
PEEK_LINES = 64
#: Frames per chunk yielded by :func:`iter_frames`.
CHUNK_FRAMES = 256
#: Scene medians (degC) accepted without an explicit ``--unit``: a room, outdoors, a face. A frame's
#: median is the scene's typical temperature; outside this range the file is more likely in kelvin
#: or Fahrenheit (e.g. 296 K or 73 F for a 23 degC room). A heuristic: ``--unit C`` overrides it.
PLAUSIBLE_SCENE_DEGC = (-20.0, 50.0)
#: Smallest max - min (K) of a real frame's valid pixels. The MLX90640's noise is 0.1 K rms per pixel
#: (datasheet, NETD at 1 Hz refresh), so 768 pixels of one real frame are never this close; a frame
#: that is (e.g. 300.0 or 95.0 in every field) is a placeholder written by a tool, not an image.
MIN_SPREAD_K = 0.05
#: Typical scene medians (degC) that are as plausible in Fahrenheit (a cold scene: 38..50 F is 3..10
#: degC) as in degC (a background above body temperature is rare): such a file needs ``--unit``.
#: A heuristic; ``--unit C`` or ``--unit F`` decides.
AMBIGUOUS_DEGC = (38.0, 50.0)
UNITS = ("C", "K", "F")
#: Frame shapes by pixel count: MLX90640 (24, 32) and MLX90641 (12, 16). A dataset sample is always
#: MLX90640-sized; sessions (``import-session``) take both.
SHAPES = {sf.PIXELS: (sf.ROWS, sf.COLS), 192: (12, 16)}
MLX90640_ONLY = ((sf.ROWS, sf.COLS),)
#: Header names of a time column and of an ambient (Ta) column, lower case. ``t_ms``/``millis``/``ms``
#: are milliseconds, the others seconds or ISO 8601 time stamps.
TIME_NAMES = ("time", "t_s", "timestamp", "t", "time_s", "t_ms", "millis", "ms")
TA_NAMES = ("ambient_degc", "ta", "ta_degc", "ambient", "ambient_c")


class FrameFileError(UserError, ValueError):
    """A whole file that cannot be read as frames; the message says why."""


@dataclass
class Frames:
    """Frames read from one file (or one chunk of it, from :func:`iter_frames`).

    ``frames``: float32 (n, 24, 32) degC; ``where``: (n,) 1-based line (text) or frame number
    (``.npz``) of each frame; ``t_ms`` / ``ta_degC``: (n,) or None; ``skipped``: (line or frame
    number, reason) for every part of the file that was not turned into a frame; ``notes``: how
    the file was read (separator, decimal comma, columns chosen by the header, unit).
    """

    frames: np.ndarray
    where: list[int]
    t_ms: np.ndarray | None = None
    ta_degC: np.ndarray | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: text of the header-named time column per frame (``time_column`` says its name), or None
    t_text: list[str] | None = None
    time_column: str | None = None


def to_degc(values: np.ndarray, unit: str) -> np.ndarray:
    """Temperatures in ``unit`` (C, K or F) -> float32 degC. K: T - 273.15; F: (T - 32) * 5 / 9 (SI / NIST SP 811)."""
    v = np.asarray(values, dtype=np.float32)
    if unit == "K":
        return v - np.float32(sf.ZERO_DEGC_IN_K)
    if unit == "F":
        return (v - np.float32(32.0)) * np.float32(5.0 / 9.0)
    return v


def frame_problem(frame: np.ndarray) -> str | None:
    """None if ``frame`` (degC (24, 32)) can be a sensor image, else the reason to skip it."""
    bad = sf.invalid_mask(frame)
    if bad.all():
        return "no valid pixel (all NaN/inf or outside -40..300 degC)"
    valid = frame[~bad]
    lo, hi = float(valid.min()), float(valid.max())
    if hi - lo < MIN_SPREAD_K:
        return f"constant frame (every valid pixel {lo:.2f} degC): not a sensor image"
    return None


def _unit_hint(median: float) -> str:
    if 233.0 <= median <= 400.0:
        return f"they look like kelvin ({median - sf.ZERO_DEGC_IN_K:.1f} degC): pass --unit K"
    f = (median - 32.0) * 5.0 / 9.0
    if PLAUSIBLE_SCENE_DEGC[0] <= f <= PLAUSIBLE_SCENE_DEGC[1]:
        return f"they look like Fahrenheit ({f:.1f} degC): pass --unit F"
    return "pass --unit K or --unit F if they are not degC"


def _typical_median(frames: np.ndarray) -> float | None:
    with np.errstate(invalid="ignore"):
        good = np.where(sf.invalid_mask(frames), np.nan, frames).reshape(len(frames), -1)
    meds = [np.nanmedian(g) for g in good if np.isfinite(g).any()]
    return float(np.median(meds)) if meds else None


def _check_unit(path: Path, frames: np.ndarray, unit: str | None, where: str = "") -> None:
    """Refuse frames whose typical median is no plausible degC scene, or as plausible in Fahrenheit
    (:data:`AMBIGUOUS_DEGC`); only without an explicit unit. ``where``: e.g. " (lines 300-5000)"."""
    if unit is not None or len(frames) == 0:
        return
    med = _typical_median(frames)
    if med is None:
        return
    lo, hi = PLAUSIBLE_SCENE_DEGC
    if not lo <= med <= hi:
        raise FrameFileError(f"{path}: typical frame median{where} {med:.2f} is not a plausible scene in degC "
                             f"({lo:g}..{hi:g}); {_unit_hint(med)} (or --unit C if they are degC)")
    if AMBIGUOUS_DEGC[0] <= med <= AMBIGUOUS_DEGC[1]:
        f = (med - 32.0) * 5.0 / 9.0
        raise FrameFileError(f"{path}: typical frame median{where} {med:.2f} could be degC (a scene hotter than "
                             f"a body) or Fahrenheit (a cold scene, {f:.1f} degC): pass --unit C or --unit F")


class _UnitGuard:
    """Checks every frame after the first ones decided the file's unit (without an explicit unit):
    a frame whose median is no plausible degC scene, or a chunk whose typical median is, stops the
    file with a one-line error naming the line, instead of being stored in the wrong unit."""

    def __init__(self, path: Path, unit: str | None):
        self.path, self.unit = path, unit

    def frame(self, no: int, frame: np.ndarray) -> None:
        if self.unit is not None:
            return
        bad = sf.invalid_mask(frame)
        if bad.all():
            return
        med = float(np.median(frame[~bad]))
        lo, hi = PLAUSIBLE_SCENE_DEGC
        if not lo <= med <= hi:
            raise FrameFileError(f"{self.path}: line/frame {no}: frame median {med:.2f} is not a plausible degC "
                                 f"scene although the first frames are degC: the file mixes units; "
                                 f"{_unit_hint(med)} for a file in one unit, or split it")

    def chunk(self, frames: np.ndarray, first: int, last: int) -> None:
        _check_unit(self.path, frames, self.unit, f" of lines/frames {first}-{last}")


# ---- text files -----------------------------------------------------------------------------

@dataclass
class _Layout:
    sep: str | None          # None: runs of whitespace
    decimal_comma: bool
    grid: bool               # (b) 24 lines x 32
    cols: slice | None       # frame fields of a line in (a); None: the whole line (768 fields)
    width: int               # fields per line expected
    header_line: int | None  # 1-based line number of a header, or None
    shape: tuple[int, int] = (sf.ROWS, sf.COLS)
    tcol: int | None = None  # header-named time column (0-based field), or None
    tname: str | None = None
    tacol: int | None = None  # header-named ambient (Ta) column


def _split(line: str, sep: str | None, decimal_comma: bool) -> list[str]:
    fields = line.split(sep) if sep is not None else line.split()
    if sep is not None and fields and not fields[-1].strip():
        fields.pop()          # a trailing separator
    if decimal_comma:
        fields = [f.replace(",", ".") for f in fields]
    return fields


def _choose_sep(lines: list[str]) -> tuple[str | None, bool]:
    text = "\n".join(lines)
    if ";" in text:
        return ";", "," in text
    if "\t" in text:
        return "\t", "," in text
    if "," in text:
        # "23,5 24,1": commas inside space-separated fields are decimal commas
        if any(" " in f.strip() for ln in lines[:4] for f in ln.split(",")) and "." not in text:
            return None, True
        return ",", False
    return None, False


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _header_columns(fields: list[str], n: int = sf.PIXELS) -> slice | None:
    """The ``n`` pixel columns a header numbers (``P000..P767``, ``p1..p768``, ``0..767``), or None."""
    nums = []
    for f in fields:
        m = _NUMBERED.match(f)
        nums.append((m["prefix"].lower(), int(m["n"])) if m else None)
    for start in range(len(fields) - n + 1):
        first = nums[start]
        if first is None or first[1] not in (0, 1):
            continue
        run = nums[start:start + n]
        if all(x is not None and x[0] == first[0] and x[1] == first[1] + i for i, x in enumerate(run)) and (
                start + n == len(fields) or nums[start + n] is None or nums[start + n][0] != first[0]):
            return slice(start, start + n)
    return None


def _is_header(fields: list[str]) -> bool:
    if any(f.strip() and f.strip()[0].isalpha() and f.strip().lower() not in _NON_FINITE for f in fields):
        return True
    return _header_columns(fields) is not None and len(fields) >= sf.PIXELS


def _named(fields: list[str], names) -> int | None:
    low = [f.strip().strip('"').lower() for f in fields]
    return next((i for i, h in enumerate(low) if h in names), None)


def _sensor(shape) -> str:
    return "MLX90640 32x24" if shape == (sf.ROWS, sf.COLS) else "MLX90641 16x12" if shape == (12, 16) else f"{shape}"


def _layout(path: Path, peek: list[tuple[int, str]], columns: tuple[int, int] | None,
            shapes=MLX90640_ONLY) -> tuple[_Layout, list[str]]:
    sep, dec = _choose_sep([ln for _, ln in peek])
    notes = []
    if dec:
        notes.append("decimal commas read as decimal points (23,50 -> 23.50)")
    first = _split(peek[0][1], sep, dec)
    header = peek[0][0] if _is_header(first) else None
    data = peek[1:] if header is not None else peek
    if not data:
        raise FrameFileError(f"{path}: no data lines")
    width = Counter(len(_split(ln, sep, dec)) for _, ln in data).most_common(1)[0][0]
    extra = {}
    if header is not None and len(first) == width:
        tcol, tacol = _named(first, TIME_NAMES), _named(first, TA_NAMES)
        extra = {"tcol": tcol, "tname": first[tcol].strip().strip('"').lower() if tcol is not None else None,
                 "tacol": tacol}
    if columns is not None:
        a, b = columns
        if b > width:
            raise FrameFileError(f"{path}: --columns {a}-{b} but the lines have {width} fields")
        notes.append(f"frame = fields {a}-{b} of {width} (--columns)")
        return _Layout(sep, dec, False, slice(a - 1, b), width, header, **extra), notes
    if header is not None:
        for n, shape in SHAPES.items():
            cols = _header_columns(first, n)
            if cols is None:
                continue
            named = f"{first[cols.start].strip()}..{first[cols.stop - 1].strip()}"
            if len(first) != width:   # e.g. an MLX90641 header over MLX90640 rows: never wrong frames
                raise FrameFileError(f"{path}: the header has {len(first)} fields ({n} pixels {named}: "
                                     f"{_sensor(shape)}) but the lines have {width}: header and data do not "
                                     f"match (another sensor's header?)")
            if shape not in shapes:
                raise FrameFileError(f"{path}: the header names {n} pixels ({named}): {_sensor(shape)} frames; "
                                     f"a dataset sample is 32x24 (`tinyheat import-session` reads them as a "
                                     f"session)")
            if width != n:
                notes.append(f"frame = fields {cols.start + 1}-{cols.stop} of {width}, named {named} by the header")
            return _Layout(sep, dec, False, cols, width, header, shape, **extra), notes
    if width == sf.COLS:
        return _Layout(sep, dec, True, None, width, header), notes
    if width == sf.PIXELS:
        return _Layout(sep, dec, False, None, width, header), notes
    line = data[0][0]
    if width > sf.PIXELS:
        hint = (f"; if the frame is fields A..A+767 pass --columns A-B (e.g. --columns 1-768 or "
                f"--columns {width - sf.PIXELS + 1}-{width})")
        if width == 2 * sf.PIXELS and sep == ",":
            hint += "; 1536 fields may also be 768 values with decimal commas: separate fields with ';'"
        raise FrameFileError(f"{path}: line {line} has {width} fields, a frame has 768: extra columns are "
                             f"not guessed{hint}")
    raise FrameFileError(f"{path}: line {line} has {width} values; expected 768 per line "
                         "(one frame per line) or 32 per line (24 lines per frame)")


def _values(fields: list[str], cols: slice | None) -> list[float] | str:
    """Floats of the frame's fields, or the reason they are not numbers."""
    sel = fields[cols] if cols is not None else fields
    try:
        return list(map(float, sel))
    except ValueError:
        bad = next(i for i, f in enumerate(sel) if not _is_number(f))
        col = bad + 1 + (cols.start if cols is not None else 0)
        return f"field {col} ({sel[bad].strip()[:20]!r}) is not a number"


def _float_or_nan(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        return float("nan")
    return v if np.isfinite(v) else float("nan")


def _open_text(path: Path):
    """Text lines of ``path``: UTF-8 with or without a BOM (Excel), Latin-1 bytes kept as characters."""
    try:
        return open(path, encoding="utf-8-sig", errors="replace")
    except OSError as e:
        raise FrameFileError(f"{path}: cannot read ({e.strerror or e})") from None


def _text_items(path: Path, columns, unit, shapes=MLX90640_ONLY, layout_out: list | None = None):
    """(line, frame or None, skip reason, notes, (time text, Ta degC)) per frame of a text file, streamed."""
    f = _open_text(path)
    with f:
        try:
            numbered = ((no, ln) for no, ln in enumerate(f, start=1) if ln.strip())
            peek = []
            for item in numbered:
                peek.append(item)
                if len(peek) >= PEEK_LINES:
                    break
        except OSError as e:
            raise FrameFileError(f"{path}: cannot read ({e.strerror or e})") from None
        if not peek:
            raise FrameFileError(f"{path}: no data lines")
        lay, notes = _layout(path, peek, columns, shapes)
        if layout_out is not None:
            layout_out.append(lay)
        lines = chain(peek, numbered)
        if lay.header_line is not None:
            next(lines)
        if not lay.grid:
            nfields = lay.width
            for no, ln in lines:
                fields = _split(ln, lay.sep, lay.decimal_comma)
                if len(fields) != nfields:
                    cut = " (a cut line?)" if len(fields) < nfields else ""
                    yield no, None, f"{len(fields)} values, expected {nfields} (the count of the other lines){cut}", \
                        notes, None
                    continue
                vals = _values(fields, lay.cols)
                if isinstance(vals, str):
                    yield no, None, vals, notes, None
                    continue
                extra = (fields[lay.tcol].strip().strip('"') if lay.tcol is not None else None,
                         _float_or_nan(fields[lay.tacol]) if lay.tacol is not None else float("nan"))
                yield no, to_degc(np.asarray(vals, np.float32).reshape(lay.shape), unit or "C"), None, notes, extra
            return
        block: list[tuple[int, list[str]]] = []

        def finish(block):
            first, last = block[0][0], block[-1][0]
            bad = [(no, len(fl)) for no, fl in block if len(fl) != sf.COLS]
            if bad:
                return first, None, f"{bad[0][1]} values, expected 32; frame of lines {first}-{last} skipped", bad[0][0]
            if len(block) < sf.ROWS:
                return first, None, f"incomplete frame: {len(block)} of 24 lines (lines {first}-{last})", first
            vals = [_values(fl, None) for _, fl in block]
            why = next((v for v in vals if isinstance(v, str)), None)
            if why:
                return first, None, why, first
            return first, to_degc(np.asarray(vals, np.float32), unit or "C"), None, first

        for no, ln in lines:
            block.append((no, _split(ln, lay.sep, lay.decimal_comma)))
            if len(block) == sf.ROWS:
                first, frame, why, at = finish(block)
                yield (at if why else first), frame, why, notes, (None, float("nan"))
                block = []
        if block:
            first, frame, why, at = finish(block)
            yield (at if why else first), frame, why, notes, (None, float("nan"))


# ---- .npz ----------------------------------------------------------------------------------

def _optional(z, name: str, n: int, path: Path) -> np.ndarray | None:
    if name not in z.files:
        return None
    a = np.asarray(z[name])
    if a.shape != (n,):
        raise FrameFileError(f"{path}: {name} has shape {a.shape}, expected ({n},) to match frames")
    return a


def _read_npz(path: Path):
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
            return raw, _optional(z, "t_ms", n, path), _optional(z, "ta_degC", n, path)
    except FrameFileError:
        raise
    except Exception as e:  # zipfile / numpy raise several types for a damaged container
        raise FrameFileError(f"{path}: not a readable .npz ({e})") from None


# ---- the public readers --------------------------------------------------------------------

def _check_options(unit: str | None, columns: tuple[int, int] | None) -> None:
    if unit is not None and unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if columns is not None and (columns[0] < 1 or columns[1] - columns[0] + 1 != sf.PIXELS):
        raise ValueError(f"columns must be 1-based (first, last) spanning 768 fields, got {columns}")


def iter_frames(path: str | Path, *, unit: str | None = None, columns: tuple[int, int] | None = None,
                chunk: int = CHUNK_FRAMES, shapes=MLX90640_ONLY) -> Iterator[Frames]:
    """Stream the frames of ``path`` as :class:`Frames` chunks of up to ``chunk`` frames (degC).

    The one reader of frame files: ``import-frames`` and ``import-session`` (and through it the
    heat maps and the benchmark loaders) all use it. ``unit``: ``"C"``, ``"K"``, ``"F"`` or None
    (degC, refused when implausible or ambiguous: see the module docstring; checked on the first
    frames, then on every frame and every chunk); ``columns``: 1-based (first, last) fields of the
    frame in a one-frame-per-line file; ``shapes``: frame shapes accepted ((24, 32) for a dataset;
    sessions also take the MLX90641's (12, 16), named by a ``p000..p191`` header). A header-named
    time column is passed on as text (``Frames.t_text``) and a Ta column as degC (empty cell: NaN).
    Memory is bounded by ``chunk`` for text files (an ``.npz`` is loaded whole). Raises
    FrameFileError when the file cannot be read or its unit is implausible (a mid-file error
    comes after the chunks before it were yielded); ValueError for bad ``unit`` / ``columns``.
    """
    _check_options(unit, columns)
    path = Path(path)
    if not path.is_file():
        hint = (" (a session folder: `tinyheat play`/`people`/`heatmap` read it directly)"
                if path.is_dir() and (path / "zarr.json").exists() else "")
        raise FrameFileError(f"{path}: no such file{hint}")
    guard = _UnitGuard(path, unit)
    if path.suffix.lower() == ".npz":
        if columns is not None:
            raise FrameFileError(f"{path}: --columns applies to text files, not .npz")
        raw, t_ms, ta = _read_npz(path)
        raw = to_degc(raw, unit or "C")
        head = [f for f in raw[:PEEK_LINES] if frame_problem(f) is None]
        _check_unit(path, np.stack(head) if head else raw[:0], unit)
        for s in range(0, len(raw), chunk):
            fr = Frames(np.zeros((0, sf.ROWS, sf.COLS), np.float32), [])
            keep = []
            for i in range(s, min(s + chunk, len(raw))):
                why = frame_problem(raw[i])
                if why:
                    fr.skipped.append((i + 1, why))
                else:
                    guard.frame(i + 1, raw[i])
                    keep.append(i)
            guard.chunk(raw[keep], s + 1, min(s + chunk, len(raw)))
            fr.frames, fr.where = raw[keep], [i + 1 for i in keep]
            fr.t_ms = None if t_ms is None else t_ms[keep]
            fr.ta_degC = None if ta is None else ta[keep]
            yield fr
        return
    lay: list[_Layout] = []
    items = _text_items(path, columns, unit, shapes, lay)
    head = []
    for item in items:            # decide the unit on the first frames, before anything is yielded
        head.append(item)
        if sum(fr is not None for _, fr, _, _, _ in head) >= PEEK_LINES:
            break
    good = [fr for _, fr, _, _, _ in head if fr is not None and frame_problem(fr) is None]
    shape = lay[0].shape if lay else (sf.ROWS, sf.COLS)
    _check_unit(path, np.stack(good) if good else np.zeros((0, *shape), np.float32), unit)
    notes = list(head[0][3]) if head else []
    if unit in ("K", "F"):
        notes.append(f"values converted from {'kelvin' if unit == 'K' else 'Fahrenheit'} to degC")
    has_t = bool(lay) and lay[0].tcol is not None
    has_ta = bool(lay) and lay[0].tacol is not None
    frames, where, skipped, t_text, ta = [], [], [], [], []

    def emit():
        fr = Frames(np.stack(frames) if frames else np.zeros((0, *shape), np.float32), where, skipped=skipped,
                    notes=notes, t_text=t_text if has_t else None,
                    time_column=lay[0].tname if has_t else None,
                    ta_degC=np.asarray(ta, np.float32) if has_ta else None)
        if frames:
            guard.chunk(fr.frames, where[0], where[-1])
        return fr

    try:
        for no, frame, why, _, extra in chain(head, items):
            if frame is not None:
                why = frame_problem(frame)
            if why:
                skipped.append((no, why))
                continue
            guard.frame(no, frame)
            frames.append(frame)
            where.append(no)
            t_text.append(extra[0])
            ta.append(extra[1])
            if len(frames) >= chunk:
                yield emit()
                frames, where, skipped, notes, t_text, ta = [], [], [], [], [], []
    except OSError as e:
        raise FrameFileError(f"{path}: cannot read ({e.strerror or e})") from None
    if frames or skipped or notes or not head:
        yield emit()


def load_frames(path: str | Path, *, unit: str | None = None, columns: tuple[int, int] | None = None) -> Frames:
    """Read every good frame of ``path`` (format by suffix: ``.npz``, else text) with what was skipped.

    Same rules and options as :func:`iter_frames`, all in memory. Raises FrameFileError when the
    file as a whole cannot be read (missing, empty, no line fits either text format, unnamed extra
    columns, an implausible unit, damaged ``.npz``).
    """
    out = Frames(np.zeros((0, sf.ROWS, sf.COLS), np.float32), [])
    parts, t_ms, ta = [], [], []
    for fr in iter_frames(path, unit=unit, columns=columns):
        parts.append(fr.frames)
        out.where += fr.where
        out.skipped += fr.skipped
        out.notes += fr.notes
        t_ms.append(fr.t_ms)
        ta.append(fr.ta_degC)
    if parts:
        out.frames = np.concatenate(parts)
    if t_ms and t_ms[0] is not None:
        out.t_ms = np.concatenate(t_ms)
    if ta and ta[0] is not None:
        out.ta_degC = np.concatenate(ta)
    return out


def read_frames(path: str | Path, **options) -> np.ndarray:
    """Frames of ``path`` as float32 (n, 24, 32) degC, bad lines skipped (see :func:`load_frames`)."""
    return load_frames(path, **options).frames


@dataclass
class FileResult:
    """Import outcome for one input file."""

    path: Path
    added: list[ManifestRow] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class ImportReport:
    files: list[FileResult] = field(default_factory=list)
    #: what opening the dataset repaired after an earlier interrupted write
    repairs: list[str] = field(default_factory=list)

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


def import_frames(paths, label: str, dataset: str | Path, *, progress: bool = False, unit: str | None = None,
                  columns: tuple[int, int] | None = None, open_frames=None) -> ImportReport:
    """Import the frames of each file in ``paths`` (in order) under ``label`` into ``dataset``.

    ``unit`` / ``columns``: as :func:`iter_frames`; ``open_frames``: a reader with
    :func:`iter_frames`' signature (default iter_frames; the command passes
    ``tinyheat.session.as_frames.open_frames``, which also reads sessions). Files are streamed (bounded memory); a file
    that cannot be read is reported in its :class:`FileResult` and the others still import.
    Raises SampleError for an invalid label and ValueError for bad options (before anything is
    written); OSError (e.g. a full disk) stops the import with every stored sample complete.
    """
    sf.check_label(label)
    _check_options(unit, columns)
    with DatasetStore(dataset) as store:
        return _import_into(store, paths, label, unit, columns, progress, open_frames)


def _import_into(store: DatasetStore, paths, label: str, unit, columns, progress: bool, open_frames=None) -> ImportReport:
    report = ImportReport(repairs=list(store.repairs))
    for p in paths:
        p = Path(p)
        res = FileResult(p)
        report.files.append(res)
        bar = tqdm(desc=p.name, unit="frame", disable=None if progress else True, leave=False)
        try:
            for fr in (open_frames or iter_frames)(p, unit=unit, columns=columns):
                res.skipped += fr.skipped
                res.notes += fr.notes
                for k in range(len(fr.frames)):
                    row = store.add(label, frame_degc=fr.frames[k], session=f"import:{p.stem}",
                                    source=f"{p}:{fr.where[k]}",
                                    millis="" if fr.t_ms is None else str(int(fr.t_ms[k])),
                                    ta_degC="" if fr.ta_degC is None else f"{float(fr.ta_degC[k]):.2f}")
                    if row is None:
                        res.duplicates += 1
                    else:
                        res.added.append(row)
                bar.update(len(fr.frames))
        except FrameFileError as e:
            res.error = str(e)
        finally:
            bar.close()
    return report


#: Skipped lines listed one by one per file (a bad file would otherwise flood the terminal).
MAX_LISTED_SKIPPED = 20


def format_report(report: ImportReport, label: str, dataset: Path) -> str:
    lines = [f"{label}: added {report.added}, duplicates {report.duplicates} -> {dataset}"]
    lines += [f"  repaired: {r}" for r in report.repairs]
    for f in report.files:
        if f.error and (f.added or f.duplicates):   # a mid-file error: what came before it is kept
            lines.append(f"  {f.path}: stopped: {f.error}; the {len(f.added) + f.duplicates} frames before it "
                         f"were kept (added {len(f.added)}, duplicates {f.duplicates})")
            continue
        if f.error:
            lines.append(f"  {f.path}: not imported: {f.error}")
            continue
        lines.append(f"  {f.path}: added {len(f.added)}, duplicates {f.duplicates}, skipped {len(f.skipped)}")
        lines += [f"    note: {n}" for n in f.notes]
        for no, why in f.skipped[:MAX_LISTED_SKIPPED]:
            lines.append(f"    skipped {f.path}:{no}: {why}")
        if len(f.skipped) > MAX_LISTED_SKIPPED:
            lines.append(f"    ... and {len(f.skipped) - MAX_LISTED_SKIPPED} more skipped")
    return "\n".join(lines)


def _parse_columns(ctx, param, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d*)\s*", value)
    if not m:
        raise click.BadParameter("use FIRST-LAST (1-based, inclusive, 768 fields), e.g. 3-770 or 3-")
    a = int(m[1])
    b = int(m[2]) if m[2] else a + sf.PIXELS - 1
    if a < 1 or b - a + 1 != sf.PIXELS:
        raise click.BadParameter(f"{value} spans {b - a + 1} fields; a frame is 768 (e.g. {a}-{a + sf.PIXELS - 1})")
    return a, b
