"""The embedded heat-map store: Parquet files (pyarrow) in one folder, no server.

Layout (spec: ``datasets/HEATMAP.md``, section 3)::

    STORE/manifest.json                     version 2: sensors, shapes, sessions, the compacted files
    STORE/.lock                             the writers' lock (filelock); readers never take it
    STORE/{minute,...,month}/sensor=S/day=YYYY-MM-DD/ID.parquet   one session's rollups (the log)
    STORE/second/sensor=S/day=YYYY-MM-DD/ID.parquet                one session's sparse seconds
    STORE/thermal/sensor=S/ID.parquet                              one session's thermal sums
    STORE/compact/LEVEL/sensor=S/KEY.gN.parquet   all sessions summed per bucket, one file per
                                            (sensor, level, partition KEY), one row group per
                                            hour (minute files, KEY = day), day (hour, KEY = month),
                                            month (day, KEY = year), year (week, month, KEY = all)

Per-session files are written once (named by the session's content hash) and are the source of
truth; queries read only the compacted files, which every writer updates in the same commit as the
manifest (:meth:`HeatStore.add`, :meth:`HeatStore.register`, :meth:`HeatStore.compact`).

**Commit protocol** (all writers hold ``STORE/.lock``, :mod:`filelock`): write session files, write
the new compacted partitions under new generation names (``KEY.gN``), then replace
``manifest.json`` atomically (``os.replace``), then delete the files no manifest refers to. A
writer killed at any point leaves the previous manifest and its files intact; its re-run resumes
(same session id, same file names). A second writer waits for the lock and says who holds it.

**Damage**: a compacted file that is missing, of another size than the manifest says, or that
pyarrow cannot read raises :class:`StoreError` naming it; ``tinyheat heatmap-compact STORE
--repair`` rebuilds the compacted files from the session files (sessions whose own files are
damaged are dropped from the manifest and named, so their recordings can be added again).
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UserError
from .activation import Activation
from .rollup import DAY, HOUR, LEGACY_LEVELS, LEVELS, bucket_start, plan, plan_size, rollup

FORMAT = "tinyheat-heatmap-store"
#: version 1: per-session files only (tinyheat before issue 18); 2: + compacted files
VERSION = 2
#: top-level names a store folder may hold (an interrupted first write leaves only these)
STORE_NAMES = {"manifest.json", "manifest.json.tmp", ".lock", ".lock.owner", "compact", "second", "thermal", *LEVELS}
#: columns of a rollup row: bucket start, dwell s, recorded s, people-frames, frames, max people
COLUMNS = ("start", "act", "cov", "people", "frames", "people_max")


class StoreError(UserError, ValueError):
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


# ---- partitions of the compacted files -------------------------------------------------------
def _month(s) -> np.ndarray:
    return bucket_start(s, "month")


def _year(s) -> np.ndarray:
    s = np.asarray(s, np.int64)
    return s.astype("datetime64[s]").astype("datetime64[Y]").astype("datetime64[s]").astype(np.int64)


#: level -> (partition key of a bucket start (epoch s of the partition's start), row group key)
PARTS = {
    "minute": (lambda s: np.asarray(s, np.int64) // DAY * DAY, lambda s: np.asarray(s, np.int64) // HOUR),
    "hour": (_month, lambda s: np.asarray(s, np.int64) // DAY),
    "day": (_year, _month),
    "week": (lambda s: np.zeros(len(np.atleast_1d(s)), np.int64), _year),
    "month": (lambda s: np.zeros(len(np.atleast_1d(s)), np.int64), _year),
}


def part_name(level: str, key: int) -> str:
    """File stem of a compacted partition: a day (minute), month (hour), year (day) or ``all``."""
    if level in ("week", "month"):
        return "all"
    fmt = {"minute": "%Y-%m-%d", "hour": "%Y-%m", "day": "%Y"}[level]
    return datetime.fromtimestamp(int(key), tz=timezone.utc).strftime(fmt)


def _part_keys(level: str, a: int, b: int) -> list[int]:
    """Partition keys of ``level`` whose buckets may start in [a, b)."""
    key = PARTS[level][0]
    if level in ("week", "month"):
        return [0]
    k, out = int(key([a])[0]), []
    last = int(key([b - 1])[0])
    while k <= last:
        out.append(k)
        k = int(bucket_start([k + 32 * DAY], "month")[0]) if level == "hour" else (
            int(_year([k + 367 * DAY])[0]) if level == "day" else k + DAY)
    return out


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


def _write(path: Path, table: pa.Table, row_groups: list[pa.Table] | None = None, compression: str = "zstd") -> int:
    """Write ``table`` (or the tables ``row_groups``, one row group each) to ``path`` through a
    temporary file of this process and ``os.replace``; returns the size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if row_groups is None:
        pq.write_table(table, tmp, compression=compression)
    else:
        with pq.ParquetWriter(tmp, row_groups[0].schema, compression=compression) as w:
            for t in row_groups:
                w.write_table(t)
    os.replace(tmp, path)
    return path.stat().st_size


def _lists(a: np.ndarray, typ) -> pa.Array:
    a = np.ascontiguousarray(a)
    n, p = a.shape
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n * p + 1, p, dtype=np.int32)), pa.array(a.ravel(), typ))


def _table(r: dict) -> pa.Table:
    return pa.table({"start": pa.array(r["start"], pa.int64()), "act": _lists(r["act"], pa.float64()),
                     "cov": _lists(r["cov"], pa.int32()), "people": pa.array(r["people"], pa.float64()),
                     "frames": pa.array(r["frames"], pa.int64()), "people_max": pa.array(r["people_max"], pa.int32())})


def _people_rollup(epoch_ms: np.ndarray, people: np.ndarray, start: np.ndarray, level: str):
    """Per bucket of ``start`` (the activation rollup's starts): people-frames (sum of the
    per-frame count), frames, and the largest per-frame count."""
    key = bucket_start(np.asarray(epoch_ms, np.int64) // 1000, level)
    cut = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
    idx = np.searchsorted(start, key[cut])
    ps, fr, pm = np.zeros(len(start)), np.zeros(len(start), np.int64), np.zeros(len(start), np.int32)
    ok = (idx < len(start)) & (start[np.minimum(idx, len(start) - 1)] == key[cut])
    p = np.asarray(people, np.int64)
    ps[idx[ok]] = np.add.reduceat(p, cut).astype(np.float64)[ok]
    fr[idx[ok]] = np.diff(np.append(cut, len(p)))[ok]
    pm[idx[ok]] = np.maximum.reduceat(p, cut)[ok]
    return ps, fr, pm


def write_session(root: str | Path, sensor: str, a: Activation, source: str = "") -> dict:
    """Write one session's rollups, sparse seconds and thermal sums under ``root`` (new files
    only, named by the session id; safe to run in parallel for different sessions, and to run
    again after an interruption). Returns the manifest entry to :meth:`HeatStore.register`."""
    root = Path(root)
    sid = session_id(sensor, a)
    h, w = a.shape
    p = h * w
    act = a.act.reshape(len(a.sec), p)
    cov = a.cov.reshape(len(a.sec), p)
    nbytes = 0
    m_start, m_act, m_cov = rollup(a.sec, act, cov, "minute")
    for level in LEVELS:  # every longer bucket is a whole number of minutes: roll the minutes up
        start, s_act, s_cov = (m_start, m_act, m_cov) if level == "minute" else rollup(m_start, m_act, m_cov, level)
        ps, fr, pm = _people_rollup(a.epoch_ms, a.people, start, level)
        days = (start // DAY) * DAY
        for d in np.unique(days):
            m = days == d
            t = _table({"start": start[m], "act": s_act[m], "cov": s_cov[m], "people": ps[m], "frames": fr[m],
                        "people_max": pm[m]})
            nbytes += _write(root / level / f"sensor={sensor}" / f"day={day_of(d)}" / f"{sid}.parquet", t)
    occ = act > 0
    busy = np.flatnonzero(occ.any(1))
    bdays = a.sec[busy] // DAY * DAY
    second_days = []
    for d in np.unique(bdays):
        rows = busy[bdays == d]
        pix = [np.flatnonzero(occ[i]).astype(np.uint16) for i in rows]
        t = pa.table({"sec": pa.array(a.sec[rows], pa.int64()),
                      "pix": pa.array(pix, pa.list_(pa.uint16())),
                      "val": pa.array([act[i][occ[i]] for i in rows], pa.list_(pa.float32()))})
        second_days.append(day_of(d))
        nbytes += _write(root / "second" / f"sensor={sensor}" / f"day={second_days[-1]}" / f"{sid}.parquet", t)
    t = pa.table({"sum": _lists(a.mean_sum.reshape(1, p), pa.float64()),
                  "n": _lists(a.mean_n.reshape(1, p), pa.int64())})
    nbytes += _write(root / "thermal" / f"sensor={sensor}" / f"{sid}.parquet", t)
    return {"sensor": sensor, "id": sid, "shape": [h, w], "first_s": int(a.sec[0]), "last_s": int(a.sec[-1]),
            "frames": int(len(a.epoch_ms)), "seconds": int(len(a.sec)), "bytes": nbytes, "source": source,
            "second_days": second_days}


def _sum_rows(parts: list[dict], p: int) -> dict:
    """Rows of several sources -> one row per bucket start (sorted), sums (max for people_max)."""
    cat = {k: np.concatenate([r[k] for r in parts]) if parts else np.zeros((0, p) if k in ("act", "cov") else 0)
           for k in COLUMNS}
    if len(cat["start"]) == 0:
        return {"start": np.zeros(0, np.int64), "act": np.zeros((0, p)), "cov": np.zeros((0, p), np.int64),
                "people": np.zeros(0), "frames": np.zeros(0, np.int64), "people_max": np.zeros(0, np.int32)}
    order = np.argsort(cat["start"], kind="stable")
    s = cat["start"][order]
    cut = np.concatenate([[0], np.flatnonzero(np.diff(s)) + 1])
    out = {"start": s[cut]}
    for k in ("act", "cov", "people", "frames"):
        out[k] = np.add.reduceat(cat[k][order], cut, axis=0)
    out["people_max"] = np.maximum.reduceat(cat["people_max"][order], cut)
    return out


class HeatStore:
    """A store folder. ``HeatStore(root, create=True)`` makes a new one (or resumes one whose
    first write was interrupted); ``readonly=True`` refuses every write (``tinyheat serve``)."""

    def __init__(self, root: str | Path, *, create: bool = False, readonly: bool = False):
        self.root = Path(root)
        self.readonly = readonly
        self.on_wait = None  # called with a message when a writer waits for another's lock
        mf = self.root / "manifest.json"
        if not mf.is_file() and create:
            if self.root.exists() and not self.root.is_dir():
                raise StoreError(f"{self.root}: exists and is not a folder")
            if self.root.is_dir():
                extra = sorted(p.name for p in self.root.iterdir() if p.name not in STORE_NAMES)
                if extra:
                    raise StoreError(f"{self.root}: exists and is not a heat-map store (no manifest.json; "
                                     f"holds {', '.join(extra[:3])})")
            with self._locked():
                if not mf.is_file():  # another writer may have created it meanwhile
                    self.manifest = {"format": FORMAT, "version": VERSION, "levels": list(LEVELS), "sensors": {},
                                     "commit": 0}
                    self._commit()
        self._load()

    def _load(self) -> None:
        mf = self.root / "manifest.json"
        if not mf.is_file():
            raise StoreError(f"{self.root}: not a heat-map store (no manifest.json)")
        try:
            self.manifest = json.loads(mf.read_text(encoding="utf-8"))
            self._mtime = mf.stat().st_mtime_ns
        except (OSError, ValueError) as e:
            raise StoreError(f"{mf}: unreadable ({e})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise StoreError(f"{mf}: not a tinyheat heat-map store")
        v = self.manifest.get("version")
        if not isinstance(v, int) or v > VERSION:
            raise StoreError(f"{self.root}: store version {v} was written by a newer tinyheat (this one reads "
                             f"versions 1..{VERSION}); upgrade tinyheat")

    def reload_if_changed(self) -> bool:
        """Re-read the manifest if a writer replaced it since; True if it did."""
        try:
            m = (self.root / "manifest.json").stat().st_mtime_ns
        except OSError:
            m = None
        if m != self._mtime:
            self._load()
            return True
        return False

    # ---- the writers' lock and commit --------------------------------------------------------
    @contextmanager
    def _locked(self):
        """The store's writer lock (``.lock``, :class:`tinyheat.dataset.lock.WriterLock`): a second
        writer calls ``on_wait`` with who holds it and waits (600 s, ``TINYHEAT_LOCK_TIMEOUT``), then
        raises StoreError naming the holder. Reloads what the previous writer committed."""
        from ..dataset.lock import WriterLock

        if self.readonly:
            raise StoreError(f"{self.root}: opened read-only")
        with WriterLock(self.root, "heat-map store", notify=self.on_wait or (lambda msg: None), lock_name=".lock",
                        error=StoreError):
            if (self.root / "manifest.json").is_file():
                self._load()  # what the previous writer committed
            yield

    def _commit(self) -> None:
        """Replace the manifest atomically (the one commit point), then delete unreferenced
        compacted files (older generations, leftovers of interrupted writers)."""
        self.manifest["commit"] = int(self.manifest.get("commit", 0)) + 1
        tmp = self.root / "manifest.json.tmp"
        tmp.write_text(json.dumps(self.manifest, separators=(",", ":"), sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.root / "manifest.json")
        self._mtime = (self.root / "manifest.json").stat().st_mtime_ns
        base = self.root / "compact"
        if base.is_dir():
            keep = {str(base / lv / f"sensor={s}" / e["file"]) for s, sd in self.manifest["sensors"].items()
                    for lv, parts in sd.get("compact", {}).items() for e in parts.values()}
            for f in base.glob("*/sensor=*/*"):
                if str(f) not in keep:
                    f.unlink(missing_ok=True)

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

    def _upgrade_needed(self) -> bool:
        return self.manifest.get("version", 1) < VERSION and any(
            sd["sessions"] for sd in self.manifest["sensors"].values())

    def register(self, entries: list[dict], progress: bool = False) -> None:
        """Add written sessions (:func:`write_session`) to the manifest and the compacted files,
        in one commit under the lock. Checks each first (against what other writers committed
        meanwhile): any refusal registers none of them (their files stay, unreferenced)."""
        with self._locked():
            self._register(entries, progress)

    def _refuse_old(self) -> None:
        if self._upgrade_needed():
            raise StoreError(f"{self.root}: written by an older tinyheat (store version 1): run "
                             f"`tinyheat heatmap-compact {self.root}` once, then add again")

    def _register(self, entries, progress=False):
        self._refuse_old()
        for i, e in enumerate(entries):
            self.check(e)
            for o in entries[:i]:
                if o["sensor"] == e["sensor"] and e["first_s"] <= o["last_s"] and o["first_s"] <= e["last_s"]:
                    raise StoreError(f"{e['source'] or e['id']} overlaps {o['source'] or o['id']} "
                                     f"(sensor {e['sensor']!r})")
        new: dict[str, list[str]] = {}
        for e in entries:
            s = self.manifest["sensors"].setdefault(e["sensor"], {"shape": e["shape"], "sessions": {}, "compact": {}})
            s["sessions"][e["id"]] = {k: e[k] for k in ("first_s", "last_s", "frames", "seconds", "bytes", "source",
                                                        "second_days", "clock") if k in e}
            new.setdefault(e["sensor"], []).append(e["id"])
        for sensor, ids in new.items():
            self._compact(sensor, ids, progress)
        self.manifest["version"] = VERSION
        self._commit()

    def add(self, sensor: str, a: Activation, source: str = "", clock_zone_unknown: bool = False) -> dict:
        """Check, write and register one session (under the lock); returns its manifest entry.
        ``clock_zone_unknown``: its times are a wall clock of unknown zone counted as UTC (entry
        ``"clock": "local"``, so queries print them without a zone, :meth:`clock_zone_unknown`)."""
        probe = {"sensor": sensor, "id": session_id(sensor, a), "shape": list(a.shape), "first_s": int(a.sec[0]),
                 "last_s": int(a.sec[-1]), "source": source}
        with self._locked():
            self._refuse_old()  # before writing anything
            self.check(probe)
            e = write_session(self.root, sensor, a, source)
            if clock_zone_unknown:
                e["clock"] = "local"
            self._register([e])
        return e

    def clock_zone_unknown(self, sensor: str) -> bool:
        """True when a stored session of ``sensor`` has a wall clock of unknown zone (see :meth:`add`)."""
        return any(s.get("clock") == "local" for s in self.manifest["sensors"][sensor]["sessions"].values())

    def compact(self, repair: bool = False, progress: bool = False) -> list[str]:
        """Rebuild every compacted file from the session files (upgrades a version-1 store).
        A session whose own files are damaged raises StoreError naming it, or with ``repair``
        is dropped from the manifest. Returns one line per dropped session."""
        dropped = []
        with self._locked():
            for sensor, sd in self.manifest["sensors"].items():
                for sid, info in list(sd["sessions"].items()):
                    bad = self._check_session(sensor, sid, info)
                    if bad and not repair:
                        raise StoreError(f"damaged store: session {sid} ({info.get('source', '')}): {bad}; run "
                                         f"`tinyheat heatmap-compact {self.root} --repair` to drop it (then add its "
                                         "recording again)")
                    if bad:
                        del sd["sessions"][sid]
                        dropped.append(f"dropped session {sid} ({info.get('source', '')}): {bad}; add its recording "
                                       "again with heatmap-add")
                sd["compact"] = {}
                self._compact(sensor, list(sd["sessions"]), progress)
            self.manifest["version"] = VERSION
            self._commit()
        return dropped

    def _check_session(self, sensor: str, sid: str, info: dict) -> str | None:
        """None if every file of the session reads, else what is wrong (one phrase)."""
        files = [self.root / "thermal" / f"sensor={sensor}" / f"{sid}.parquet"]
        for level in self.levels:
            files += sorted((self.root / level / f"sensor={sensor}").glob(f"day=*/{sid}.parquet"))
        files += [self.root / "second" / f"sensor={sensor}" / f"day={d}" / f"{sid}.parquet"
                  for d in info.get("second_days", [])]
        if not any((self.root / "minute" / f"sensor={sensor}").glob(f"day=*/{sid}.parquet")):
            return "its minute files are missing"
        for f in files:
            try:
                pq.read_table(f)
            except FileNotFoundError:
                return f"{f.relative_to(self.root)} is missing"
            except (OSError, pa.ArrowException) as e:
                return f"{f.relative_to(self.root)} is unreadable ({str(e).splitlines()[0][:80]})"
        return None

    def _session_files(self, level: str, sensor: str, ids) -> dict[int, list[Path]]:
        """The given sessions' own ``level`` files, by compacted partition key."""
        base = self.root / level / f"sensor={sensor}"
        out: dict[int, list[Path]] = {}
        if not base.is_dir():
            return out
        ids = set(ids)
        for d in sorted(base.iterdir()):
            if not d.name.startswith("day="):
                continue
            files = [f for f in d.iterdir() if f.suffix == ".parquet" and f.stem in ids]
            if files:
                day = int(datetime.strptime(d.name[4:], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp())
                out.setdefault(int(PARTS[level][0]([day])[0]), []).extend(sorted(files))
        return out

    def _compact(self, sensor: str, ids: list[str], progress: bool = False) -> None:
        """Merge the sessions ``ids`` into the sensor's compacted partitions, one partition at
        a time (new generation files; the caller commits)."""
        from tqdm import tqdm

        sd = self.manifest["sensors"][sensor]
        comp = sd.setdefault("compact", {})
        p = int(np.prod(sd["shape"]))
        gen = int(self.manifest.get("commit", 0)) + 1
        work = [(level, k, fs) for level in self.levels for k, fs in self._session_files(level, sensor, ids).items()]
        for level, k, files in tqdm(work, desc=f"compacting {sensor}", unit="file", disable=not progress):
            parts = comp.setdefault(level, {})
            name = part_name(level, k)
            merge = [self._read_file(f, None, p) for f in files]
            if name in parts:
                merge.append(self._read_file(self._cpath(level, sensor, parts[name]), parts[name], p))
            r = _sum_rows(merge, p)
            rg = PARTS[level][1](r["start"])
            cut = np.concatenate([[0], np.flatnonzero(np.diff(rg)) + 1, [len(rg)]])
            t = _table(r)
            path = self.root / "compact" / level / f"sensor={sensor}" / f"{name}.g{gen}.parquet"
            size = _write(path, t, [t.slice(a, b - a) for a, b in zip(cut[:-1], cut[1:])])
            parts[name] = {"file": path.name, "bytes": size, "rows": len(r["start"])}
        thermal = [self._read_thermal(self.root / "thermal" / f"sensor={sensor}" / f"{i}.parquet", p) for i in ids]
        if comp.get("thermal"):
            thermal.append(self._read_thermal(self._cpath("thermal", sensor, comp["thermal"]["all"]), p,
                                              comp["thermal"]["all"]))
        sd["compacted"] = sorted(sd["sessions"])
        if not thermal:
            comp.pop("thermal", None)
            return
        s, n = sum(t[0] for t in thermal), sum(t[1] for t in thermal)
        path = self.root / "compact" / "thermal" / f"sensor={sensor}" / f"all.g{gen}.parquet"
        size = _write(path, pa.table({"sum": _lists(np.reshape(s, (1, p)), pa.float64()),
                                      "n": _lists(np.reshape(n, (1, p)), pa.int64())}))
        comp["thermal"] = {"all": {"file": path.name, "bytes": size, "rows": 1}}

    # ---- reading ---------------------------------------------------------------------------
    def _cpath(self, level: str, sensor: str, entry: dict) -> Path:
        return self.root / "compact" / level / f"sensor={sensor}" / entry["file"]

    def _damaged(self, path: Path, why: str) -> StoreError:
        return StoreError(f"damaged store: {path.relative_to(self.root)} {why}; run "
                          f"`tinyheat heatmap-compact {self.root} --repair` to rebuild it")

    def _open(self, path: Path, entry: dict | None):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise self._damaged(path, "is missing") from None
        if entry is not None and size != entry["bytes"]:
            raise self._damaged(path, f"has {size} bytes, the manifest says {entry['bytes']}")
        try:
            return pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as e:
            raise self._damaged(path, f"is unreadable ({str(e).splitlines()[0][:80]})") from None

    def _read_file(self, path: Path, entry: dict | None, p: int, a: int | None = None, b: int | None = None,
                   columns=COLUMNS) -> dict:
        """Rows of one rollup file with start in [a, b) (None: all), reading only the row groups
        whose start statistics overlap, and only ``columns`` (the others are zeros)."""
        pf = self._open(path, entry)
        try:
            md = pf.metadata
            groups = list(range(md.num_row_groups))
            if a is not None:
                keep = []
                for i in groups:
                    st = md.row_group(i).column(0).statistics
                    if st is None or not st.has_min_max or (st.max >= a and st.min < b):
                        keep.append(i)
                groups = keep
            names = set(pf.schema_arrow.names)
            t = pf.read_row_groups(groups, columns=[c for c in columns if c in names], use_threads=False)
        except (OSError, pa.ArrowException) as e:
            raise self._damaged(path, f"is unreadable ({str(e).splitlines()[0][:80]})") from None
        start = t.column("start").to_numpy()
        n = len(start)
        out = {"start": start,
               "act": t.column("act").combine_chunks().flatten().to_numpy().reshape(n, p) if n else np.zeros((0, p)),
               "cov": (t.column("cov").combine_chunks().flatten().to_numpy().reshape(n, p).astype(np.int64) if n
                       else np.zeros((0, p), np.int64))}
        for c, typ in (("people", np.float64), ("frames", np.int64), ("people_max", np.int32)):
            out[c] = t.column(c).to_numpy().astype(typ) if c in t.column_names else np.zeros(n, typ)
        if out["act"].shape != (n, p):
            raise self._damaged(path, f"has maps of {out['act'].size // max(n, 1)} pixels, not {p}")
        if a is not None:
            m = (start >= a) & (start < b)
            if not m.all():
                out = {k: v[m] for k, v in out.items()}
        return out

    def _read_thermal(self, path: Path, p: int, entry: dict | None = None):
        pf = self._open(path, entry)
        try:
            t = pf.read()
            return (t.column("sum").combine_chunks().flatten().to_numpy().reshape(p),
                    t.column("n").combine_chunks().flatten().to_numpy().reshape(p))
        except (OSError, pa.ArrowException, ValueError) as e:
            raise self._damaged(path, f"is unreadable ({str(e).splitlines()[0][:80]})") from None

    @property
    def levels(self) -> tuple[str, ...]:
        """Rollup levels every stored session has (older stores: minute, hour, day)."""
        return tuple(self.manifest.get("levels", LEGACY_LEVELS))

    def sensors(self) -> list[str]:
        return sorted(self.manifest["sensors"])

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
        if not ss:
            raise StoreError(f"sensor {sensor!r} has no sessions")
        return min(s["first_s"] for s in ss) // 60 * 60, -(-(max(s["last_s"] for s in ss) + 1) // 60) * 60

    def _ready(self, sensor: str) -> dict:
        """The sensor's compacted partitions; StoreError if the store needs heatmap-compact."""
        sd = self.manifest["sensors"][sensor]
        if self.manifest.get("version", 1) < VERSION or "compact" not in sd:
            raise StoreError(f"{self.root}: written by an older tinyheat (store version 1, not compacted): run "
                             f"`tinyheat heatmap-compact {self.root}` once")
        if sd.get("compacted") != sorted(sd["sessions"]):
            raise StoreError(f"{self.root}: sensor {sensor!r} has sessions missing from its compacted files (written "
                             f"by an older tinyheat?): run `tinyheat heatmap-compact {self.root}`")
        return sd["compact"]

    def rows(self, level: str, sensor: str, a: int, b: int):
        """Buckets of ``level`` with start in [a, b), all sessions summed, from the compacted
        files: (start int64 (B,), act float64 (B, P), cov int64 (B, P), rows read)."""
        r = self.rollup_rows(level, sensor, a, b)
        return r["start"], r["act"], r["cov"], len(r["start"])

    def rollup_rows(self, level: str, sensor: str, a: int, b: int, columns=COLUMNS) -> dict:
        """Like :meth:`rows`, as a dict with every column: ``start``, ``act``, ``cov``, ``people``
        float64 (B,) people-frames, ``frames`` int64 (B,), ``people_max`` int32 (B,) (zeros
        for a column not in ``columns``)."""
        comp = self._ready(sensor)
        p = int(np.prod(self.shape(sensor)))
        parts = comp.get(level, {})
        got = []
        if b > a:
            for k in _part_keys(level, a, b):
                e = parts.get(part_name(level, k))
                if e is not None:
                    got.append(self._read_file(self._cpath(level, sensor, e), e, p, a, b, columns))
        return _sum_rows(got, p) if len(got) != 1 else got[0]

    def query(self, sensor: str | None = None, t0: int | None = None, t1: int | None = None) -> QueryResult:
        """Dwell and coverage over [t0, t1) (epoch s, whole minutes; default: the sensor's span)
        from the fewest compacted aggregates (:func:`rollup.plan`). The plan covers the range
        clipped to the sensor's recorded whole days (nothing is stored outside them). Raises
        StoreError for an empty range, one outside the recorded span, or a damaged store."""
        sensor = self.sensor(sensor)
        lo, hi = self.span(sensor)
        t0 = lo if t0 is None else int(t0)
        t1 = hi if t1 is None else int(t1)
        if t1 <= t0:
            raise StoreError(f"empty range: {iso(t0)} .. {iso(t1)}")
        if t0 % 60 or t1 % 60:
            raise StoreError("range ends must be whole minutes")
        if t1 <= lo or t0 >= hi:
            raise StoreError(f"{iso(t0)} .. {iso(t1)} is outside the recorded span of sensor {sensor!r} "
                             f"({iso(lo)} .. {iso(hi)})")
        a, b = max(t0, lo // DAY * DAY), min(t1, -(-hi // DAY) * DAY)
        runs = plan(a, b, self.levels)
        h, w = self.shape(sensor)
        act = np.zeros(h * w)
        cov = np.zeros(h * w, np.int64)
        nrows = 0
        for level, ra, rb in runs:
            r = self.rollup_rows(level, sensor, ra, rb, ("start", "act", "cov"))
            act += r["act"].sum(0)
            cov += r["cov"].sum(0)
            nrows += len(r["start"])
        return QueryResult(sensor, t0, t1, act.reshape(h, w), cov.reshape(h, w), runs, plan_size(runs), nrows)

    def seconds(self, sensor: str, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
        """Seconds in [t0, t1) with any activation: (sec int64 (S,), act float32 (S, H, W)),
        read from the session files of the sessions overlapping the range."""
        h, w = self.shape(sensor)
        files = []
        for sid, s in self.manifest["sensors"][sensor]["sessions"].items():
            if s["last_s"] < t0 or s["first_s"] >= t1:
                continue
            base = self.root / "second" / f"sensor={sensor}"
            if "second_days" in s:
                days = [d for d in s["second_days"] if day_of(t0) <= d <= day_of(t1 - 1)]
                files += [base / f"day={d}" / f"{sid}.parquet" for d in days]
            else:
                files += [f for f in base.glob(f"day=*/{sid}.parquet") if day_of(t0) <= f.parent.name[4:] <= day_of(t1 - 1)]
        secs, rows_pix, rows_val, lens = [], [], [], []
        for f in files:
            pf = self._open(f, None)
            try:
                t = pf.read(columns=["sec", "pix", "val"])
            except (OSError, pa.ArrowException) as e:
                raise self._damaged(f, f"is unreadable ({str(e).splitlines()[0][:80]})") from None
            sec = t.column("sec").to_numpy()
            m = (sec >= t0) & (sec < t1)
            if not m.any():
                continue
            t = t.filter(pa.array(m))
            secs.append(t.column("sec").to_numpy())
            pix = t.column("pix").combine_chunks()
            rows_pix.append(pix.flatten().to_numpy().astype(np.int64))
            rows_val.append(t.column("val").combine_chunks().flatten().to_numpy())
            lens.append(pix.value_lengths().to_numpy())
        if not secs:
            return np.zeros(0, np.int64), np.zeros((0, h, w), np.float32)
        sec = np.concatenate(secs)
        u, inv = np.unique(sec, return_inverse=True)
        out = np.zeros((len(u), h * w), np.float32)
        np.add.at(out, (np.repeat(inv, np.concatenate(lens)), np.concatenate(rows_pix)), np.concatenate(rows_val))
        return u, out.reshape(-1, h, w)

    def mean_thermal(self, sensor: str) -> np.ndarray | None:
        """Mean thermal image (H, W) degC over all stored sessions, NaN where never valid."""
        comp = self._ready(sensor)
        e = comp.get("thermal", {}).get("all")
        if e is None:
            return None
        h, w = self.shape(sensor)
        s, n = self._read_thermal(self._cpath("thermal", sensor, e), h * w, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / n, np.nan).reshape(h, w)
