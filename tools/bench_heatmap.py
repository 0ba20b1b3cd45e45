"""Heat-map rollup throughput: embedded vs dask.distributed with 1 and 2 workers, and storage.

Generates SENSORS x DAYS partitions of MINUTES minutes of simulated 24x32 frames at 8 frames/s
(people walking across, a sitter, sensor noise), stores them as partitioned Parquet, then runs
the same rollup code (``tinyheat.occupancy.distributed.run``) embedded and on a LocalCluster with
1 and 2 single-threaded worker processes (cluster start-up and the workers' first import are
timed separately and excluded). Prints frames/s, bytes per frame of the partitioned frames and
of the heat-map store, and the extrapolation to 1,000 sensors x 1 year at 8 frames/s.

Usage: ``python tools/bench_heatmap.py [--sensors 2] [--days 2] [--minutes 5]``
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def _warm():
    import tinyheat.occupancy.distributed  # noqa: F401  (import cost outside the timing)
    return True


def _bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensors", type=int, default=2)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()

    from dask.distributed import Client, LocalCluster

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
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            client.run(_warm)
            startup = time.perf_counter() - t
            c0 = sum(client.run(time.process_time).values())
            t = time.perf_counter()
            run(root, tmp / f"store-dask{workers}", params, client=client)
            fs = n_frames / (time.perf_counter() - t)
            cpu = sum(client.run(time.process_time).values()) - c0
        results[workers] = fs
        print(f"dask, {workers} worker process(es): {fs:8.0f} frames/s wall, {n_frames / cpu:.0f} frames per worker "
              f"CPU-second (cluster start + worker import {startup:.1f} s, excluded)")
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
