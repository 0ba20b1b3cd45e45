"""Tracking people across frames: a constant-velocity Kalman filter per track and optimal
assignment with gating (scipy ``linear_sum_assignment``), then offline stitching of broken tracks.

Per frame: every live track predicts its body centre with a constant-velocity Kalman filter
(state x, y, vx, vy in pixels and pixels/frame; white-acceleration process noise ``q_px``,
measurement noise ``r_px``; Bar-Shalom et al., "Estimation with Applications to Tracking and
Navigation", 2001, ch. 6). Detections are assigned to tracks by minimising the summed distance
between predicted and detected centres (Hungarian method, scipy ``linear_sum_assignment``); a
pair is allowed only within the gate ``gate_px`` x scale (scale = width / 32), widened by the
predicted position's standard deviation (a coasting track's gate grows), or, up to three gates
away, when the detection's body overlaps the track's last body (a person lying down or getting
up changes shape and the centre jumps). A track not matched
survives ``max_missed`` frames (coasting: a person at the edge of the view, a missed frame).

An unmatched detection that lies, for at least ``split_frac`` of its area, where the body of a
track matched in this frame was in its last ``split_frames`` frames is a split of that body (a lying person seen
as head and legs), not a new person: no track is started for it.
New tracks are tentative until matched ``n_init`` times in a row (SORT / DeepSORT convention).

Offline stitching (the whole session is known): a track that ends and a track that starts
within ``stitch_s`` seconds, at most ``gate_px`` x scale + half the distance a walker at
``max_speed_px_s`` covers in the gap apart (from the first track's end or its constant-velocity
extrapolation), and never overlapping in time, are one track; pairs are
chosen by ``linear_sum_assignment`` over all end/start pairs, repeated until nothing joins.
Tracks shorter than ``min_frames`` detections are dropped from the output as spurious, and so is
a track that never moved (its centre within ``static_px`` x scale for at least ``static_min_s``)
and did not enter at the view's edge: a warm object switched on (a heater), not a person - people
walk in. (A person already seated when the session starts who never moves is dropped too; one
present for the whole session is part of the session background anyway.)

Library choice: ``filterpy`` (last release 2018, unmaintained) would give the same 4-state
filter in more code; ``norfair`` (maintained) brings its own detection/tracker objects and
``filterpy`` and ``rich`` as dependencies for what is here ~30 lines of numpy around scipy's
assignment, and is slower per frame than the >= 200 frames/s this step needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detect import Detection

_BIG = 1e9


@dataclass
class TrackerConfig:
    gate_px: float = 4.0        #: max distance from the predicted centre, pixels x scale
    q_px: float = 0.3           #: process noise: acceleration sigma, pixels/frame^2 x scale
    r_px: float = 0.7           #: measurement noise sigma, pixels x scale
    max_missed: int = 10        #: frames a track coasts without a detection
    n_init: int = 2             #: matches in a row before a new track is confirmed
    split_px: float = 1.5       #: offline: a track starting this close to where one ended is its continuation
    split_frac: float = 0.5     #: an unmatched body this much inside a matched track's recent footprint is its split
    split_frames: int = 8       #: the footprint: union of the track's last this many bodies
    stitch_s: float = 4.0       #: offline: join tracks with a gap up to this long, s
    max_speed_px_s: float = 25.0 #: offline: fastest walk across the view, pixels/s x scale
    min_frames: int = 4         #: shorter tracks are dropped
    static_px: float = 1.5      #: a track whose centre never leaves this radius (px x scale) ...
    static_min_s: float = 10.0  #: ... for at least this long, and that did not enter at the edge, is an object


@dataclass
class Track:
    tid: int
    frames: list[int] = field(default_factory=list)
    dets: list[Detection] = field(default_factory=list)
    missed: int = 0
    hits: int = 0
    x: np.ndarray | None = None    #: Kalman state (x, y, vx, vy)
    P: np.ndarray | None = None    #: state covariance

    def predict(self) -> tuple[float, float]:
        return float(self.x[0]), float(self.x[1])


_F = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], float)
_H = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], float)
# discrete white-noise acceleration, dt = 1 frame
_Q1 = np.array([[0.25, 0, 0.5, 0], [0, 0.25, 0, 0.5], [0.5, 0, 1, 0], [0, 0.5, 0, 1]], float)


def _start(tid: int, i: int, d: Detection, r: float) -> Track:
    t = Track(tid, [i], [d], hits=1)
    t.x = np.array([d.x, d.y, 0.0, 0.0])
    t.P = np.diag([r * r, r * r, 1.0, 1.0])
    return t


def _touch(a: Detection, b: Detection, px: float) -> bool:
    if a.mask is not None and b.mask is not None:
        from scipy import ndimage as ndi

        grown = ndi.binary_dilation(a.mask, iterations=max(1, int(round(px))))
        return bool((grown & b.mask).any())
    return float(np.hypot(a.x - b.x, a.y - b.y)) <= px + np.sqrt((a.area + b.area) / np.pi)


def _footprint(t: Track, n: int):
    """Union of the track's last ``n`` body masks (or its last detection when masks are absent)."""
    masks = [d.mask for d in t.dets[-n:] if d.mask is not None]
    if not masks:
        return t.dets[-1]
    return np.logical_or.reduce(masks) if len(masks) > 1 else masks[0]


def _covered(d: Detection, fp, frac: float) -> bool:
    """True when at least ``frac`` of ``d``'s body lies inside the footprint ``fp`` (a bool mask,
    or a Detection: inside its area-equivalent disc)."""
    if isinstance(fp, Detection) or d.mask is None:
        p = fp if isinstance(fp, Detection) else None
        if p is None:
            return False
        return float(np.hypot(d.x - p.x, d.y - p.y)) ** 2 * np.pi <= p.area
    return bool((d.mask & fp).sum() >= frac * d.area)


def track(dets_per_frame: list[list[Detection]], width: int = 32, cfg: TrackerConfig = TrackerConfig(),
          t_ms: np.ndarray | None = None) -> list[Track]:
    """Link per-frame detections into tracks. ``t_ms`` (N,) frame times for the offline
    stitching (default: 8 frames/s). Returns the kept tracks, numbered 1.. in order of their
    first frame."""
    scale = width / 32.0
    gate = cfg.gate_px * scale
    Q = _Q1 * (cfg.q_px * scale) ** 2
    R = np.eye(2) * (cfg.r_px * scale) ** 2
    live: list[Track] = []
    done: list[Track] = []
    next_id = 1
    for i, dets in enumerate(dets_per_frame):
        for t in live:  # predict
            t.x = _F @ t.x
            t.P = _F @ t.P @ _F.T + Q
        pairs = []
        if live and dets:
            cost = np.full((len(live), len(dets)), _BIG)
            for a, t in enumerate(live):
                px, py = t.x[0], t.x[1]
                g = gate + 2.0 * np.sqrt(max(t.P[0, 0], t.P[1, 1]))
                for b, d in enumerate(dets):
                    dist = float(np.hypot(d.x - px, d.y - py))
                    if dist <= g or (dist <= 3 * g and _touch(d, t.dets[-1], 1.0)):  # or the body reshaped
                        cost[a, b] = dist + (0.0 if t.hits >= cfg.n_init else 0.5 * gate)  # confirmed first
            rows, cols = linear_sum_assignment(cost)
            pairs = [(r, c) for r, c in zip(rows, cols) if cost[r, c] < _BIG]
        matched_t = {r for r, _ in pairs}
        matched_d = {c for _, c in pairs}
        before = [_footprint(live[r], cfg.split_frames) for r, _ in pairs]  # where the matched bodies were
        for r, c in pairs:  # update
            t, d = live[r], dets[c]
            S = _H @ t.P @ _H.T + R
            K = t.P @ _H.T @ np.linalg.inv(S)
            t.x = t.x + K @ (np.array([d.x, d.y]) - _H @ t.x)
            t.P = (np.eye(4) - K @ _H) @ t.P
            t.frames.append(i)
            t.dets.append(d)
            t.missed = 0
            t.hits += 1
        still = []
        for a, t in enumerate(live):
            if a not in matched_t:
                t.missed += 1
                t.x[2:] *= 0.8  # a coasting person slows down rather than flying off
            tentative = t.hits < cfg.n_init and len(t.frames) < cfg.n_init
            if t.missed > cfg.max_missed or (tentative and t.missed > 0):
                done.append(t)
            else:
                still.append(t)
        live = still
        for b, d in enumerate(dets):
            if b in matched_d:
                continue
            if any(_covered(d, fp, cfg.split_frac) for fp in before):
                continue  # a split of a body that is already tracked
            live.append(_start(next_id, i, d, cfg.r_px * scale))
            next_id += 1
    done.extend(live)
    done = [t for t in done if len(t.frames) >= min(cfg.n_init, len(dets_per_frame))]
    t_ms = np.asarray(t_ms, float) if t_ms is not None else np.arange(len(dets_per_frame)) * 125.0
    done = stitch(done, t_ms, cfg, scale)
    done = [t for t in done if not _static_object(t, t_ms, cfg, scale, width, dets_per_frame)]
    min_frames = min(cfg.min_frames, len(dets_per_frame))  # a 2-frame session can still have tracks
    kept = sorted((t for t in done if len(t.frames) >= min_frames), key=lambda t: (t.frames[0], t.tid))
    for k, t in enumerate(kept, start=1):
        t.tid = k
    return kept


def _static_object(t: Track, t_ms: np.ndarray, cfg: TrackerConfig, scale: float, width: int, dets) -> bool:
    """A warm object, not a person: the track lasted ``static_min_s`` and its body centre never
    left a ``static_px`` radius around its median, and it did not enter at the view's edge (a
    heater switched on, a warm chair; a person walks in, so their track moves)."""
    if t_ms[t.frames[-1]] - t_ms[t.frames[0]] < cfg.static_min_s * 1000:
        return False
    xy = np.array([[d.x, d.y] for d in t.dets])
    med = np.median(xy, axis=0)
    if np.hypot(*(xy - med).T).max() > cfg.static_px * scale:
        return False
    d0 = t.dets[0]
    h = d0.mask.shape[0] if d0.mask is not None else None
    edge = 2.0 * scale
    near_edge = d0.x < edge or d0.x > width - edge or d0.y < edge or (h is not None and d0.y > h - edge)
    return not near_edge


def stitch(tracks: list[Track], t_ms: np.ndarray, cfg: TrackerConfig = TrackerConfig(), scale: float = 1.0) -> list[Track]:
    """Join tracks broken by a gap (module docstring); returns the joined list."""
    tracks = list(tracks)
    while len(tracks) > 1:
        n = len(tracks)
        cost = np.full((n, n), _BIG)
        for a, ta in enumerate(tracks):
            ea, fa = ta.dets[-1], ta.frames[-1]
            # mean velocity over the last few detections, px per ms
            k = max(0, len(ta.frames) - 5)
            dt_v = t_ms[fa] - t_ms[ta.frames[k]]
            v = (np.array([ea.x - ta.dets[k].x, ea.y - ta.dets[k].y]) / dt_v) if dt_v > 0 else np.zeros(2)
            for b, tb in enumerate(tracks):
                if a == b:
                    continue
                fb = tb.frames[0]
                if fb <= fa:
                    continue
                gap_ms = t_ms[fb] - t_ms[fa]
                if gap_ms > cfg.stitch_s * 1000:
                    continue
                sb = tb.dets[0]
                pred = np.array([ea.x, ea.y]) + v * gap_ms
                reach = cfg.gate_px * scale + 0.5 * cfg.max_speed_px_s * scale * gap_ms / 1000
                dist = min(np.hypot(sb.x - pred[0], sb.y - pred[1]), np.hypot(sb.x - ea.x, sb.y - ea.y))
                if dist <= reach or (gap_ms <= 1000 and _touch(sb, ea, cfg.split_px * scale)):
                    cost[a, b] = dist + gap_ms / 1000.0
        if not (cost < _BIG).any():
            break
        rows, cols = linear_sum_assignment(cost)
        joins = [(r, c) for r, c in zip(rows, cols) if cost[r, c] < _BIG]
        if not joins:
            break
        nxt = {r: c for r, c in joins}
        into = {c for _, c in joins}
        merged = []
        for a, t in enumerate(tracks):
            if a in into:
                continue  # appended to its predecessor below
            cur = t
            while a in nxt:
                b = nxt[a]
                cur.frames.extend(tracks[b].frames)
                cur.dets.extend(tracks[b].dets)
                a = b
            merged.append(cur)
        if len(merged) == len(tracks):
            break
        tracks = merged
    return tracks
