"""Per-1,000-frame timings of the session commands (prints figures; not a test).

    .venv/bin/python tools/bench_sessions.py [--shared ../shared/datasets] [--out /tmp/bench-sessions]

Times, in one process (imports excluded): import-session of a real 32x24 CSV recording
(fir-action-ceiling), of the 16x12 MLX90641 recording and of a FLIR .seq (640x480); writing and
reading a session; people (detection + tracking + series); replay rendering to GIF and MP4;
the moving-people simulator.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np


def _t(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    ap.add_argument("--out", default="/tmp/bench-sessions")
    a = ap.parse_args()
    import imageio  # noqa: F401  (imports outside the timings)
    import skimage.measure  # noqa: F401
    import zarr  # noqa: F401

    from tinyheat.people.analyze import find_people
    from tinyheat.session import read_session
    from tinyheat.session.importers import import_any
    from tinyheat.session.replay import render
    from tinyheat.sim.moving import default_scene, simulate_session

    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shared = Path(a.shared)
    rows = []

    def row(name, n, secs):
        rows.append((name, n, secs))
        print(f"{name:55s} {n:6d} frames {secs:7.2f} s  = {1000 * secs / n:7.2f} s / 1,000 frames", flush=True)

    fir = next((shared / "fir-action-ceiling").glob("20200627_*.csv"))
    s, dt = _t(lambda: import_any(fir))
    row("import-session fir-action-ceiling CSV (32x24, parse)", len(s), dt)
    _, dt = _t(lambda: s.write(out / "fir.zarr"))
    row("  write session (.zarr, zstd)", len(s), dt)
    r, dt = _t(lambda: read_session(out / "fir.zarr", lazy=False))
    row("  read session", len(r), dt)
    den, dt = _t(lambda: import_any(shared / "mlx90641-den" / "frames.csv"))
    row("import-session mlx90641-den CSV (16x12)", len(den), dt)
    seq, dt = _t(lambda: import_any(shared / "flir-radiometric-samples" / "thermimage" / "SampleSEQ.seq"))
    row("import-session FLIR .seq (640x480, flirpy raw2temp)", len(seq), dt)
    res, dt = _t(lambda: find_people(r.frames, r.t_ms))
    row("people: detect + track + series (32x24 real)", len(r), dt)
    res2, dt = _t(lambda: find_people(den.frames, den.t_ms))
    row("people: detect + track + series (16x12 real)", len(den), dt)
    _, dt = _t(lambda: find_people(seq.frames, seq.t_ms))
    row("people: detect + track + series (640x480 FLIR)", len(seq), dt)
    n = 200
    _, dt = _t(lambda: render(r, out / "fir.gif", stop=n, tracks=res.table))
    row("play --out .gif (with track overlay)", n, dt)
    _, dt = _t(lambda: render(r, out / "fir.mp4", stop=n))
    row("play --out .mp4", n, dt)
    sim, dt = _t(lambda: simulate_session(default_scene(0), seed=0))
    row("sim-session (3 people, sensor model)", len(sim.frames), dt)
    print(f"\npeople on fir-action-ceiling 20200627: {len(res.tracks)} tracks; "
          f"frames with a head {np.mean([len(d) > 0 for d in res.detections]):.2f}")


if __name__ == "__main__":
    main()
