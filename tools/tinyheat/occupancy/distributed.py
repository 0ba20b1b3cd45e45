"""Scale-out: frames stored as partitioned Parquet (``sensor=S/day=YYYY-MM-DD``) and the same
rollup code (:func:`activation.activation` + :func:`store.write_session`) run per partition,
in-process (embedded) or as a dask.distributed job. Spec: ``datasets/HEATMAP.md``.

Frames file: ``ROOT/sensor=S/day=D/part-HASH.parquet`` with ``epoch_ms`` int64 and ``frame``
list<float32> (H*W degC, NaN invalid, row-major), schema metadata ``shape`` = ``"H,W"``.
Each (sensor, day) partition is one unit of work; its background model starts at the first frame
of the day (00:00 UTC for a sensor that runs all day). Workers write new store files only; the
client registers them in the manifest at the end, so no two processes write the same file.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .activation import Params, activation
from .recording import Recording
from .store import HeatStore, _write, day_of, write_session


def write_partitions(rec: Recording, root: str | Path, sensor: str, on_wait=None) -> list[Path]:
    """Write a recording's frames into ``root`` split by UTC day; an identical part already
    there is kept. Holds ``root/.lock`` (``on_wait(message)`` if another writer has it).
    Returns the files written or found."""
    from filelock import FileLock, Timeout

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait:
            on_wait(f"{root}: waiting for another writer (its lock {root / '.lock'})")
        lock.acquire()
    try:
        return _write_partitions(rec, root, sensor)
    finally:
        lock.release()


def _write_partitions(rec: Recording, root: Path, sensor: str) -> list[Path]:
    h, w = rec.shape
    ms = rec.epoch_ms
    days = np.array([day_of(s) for s in ms // 1000])
    out = []
    for d in np.unique(days):
        m = days == d
        f = np.ascontiguousarray(rec.frames[m].reshape(int(m.sum()), h * w), np.float32)
        tag = hashlib.sha256(ms[m].tobytes() + f.tobytes()).hexdigest()[:16]
        path = root / f"sensor={sensor}" / f"day={d}" / f"part-{tag}.parquet"
        if not path.exists():
            t = pa.table({"epoch_ms": pa.array(ms[m], pa.int64()),
                          "frame": pa.ListArray.from_arrays(pa.array(np.arange(0, f.size + 1, h * w, dtype=np.int32)),
                                                            pa.array(f.ravel(), pa.float32()))})
            _write(path, t.replace_schema_metadata({"shape": f"{h},{w}"}))
        out.append(path)
    return out


def partitions(root: str | Path) -> list[tuple[str, str, Path]]:
    """(sensor, day, folder) of every partition under ``root``, sorted."""
    root = Path(root)
    out = []
    for s in sorted(root.glob("sensor=*")):
        for d in sorted(s.glob("day=*")):
            if any(d.glob("*.parquet")):
                out.append((s.name.split("=", 1)[1], d.name.split("=", 1)[1], d))
    return out


def read_partition(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """-> (frames float32 (N, H, W), epoch_ms int64 (N,)) sorted by time."""
    frames, ms, shape = [], [], None
    for f in sorted(Path(folder).glob("*.parquet")):
        t = pq.read_table(f)
        sh = tuple(int(v) for v in (t.schema.metadata or {}).get(b"shape", b"").decode().split(",") if v)
        if len(sh) != 2 or (shape is not None and sh != shape):
            raise ValueError(f"{f}: missing or different 'shape' metadata ({sh})")
        shape = sh
        ms.append(t.column("epoch_ms").to_numpy())
        frames.append(t.column("frame").combine_chunks().flatten().to_numpy().reshape(-1, *sh))
    ms = np.concatenate(ms)
    order = np.argsort(ms, kind="stable")
    return np.concatenate(frames)[order].astype(np.float32), ms[order]


def process_partition(folder: str, store_root: str, sensor: str, params: Params = Params()) -> dict:
    """One unit of work: a (sensor, day) partition -> store files; returns the manifest entry."""
    frames, ms = read_partition(folder)
    a = activation(frames, ms, params)
    return write_session(store_root, sensor, a, source=f"{Path(folder).parent.name}/{Path(folder).name}")


def run(root: str | Path, store_root: str | Path, params: Params = Params(), client=None,
        progress: bool = False, on_wait=None) -> list[dict]:
    """Roll up every partition under ``root`` into the store at ``store_root`` (created if
    missing). ``client``: a ``dask.distributed.Client`` (None = embedded, in this process).
    Workers write new session files only (no lock needed: names are content hashes); the client
    then registers and compacts them in one commit under the store's lock
    (:meth:`HeatStore.register`), refusing all of them if one overlaps a stored session.
    ``on_wait(message)`` is called if another writer holds the store's lock. Returns the
    manifest entries."""
    from tqdm import tqdm

    parts = partitions(root)
    store = HeatStore(store_root, create=True)
    store.on_wait = on_wait
    args = [(str(d), str(store_root), s) for s, _, d in parts]
    bar = tqdm(total=len(args), desc="partitions", unit="part", disable=not progress)
    if client is None:
        entries = []
        for a in args:
            entries.append(process_partition(*a, params))
            bar.update()
    else:
        from dask.distributed import as_completed

        futures = client.map(process_partition, *zip(*args), params=params, pure=False) if args else []
        for _ in as_completed(futures):
            bar.update()
        entries = client.gather(futures)
    bar.close()
    store.register(sorted(entries, key=lambda e: (e["sensor"], e["first_s"])), progress=progress)
    return entries
