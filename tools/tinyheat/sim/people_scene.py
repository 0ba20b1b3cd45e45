"""One scene model of people in a thermal view, shared by both simulators: the sensor-level
session simulator (:mod:`tinyheat.sim.moving`, MLX90640 physics) and the fast hard-edged
occupancy scenes with exact truth masks (:mod:`tinyheat.occupancy.synth`).

Coordinates: the view is a plane in sensor pixel units (x = column 0..W, y = row 0..H; pixel
``c`` spans ``c <= x < c + 1``). A person is a head (disc of ``radius_px``) at the path position
and a body: upright or seated, the shoulders seen from above, an ellipse 2.2 x 1.8 head radii
centred 1.6 radii below the head; lying (on the floor, fallen), a long ellipse 3.0 x 1.0 head
radii (1.7 m x 0.55 m for a 0.2 m head) whose near end is at the head, along ``angle`` (rad,
0 = towards +x). Static objects (a heater, a cup, a warm chair) are boxes switched on at
``t_on_s`` (and off at ``t_off_s``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Person:
    """``waypoints``: ((t_s, x, y), ...), in view from the first to the last time (half-open),
    linear between them. ``radius_px`` head radius; ``delta_degC`` warmth above the room of the
    hard-edged renderer; ``face_degC`` skin of the sensor renderer; ``lying``: ((t0_s, t1_s,
    angle_rad), ...) intervals lying down; ``jitter_px``: small head motion while the path holds
    still (seated people move a little); ``pid`` for ground truth."""

    waypoints: tuple
    radius_px: float = 1.6
    delta_degC: float = 6.0
    face_degC: float = 34.5
    lying: tuple = ()
    jitter_px: float = 0.0
    phase: float = 0.0
    pid: int = 0

    @property
    def head_r_px(self) -> float:
        return self.radius_px

    @property
    def t_in_s(self) -> float:
        return float(self.waypoints[0][0])

    @property
    def t_out_s(self) -> float:
        return float(self.waypoints[-1][0])

    def position(self, t: float) -> tuple[float, float] | None:
        w = np.asarray(self.waypoints, float)
        if t < w[0, 0] or t >= w[-1, 0]:
            return None
        x, y = float(np.interp(t, w[:, 0], w[:, 1])), float(np.interp(t, w[:, 0], w[:, 2]))
        if self.jitter_px:
            x += self.jitter_px * np.sin(0.7 * t + self.phase)
            y += self.jitter_px * np.sin(0.45 * t + 2 * self.phase)
        return x, y

    def lying_angle(self, t: float) -> float | None:
        for t0, t1, ang in self.lying:
            if t0 <= t < t1:
                return float(ang)
        return None


@dataclass(frozen=True)
class StaticObject:
    """A warm box, rows ``y0..y1`` and columns ``x0..x1`` inclusive, ``delta_degC`` above the
    room from ``t_on_s`` until ``t_off_s``."""

    t_on_s: float
    x0: int
    y0: int
    x1: int
    y1: int
    delta_degC: float = 5.0
    t_off_s: float = float("inf")

    def on(self, t: float) -> bool:
        return self.t_on_s <= t < self.t_off_s


def body_shapes(person, t: float, X: np.ndarray, Y: np.ndarray):
    """(head bool, body bool) masks of ``person`` at time ``t`` on the grid of point coordinates
    ``X``, ``Y`` (pixel units), or None when out of the scene. Geometry in the module docstring."""
    p = person.position(t)
    if p is None:
        return None
    r = person.head_r_px if hasattr(person, "head_r_px") else person.radius_px
    head = (X - p[0]) ** 2 + (Y - p[1]) ** 2 <= r * r
    ang = person.lying_angle(t) if hasattr(person, "lying_angle") else None
    if ang is None:
        body = ((X - p[0]) / (2.2 * r)) ** 2 + ((Y - p[1] - 1.6 * r) / (1.8 * r)) ** 2 <= 1
    else:
        half, wid = 3.0 * r, 1.0 * r
        cx, cy = p[0] + (half + 0.5 * r) * np.cos(ang), p[1] + (half + 0.5 * r) * np.sin(ang)
        u = (X - cx) * np.cos(ang) + (Y - cy) * np.sin(ang)
        v = -(X - cx) * np.sin(ang) + (Y - cy) * np.cos(ang)
        body = (u / half) ** 2 + (v / wid) ** 2 <= 1
    return head, body
