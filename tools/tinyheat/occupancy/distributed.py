"""Scale-out: frames stored as partitioned Parquet (``sensor=S/day=YYYY-MM-DD``) and the same
rollup code (:func:`activation.activation` + :func:`store.write_session`) run per partition,
in-process (embedded) or as a dask.distributed job. Spec: ``datasets/HEATMAP.md``.

Frames file: ``ROOT/sensor=S/day=D/part-HASH.parquet`` with ``epoch_ms`` int64 and ``frame``
list<float32> (H*W degC, NaN invalid, row-major), schema metadata ``shape`` = ``"H,W"``.
Each (sensor, day) partition is one unit of work; its background model starts at the first frame
of the day (00:00 UTC for a sensor that runs all day). Workers write new store files only; the
client registers them in the manifest at the end, so no two processes write the same file.

Video files and image folders (``datasets/HEATMAP.md`` section 8) are one unit of work each: the
worker runs the same driver as ``heatmap-add`` (:func:`video_heat.write_sessions`: one session per
600 s chunk, the operation's state carried across chunks) and the client registers them with the
partitions' sessions in the same single commit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .activation import Params, activation
from .floorplan import GRID_PX
from .recording import Recording
from .store import HeatStore, _write, day_of, write_session


def write_partitions(rec: Recording, root: str | Path, sensor: str, on_wait=None) -> list[Path]:
    """Write a recording's frames into ``root`` split by UTC day; an identical part already
    there is kept. Holds ``root/.lock`` (``on_wait(message)`` if another writer has it).
    Returns the files written or found."""
    from ..dataset.lock import WriterLock

    root = Path(root)
    with WriterLock(root, "frames root", notify=on_wait or (lambda msg: None), lock_name=".lock"):
        return _write_partitions(rec, root, sensor)


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


@dataclass(frozen=True)
class VideoJob:
    """The ``heatmap-add`` options every video of a run gets: ``sensor`` name, ``op_name`` (None = motion),
    ``start`` (None = the container's creation time), ``plan`` = (plan image uint8, homography float64
    (3, 3)) from :func:`floorplan.load_plan` or None, ``grid_px`` cells on the longer side,
    ``params`` :class:`ops.VideoParams` (None = defaults)."""
    sensor: str = "sensor0"
    op_name: str | None = None
    start: datetime | None = None
    plan: tuple | None = None
    grid_px: int = GRID_PX
    params: object = None


def process_video(path: str, store_root: str, params: Params = Params(), job: VideoJob = VideoJob()) -> list[dict]:
    """One unit of work: a video file or image folder -> its session files under ``store_root``, made
    as ``heatmap-add`` makes them (``params`` = the thermal op's :class:`Params`); checked against the
    store's manifest before anything is written. Returns the manifest entries (one per 600 s).
    Raises VideoError (nothing written) for bad input, StoreError for a session already stored."""
    from . import ops
    from . import video_heat as vh

    src = vh.video_source(path, job.start)
    pl, H = job.plan if job.plan is not None else (None, None)
    op = vh.make_op(job.op_name, src, vh.make_mapper(src, job.grid_px, pl, H), job.params or ops.VideoParams(), params)
    return vh.write_sessions(src, op, store_root, job.sensor, check=HeatStore(store_root).check)


def run(root, store_root: str | Path, params: Params = Params(), client=None,
        progress: bool = False, on_wait=None, videos=(), job: VideoJob = VideoJob()) -> list[dict]:
    """Roll up every partition under ``root`` (a folder, a list of them, or None) and every path in
    ``videos`` (video files or image folders, run as ``job`` says) into the store at ``store_root``
    (created if missing). ``client``: a ``dask.distributed.Client`` (None = embedded, in this process).
    Workers write new session files only (no lock needed: names are content hashes); the client
    then registers and compacts them in one commit under the store's lock
    (:meth:`HeatStore.register`), refusing all of them if one overlaps a stored session; an error in
    any task (e.g. a corrupt video) registers none. ``on_wait(message)`` is called if another writer
    holds the store's lock. Returns the manifest entries."""
    from tqdm import tqdm

    roots = [] if root is None else [root] if isinstance(root, (str, Path)) else list(root)
    parts = [p for r in roots for p in partitions(r)]
    store = HeatStore(store_root, create=True)
    store.on_wait = on_wait
    tasks = [(process_partition, (str(d), str(store_root), s, params)) for s, _, d in parts]
    tasks += [(process_video, (str(v), str(store_root), params, job)) for v in videos]
    with tqdm(total=len(tasks), desc="tasks", unit="task", disable=not progress) as bar:
        if client is None:
            results = []
            for fn, a in tasks:
                results.append(fn(*a))
                bar.update()
        else:
            from dask.distributed import as_completed

            futures = [client.submit(fn, *a, pure=False) for fn, a in tasks]
            for _ in as_completed(futures):
                bar.update()
            results = client.gather(futures)
    entries = [e for r in results for e in (r if isinstance(r, list) else [r])]
    store.register(sorted(entries, key=lambda e: (e["sensor"], e["first_s"])), progress=progress)
    return entries
