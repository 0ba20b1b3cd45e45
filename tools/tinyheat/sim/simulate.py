"""``tinyheat demo-data``: a physically plausible MLX90640 simulator and the demo dataset writer.

Simulates what the Wio Terminal data-collection kit saves: labelled 32x24 frames (float32
(24, 32) degC, row 0 at the top) of two people (``face0``, ``face1``) and of the empty room
(``env``), in several capture *sessions* (days, each one device boot), and stores them through
:class:`tinyheat.dataset.store.DatasetStore`, so the output is exactly the dataset format of
``datasets/FORMAT.md`` (``<label>/<label>.<N>.jpg`` + ``.pgm`` + ``manifest.csv``).

Pipeline per frame (sources in the module docstrings):

1. :mod:`tinyheat.sim.scene` renders apparent temperatures of the room, its objects and
   the person, supersampled 4x, at the read times of both chess subpages (the person moves
   slowly in between, so moving edges show the chess misregistration);
2. :mod:`tinyheat.sim.sensor` applies the optics (55 x 35 deg FOV, Gaussian PSF, pixel
   footprint), the driver's emissivity / reflected-temperature compensation, fixed-pattern
   offsets, per-subpage offsets and white noise (NETD 0.1 K at 1 Hz, 4 Hz refresh).

A session (one "day") draws a room temperature of 20-27 degC, heating, sun on the window,
monitor/lamp state and a mug; the sensor's Ta warms from ~1.5 K to 3-6.5 K above the room after
boot (the board self-heats). Within a session each label is captured in one run of *bursts*:
the person sits down in a new position, then a few frames are saved 0.5-2 s apart while the
head drifts slowly (near-duplicate consecutive frames, as in real captures). Manifest rows:
``session`` = 8-hex-digit boot id, ``millis`` = ms since that boot (increasing), ``ta_degC`` =
the simulated Ta read-out, ``source`` = ``simulated``.

Deterministic: the same ``--seed`` / ``--per-label`` / ``--sessions`` give bit-identical files
(session *i* of a seed is the same whatever the number of sessions).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import click
import numpy as np

from . import scene as sc
from .sensor import Mlx90640Sensor, SensorConfig, block_fraction, integrate_pixels, ray_tangents

LABELS = ("face0", "face1", "env")
SOURCE = "simulated"


@dataclass(frozen=True)
class Day:
    """Conditions of one capture session."""

    room_degc: float  #: air temperature, degC
    heating: bool
    sunny: bool
    monitor_on: bool
    lamp_on: bool
    mug_prob: float  #: probability that a hot mug stands in view during a burst
    mug_start_degc: float  #: mug outer-wall temperature when poured, degC
    mug_poured_s: float  #: pour time, s after boot
    laptop: bool
    ta_rise_k: float  #: Ta settles this far above the room, K
    ta_tau_s: float  #: Ta warm-up time constant, s

    def ta(self, t_s: float) -> float:
        """True sensor ambient temperature Ta (degC) at ``t_s`` seconds after boot."""
        return self.room_degc + self.ta_rise_k * (1.0 - 0.65 * np.exp(-t_s / self.ta_tau_s))

    def mug_degc(self, t_s: float) -> float:
        """Mug outer wall, degC: Newton cooling to the room, time constant 20 min."""
        dt = max(0.0, t_s - self.mug_poured_s)
        return self.room_degc + (self.mug_start_degc - self.room_degc) * np.exp(-dt / 1200.0)


@dataclass(frozen=True)
class SimFrame:
    """One simulated sample with its ground truth (fractions are per sensor pixel, (24, 32))."""

    label: str
    session: str
    millis: int
    frame: np.ndarray  #: float32 (24, 32) degC, as the driver reports
    ta_degc: float  #: Ta as read by the sensor, degC
    room_degc: float
    head_frac: np.ndarray  #: share of each pixel's footprint covered by the head (incl. hair, ears)
    person_frac: np.ndarray  #: head, neck, torso, hair
    warm_frac: np.ndarray  #: deliberate warm objects (mug, monitor, laptop, lamp, radiator, sunny window)
    pose: sc.Pose | None


def draw_day(rng: np.random.Generator) -> Day:
    room = float(rng.uniform(20.0, 27.0))
    heating = bool(room < 23.5 and rng.random() < 0.7)
    return Day(room_degc=room, heating=heating, sunny=bool(not heating and rng.random() < 0.4),
               monitor_on=bool(rng.random() < 0.5), lamp_on=bool(rng.random() < 0.3),
               mug_prob=float(rng.choice([0.0, 0.3, 0.6])), mug_start_degc=float(rng.uniform(45.0, 58.0)),
               mug_poured_s=float(rng.uniform(0.0, 300.0)), laptop=bool(rng.random() < 0.25),
               ta_rise_k=float(rng.uniform(3.0, 6.5)), ta_tau_s=float(rng.uniform(200.0, 500.0)))


class _Drift:
    """Slow head motion: base pose plus two random sinusoids per coordinate (0.05-0.35 Hz)."""

    AMPL = np.array([0.025, 0.012, 0.04, 3.0, 6.0, 3.0])  # x m, y m, dist m, roll/yaw/pitch deg

    def __init__(self, rng: np.random.Generator, base: np.ndarray, t0: float):
        self.base, self.t0 = base, t0
        self.f = rng.uniform(0.05, 0.35, (2, 6))
        self.ph = rng.uniform(0, 2 * np.pi, (2, 6))
        self.a = self.AMPL * rng.uniform(0.2, 1.0, 6) / 2

    def pose(self, t: float) -> sc.Pose:
        p = self.base + (self.a * np.sin(2 * np.pi * self.f * (t - self.t0) + self.ph)).sum(axis=0)
        return sc.Pose(*map(float, p))


def _base_pose(rng: np.random.Generator, room: sc.Room) -> np.ndarray:
    d = room.desk_far_m + rng.uniform(0.05, 0.35)
    az, el = np.radians(rng.uniform(-14, 14)), np.radians(rng.uniform(-9, 4))
    return np.array([np.tan(az) * d, np.tan(el) * d, d, rng.normal(0, 5), rng.normal(0, 12), rng.normal(0, 5)])


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def simulate_session(index: int, n_per_label: dict[str, int], seed: int,
                     cfg: SensorConfig = SensorConfig()) -> Iterator[SimFrame]:
    """Frames of capture session ``index`` of ``seed``, in capture order.

    ``n_per_label``: frames to capture per label this session. The device (fixed pattern) is the
    same in every session of a seed.
    """
    root = np.random.SeedSequence(seed)
    sensor = Mlx90640Sensor(np.random.default_rng(root.spawn(1)[0]), cfg)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, index)))
    session = f"{0x20 + 4 * index + int(rng.integers(0, 4)):08x}"
    day = draw_day(rng)
    room = sc.make_room(rng, day.room_degc, day.heating, day.sunny, day.monitor_on, day.lamp_on)
    laptop = (sc.make_laptop(rng, room),) if day.laptop else ()
    tx, ty = ray_tangents(cfg)
    people = {name: sc.PersonState(ident, sc.forehead_temperature(day.room_degc, ident, float(rng.normal(0, 0.3))),
                                   bool(rng.random() < ident.glasses_prob), float(rng.uniform(0.35, 0.6)),
                                   float(rng.uniform(-0.05, 0.05)))
              for name, ident in sc.IDENTITIES.items()}
    t = float(rng.uniform(20.0, 90.0))  # s since boot
    for label in [LABELS[i] for i in rng.permutation(len(LABELS))]:
        n, done = n_per_label.get(label, 0), 0
        while done < n:
            burst = min(n - done, int(rng.integers(2, 7)))
            mug_p = max(day.mug_prob, 0.4) if label == "env" else day.mug_prob
            extra = laptop + ((sc.make_mug(rng, room, day.mug_degc(t)),) if rng.random() < mug_p else ())
            person = people.get(label)
            drift = _Drift(rng, _base_pose(rng, room), t) if person else None
            for _ in range(burst):
                t += cfg.frame_period_s * int(rng.integers(1, 4)) + float(rng.uniform(0.02, 0.12))
                poses = (drift.pose(t), drift.pose(t + cfg.subpage_dt_s)) if person else (None, None)
                renders = [sc.render_scene(tx, ty, room, extra, person, p) for p in poses[: 2 if person else 1]]
                apparent = [integrate_pixels(r.degc, cfg) for r in renders]
                frame, ta = sensor.read(apparent[0], apparent[-1], day.ta(t), rng)
                who = renders[0].who
                yield SimFrame(label, session, int(round(t * 1000)), frame, round(ta, 2), day.room_degc,
                               block_fraction(who == sc.HEAD, cfg),
                               block_fraction((who == sc.HEAD) | (who == sc.BODY), cfg),
                               block_fraction(who == sc.WARM, cfg), poses[0])
            done += burst
            t += float(rng.uniform(3.0, 20.0))
        t += float(rng.uniform(15.0, 60.0))


def simulate_dataset(seed: int = 0, per_label: int = 120, sessions: int = 5,
                     cfg: SensorConfig = SensorConfig()) -> Iterator[SimFrame]:
    """All frames of a demo dataset, session by session in capture order.

    ``per_label`` frames per label are spread as evenly as possible over ``sessions`` sessions.
    Raises ValueError for per_label < 1 or sessions < 1.
    """
    if per_label < 1 or sessions < 1:
        raise ValueError("per_label and sessions must be >= 1")
    counts = _split(per_label, sessions)
    for i in range(sessions):
        yield from simulate_session(i, {label: counts[i] for label in LABELS}, seed, cfg)


def write_demo_dataset(out: str | Path, seed: int = 0, per_label: int = 120, sessions: int = 5,
                       progress: bool = False) -> dict[str, int]:
    """Simulate and store a demo dataset into the new or empty folder ``out``.

    Returns {label: samples written}. Raises FileExistsError if ``out`` exists and is not empty
    (the simulator never adds to or overwrites an existing dataset).
    """
    from ..dataset.store import DatasetStore

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; choose a new --out "
                              "(demo-data never writes into an existing dataset)")
    from ..atomic import atomic_output
    from ..dataset.lock import LOCK_NAME, OWNER_SUFFIX

    written = dict.fromkeys(LABELS, 0)
    # Written into a hidden sibling and renamed at the end: an interrupted run leaves no half
    # dataset under ``out`` (the next run removes the sibling and starts again).
    with atomic_output(out) as tmp:
        with DatasetStore(tmp) as store:
            frames = simulate_dataset(seed, per_label, sessions)
            if progress:
                from tqdm import tqdm

                frames = tqdm(frames, total=per_label * len(LABELS), unit="frame", desc="simulating")
            for f in frames:
                row = store.add(f.label, frame_degc=f.frame, session=f.session, source=SOURCE,
                                millis=f.millis, ta_degC=float(f.ta_degc))
                if row is not None:
                    written[f.label] += 1
        for name in (LOCK_NAME, LOCK_NAME + OWNER_SUFFIX):
            (tmp / name).unlink(missing_ok=True)
    return written


@click.command("demo-data")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New (or empty) dataset folder to create.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed -> identical files).")
@click.option("--per-label", default=120, show_default=True, type=click.IntRange(min=1),
              help="Samples per label (face0, face1, env).")
@click.option("--sessions", default=5, show_default=True, type=click.IntRange(min=1),
              help="Capture sessions (days / device boots) the samples are spread over.")
def demo_data_cmd(out: Path, seed: int, per_label: int, sessions: int):
    """Simulate MLX90640 captures of two faces and the empty room into a dataset folder.

    Physically based (room, head thermography, 55x35 deg optics, chess-subpage read-out,
    NETD noise); see datasets/DEMO.md.
    """
    try:
        written = write_demo_dataset(out, seed, per_label, sessions, progress=True)
    except FileExistsError as e:
        raise click.ClickException(str(e)) from None
    total = sum(written.values())
    click.echo(f"wrote {total} samples to {out}: " + ", ".join(f"{k} {v}" for k, v in written.items()))
