"""Simulated MLX90640 sessions with people moving over time, with ground truth.

The scene model is the one of :mod:`tinyheat.sim.people_scene` (shared with the occupancy
scenes of :mod:`tinyheat.occupancy.synth`): :class:`Walker` people enter at an edge of the view,
walk to a seat, sit (small head motion), and walk out; any
:class:`~tinyheat.sim.people_scene.Person` (``MovingScene.people``) follows waypoints and may lie
on the floor (fallen, sleeping); static warm objects (``MovingScene.objects``) appear and
disappear; a warm room is ``room_degC`` (e.g. 28);
the room warms or cools slowly (room and sensor Ta drift), and an optional camera drift adds the
same offset to every pixel (what a reference region must remove). The view is a plane in sensor
pixel units (x = column 0..32, y = row 0..24) rendered supersampled and read through the sensor
model of :mod:`tinyheat.sim.sensor` (PSF, pixel footprint, driver compensation, chess subpages,
fixed pattern, NETD noise).

Ground truth per frame and person whose head disc overlaps the view: head centre (x, y) in
pixels (may lie just outside the view; ``in_view`` says), head radius (px) and the
noise-free, drift-free p95 / max temperature of the pixels whose centre lies in the head disc
(``truth_p95_degC``) - what a perfect detector would report.

Temperatures (apparent, degC): face skin 34.0-35.5 (forehead, typical indoor values; the
simulator's ``forehead_temperature`` of :mod:`tinyheat.sim.scene` uses the same range), hair
rim 30, clothing 27, room background 21-23. A head is 3-7 pixels wide at 32x24, as in the kit's
seated-audience or ceiling views.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .people_scene import Person, StaticObject, body_shapes
from .sensor import COLS, ROWS, Mlx90640Sensor, SensorConfig, integrate_pixels


@dataclass
class Walker:
    """One person: enters at ``t_in_s``, walks from ``door`` to ``seat`` at ``speed_px_s``, sits for
    ``sit_s``, walks back to ``door``. ``head_r_px`` head radius in sensor pixels, ``face_degC``."""

    pid: int
    t_in_s: float
    door: tuple[float, float]
    seat: tuple[float, float]
    sit_s: float
    speed_px_s: float = 4.0
    head_r_px: float = 1.8
    face_degC: float = 34.5
    phase: float = 0.0

    @property
    def walk_s(self) -> float:
        return float(np.hypot(self.seat[0] - self.door[0], self.seat[1] - self.door[1]) / self.speed_px_s)

    @property
    def t_out_s(self) -> float:
        return self.t_in_s + 2 * self.walk_s + self.sit_s

    def position(self, t: float) -> tuple[float, float] | None:
        """Head centre (x, y) in pixels at time t (s), or None when out of the session."""
        u = t - self.t_in_s
        if u < 0 or u > 2 * self.walk_s + self.sit_s:
            return None
        d, s = np.array(self.door), np.array(self.seat)
        if u < self.walk_s:
            p = d + (s - d) * (u / self.walk_s)
        elif u < self.walk_s + self.sit_s:
            p = s + 0.25 * np.array([np.sin(0.7 * u + self.phase), np.sin(0.45 * u + 2 * self.phase)])
        else:
            p = s + (d - s) * ((u - self.walk_s - self.sit_s) / self.walk_s)
        return float(p[0]), float(p[1])

    def lying_angle(self, t: float) -> float | None:
        return None


@dataclass
class MovingScene:
    """Session parameters. Times in s, temperatures in degC, drifts in K over the whole session."""

    duration_s: float = 60.0
    frame_hz: float = 4.0
    room_degC: float = 22.0
    room_drift_k: float = 0.0
    camera_drift_k: float = 0.0
    ta_above_room_k: float = 7.0
    hot_object: tuple[float, float, float, float, float] | None = (26.0, 2.0, 29.0, 4.0, 30.0)  #: x0,y0,x1,y1,degC
    walkers: list[Walker] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)          #: more people on waypoint paths
    objects: list[StaticObject] = field(default_factory=list)   #: warm boxes (delta above the room) switched on/off
    lying_degC: float = 28.0  #: a lying body seen from above (clothing, arms; the floor under it warms)

    @property
    def everyone(self) -> list:
        return list(self.walkers) + list(self.people)


def default_scene(seed: int = 0, duration_s: float = 75.0, n_people: int = 3, **kw) -> MovingScene:
    """A seeded scene: ``n_people`` entering in turn (overlapping in time), sitting, leaving."""
    rng = np.random.default_rng(seed)
    walkers = []
    seats = [(7.0, 15.0), (16.0, 13.0), (25.0, 16.0), (11.0, 8.0), (21.0, 7.0)]
    doors = [(-3.0, 20.0), (35.0, 20.0), (16.0, 27.0)]
    slot = duration_s / (n_people + 1)
    for i in range(n_people):
        t_in = i * slot * 0.8 + rng.uniform(0, 2)
        w = Walker(i + 1, t_in, doors[i % len(doors)], seats[i % len(seats)], sit_s=slot * 1.6,
                   speed_px_s=rng.uniform(3, 5), head_r_px=rng.uniform(1.5, 2.6),
                   face_degC=rng.uniform(34.0, 35.5), phase=rng.uniform(0, 6))
        walkers.append(w)
    return MovingScene(duration_s=duration_s, walkers=walkers, **kw)


def _grid(ss: int):
    x = (np.arange(COLS * ss) + 0.5) / ss
    y = (np.arange(ROWS * ss) + 0.5) / ss
    return np.meshgrid(x, y)


def render_apparent(scene: MovingScene, t: float, ss: int = 4) -> np.ndarray:
    """Supersampled apparent-temperature scene (24ss, 32ss) degC at time t (s), drift included."""
    X, Y = _grid(ss)
    room = scene.room_degC + scene.room_drift_k * t / scene.duration_s
    img = room + 0.8 * (Y / ROWS) - 0.3 * (X / COLS)  # floor warmer than ceiling, window side cooler
    if scene.hot_object:
        x0, y0, x1, y1, temp = scene.hot_object
        img = np.where((X >= x0) & (X < x1) & (Y >= y0) & (Y < y1), temp, img)
    for o in scene.objects:
        if o.on(t):
            img = np.where((X >= o.x0) & (X < o.x1 + 1) & (Y >= o.y0) & (Y < o.y1 + 1), img + o.delta_degC, img)
    for w in scene.everyone:
        shapes = body_shapes(w, t, X, Y)
        if shapes is None:
            continue
        p = w.position(t)
        r2 = (X - p[0]) ** 2 + (Y - p[1]) ** 2
        r = w.head_r_px
        # body (clothing: shoulders seen from above, or the whole lying body), then the head: hair rim -> face
        head, body = shapes
        img = np.where(body, 27.0 if w.lying_angle(t) is None else scene.lying_degC, img)
        prof = w.face_degC - (w.face_degC - 30.0) * np.clip(r2 / (r * r), 0, 1) ** 2
        img = np.where(head, prof, img)
    return img


@dataclass
class SimSession:
    """frames (N, 24, 32) float32 degC, t_ms (N,), ta_degC (N,), truth: list of rows
    {frame, t_ms, pid, x, y, r_px, truth_p95_degC, truth_max_degC}, meta dict."""

    frames: np.ndarray
    t_ms: np.ndarray
    ta_degC: np.ndarray
    truth: list[dict]
    meta: dict


def simulate_session(scene: MovingScene, seed: int = 0, cfg: SensorConfig | None = None) -> SimSession:
    """Render and read every frame of ``scene`` through one simulated MLX90640 (seeded)."""
    cfg = cfg or SensorConfig(refresh_hz=2 * scene.frame_hz)
    rng = np.random.default_rng(seed)
    sensor = Mlx90640Sensor(rng, cfg)
    ss = cfg.supersample
    n = int(round(scene.duration_s * scene.frame_hz))
    frames = np.empty((n, ROWS, COLS), np.float32)
    ta = np.empty(n, np.float32)
    t_ms = np.round(np.arange(n) * 1000.0 / scene.frame_hz).astype(np.int64)
    truth = []
    cy, cx = np.mgrid[0:ROWS, 0:COLS] + 0.5
    for i in range(n):
        t = t_ms[i] / 1000.0
        a0 = integrate_pixels(render_apparent(scene, t, ss), cfg)
        a1 = integrate_pixels(render_apparent(scene, t + cfg.subpage_dt_s, ss), cfg)
        ta_true = scene.room_degC + scene.room_drift_k * t / scene.duration_s + scene.ta_above_room_k
        f, ta[i] = sensor.read(a0, a1, ta_true, rng)
        cam = scene.camera_drift_k * t / scene.duration_s
        frames[i] = f + cam
        clean = None
        for w in scene.everyone:
            p = w.position(t)
            r = w.head_r_px
            if p is None or not (-r < p[0] < COLS + r and -r < p[1] < ROWS + r):
                continue
            if clean is None:  # noise-free, drift-free reading of the same scene
                a0c = integrate_pixels(render_apparent(_no_drift(scene), t, ss), cfg)
                clean, _ = sensor.read(a0c, a0c, scene.room_degC + scene.ta_above_room_k, rng, noise=False)
            disc = (cx - p[0]) ** 2 + (cy - p[1]) ** 2 <= max(w.head_r_px, 0.75) ** 2
            vals = clean[disc] if disc.any() else clean[min(max(int(p[1]), 0), ROWS - 1), min(max(int(p[0]), 0), COLS - 1)][None]
            truth.append({"frame": i, "t_ms": int(t_ms[i]), "pid": w.pid, "x": p[0], "y": p[1],
                          "in_view": bool(0 <= p[0] < COLS and 0 <= p[1] < ROWS),
                          "r_px": w.head_r_px, "truth_p95_degC": float(np.percentile(vals, 95)),
                          "truth_max_degC": float(vals.max())})
    meta = {"sensor": "MLX90640 (simulated)", "refresh_hz": cfg.refresh_hz, "emissivity": cfg.emissivity,
            "reflected_degC": None, "firmware": "tinyheat.sim.moving", "source": f"simulator seed {seed}",
            "sim": {"duration_s": scene.duration_s, "frame_hz": scene.frame_hz, "room_degC": scene.room_degC,
                    "room_drift_k": scene.room_drift_k, "camera_drift_k": scene.camera_drift_k,
                    "people": [{"pid": w.pid, "t_in_s": round(w.t_in_s, 3), "t_out_s": round(w.t_out_s, 3),
                                **({"seat": list(w.seat)} if hasattr(w, "seat") else {}),
                                "head_r_px": round(w.head_r_px, 3),
                                "face_degC": round(w.face_degC, 3)} for w in scene.everyone]}}
    return SimSession(frames, t_ms, ta, truth, meta)


def _no_drift(scene: MovingScene) -> MovingScene:
    from dataclasses import replace

    return replace(scene, room_drift_k=0.0, camera_drift_k=0.0)
