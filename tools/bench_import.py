"""``import-frames`` throughput and memory benchmark (prints figures; not a test).

Writes FRAMES distinct synthetic frames (a ~23 degC room with a moving ~34 degC blob plus
0.1 K noise, 2 decimals, one frame per line) into PARTS CSV files, then imports the parts one
after another under ONE label into a fresh dataset, in a child process, and prints

- frames/s of each part (the label grows by FRAMES/PARTS per part: a flat column means the
  time per frame does not depend on the dataset's size),
- frames per CPU-second of the importing process (a figure that depends less on other load),
- the total frames/s, and the peak resident memory (ru_maxrss) of the importing process.

Usage: python tools/bench_import.py [--frames 100000] [--parts 10] [--dir /tmp/x] [--keep]
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_parts(folder: Path, frames: int, parts: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:24, 0:32].astype(np.float32)
    paths, per = [], frames // parts
    for k in range(parts):
        p = folder / f"part{k:02d}.csv"
        with open(p, "w") as f:
            for i in range(k * per, (k + 1) * per):
                cy, cx = 12 + 6 * np.sin(i / 97), 16 + 10 * np.cos(i / 61)
                frame = 23.0 + 11.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)
                frame += rng.normal(0, 0.1, frame.shape)
                f.write(",".join(f"{v:.2f}" for v in frame.ravel()) + "\n")
        paths.append(p)
    return paths


def child(dataset: str, paths: list[str]) -> None:
    """Import each part, print 'part frames seconds', then 'peak_rss_kb N'."""
    from tinyheat.ingest.frames import import_frames

    for p in paths:
        t0, c0 = time.perf_counter(), time.process_time()
        rep = import_frames([p], "person", dataset)
        print(f"part {rep.added} {time.perf_counter() - t0:.3f} {time.process_time() - c0:.3f}", flush=True)
    print(f"peak_rss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--parts", type=int, default=10)
    ap.add_argument("--dir", type=Path, default=None, help="Work folder (default: a temporary one, removed).")
    ap.add_argument("--keep", action="store_true", help="Keep the work folder.")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1:])
        return
    work = a.dir or Path(tempfile.mkdtemp(prefix="bench_import_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        paths = write_parts(work, a.frames, a.parts)
        size = sum(p.stat().st_size for p in paths)
        print(f"wrote {a.frames} frames in {a.parts} CSV files ({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", str(work / "dataset"), *map(str, paths)],
                             check=True, capture_output=True, text=True).stdout
        total = time.perf_counter() - t0
        done, cpu = 0, 0.0
        for ln in out.splitlines():
            key, *vals = ln.split()
            if key == "part":
                n, s, c = int(vals[0]), float(vals[1]), float(vals[2])
                print(f"  frames {done:>7}-{done + n - 1:>7} of the label: {n / s:7.0f} frames/s wall, "
                      f"{n / c:7.0f} frames per CPU-second")
                done, cpu = done + n, cpu + c
            elif key == "peak_rss_kb":
                rss = int(vals[0]) / 1024
        print(f"imported {done} frames in {total:.1f} s wall ({done / total:.0f} frames/s), {cpu:.1f} s CPU "
              f"({done / cpu:.0f} frames per CPU-second); peak RSS of the importing process {rss:.0f} MB")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
