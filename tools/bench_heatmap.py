"""Heat-map rollup throughput: embedded vs dask.distributed with 1 and 2 workers, and storage.

Generates SENSORS x DAYS partitions of MINUTES minutes of simulated 24x32 frames at 8 frames/s
(people walking across, a sitter, sensor noise), stores them as partitioned Parquet, then runs
the same rollup code (``tinyheat.occupancy.distributed.run``) embedded and on a real cluster of a
``dask scheduler`` and 1 or 2 single-threaded ``dask worker`` processes (cluster start-up and the
workers' first import are timed separately and printed with and without). Prints frames/s, bytes per frame of the partitioned frames and
of the heat-map store, and the extrapolation to 1,000 sensors x 1 year at 8 frames/s.

Usage: ``python tools/bench_heatmap.py [--sensors 2] [--days 2] [--minutes 5]``

Range queries on a sensor-year (issue 18): ``python tools/bench_heatmap.py --year STORE [--days 365]
[--hours 24] [--queries 100]`` builds STORE (if missing) with the store writer ``heatmap-add`` uses
(``HeatStore.add``) from DAYS day recordings of HOURS hours each of synthetic 24x32 per-second activation
(the activation step itself is skipped: the query cost does not depend on how activation was made),
then times ``HeatStore(STORE).query(sensor, t0, t1)`` **including opening the store**, in this process,
over random whole-minute ranges in three classes (length log-uniform in 1 min-1 h, 1 h-1 day,
1 day-1 year; start uniform in the year), and prints p50 / p95 / max per class.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def _warm():
    import tinyheat.occupancy.distributed  # noqa: F401  (import cost outside the timing)
    return True


def _bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


YEAR0 = 1767225600  # 2026-01-01T00:00:00Z
CLASSES = (("1 min-1 h", 60, 3600), ("1 h-1 day", 3600, 86400), ("1 day-1 year", 86400, 365 * 86400))


def year_day(day: int, hours: float, seed: int = 0):
    """Synthetic activation of one day recording (24x32): from 00:00 UTC of day ``day`` for
    ``hours`` hours, every second recorded; in a second a person is seen with probability 0.3
    (08:00-18:00) or 0.03 (otherwise) as a 2x3 blob at a random place, activation 1/8..1."""
    import numpy as np

    from tinyheat.occupancy.activation import Activation

    rng = np.random.default_rng(seed * 1000 + day)
    h, w = 24, 32
    sec = YEAR0 + day * 86400 + np.arange(int(hours * 3600), dtype=np.int64)
    hod = (sec // 3600) % 24
    busy = np.flatnonzero(rng.random(len(sec)) < np.where((hod >= 8) & (hod < 18), 0.3, 0.03))
    act = np.zeros((len(sec), h * w), np.float32)
    y, x = rng.integers(0, h - 1, len(busy)), rng.integers(0, w - 2, len(busy))
    for dy in (0, 1):
        for dx in (0, 1, 2):
            act[busy, (y + dy) * w + x + dx] = rng.integers(1, 9, len(busy)) / 8
    cov = np.ones((len(sec), h, w), bool)
    n = len(sec)
    z = np.zeros(n, np.int64)
    people = (act.max(1) > 0).astype(np.int64)
    return Activation(sec, act.reshape(n, h, w), cov, sec * 1000 + 500, people, people, z,
                      np.full((h, w), 21.0 * n), np.full((h, w), n, np.int64))


def build_year(store: Path, days: int, hours: float) -> None:
    from tqdm import tqdm

    from tinyheat.occupancy.store import HeatStore

    st = HeatStore(store, create=True)
    for d in tqdm(range(days), desc="heatmap-add day recordings", unit="rec"):
        st.add("cam", year_day(d, hours), f"day{d:03d}")


def time_year(store: Path, queries: int, seed: int = 1, freeze: bool = True) -> None:
    import numpy as np

    from tinyheat.occupancy.store import HeatStore

    rng = np.random.default_rng(seed)
    st = HeatStore(store)
    lo, hi = st.span("cam")
    HeatStore(store).query("cam", lo, lo + 60)  # first-touch imports outside the timing
    if freeze:  # as `tinyheat serve` does after start-up: full GCs scan only objects made since
        import gc
        gc.freeze()
    print(f"store {store}: {sum(f.stat().st_size for f in store.rglob('*') if f.is_file()) / 1e6:.0f} MB, "
          f"{len(st.manifest['sensors']['cam']['sessions'])} sessions; times include opening the store; "
          f"gc.freeze() after start-up: {freeze}")
    for name, a, b in CLASSES:
        ms, cpu = [], []
        for _ in range(queries):
            n = int(np.exp(rng.uniform(np.log(a / 60), np.log(b / 60))))
            t0 = int(rng.integers(lo // 60, max(lo // 60 + 1, hi // 60 - n))) * 60
            t, c = time.perf_counter(), time.process_time()
            HeatStore(store).query("cam", t0, t0 + n * 60)
            ms.append(1000 * (time.perf_counter() - t))
            cpu.append(1000 * (time.process_time() - c))
        p50, p95 = np.percentile(ms, [50, 95])
        c50, c95 = np.percentile(cpu, [50, 95])
        print(f"  {name:13s} n={queries}: wall p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {max(ms):6.1f} ms | "
              f"CPU p50 {c50:5.1f} p95 {c95:5.1f} max {max(cpu):5.1f} ms")
    t = time.perf_counter()
    HeatStore(store).query("cam", lo, hi)
    print(f"  whole span ({(hi - lo) / 86400:.0f} days): {1000 * (time.perf_counter() - t):.1f} ms")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores during the run)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensors", type=int, default=2)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--year", type=Path, default=None, help="sensor-year store to build (if missing) and query")
    ap.add_argument("--hours", type=float, default=2.0, help="--year: hours per day recording")
    ap.add_argument("--queries", type=int, default=100, help="--year: ranges per class")
    ap.add_argument("--no-gc-freeze", action="store_true", help="--year: keep the imports' objects in Python's GC")
    args = ap.parse_args()
    if args.year is not None:
        if not (args.year / "manifest.json").exists():
            build_year(args.year, 365 if args.days == 2 else args.days, args.hours)
        time_year(args.year, args.queries, freeze=not args.no_gc_freeze)
        return

    from dask.distributed import Client

    from tinyheat.occupancy.dask_cluster import start_cluster

    from tinyheat.occupancy import synth
    from tinyheat.occupancy.activation import Params
    from tinyheat.occupancy.distributed import run, write_partitions

    fps = 8.0
    tmp = Path(tempfile.mkdtemp(prefix="bench-heatmap-"))
    root = tmp / "frames"
    n_frames = 0
    dur = args.minutes * 60
    for s in range(args.sensors):
        for d in range(args.days):
            people = tuple(synth.Person(((t0, -2, 4 + 3 * k), (t0 + 40, 34, 20 - 2 * k)))
                           for k, t0 in enumerate(range(5, int(dur) - 45, 50)))
            people += (synth.Person(((30, 8, -2), (40, 8, 8), (dur * 0.6, 8, 8), (dur * 0.6 + 15, 8, 26))),)
            rec, _ = synth.scene(dur, fps=fps, people=people, seed=100 * s + d,
                                 start=synth.DEFAULT_START + timedelta(days=d))
            write_partitions(rec, root, f"s{s:03d}")
            n_frames += len(rec.frames)
    frame_bytes = _bytes(root)
    params = Params()
    print(f"data: {args.sensors} sensors x {args.days} days x {args.minutes:g} min at {fps:g} frames/s = "
          f"{n_frames} frames (24x32); partitioned Parquet frames: {frame_bytes / n_frames:.0f} bytes/frame")

    t, c = time.perf_counter(), time.process_time()
    run(root, tmp / "store-embedded", params)
    emb = n_frames / (time.perf_counter() - t)
    emb_cpu = n_frames / (time.process_time() - c)
    store_bytes = _bytes(tmp / "store-embedded")
    print(f"embedded (1 process):      {emb:8.0f} frames/s wall, {emb_cpu:.0f} frames per CPU-second")
    results = {"embedded": emb}
    for workers in (1, 2):
        t = time.perf_counter()
        with start_cluster(workers, tmp / f"cluster{workers}") as address, Client(address) as client:
            client.run(_warm)
            startup = time.perf_counter() - t
            c0 = sum(client.run(time.process_time).values())
            t = time.perf_counter()
            run(root, tmp / f"store-dask{workers}", params, client=client)
            wall = time.perf_counter() - t
            fs = n_frames / wall
            cpu = sum(client.run(time.process_time).values()) - c0
        results[workers] = fs
        print(f"dask, {workers} worker process(es): {fs:8.0f} frames/s wall, {n_frames / cpu:.0f} frames per worker "
              f"CPU-second; cluster start (`dask scheduler` + {workers} `dask worker` processes, first import) "
              f"{startup:.1f} s; with it: {n_frames / (wall + startup):.0f} frames/s")
    print(f"heat-map store: {store_bytes} bytes = {store_bytes / n_frames:.1f} bytes/frame "
          f"(minute/hour/day/week/month rollups + sparse seconds + thermal sums, zstd Parquet)")

    year = 1000 * 365 * 86400 * fps
    core_s = year / emb_cpu
    print(f"\n1,000 sensors x 1 year x {fps:g} frames/s = {year:.3g} frames")
    print(f"  compute: {core_s / 3600:.3g} core-hours at the embedded CPU rate ({core_s / 3600 / 8760:.1f} cores busy "
          f"all year, {8 / (emb_cpu / 1000):.2g} ms CPU per sensor-second); 2 Dask workers here: "
          f"{results[2] / results[1]:.2f}x 1 worker (wall)")
    print(f"  storage: frames {year * frame_bytes / n_frames / 1e12:.1f} TB (partitioned Parquet), "
          f"heat-map store {year * store_bytes / n_frames / 1e12:.2f} TB "
          f"(per sensor-day: {86400 * fps * store_bytes / n_frames / 1e6:.1f} MB)")
    print("  (measured on a shared machine under load: rates are lower bounds; the store size depends on "
          "how busy the scene is, the sparse seconds grow with occupancy)")


if __name__ == "__main__":
    main()
