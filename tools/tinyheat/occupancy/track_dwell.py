"""Dwell per person (track) and per zone from the people tracker's positions.

Input: the tracker's tidy table (``tinyheat people`` -> ``tracks.csv``, or
``tinyheat.people.analyze.find_people(...).table`` in memory), one row per track and frame with
``track``, ``frame`` (index in the recording), ``t_ms`` (ms since the recording's start) and the
head centre ``x``, ``y`` in pixels (column, row; pixel ``c`` spans ``c <= x < c + 1``, so
centres are at .5; ``datasets/SESSION.md``).

Rules (spec: ``datasets/HEATMAP.md`` section 7):

- A track is present in every frame from its first to its last detection; in frames where the
  tracker missed it (at most ``max_missed`` in a row) its position is linearly interpolated.
- A track is in zone ``x0,y0,x1,y1`` in a frame when ``x0 <= x < x1 + 1`` and ``y0 <= y < y1 + 1``
  (the same pixels the zone's heat-map statistics use).
- Frame ``i`` stands for ``dt_i = t[i+1] - t[i]`` ms (the last frame: the median frame interval),
  capped at twice the median interval so a gap in the recording is not counted as dwell.
- ``dwell_s`` = sum of ``dt_i`` over the track's frames in the zone; ``first_seen`` / ``last_seen``
  = times of its first and last frame in the zone; ``visits`` = runs of in-zone frames, where two
  in-zone frames at most ``merge_gap_s`` (5 s, as the zone statistics) apart belong to one visit.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .events import utc
from .zones import Zone

COLUMNS = ("track", "zone", "dwell_s", "visits", "frames", "first_seen_utc", "last_seen_utc",
           "first_epoch_ms", "last_epoch_ms")
_NEED = ("track", "frame", "t_ms", "x", "y")


class TrackError(ValueError):
    """Tracks that cannot be used with this recording; the message says why (one line)."""


def read_tracks(path: str | Path) -> dict[str, np.ndarray]:
    """``tracks.csv`` of ``tinyheat people`` -> columns ``track`` int64, ``frame`` int64,
    ``t_ms`` int64, ``x``, ``y`` float64 (R,). Raises TrackError naming the problem."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeError) as e:
        raise TrackError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    if rows and (missing := [c for c in _NEED if c not in rows[0]]):
        raise TrackError(f"{path}: not a tracks.csv of `tinyheat people` (no column {', '.join(missing)})")
    try:
        out = {c: np.array([r[c] for r in rows], np.float64) for c in _NEED}
    except (ValueError, TypeError):
        raise TrackError(f"{path}: non-numeric track, frame, t_ms, x or y value") from None
    if not all(np.isfinite(v).all() for v in out.values()):
        raise TrackError(f"{path}: empty or non-finite track, frame, t_ms, x or y value")
    for c in ("track", "frame", "t_ms"):
        out[c] = out[c].astype(np.int64)
    return out


def from_table(table) -> dict[str, np.ndarray]:
    """The same columns from the tracker's DataFrame (``find_people(...).table``)."""
    return {c: np.asarray(table[c], np.int64 if c in ("track", "frame", "t_ms") else np.float64) for c in _NEED}


def check_tracks(tracks: dict[str, np.ndarray], t_ms: np.ndarray, source: str = "tracks") -> None:
    """Raise TrackError unless every row's ``frame`` exists in the recording and its ``t_ms``
    matches the recording's frame time within 1 ms (tracks of another recording are refused)."""
    n = len(t_ms)
    f = tracks["frame"]
    if len(f) and (f.min() < 0 or f.max() >= n):
        raise TrackError(f"{source}: frame {int(f.max() if f.max() >= n else f.min())} is not in the recording "
                         f"({n} frames); tracks of another recording?")
    bad = np.flatnonzero(np.abs(np.asarray(t_ms, np.int64)[f] - tracks["t_ms"]) > 1)
    if len(bad):
        i = bad[0]
        raise TrackError(f"{source}: frame {int(f[i])} is at t_ms {int(tracks['t_ms'][i])}, the recording's at "
                         f"{int(t_ms[f[i]])}; tracks of another recording?")


def frame_durations_ms(epoch_ms: np.ndarray) -> np.ndarray:
    """float64 (N,) ms each frame stands for: the interval to the next frame, the last frame the
    median interval, all capped at twice the median interval (0 for a single frame)."""
    ms = np.asarray(epoch_ms, np.float64)
    if len(ms) < 2:
        return np.zeros(len(ms))
    d = np.diff(ms)
    med = float(np.median(d))
    return np.minimum(np.append(d, med), 2 * med)


def track_paths(tracks: dict[str, np.ndarray]) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per track: (frame int64 (F,), x, y float64 (F,)) for every frame from its first to its last
    detection, missed frames linearly interpolated."""
    out = {}
    for tid in np.unique(tracks["track"]):
        m = tracks["track"] == tid
        f, order = np.unique(tracks["frame"][m], return_index=True)
        frames = np.arange(f[0], f[-1] + 1)
        out[int(tid)] = (frames, np.interp(frames, f, tracks["x"][m][order]), np.interp(frames, f, tracks["y"][m][order]))
    return out


def track_zone_dwell(tracks: dict[str, np.ndarray], epoch_ms: np.ndarray, zones: list[Zone], *,
                     t0_ms: int | None = None, t1_ms: int | None = None, merge_gap_s: float = 5.0) -> list[dict]:
    """One row per track x zone (columns :data:`COLUMNS`; first/last empty when the track never
    entered the zone) over frames with ``t0_ms <= epoch_ms < t1_ms`` (epoch ms, UTC; None = open).
    ``epoch_ms`` int64 (N,) the recording's frame times; ``tracks`` from :func:`read_tracks` /
    :func:`from_table`, checked with :func:`check_tracks`."""
    epoch_ms = np.asarray(epoch_ms, np.int64)
    dt = frame_durations_ms(epoch_ms)
    rows = []
    for tid, (frames, x, y) in track_paths(tracks).items():
        t = epoch_ms[frames]
        keep = np.ones(len(frames), bool)
        if t0_ms is not None:
            keep &= t >= t0_ms
        if t1_ms is not None:
            keep &= t < t1_ms
        for z in zones:
            inside = keep & (x >= z.x0) & (x < z.x1 + 1) & (y >= z.y0) & (y < z.y1 + 1)
            ti = t[inside]
            visits = int(len(ti) > 0) + int(np.sum(np.diff(ti) > merge_gap_s * 1000))
            r = {"track": tid, "zone": z.name, "dwell_s": round(float(dt[frames[inside]].sum()) / 1000, 3),
                 "visits": visits, "frames": int(inside.sum()), "first_seen_utc": "", "last_seen_utc": "",
                 "first_epoch_ms": "", "last_epoch_ms": ""}
            if len(ti):
                r.update(first_seen_utc=utc(int(ti[0])), last_seen_utc=utc(int(ti[-1])),
                         first_epoch_ms=int(ti[0]), last_epoch_ms=int(ti[-1]))
            rows.append(r)
    return rows
