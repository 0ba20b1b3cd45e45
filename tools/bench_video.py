"""Benchmark of the video heat-map path (issue 16): frames/s per activation operation and peak memory.

    .venv/bin/python tools/bench_video.py                       # motion and people on the shared sample
    .venv/bin/python tools/bench_video.py --op motion --repeat 8 --store   # 8x the video into a store

Each configuration runs in a fresh child process pinned to one core (``taskset -c 0`` when available,
``cv2.setNumThreads(1)``) and reports: frames, seconds of video, wall and CPU time, frames/s, the
real-time factor (seconds of video per second of wall time) and the child's peak RSS. ``--repeat N``
plays the file N times back to back (time stamps continued) to show that memory does not grow with
the video's length; ``--store`` adds the result to a temporary heat-map store (the spooled, chunked path)
instead of only computing the per-second maps.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "datasets" / "video-samples" / "one-by-one-person-detection.mp4"


def child(path: Path, op_name: str, repeat: int, store: bool) -> dict:
    import cv2

    cv2.setNumThreads(1)
    from tinyheat.occupancy import video_heat as vh
    from tinyheat.occupancy.store import HeatStore

    src = vh.video_source(path)
    inner = src._frames

    def repeated():
        offset = 0
        for _ in range(repeat):
            last = 0
            for t, f in inner():
                last = t
                yield offset + t, f
            offset += last + 100
    src._frames = repeated
    op = vh.make_op(op_name, src, vh.make_mapper(src))
    w0, c0 = time.perf_counter(), time.process_time()
    frames = secs = 0
    if store:
        tmp = tempfile.mkdtemp()
        try:
            entries = vh.add_to_store(src, op, HeatStore(Path(tmp) / "s", create=True), "cam")
        finally:
            shutil.rmtree(tmp)
        frames, secs = sum(e["frames"] for e in entries), sum(e["seconds"] for e in entries)
    else:
        for s in vh.seconds(src, op):
            frames += s.n_frames
            secs += 1
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"op": op_name, "repeat": repeat, "store": store, "frames": frames, "video_s": secs,
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "frames_per_s_wall": round(frames / wall, 1),
            "frames_per_s_cpu": round(frames / cpu, 1), "realtime_x_wall": round(secs / wall, 1),
            "realtime_x_cpu": round(secs / cpu, 1),
            "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=SAMPLE)
    ap.add_argument("--op", action="append", help="operation(s); default motion and people")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--store", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.video, a.op[0], a.repeat, a.store)))
        return
    if not a.video.exists():
        sys.exit(f"{a.video}: not found (the shared datasets live in ../shared/datasets)")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    for op in a.op or ["motion", "people"]:
        cmd = pin + [sys.executable, __file__, str(a.video), "--op", op, "--repeat", str(a.repeat), "--child"] + \
            (["--store"] if a.store else [])
        out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        if out.returncode:
            sys.exit(out.stderr)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
