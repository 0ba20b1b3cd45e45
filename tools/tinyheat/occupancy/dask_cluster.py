"""Start a real dask.distributed cluster on this machine the way a user would: one ``dask
scheduler`` process and N ``dask worker`` processes (one thread each), connected through a
scheduler file. Used by the tests and ``tools/bench_heatmap.py``; on a real cluster the user
starts these on their machines and passes ``--scheduler tcp://HOST:8786`` to ``heatmap-dask``."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def start_cluster(workers: int, folder: str | Path, timeout_s: float = 90.0):
    """Yield the scheduler address once ``workers`` workers have registered; stop every
    process it started on exit. Raises RuntimeError if the cluster does not come up in time."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sfile = folder / "scheduler.json"
    sfile.unlink(missing_ok=True)
    dask = [sys.executable, "-m", "dask"]
    logs = [open(folder / f"{name}.log", "w") for name in ["scheduler"] + [f"worker{i}" for i in range(workers)]]
    procs = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(sfile)], stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        deadline = time.time() + timeout_s
        while not sfile.is_file() or not sfile.read_text().strip():
            if time.time() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start (log: {folder / 'scheduler.log'})")
            time.sleep(0.1)
        time.sleep(0.1)
        address = json.loads(sfile.read_text())["address"]
        for i in range(workers):
            procs.append(subprocess.Popen(dask + ["worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny",
                                                  "--local-directory", str(folder / f"w{i}")],
                                          stdout=logs[i + 1], stderr=subprocess.STDOUT))
        from dask.distributed import Client

        with Client(address, timeout=timeout_s) as c:
            c.wait_for_workers(workers, timeout=max(1.0, deadline - time.time()))
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:  # a worker still closing gracefully under load
                p.kill()
                p.wait(5)
        for f in logs:
            f.close()
