"""Bounded load test of ``tinyheat serve`` on localhost (issue 18): starts ``tinyheat serve STORE``
as a separate process, then CLIENTS concurrent clients (httpx, asyncio) each ask for random
whole-minute ranges (length log-uniform from 1 minute to the whole span) for SECONDS seconds, as
the page does: ``/api/map`` (JSON) and, for every ``--png-every``-th range, ``/api/map.png`` and
``/api/series.png`` (0: JSON only). Prints per endpoint the requests, errors (non-200 or transport), p50 / p95 /
max latency, and the throughput. A script, not a test.

Usage: ``python tools/load_serve.py STORE [--clients 50] [--seconds 30] [--png-every 4] [--port 8765] [--workers 1]``
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def _iso(s: int) -> str:
    return datetime.fromtimestamp(int(s), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def client(base: str, sensor: str, lo: int, hi: int, until: float, png_every: int, seed: int, out: dict):
    import httpx

    rng = np.random.default_rng(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as c:
        i = 0
        while time.perf_counter() < until:
            n = int(np.exp(rng.uniform(0, np.log((hi - lo) / 60))))
            t0 = int(rng.integers(lo // 60, max(lo // 60 + 1, hi // 60 - n))) * 60
            params = {"sensor": sensor, "from": _iso(t0), "to": _iso(t0 + n * 60)}
            paths = ["/api/map"] + (["/api/map.png", "/api/series.png"] if png_every and i % png_every == 0 else [])
            for path in paths:
                t = time.perf_counter()
                try:
                    r = await c.get(path, params=params)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                out.setdefault(path, []).append((1000 * (time.perf_counter() - t), ok))
            i += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--png-every", type=int, default=4)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workers", type=int, default=1, help="`tinyheat serve --workers`")
    args = ap.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen([sys.executable, "-m", "tinyheat.cli", "serve", str(args.store), "--port", str(args.port),
                               "--workers", str(args.workers)],
                              stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                info = json.load(urllib.request.urlopen(base + "/api/info", timeout=2))
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
        s = info["sensors"][0]
        lo = int(datetime.fromisoformat(s["first"].replace("Z", "+00:00")).timestamp())
        hi = int(datetime.fromisoformat(s["last"].replace("Z", "+00:00")).timestamp())
        urllib.request.urlopen(base + "/api/map.png", timeout=30).read()  # first-touch imports
        out: dict = {}
        until = time.perf_counter() + args.seconds
        t = time.perf_counter()

        async def all_clients():
            await asyncio.gather(*(client(base, s["name"], lo, hi, until, args.png_every, k, out)
                                   for k in range(args.clients)))
        asyncio.run(all_clients())
        wall = time.perf_counter() - t
    finally:
        server.terminate()
        server.wait(15)
    print(f"{args.clients} clients for {args.seconds:g} s against `tinyheat serve --workers {args.workers}` on localhost "
          f"(sensor {s['name']}, {s['first']} .. {s['last']}); wall {wall:.1f} s")
    for path, rows in out.items():
        ms = np.array([r[0] for r in rows])
        errors = sum(not r[1] for r in rows)
        p50, p95 = np.percentile(ms, [50, 95])
        print(f"  {path:16s} {len(rows):6d} requests, {errors} errors, {len(rows) / wall:6.1f} req/s; "
              f"latency p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {ms.max():7.1f} ms")


if __name__ == "__main__":
    main()
