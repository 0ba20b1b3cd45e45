"""Minute / hour / day / ISO-week / calendar-month rollups of per-second activation maps, and
the range-query plan.

All aggregates are sums, so they add across sessions and partitions: ``act`` float64 (P,) =
dwell seconds per pixel (sum of per-second occupied fractions), ``cov`` int32 (P,) = seconds with
at least one valid frame per pixel. Times are epoch seconds, UTC. Bucket starts: a minute, hour
or day starts at a multiple of its length (days at 00:00 UTC); a week is an ISO 8601 week
(Monday 00:00 UTC .. next Monday; 1970-01-05 was a Monday); a month is a calendar month
(the 1st, 00:00 UTC).
"""
from __future__ import annotations

import numpy as np

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
#: epoch second of the first Monday 00:00 UTC (1970-01-05), the origin of ISO weeks
MONDAY0 = 4 * DAY
#: every level, smallest first; the value is the nominal length in s (a month's varies)
LEVELS = {"minute": MINUTE, "hour": HOUR, "day": DAY, "week": WEEK, "month": 31 * DAY}
#: the levels of stores written before week/month rollups existed (manifest without ``levels``)
LEGACY_LEVELS = ("minute", "hour", "day")


def bucket_start(sec, level: str) -> np.ndarray:
    """Start (epoch s, int64) of the ``level`` bucket holding each second of ``sec``."""
    sec = np.asarray(sec, np.int64)
    if level == "month":
        return sec.astype("datetime64[s]").astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)
    if level == "week":
        return (sec - MONDAY0) // WEEK * WEEK + MONDAY0
    n = LEVELS[level]
    return sec // n * n


def bucket_end(start, level: str) -> np.ndarray:
    """End (exclusive, epoch s) of the ``level`` bucket starting at ``start``."""
    start = np.asarray(start, np.int64)
    if level == "month":
        m = start.astype("datetime64[s]").astype("datetime64[M]") + 1
        return m.astype("datetime64[s]").astype(np.int64)
    return start + LEVELS[level]


def rollup(sec: np.ndarray, act: np.ndarray, cov: np.ndarray, level: str | int):
    """Sum seconds into buckets of ``level`` (a name of :data:`LEVELS`, or a length in s aligned
    to multiples of itself): ``sec`` int64 (S,) strictly increasing epoch s, ``act`` (S, P) float,
    ``cov`` (S, P) bool -> (start int64 (B,), act float64 (B, P), cov int32 (B, P)).
    Raises ValueError if ``sec`` is not strictly increasing."""
    sec = np.asarray(sec, np.int64)
    if len(sec) == 0:
        p = act.shape[1] if act.ndim == 2 else 0
        return np.zeros(0, np.int64), np.zeros((0, p)), np.zeros((0, p), np.int32)
    if np.any(np.diff(sec) <= 0):
        raise ValueError("seconds must be strictly increasing")
    key = bucket_start(sec, level) if isinstance(level, str) else sec // level * level
    cut = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
    return (key[cut], np.add.reduceat(np.asarray(act, np.float64), cut, axis=0),
            np.add.reduceat(np.asarray(cov, np.int32), cut, axis=0).astype(np.int32))


def _append(runs: list, level: str, a: int, b: int) -> None:
    if runs and runs[-1][0] == level and runs[-1][2] == a:
        runs[-1][2] = b
    else:
        runs.append([level, a, b])


def _small(runs: list, t: int, t1: int) -> None:
    """Greedy hours and minutes over [t, t1) (no day fits): optimal, as 60 divides 3,600."""
    while t < t1:
        for name in ("hour", "minute"):
            n = LEVELS[name]
            if t % n == 0 and t + n <= t1:
                _append(runs, name, t, t + n)
                t += n
                break


def _days(runs: list, d0: int, d1: int, levels) -> None:
    """Fewest day / week / month buckets exactly covering the whole days [d0, d1) (epoch s):
    a shortest path over day boundaries (every bucket of these levels starts and ends on one);
    weeks and months do not nest, so greedy is not enough. Ties prefer the larger bucket."""
    n = (d1 - d0) // DAY
    days = d0 + np.arange(n, dtype=np.int64) * DAY
    # per level: the day index where a bucket starting on day i ends, or -1 if none starts there
    ends = {lv: np.where(bucket_start(days, lv) == days, (bucket_end(days, lv) - d0) // DAY, -1).tolist()
            for lv in ("month", "week") if lv in levels}
    best = [0] * (n + 1)
    step: list = [None] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i], step[i] = best[i + 1] + 1, ("day", i + 1)
        for lv, end in ends.items():
            j = end[i]
            if 0 <= j <= n and best[j] + 1 < best[i]:
                best[i], step[i] = best[j] + 1, (lv, j)
    i = 0
    while i < n:
        lv, j = step[i]
        _append(runs, lv, d0 + i * DAY, d0 + j * DAY)
        i = j


def plan(t0: int, t1: int, levels=tuple(LEVELS)) -> list[tuple[str, int, int]]:
    """The fewest stored aggregates covering [t0, t1) (epoch s, both multiples of 60) using
    ``levels`` (must include minute, hour and day): runs (level, first_start, end) = minutes up
    to the first whole hour, hours up to the first whole day, then the fewest days, ISO weeks and
    calendar months (:func:`_days`), then hours and minutes at the right edge. Buckets of a day or
    longer start on a day boundary, so the edges can only be hours and minutes (greedy is optimal
    there: each length divides the next). Raises ValueError for ends that are not whole minutes."""
    if t0 % MINUTE or t1 % MINUTE:
        raise ValueError("range ends must be whole minutes")
    runs: list[list] = []
    d0, d1 = -(-t0 // DAY) * DAY, t1 // DAY * DAY
    if d1 <= d0:
        _small(runs, t0, t1)
    else:
        _small(runs, t0, d0)
        _days(runs, d0, d1, levels)
        _small(runs, d1, t1)
    return [tuple(r) for r in runs]


def run_size(level: str, a: int, b: int) -> int:
    """Number of ``level`` buckets in the run [a, b)."""
    if level == "month":
        m = np.array([a, b], np.int64).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
        return int(m[1] - m[0])
    return (b - a) // LEVELS[level]


def plan_size(runs) -> int:
    """Number of aggregates a plan reads."""
    return sum(run_size(lvl, a, b) for lvl, a, b in runs)
