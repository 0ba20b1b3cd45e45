"""Tracking heads across frames: optimal assignment with gating (scipy ``linear_sum_assignment``).

Each frame's detections are matched to the live tracks by minimising the summed distance between
a track's predicted centre (last centre + last velocity, constant-velocity model) and the
detection's centre, in pixels. A pair is allowed only if the distance is at most ``gate_px``
(x scale = width / 32) and the areas differ by at most ``size_ratio`` times (gating). Unmatched
detections start new tracks; a track not matched for more than ``max_missed`` frames ends (a
person who comes back gets a new track). Tracks shorter than ``min_frames`` detections are
dropped from the output as spurious.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detect import Detection

_BIG = 1e9


@dataclass
class TrackerConfig:
    gate_px: float = 4.0      #: max distance from the predicted centre, pixels x scale
    size_ratio: float = 4.0   #: max area ratio between a track's last head and a detection
    max_missed: int = 4       #: frames a track survives without a detection
    min_frames: int = 4       #: shorter tracks are dropped


@dataclass
class Track:
    tid: int
    frames: list[int] = field(default_factory=list)
    dets: list[Detection] = field(default_factory=list)
    missed: int = 0

    def predict(self) -> tuple[float, float]:
        d = self.dets[-1]
        if len(self.dets) >= 2 and self.frames[-1] - self.frames[-2] == 1:
            p = self.dets[-2]
            return d.x + 0.5 * (d.x - p.x), d.y + 0.5 * (d.y - p.y)
        return d.x, d.y


def track(dets_per_frame: list[list[Detection]], width: int = 32,
          cfg: TrackerConfig = TrackerConfig()) -> list[Track]:
    """Link per-frame detections into tracks. Returns the kept tracks, numbered 1.. in order of
    their first frame."""
    scale = width / 32.0
    gate = cfg.gate_px * scale
    live: list[Track] = []
    done: list[Track] = []
    next_id = 1
    for i, dets in enumerate(dets_per_frame):
        if live and dets:
            cost = np.full((len(live), len(dets)), _BIG)
            for a, t in enumerate(live):
                px, py = t.predict()
                last = t.dets[-1]
                for b, d in enumerate(dets):
                    dist = float(np.hypot(d.x - px, d.y - py))
                    ratio = max(d.area, 1) / max(last.area, 1)
                    if dist <= gate * (1 + 0.5 * t.missed) and 1 / cfg.size_ratio <= ratio <= cfg.size_ratio:
                        cost[a, b] = dist
            rows, cols = linear_sum_assignment(cost)
            pairs = [(r, c) for r, c in zip(rows, cols) if cost[r, c] < _BIG]
        else:
            pairs = []
        matched_t = {r for r, _ in pairs}
        matched_d = {c for _, c in pairs}
        for r, c in pairs:
            t = live[r]
            t.frames.append(i)
            t.dets.append(dets[c])
            t.missed = 0
        still = []
        for a, t in enumerate(live):
            if a not in matched_t:
                t.missed += 1
            (still if t.missed <= cfg.max_missed else done).append(t)
        live = still
        for b, d in enumerate(dets):
            if b not in matched_d:
                live.append(Track(next_id, [i], [d]))
                next_id += 1
    done.extend(live)
    kept = sorted((t for t in done if len(t.frames) >= cfg.min_frames), key=lambda t: (t.frames[0], t.tid))
    for k, t in enumerate(kept, start=1):
        t.tid = k
    return kept
