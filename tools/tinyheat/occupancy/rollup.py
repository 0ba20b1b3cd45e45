"""Minute / hour / day rollups of per-second activation maps, and the range-query plan.

All aggregates are sums, so they add across sessions and partitions: ``act`` float64 (P,) =
dwell seconds per pixel (sum of per-second occupied fractions), ``cov`` int32 (P,) = seconds with
at least one valid frame per pixel. Times are epoch seconds, UTC; a level's bucket starts at a
multiple of its length (days start at 00:00 UTC).
"""
from __future__ import annotations

import numpy as np

MINUTE, HOUR, DAY = 60, 3600, 86400
LEVELS = {"minute": MINUTE, "hour": HOUR, "day": DAY}


def rollup(sec: np.ndarray, act: np.ndarray, cov: np.ndarray, length_s: int):
    """Sum seconds into buckets of ``length_s``: ``sec`` int64 (S,) sorted epoch s, ``act`` (S, P)
    float, ``cov`` (S, P) bool -> (start int64 (B,), act float64 (B, P), cov int32 (B, P))."""
    sec = np.asarray(sec, np.int64)
    if len(sec) == 0:
        p = act.shape[1] if act.ndim == 2 else 0
        return np.zeros(0, np.int64), np.zeros((0, p)), np.zeros((0, p), np.int32)
    if np.any(np.diff(sec) <= 0):
        raise ValueError("seconds must be strictly increasing")
    key = sec // length_s * length_s
    cut = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
    return (key[cut], np.add.reduceat(np.asarray(act, np.float64), cut, axis=0),
            np.add.reduceat(np.asarray(cov, np.int32), cut, axis=0).astype(np.int32))


def plan(t0: int, t1: int) -> list[tuple[str, int, int]]:
    """The fewest aggregates covering [t0, t1) (epoch s, both multiples of 60): runs
    (level, first_start, end) = minutes up to the first whole hour, hours up to the first whole
    day, whole days, then hours and minutes at the right edge. Greedy largest-aligned-bucket is
    optimal here because every length divides the next one."""
    if t0 % MINUTE or t1 % MINUTE:
        raise ValueError("range ends must be whole minutes")
    runs: list[list] = []
    t = t0
    while t < t1:
        for name in ("day", "hour", "minute"):
            n = LEVELS[name]
            if t % n == 0 and t + n <= t1:
                if runs and runs[-1][0] == name and runs[-1][2] == t:
                    runs[-1][2] = t + n
                else:
                    runs.append([name, t, t + n])
                t += n
                break
    return [tuple(r) for r in runs]


def plan_size(runs) -> int:
    """Number of aggregates a plan reads."""
    return sum((b - a) // LEVELS[lvl] for lvl, a, b in runs)
