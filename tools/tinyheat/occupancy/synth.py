"""Synthetic occupancy scenes with known answers (tests, the shipped demo session, benchmarks).

The scene model (people on waypoint paths, lying intervals, static objects switched on and off)
is the one of :mod:`tinyheat.sim.people_scene`, shared with the sensor-level simulator
:mod:`tinyheat.sim.moving`; this module renders it fast and hard-edged. A smooth room background
(``base_degC`` plus a fixed left-right gradient and per-pixel offsets) drifts linearly by
``drift_degC_per_h``; Gaussian sensor noise ``noise_degC`` per frame; a person is a hard-edged
warm disc (``delta_degC`` above the background; while lying, plus the long body ellipse of
:func:`~tinyheat.sim.people_scene.body_shapes`); static objects are warm boxes. Hard edges make
the true occupied pixels exact: pixel (row, col) is occupied by an upright person at (x, y) when
``(col - x)**2 + (row - y)**2 <= radius_px**2``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from ..sim.people_scene import Person, StaticObject, body_shapes
from .recording import Recording

__all__ = ["Person", "StaticObject", "Truth", "scene", "known_activation", "demo_scene", "DEFAULT_START"]

DEFAULT_START = datetime(2026, 1, 5, 8, 0, 0, tzinfo=timezone.utc)


@dataclass
class Truth:
    """``people_masks`` bool (N, H, W); ``count`` int (N,) people in view; ``object_mask`` bool (H, W)."""

    people_masks: np.ndarray
    count: np.ndarray
    object_mask: np.ndarray = field(default=None)


def scene(duration_s: float, *, fps: float = 8.0, shape=(24, 32), people=(), objects=(),
          drift_degC_per_h: float = 2.0, noise_degC: float = 0.1, base_degC: float = 22.0,
          start: datetime = DEFAULT_START, seed: int = 0, gaps=()) -> tuple[Recording, Truth]:
    """Simulate ``duration_s`` seconds at ``fps``. ``gaps``: ((t0_s, t1_s), ...) with no frames
    (a recording that stopped). Returns (Recording, Truth) for the frames that exist."""
    rng = np.random.default_rng(seed)
    h, w = shape
    n = int(round(duration_s * fps))
    t_ms = np.round(np.arange(n) * 1000.0 / fps).astype(np.int64)
    keep = np.ones(n, bool)
    for a, b in gaps:
        keep &= ~((t_ms >= a * 1000) & (t_ms < b * 1000))
    t_ms = t_ms[keep]
    rows, cols = np.mgrid[0:h, 0:w]
    room = base_degC + 1.5 * cols / w + rng.normal(0, 0.3, (h, w))
    frames = np.empty((len(t_ms), h, w), np.float32)
    pm = np.zeros((len(t_ms), h, w), bool)
    count = np.zeros(len(t_ms), np.int64)
    obj_mask = np.zeros((h, w), bool)
    for o in objects:
        obj_mask[o.y0:o.y1 + 1, o.x0:o.x1 + 1] = True
    for i, tm in enumerate(t_ms):
        t = tm / 1000.0
        f = room + drift_degC_per_h * t / 3600.0
        for o in objects:
            if o.on(t):
                f[o.y0:o.y1 + 1, o.x0:o.x1 + 1] += o.delta_degC
        for p in people:
            shapes = body_shapes(p, t, cols, rows)
            if shapes is None:
                continue
            disc = shapes[0] | shapes[1] if p.lying_angle(t) is not None else shapes[0]
            if disc.any():
                count[i] += 1
            f = np.where(disc, f + p.delta_degC, f)
            pm[i] |= disc
        frames[i] = f + rng.normal(0, noise_degC, (h, w))
    return Recording(frames, t_ms, start, None, {"source": "synth"}), Truth(pm, count, obj_mask)


def known_activation(truth: Truth, rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """True per-second activation: (sec int64 (S,), act float32 (S, H, W)) = fraction of each
    second's frames in which a person covered the pixel."""
    secs = rec.epoch_ms // 1000
    u, inv = np.unique(secs, return_inverse=True)
    act = np.zeros((len(u),) + truth.people_masks.shape[1:], np.float64)
    np.add.at(act, inv, truth.people_masks)
    return u, (act / np.bincount(inv)[:, None, None]).astype(np.float32)


def demo_scene(minutes: float = 3.0, fps: float = 4.0, seed: int = 1) -> tuple[Recording, Truth]:
    """The shipped demo: two people crossing a ceiling view, one sitting at a desk (absorbed
    after the default 60 s), a heater switched on at 60 s."""
    d = minutes * 60
    people = (
        Person(((5, -2, 12), (25, 34, 12))),                       # crosses left -> right
        Person(((30, 8, -2), (40, 8, 6), (90, 8, 6), (105, 8, 26))),  # walks in, sits 50 s, leaves
        Person(((70, 34, 18), (95, 20, 18), (100, 20, 18), (120, -2, 5))),
    )
    objects = (StaticObject(50, 27, 2, 29, 4, 6.0),)
    return scene(d, fps=fps, people=people, objects=objects, seed=seed)
