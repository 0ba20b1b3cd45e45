"""Serial-link throughput benchmark (prints figures; not a test).

1. End to end: builds and starts the simulated device (firmware/host) at the MLX90640 64 Hz
   subpage setting (refresh-rate code 7 = 32 full frames/s), connects over its pseudo-terminal
   with the host client and counts frames decoded per second, drops, and the host CPU time used
   (time.process_time) per second of wall time.
2. Decoder only: frames/s the Python StreamDecoder + FRAME parser sustain on a prebuilt stream.

Usage: python tools/bench_link.py [--seconds 10] [--frames CSV]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyheat.link import protocol as p
from tinyheat.link.client import DeviceClient, open_port

REPO = Path(__file__).resolve().parents[1]


def bench_end_to_end(seconds: float, frames_csv: str | None) -> None:
    with tempfile.TemporaryDirectory() as build:
        subprocess.run(["make", "-s", "-C", str(REPO / "firmware" / "host"), f"BUILD={build}"], check=True)
        args = [f"{build}/tinyheat_sim", "--rate-code", "7", "--max-seconds", str(seconds + 30)]
        if frames_csv:
            args += ["--frames", frames_csv]
        sim = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            pty = sim.stdout.readline().split()[1]
            client = DeviceClient(open_port(pty, timeout_s=0.02))
            hello = client.connect()
            for _ in client.frames(timeout_s=2.0):  # let the stream start
                break
            n, t0, c0 = 0, time.monotonic(), time.process_time()
            b0 = client.bytes_in
            for _ in client.frames(timeout_s=2.0):
                n += 1
                if time.monotonic() - t0 >= seconds:
                    break
            wall, cpu = time.monotonic() - t0, time.process_time() - c0
            nbytes = client.bytes_in - b0
            client.close()
        finally:
            sim.terminate()
            _, err = sim.communicate(timeout=10)
    print(f"end to end, simulated device at rate code {hello.rate_code} "
          f"({p.RATE_HZ[hello.rate_code]:g} Hz subpages = {p.RATE_HZ[hello.rate_code] / 2:g} frames/s nominal):")
    print(f"  {n} frames in {wall:.2f} s = {n / wall:.1f} frames/s decoded, {nbytes / wall / 1000:.1f} kB/s")
    print(f"  host CPU {cpu:.2f} s = {100 * cpu / wall:.1f} % of one core "
          f"({1000 * cpu / max(n, 1):.2f} ms per frame)")
    print(f"  dropped {client.stats.dropped}, corrupt {client.stats.corrupt}")
    print(f"  device: {err.strip().splitlines()[-1] if err.strip() else '-'}")


def bench_decoder(n: int = 2000) -> None:
    rng = np.random.default_rng(0)
    frames = [p.encode(p.Frame(i, 25.0, rng.uniform(20, 35, 768).astype(np.float32)), i) for i in range(64)]
    stream = b"".join(frames[i % 64] for i in range(n))
    d = p.StreamDecoder()
    c0, t0 = time.process_time(), time.perf_counter()
    got = 0
    for i in range(0, len(stream), 4096):
        for raw in d.feed(stream[i:i + 4096]):
            p.parse(raw)
            got += 1
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    print(f"decoder only: {got} frames ({len(stream) / 1e6:.1f} MB) in {wall:.2f} s = {got / wall:.0f} frames/s "
          f"({1e6 * cpu / got:.0f} us CPU per frame; 32 frames/s needs {100 * 32 * cpu / got:.2f} % of a core)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--frames", default=None, help="CSV of frames for the simulated device (default: synthetic)")
    a = ap.parse_args(argv)
    bench_decoder()
    bench_end_to_end(a.seconds, a.frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
