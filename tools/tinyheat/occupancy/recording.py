"""Read a thermal recording into time-stamped frames for the occupancy pipeline.

Accepted inputs (tried in this order):

- a session (``datasets/SESSION.md``, a ``.zarr`` folder) through ``tinyheat.session.read_session``;
- the fir-action-ceiling CSV (header ``Time,RT,P000..P767``; ``Time`` = wall clock, taken as UTC
  because the dataset does not state its zone);
- the mlx90641-den CSV (header ``frame,t_s,delay_s,ambient_degC,p000..``; 16 x 12 pixels);
- anything ``tinyheat.ingest.frames.load_frames`` reads (degC text / ``.npz``); an ``.npz`` may
  carry ``start_unix_ms`` (int64 scalar) for its absolute start.

When a file has no time stamps the caller gives ``fps``; when it has no absolute start the caller
gives ``start``. Nothing is guessed: a missing value is a :class:`RecordingError`.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


class RecordingError(ValueError):
    """A recording that cannot be used; the message says why (one line)."""


@dataclass
class Recording:
    """``frames`` float32 (N, H, W) degC, NaN = invalid; ``t_ms`` int64 (N,) ms since ``start``
    (non-decreasing); ``start`` tz-aware UTC datetime; ``ta_degC`` float32 (N,) or None."""

    frames: np.ndarray
    t_ms: np.ndarray
    start: datetime
    ta_degC: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    @property
    def epoch_ms(self) -> np.ndarray:
        """int64 (N,) ms since 1970-01-01 UTC."""
        return self.t_ms.astype(np.int64) + int(round(self.start.timestamp() * 1000))


def parse_time(text: str) -> datetime:
    """ISO-8601 date/time -> tz-aware UTC datetime (naive input is taken as UTC).
    Raises RecordingError for text that is not a time."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RecordingError(f"not an ISO-8601 time: {text!r} (e.g. 2026-01-31T08:00:00Z)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def _header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeError):
        return []


def _grid(n: int) -> tuple[int, int]:
    for h, w in ((24, 32), (12, 16)):
        if h * w == n:
            return h, w
    raise RecordingError(f"{n} pixel columns: expected 768 (MLX90640 24x32) or 192 (MLX90641 12x16)")


def _clean(frames: np.ndarray) -> np.ndarray:
    """Invalid pixels (non-finite or outside -40..300 degC, MLX90640 datasheet 1) -> NaN."""
    f = frames.astype(np.float32)
    with np.errstate(invalid="ignore"):
        f[~np.isfinite(f) | (f < -40.0) | (f > 300.0)] = np.nan
    return f


def _read_fir_ceiling(path: Path, cols: list[str]) -> Recording:
    pix = [i for i, c in enumerate(cols) if c.upper().startswith("P") and c[1:].isdigit()]
    h, w = _grid(len(pix))
    times, rows = [], []
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        for no, row in enumerate(r, start=2):
            if not row:
                continue
            try:
                times.append(np.datetime64(row[0].strip().replace(" ", "T"), "ms"))
                rows.append([float(row[i]) for i in pix])
            except (ValueError, IndexError):
                raise RecordingError(f"{path}: line {no} is not Time,RT,P000..P{len(pix) - 1:03d}") from None
    if not rows:
        raise RecordingError(f"{path}: no data lines")
    t = np.array(times).astype("datetime64[ms]").astype(np.int64)
    start = datetime.fromtimestamp(t[0] / 1000.0, tz=timezone.utc)
    frames = _clean(np.asarray(rows, np.float32).reshape(-1, h, w))
    return Recording(frames, t - t[0], start, None, {"source": str(path), "format": "fir-action-ceiling",
                                                     "time_zone": "unknown, taken as UTC"})


def _read_den(path: Path, cols: list[str], start: datetime | None) -> Recording:
    pix = [i for i, c in enumerate(cols) if c.lower().startswith("p") and c[1:].isdigit()]
    h, w = _grid(len(pix))
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise RecordingError(f"{path}: not a frame,t_s,... CSV ({e})") from None
    if start is None:
        raise RecordingError(f"{path}: has relative times only; give --start (UTC time of its first frame)")
    t_ms = np.round(data[:, cols.index("t_s")] * 1000).astype(np.int64)
    ta = data[:, cols.index("ambient_degC")].astype(np.float32) if "ambient_degC" in cols else None
    frames = _clean(data[:, pix].reshape(-1, h, w))
    return Recording(frames, t_ms - t_ms[0], start, ta, {"source": str(path), "format": "frame,t_s CSV"})


def _try_session(path: Path, fps: float | None, start: datetime | None) -> Recording | None:
    """A session (``datasets/SESSION.md``: a ``.zarr`` folder) through ``read_session``; None when
    ``path`` is not one (or the sessions module is not installed)."""
    try:
        from tinyheat.session import SessionError, read_session
    except ImportError:
        return None
    try:
        s = read_session(path)
    except SessionError as e:
        if path.is_dir():
            raise RecordingError(str(e)) from None
        return None  # a file: fall through to the other readers
    except Exception:  # noqa: BLE001 - a foreign file the session reader chokes on
        return None
    t_ms = np.asarray(s.t_ms, np.int64)
    if (t_ms < 0).any():  # -1 = unknown (SESSION.md section 1)
        if fps is None:
            raise RecordingError(f"{path}: session has frames without time stamps; give --fps")
        t_ms = np.round(np.arange(len(t_ms)) * 1000.0 / fps).astype(np.int64)
    if s.start is None and start is None:
        if path.is_dir():
            raise RecordingError(f"{path}: session start time is not known; give --start (UTC time of its first frame)")
        return None  # e.g. a record .npz: our own reader may find start_unix_ms
    return Recording(np.asarray(s.frames, np.float32), t_ms, start or s.start,
                     None if s.ta_degC is None else np.asarray(s.ta_degC, np.float32),
                     {"source": str(path), "format": "session", "session_meta": dict(s.meta or {})})


def load_recording(path: str | Path, *, fps: float | None = None, start: datetime | None = None) -> Recording:
    """Read ``path`` (formats in the module docstring). ``fps`` fills in missing time stamps and
    ``start`` a missing absolute start; an explicit ``start`` overrides the file's.

    Raises RecordingError (one-line reason) for a missing/unreadable file, no frames, missing time
    information, or time stamps that go backwards.
    """
    from tinyheat.ingest.frames import FrameFileError, load_frames

    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    rec = _try_session(path, fps, start)
    if rec is None and path.is_dir():
        raise RecordingError(f"{path}: a folder that is not a session")
    if rec is None:
        cols = _header(path) if path.suffix.lower() != ".npz" else []
        if cols and cols[0].strip() == "Time" and len(cols) > 2:
            rec = _read_fir_ceiling(path, [c.strip() for c in cols])
        elif cols and cols[0].strip() == "frame" and "t_s" in cols:
            rec = _read_den(path, [c.strip() for c in cols], start)
        else:
            try:
                fr = load_frames(path)
            except FrameFileError as e:
                raise RecordingError(str(e)) from None
            t_ms, file_start = fr.t_ms, None
            if path.suffix.lower() == ".npz":
                with np.load(path, allow_pickle=False) as z:
                    if "start_unix_ms" in z.files:
                        file_start = datetime.fromtimestamp(int(z["start_unix_ms"]) / 1000.0, tz=timezone.utc)
            if t_ms is None:
                if fps is None:
                    raise RecordingError(f"{path}: frames have no time stamps; give --fps")
                t_ms = np.round(np.arange(len(fr.frames)) * 1000.0 / fps).astype(np.int64)
            if file_start is None and start is None:
                raise RecordingError(f"{path}: no absolute start time; give --start (UTC time of its first frame)")
            t_ms = np.asarray(t_ms, np.int64)
            rec = Recording(_clean(fr.frames), t_ms - t_ms[0], file_start or start, fr.ta_degC,
                            {"source": str(path), "format": path.suffix.lower().lstrip(".") or "text",
                             "skipped": len(fr.skipped)})
    if start is not None:
        rec.start = start
    if len(rec.frames) == 0:
        raise RecordingError(f"{path}: no frames")
    if np.any(np.diff(rec.t_ms) < 0):
        raise RecordingError(f"{path}: time stamps go backwards at frame {int(np.argmax(np.diff(rec.t_ms) < 0)) + 1}")
    return rec
