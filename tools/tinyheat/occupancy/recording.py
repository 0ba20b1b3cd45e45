"""Read a thermal recording into time-stamped frames for the occupancy pipeline.

Accepted inputs: a session (``datasets/SESSION.md``, a ``.zarr`` folder), or any file
``tinyheat import-session`` reads (``tinyheat.session.importers.import_any``: record ``.npz``,
CSVs with a time column and ``P000..`` pixels such as fir-action-ceiling and the mlx90641-den
recording, degC text, FLIR files). Two additions for heat maps, which need an absolute start:
a wall-clock time column of an unknown zone (fir-action-ceiling) is taken as UTC, and an ``.npz``
may carry ``start_unix_ms`` (int64 scalar).

When a file has no time stamps the caller gives ``fps``; when it has no absolute start the caller
gives ``start``. Nothing is guessed: a missing value is a :class:`RecordingError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
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
    def zone_unknown(self) -> bool:
        """True when the start is a wall clock of unknown zone (taken as UTC for the arithmetic):
        its times must be printed as local times, never labelled UTC (:func:`..events.time_text`)."""
        return str((self.meta.get("session_meta") or {}).get("time_zone", "")).startswith("unknown")

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


def _clean(frames: np.ndarray) -> np.ndarray:
    """Invalid pixels (non-finite or outside -40..300 degC, MLX90640 datasheet 1) -> NaN."""
    f = np.asarray(frames, dtype=np.float32).copy()
    with np.errstate(invalid="ignore"):
        f[~np.isfinite(f) | (f < -40.0) | (f > 300.0)] = np.nan
    return f


def _session(path: Path, fps: float | None):
    """The file or folder as a :class:`tinyheat.session.Session` (RecordingError if unreadable)."""
    from tinyheat.session import SessionError, read_session
    from tinyheat.session.importers import import_any

    try:
        if path.is_dir():
            return read_session(path)
        return import_any(path, period_ms=1000.0 / fps if fps else None)
    except SessionError as e:
        raise RecordingError(str(e)) from None


def _file_start(path: Path, s) -> datetime | None:
    """The absolute start the heat map may use when the session has none (module docstring)."""
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as z:
            if "start_unix_ms" in z.files:
                return datetime.fromtimestamp(int(z["start_unix_ms"]) / 1000.0, tz=timezone.utc)
    local = (s.meta or {}).get("wall_clock_local")
    if local:  # the tool did not record its zone: taken as UTC (said in meta)
        s.meta["time_zone"] = "unknown, taken as UTC"
        return parse_time(local)
    return None


def load_recording(path: str | Path, *, fps: float | None = None, start: datetime | None = None) -> Recording:
    """Read ``path`` (formats in the module docstring). ``fps`` fills in missing time stamps and
    ``start`` a missing absolute start; an explicit ``start`` overrides the file's.

    Raises RecordingError (one-line reason) for a missing/unreadable file, no frames, missing time
    information, or time stamps that go backwards.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    s = _session(path, fps)
    t_ms = np.asarray(s.t_ms, np.int64)
    if (t_ms < 0).any() or (s.meta or {}).get("t_ms_unknown"):  # -1 = unknown (SESSION.md section 1)
        if fps is None:
            k = int((t_ms < 0).sum())
            some = f"{k} of {len(t_ms)} frames have" if 0 < k < len(t_ms) else "frames have"
            raise RecordingError(f"{path}: {some} no time stamps; give --fps")
        t_ms = np.round(np.arange(len(t_ms)) * 1000.0 / fps).astype(np.int64)
    start = start or s.start or _file_start(path, s)
    if start is None:
        raise RecordingError(f"{path}: no absolute start time; give --start (UTC time of its first frame)")
    if len(t_ms) == 0:
        raise RecordingError(f"{path}: no frames")
    if np.any(np.diff(t_ms) < 0):
        raise RecordingError(f"{path}: time stamps go backwards at frame {int(np.argmax(np.diff(t_ms) < 0)) + 1}")
    try:  # heat maps round to months and years: keep a year of room before datetime.max (year 9999)
        start + timedelta(milliseconds=int(t_ms[-1] - t_ms[0])) + timedelta(days=366)
    except OverflowError:
        raise RecordingError(f"{path}: start {start.isoformat()} is too close to year 10000 for its "
                             f"{(t_ms[-1] - t_ms[0]) / 1000:g} s (times must end before year 9999); check the "
                             f"time stamps or give --start") from None
    ta = None if s.ta_degC is None else np.asarray(s.ta_degC, np.float32)
    return Recording(_clean(s.frames), t_ms - t_ms[0], start, ta,
                     {"source": str(path), "session_meta": dict(s.meta or {})})
