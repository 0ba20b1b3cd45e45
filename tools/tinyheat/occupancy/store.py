"""The embedded heat-map store: Parquet files (pyarrow) in one folder, no server.

Layout (spec: ``datasets/HEATMAP.md``)::

    STORE/manifest.json                                   sensors, shapes, sessions and their spans
    STORE/{minute,hour,day,week,month}/sensor=S/day=YYYY-MM-DD/ID.parquet   start int64 epoch s,
                                                          act list<float64> (P) dwell s, cov list<int32> (P) s
    STORE/second/sensor=S/day=YYYY-MM-DD/ID.parquet       sparse seconds: sec, pix list<uint16>, val list<float32>
    STORE/thermal/sensor=S/ID.parquet                     sum list<float64>, n list<int64> (mean thermal image)

Every file belongs to one session (ID = content hash), so adding a session never rewrites another
one's files and rows of the same bucket from different sessions simply add. Overlapping sessions
of one sensor are refused (they would count the same seconds twice). A week or month file sits in
the ``day=`` folder of its bucket's first day (a Monday, the 1st). ``manifest.json`` lists the
``levels`` the store holds for every session; a store written before week/month rollups (no
``levels``: minute, hour, day) keeps being queried from those three.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .activation import Activation
from .rollup import LEGACY_LEVELS, LEVELS, plan, plan_size, rollup

FORMAT = "tinyheat-heatmap-store"


class StoreError(ValueError):
    """A store operation that cannot be done; the message says why (one line)."""


def day_of(epoch_s: int) -> str:
    return datetime.fromtimestamp(int(epoch_s), tz=timezone.utc).strftime("%Y-%m-%d")


def iso(epoch_s: int, local: bool = False) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC), or without the ``Z`` for a wall clock of unknown zone (``local``)."""
    return datetime.fromtimestamp(int(epoch_s), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S" + ("" if local else "Z"))


def session_id(sensor: str, a: Activation) -> str:
    """Content hash (sha256, 16 hex) of the sensor name, frame times and activation."""
    h = hashlib.sha256(sensor.encode())
    h.update(a.epoch_ms.tobytes())
    h.update(a.act.tobytes())
    return h.hexdigest()[:16]


@dataclass
class QueryResult:
    """``act`` float64 (H, W) dwell s; ``cov`` int64 (H, W) recorded s; ``runs`` the plan;
    ``aggregates`` buckets in the plan; ``rows`` stored rows read; [t0, t1) epoch s."""

    sensor: str
    t0: int
    t1: int
    act: np.ndarray
    cov: np.ndarray
    runs: list
    aggregates: int
    rows: int

    @property
    def fraction(self) -> np.ndarray:
        """Occupied fraction (H, W) = dwell / recorded seconds (0 where nothing was recorded)."""
        return np.where(self.cov > 0, self.act / np.maximum(self.cov, 1), 0.0)


def _write(path: Path, table: pa.Table) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path.stat().st_size


def _lists(a: np.ndarray, typ) -> pa.Array:
    a = np.ascontiguousarray(a)
    n, p = a.shape
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n * p + 1, p, dtype=np.int32)), pa.array(a.ravel(), typ))


def write_session(root: str | Path, sensor: str, a: Activation, source: str = "") -> dict:
    """Write one session's rollups, sparse seconds and thermal sums under ``root`` (new files
    only, named by the session id; safe to run in parallel for different sessions). Returns the
    manifest entry to :func:`register`."""
    root = Path(root)
    sid = session_id(sensor, a)
    h, w = a.shape
    p = h * w
    act = a.act.reshape(len(a.sec), p)
    cov = a.cov.reshape(len(a.sec), p)
    nbytes = 0
    for level in LEVELS:
        start, s_act, s_cov = rollup(a.sec, act, cov, level)
        days = np.array([day_of(s) for s in start])
        for d in np.unique(days):
            m = days == d
            t = pa.table({"start": pa.array(start[m], pa.int64()), "act": _lists(s_act[m], pa.float64()),
                          "cov": _lists(s_cov[m], pa.int32())})
            nbytes += _write(root / level / f"sensor={sensor}" / f"day={d}" / f"{sid}.parquet", t)
    occ = act > 0
    busy = np.flatnonzero(occ.any(1))
    days = np.array([day_of(s) for s in a.sec[busy]])
    for d in np.unique(days):
        rows = busy[days == d]
        pix = [np.flatnonzero(occ[i]).astype(np.uint16) for i in rows]
        t = pa.table({"sec": pa.array(a.sec[rows], pa.int64()),
                      "pix": pa.array(pix, pa.list_(pa.uint16())),
                      "val": pa.array([act[i][occ[i]] for i in rows], pa.list_(pa.float32()))})
        nbytes += _write(root / "second" / f"sensor={sensor}" / f"day={d}" / f"{sid}.parquet", t)
    t = pa.table({"sum": _lists(a.mean_sum.reshape(1, p), pa.float64()),
                  "n": _lists(a.mean_n.reshape(1, p), pa.int64())})
    nbytes += _write(root / "thermal" / f"sensor={sensor}" / f"{sid}.parquet", t)
    return {"sensor": sensor, "id": sid, "shape": [h, w], "first_s": int(a.sec[0]), "last_s": int(a.sec[-1]),
            "frames": int(len(a.epoch_ms)), "seconds": int(len(a.sec)), "bytes": nbytes, "source": source}


class HeatStore:
    """A store folder. ``HeatStore(root, create=True)`` makes a new one."""

    def __init__(self, root: str | Path, *, create: bool = False):
        self.root = Path(root)
        mf = self.root / "manifest.json"
        if mf.is_file():
            try:
                self.manifest = json.loads(mf.read_text())
            except (OSError, ValueError) as e:
                raise StoreError(f"{mf}: unreadable ({e})") from None
            if self.manifest.get("format") != FORMAT:
                raise StoreError(f"{mf}: not a tinyheat heat-map store")
        elif create:
            if self.root.exists() and any(self.root.iterdir()):
                raise StoreError(f"{self.root}: exists and is not a heat-map store (no manifest.json)")
            self.manifest = {"format": FORMAT, "version": 1, "levels": list(LEVELS), "sensors": {}}
        else:
            raise StoreError(f"{self.root}: not a heat-map store (no manifest.json)")

    # ---- writing ---------------------------------------------------------------------------
    def check(self, entry: dict) -> None:
        """Raise StoreError if ``entry`` is already stored, overlaps a stored session of its
        sensor, or has another shape than the sensor's."""
        s = self.manifest["sensors"].get(entry["sensor"])
        if s is None:
            return
        if list(s["shape"]) != list(entry["shape"]):
            raise StoreError(f"sensor {entry['sensor']!r} is {s['shape']}, this recording is {entry['shape']}")
        if entry["id"] in s["sessions"]:
            raise StoreError(f"session {entry['id']} ({entry['source']}) is already in the store")
        for sid, o in s["sessions"].items():
            if entry["first_s"] <= o["last_s"] and o["first_s"] <= entry["last_s"]:
                raise StoreError(f"{entry['source'] or entry['id']} overlaps stored session {sid} ({o['source']}, "
                                 f"{iso(o['first_s'])}..{iso(o['last_s'])}) of sensor {entry['sensor']!r}")

    def register(self, entries: list[dict]) -> None:
        """Add written sessions to the manifest (atomic rewrite). Checks each first."""
        for e in entries:
            self.check(e)
            s = self.manifest["sensors"].setdefault(e["sensor"], {"shape": e["shape"], "sessions": {}})
            s["sessions"][e["id"]] = {k: e[k] for k in ("first_s", "last_s", "frames", "seconds", "bytes", "source",
                                                         "clock") if k in e}
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "manifest.json.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=1, sort_keys=True))
        os.replace(tmp, self.root / "manifest.json")

    def add(self, sensor: str, a: Activation, source: str = "", clock_zone_unknown: bool = False) -> dict:
        """Check, write and register one session; returns its manifest entry. ``clock_zone_unknown``:
        its times are a wall clock of unknown zone counted as UTC (entry ``"clock": "local"``, so
        queries print them without a zone, :meth:`clock_zone_unknown`)."""
        probe = {"sensor": sensor, "id": session_id(sensor, a), "shape": list(a.shape), "first_s": int(a.sec[0]),
                 "last_s": int(a.sec[-1]), "source": source}
        self.check(probe)
        e = write_session(self.root, sensor, a, source)
        if clock_zone_unknown:
            e["clock"] = "local"
        self.register([e])
        return e

    def clock_zone_unknown(self, sensor: str) -> bool:
        """True when a stored session of ``sensor`` has a wall clock of unknown zone (see :meth:`add`)."""
        return any(s.get("clock") == "local" for s in self.manifest["sensors"][sensor]["sessions"].values())

    # ---- reading ---------------------------------------------------------------------------
    @property
    def levels(self) -> tuple[str, ...]:
        """Rollup levels every stored session has (older stores: minute, hour, day)."""
        return tuple(self.manifest.get("levels", LEGACY_LEVELS))

    def sensor(self, name: str | None) -> str:
        names = sorted(self.manifest["sensors"])
        if name is None:
            if len(names) != 1:
                raise StoreError(f"the store has sensors {names}; choose one with --sensor")
            return names[0]
        if name not in self.manifest["sensors"]:
            raise StoreError(f"no sensor {name!r} in the store (has {names})")
        return name

    def shape(self, sensor: str) -> tuple[int, int]:
        return tuple(self.manifest["sensors"][sensor]["shape"])

    def span(self, sensor: str) -> tuple[int, int]:
        """[first, last + 1) recorded epoch second of the sensor, widened to whole minutes."""
        ss = self.manifest["sensors"][sensor]["sessions"].values()
        return min(s["first_s"] for s in ss) // 60 * 60, -(-(max(s["last_s"] for s in ss) + 1) // 60) * 60

    def _files(self, level: str, sensor: str, day_a: str | None = None, day_b: str | None = None) -> list[str]:
        """Files of registered sessions (unregistered files, e.g. of a failed run, are ignored)
        in day partitions day_a..day_b (inclusive; None = all)."""
        base = self.root / level / f"sensor={sensor}"
        ids = self.manifest["sensors"][sensor]["sessions"]
        if not base.is_dir():
            return []
        dirs = [base] if level == "thermal" else [
            d for d in sorted(base.glob("day=*"))
            if (day_a is None or d.name[4:] >= day_a) and (day_b is None or d.name[4:] <= day_b)]
        return [str(f) for d in dirs for f in sorted(d.glob("*.parquet")) if f.stem in ids]

    def rows(self, level: str, sensor: str, a: int, b: int):
        """Buckets of ``level`` with start in [a, b), sessions summed: (start int64 (B,),
        act float64 (B, P), cov int64 (B, P), rows read)."""
        p = int(np.prod(self.shape(sensor)))
        files = self._files(level, sensor, day_of(a), day_of(b - 1)) if b > a else []
        if not files:
            return np.zeros(0, np.int64), np.zeros((0, p)), np.zeros((0, p), np.int64), 0
        f = (ds.field("start") >= a) & (ds.field("start") < b)
        t = ds.dataset(files, format="parquet").to_table(columns=["start", "act", "cov"], filter=f)
        start = t.column("start").to_numpy()
        act = t.column("act").combine_chunks().flatten().to_numpy().reshape(-1, p)
        cov = t.column("cov").combine_chunks().flatten().to_numpy().reshape(-1, p)
        u, inv = np.unique(start, return_inverse=True)
        s_act = np.zeros((len(u), p))
        s_cov = np.zeros((len(u), p), np.int64)
        np.add.at(s_act, inv, act)
        np.add.at(s_cov, inv, cov)
        return u, s_act, s_cov, len(start)

    def query(self, sensor: str | None = None, t0: int | None = None, t1: int | None = None) -> QueryResult:
        """Dwell and coverage over [t0, t1) (epoch s, whole minutes; default: the sensor's span)
        from the fewest aggregates (:func:`rollup.plan`)."""
        sensor = self.sensor(sensor)
        lo, hi = self.span(sensor)
        t0 = lo if t0 is None else t0
        t1 = hi if t1 is None else t1
        if t1 <= t0:
            raise StoreError(f"empty range: {iso(t0)} .. {iso(t1)}")
        try:
            runs = plan(t0, t1, self.levels)
        except ValueError as e:
            raise StoreError(str(e)) from None
        h, w = self.shape(sensor)
        act = np.zeros(h * w)
        cov = np.zeros(h * w, np.int64)
        nrows = 0
        for level, a, b in runs:
            _, s_act, s_cov, n = self.rows(level, sensor, a, b)
            act += s_act.sum(0)
            cov += s_cov.sum(0)
            nrows += n
        return QueryResult(sensor, t0, t1, act.reshape(h, w), cov.reshape(h, w), runs, plan_size(runs), nrows)

    def seconds(self, sensor: str, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
        """Seconds in [t0, t1) with any activation: (sec int64 (S,), act float32 (S, H, W))."""
        h, w = self.shape(sensor)
        files = self._files("second", sensor, day_of(t0), day_of(t1 - 1))
        if not files:
            return np.zeros(0, np.int64), np.zeros((0, h, w), np.float32)
        f = (ds.field("sec") >= t0) & (ds.field("sec") < t1)
        t = ds.dataset(files, format="parquet").to_table(columns=["sec", "pix", "val"], filter=f)
        sec = t.column("sec").to_numpy()
        u, inv = np.unique(sec, return_inverse=True)
        out = np.zeros((len(u), h * w), np.float32)
        pix = t.column("pix").combine_chunks()
        val = t.column("val").combine_chunks().flatten().to_numpy()
        lens = pix.value_lengths().to_numpy()
        rows = np.repeat(inv, lens)
        np.add.at(out, (rows, pix.flatten().to_numpy().astype(np.int64)), val)
        return u, out.reshape(-1, h, w)

    def mean_thermal(self, sensor: str) -> np.ndarray | None:
        """Mean thermal image (H, W) degC over all stored sessions, NaN where never valid."""
        files = self._files("thermal", sensor)
        if not files:
            return None
        t = ds.dataset(files, format="parquet").to_table()
        h, w = self.shape(sensor)
        s = t.column("sum").combine_chunks().flatten().to_numpy().reshape(-1, h * w).sum(0)
        n = t.column("n").combine_chunks().flatten().to_numpy().reshape(-1, h * w).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / n, np.nan).reshape(h, w)
