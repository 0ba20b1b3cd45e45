"""Thermal sessions on disk: a Zarr v3 group of per-frame arrays (spec: ``datasets/SESSION.md``).

A session is a time series of radiometric frames::

    frames    (N, H, W) float32  degC, NaN = invalid pixel
    t_ms      (N,)      int64    ms since the session start (monotonic, first frame usually 0)
    ta_degC   (N,)      float32  ambient / sensor Ta in degC, NaN when unknown
    eeprom    (832,)    uint16   optional: the MLX90640 calibration EEPROM image of the device

plus group attributes: ``tinyheat_session`` (format version), ``n_frames`` (the number of
*committed* frames: the writer updates it only after their data is on disk), ``start`` (ISO 8601
UTC wall clock of t_ms = 0, or null) and ``meta`` (acquisition context, see SESSION.md).

Crash safety: the writer buffers frames and commits them at least every ``sync_every_s`` seconds
(default 1 s): it enlarges the arrays, writes the new rows, then rewrites ``zarr.json`` with the
new ``n_frames``. zarr-python >= 3.1's ``LocalStore`` writes every object to a temporary file and
renames it into place, so a killed writer leaves either the old or the new version of each chunk,
never a torn one, and readers trust only the first ``n_frames`` rows.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import UserError

FORMAT_VERSION = 1
#: target bytes per ``frames`` chunk; the time length of a chunk is derived from the frame size
CHUNK_BYTES = 256 * 1024
#: ``meta`` keys every session has (value None when not known)
META_KEYS = ("sensor", "resolution", "refresh_hz", "emissivity", "reflected_degC", "firmware", "source")


class SessionError(UserError, ValueError):
    """A session that cannot be read or written; the message is one line and says why."""


def _iso(start: datetime | None) -> str | None:
    if start is None:
        return None
    if start.tzinfo is None:
        raise SessionError("session start must be timezone-aware (UTC)")
    return start.astimezone(timezone.utc).isoformat()


def _parse_iso(s: str | None) -> datetime | None:
    if not s:
        return None
    try:
        return datetime.fromisoformat(s).astimezone(timezone.utc)
    except ValueError:
        return None


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def timing_stats(t_ms: np.ndarray, frames: np.ndarray | None = None) -> dict:
    """Frame timing of a session: median period (ms), gaps (> 1.5 x median period) and
    invalid frames (no finite pixel). Returns a JSON-able dict."""
    t = np.asarray(t_ms, dtype=np.int64)
    out: dict = {"n_frames": int(t.size)}
    if t.size >= 2:
        dt = np.diff(t)
        med = float(np.median(dt))
        out["period_ms"] = med
        big = np.flatnonzero(dt > 1.5 * med) if med > 0 else np.array([], dtype=int)
        out["gaps"] = [{"after_frame": int(i), "dt_ms": int(dt[i])} for i in big[:1000]]
        out["n_gaps"] = int(big.size)
        out["missing_frames_est"] = int(np.sum(np.round(dt[big] / med) - 1)) if med > 0 else 0
        out["non_monotonic"] = int(np.sum(dt < 0))
    if frames is not None:
        f = np.asarray(frames)
        out["invalid_frames"] = int(np.sum(~np.isfinite(f).reshape(len(f), -1).any(axis=1))) if len(f) else 0
        out["invalid_pixels"] = int(np.sum(~np.isfinite(f)))
    return out


@dataclass
class Session:
    """A session in memory. ``frames`` (N, H, W) float32 degC (NaN invalid), ``t_ms`` (N,) int64 ms
    since ``start``, ``start`` tz-aware UTC datetime or None, ``ta_degC`` (N,) float32 (NaN unknown),
    ``meta`` dict (see SESSION.md), ``eeprom`` (832,) uint16 or None, ``path`` where it was read."""

    frames: np.ndarray
    t_ms: np.ndarray
    start: datetime | None = None
    ta_degC: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    eeprom: np.ndarray | None = None
    path: Path | None = None

    def __post_init__(self):
        self.frames = np.asarray(self.frames, dtype=np.float32)
        if self.frames.ndim != 3:
            raise SessionError(f"frames must be (N, H, W), got shape {self.frames.shape}")
        n = len(self.frames)
        self.t_ms = np.asarray(self.t_ms, dtype=np.int64).reshape(-1)
        if self.t_ms.shape != (n,):
            raise SessionError(f"t_ms has {self.t_ms.size} values for {n} frames")
        self.ta_degC = (np.full(n, np.nan, np.float32) if self.ta_degC is None
                        else np.asarray(self.ta_degC, dtype=np.float32).reshape(-1))
        if self.ta_degC.shape != (n,):
            raise SessionError(f"ta_degC has {self.ta_degC.size} values for {n} frames")
        meta = {k: None for k in META_KEYS}
        meta.update(self.meta or {})
        meta["resolution"] = list(self.frames.shape[1:])
        self.meta = meta

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def t_s(self) -> np.ndarray:
        """(N,) float64 seconds since the start."""
        return self.t_ms / 1000.0

    def write(self, path: str | Path, *, force: bool = False) -> Path:
        """Write this session to ``path`` (a new ``.zarr`` folder); see :class:`SessionWriter`."""
        with SessionWriter(path, meta=self.meta, start=self.start, force=force, eeprom=self.eeprom) as w:
            w.append(self.frames, self.t_ms, self.ta_degC)
        return Path(path)


class _LazySession(Session):
    """A session whose frames are read from the Zarr array on first use."""

    def __init__(self, group, n: int, **kw):
        self._group, self._n = group, n
        # bypass Session.__post_init__ on frames: validate shapes from metadata only
        object.__setattr__(self, "t_ms", np.asarray(group["t_ms"][:n], dtype=np.int64))
        object.__setattr__(self, "ta_degC", np.asarray(group["ta_degC"][:n], dtype=np.float32))
        for k, v in kw.items():
            object.__setattr__(self, k, v)

    @cached_property
    def frames(self) -> np.ndarray:  # type: ignore[override]
        a = self._group["frames"]
        try:
            return np.asarray(a[: self._n], dtype=np.float32)
        except Exception as e:
            raise SessionError(f"{self.path}: {_damaged_chunk(a, self._n) or 'frames cannot be read'} "
                               f"({type(e).__name__}: {e})") from None

    def __len__(self) -> int:
        return self._n


def _damaged_chunk(a, n: int) -> str | None:
    """'frames chunk c/1/0/0 (frames 85-169) is damaged' for the first chunk of rows 0..n-1 that
    cannot be decoded, or None if each decodes alone."""
    step = a.chunks[0]
    for i in range(0, n, step):
        try:
            a[i:min(n, i + step)]
        except Exception:
            key = a.metadata.encode_chunk_key((i // step,) + (0,) * (a.ndim - 1))
            return f"{a.basename} chunk {key} (frames {i}-{min(n, i + step) - 1}) is damaged"
    return None


def missing_chunks(path: Path, g, n: int, names=("frames", "t_ms", "ta_degC")) -> list[str]:
    """Chunk files of rows 0..n-1 that are absent from the session folder ``path``.

    zarr reads an absent chunk as its fill value (NaN frames, t_ms -1), which would be invented
    frames; :class:`SessionWriter` writes every chunk (``write_empty_chunks``) and says so in the
    group attribute ``every_chunk_written``, so any absent chunk is damage. Sessions without that
    attribute (older writers skipped chunks of pure fill, e.g. an unknown Ta) are checked for
    ``frames`` only. Returns ``["frames/c/1/0/0", ...]`` (empty when complete).
    """
    if not g.attrs.get("every_chunk_written"):
        names = ("frames",)
    out = []
    for name in names:
        a = g[name]
        grid = [range(-(-(n if d == 0 else a.shape[d]) // a.chunks[d])) for d in range(a.ndim)]
        for idx in itertools.product(*grid):
            key = a.metadata.encode_chunk_key(idx)
            if not (path / name / key).exists():
                out.append(f"{name}/{key}")
    return out


def _drain_zarr(timeout_s: float = 10.0) -> None:
    """Wait until zarr's I/O thread has no write left in flight. After one chunk write fails (e.g. a
    full disk) zarr's other concurrent writes go on, and would re-create a folder the caller removes."""
    import asyncio

    from zarr.core.sync import sync

    async def idle():
        me = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not me]
        if others:
            await asyncio.wait(others, timeout=timeout_s)

    try:
        sync(idle())
    except Exception:
        pass


@contextlib.contextmanager
def _sigint_deferred():
    """Hold a Ctrl-C (SIGINT) back until the block ends: zarr writes run in its own I/O thread, and an
    interrupt in the middle would leave them running into a folder being removed (pages of
    asyncio tracebacks). The KeyboardInterrupt is raised right after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    try:
        old = signal.signal(signal.SIGINT, lambda *a: got.append(1))
    except ValueError:
        yield
        return
    if old is signal.SIG_IGN:
        signal.signal(signal.SIGINT, old)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if got:
        raise KeyboardInterrupt


def _open_group(path: Path, mode: str):
    import zarr

    try:
        return zarr.open_group(store=str(path), mode=mode, zarr_format=3)
    except Exception as e:
        raise SessionError(f"{path}: not a readable session ({type(e).__name__}: {e})") from None


def read_session(path: str | Path, *, lazy: bool = True) -> Session:
    """Read a session: a ``.zarr`` folder written by :class:`SessionWriter`, or a ``tinyheat
    record`` ``.npz`` (converted in memory, see :func:`tinyheat.session.importers.from_npz`).

    Only the committed frames (attribute ``n_frames``) are returned, so a session cut off by a
    crash reads as everything up to its last commit. Raises SessionError (one line) on a
    missing, foreign or corrupt file.
    """
    path = Path(path)
    if not path.exists():
        raise SessionError(f"{path}: no such session")
    if path.is_file() and path.suffix.lower() == ".npz":
        from .importers import from_npz

        return from_npz(path)
    if not path.is_dir():
        raise SessionError(f"{path}: not a session (expected a .zarr folder or a tinyheat .npz recording)")
    g = _open_group(path, "r")
    attrs = dict(g.attrs)
    if attrs.get("tinyheat_session") != FORMAT_VERSION:
        raise SessionError(f"{path}: not a tinyheat session (attribute tinyheat_session="
                           f"{attrs.get('tinyheat_session')!r}, expected {FORMAT_VERSION})")
    try:
        arrays = {k: g[k] for k in ("frames", "t_ms", "ta_degC")}
    except KeyError as e:
        raise SessionError(f"{path}: array {e} missing") from None
    n = int(attrs.get("n_frames", 0))
    shp = arrays["frames"].shape
    if len(shp) != 3 or arrays["t_ms"].shape[0] < n or arrays["ta_degC"].shape[0] < n or shp[0] < n:
        raise SessionError(f"{path}: arrays shorter than n_frames={n} (frames {shp}, "
                           f"t_ms {arrays['t_ms'].shape})")
    gone = missing_chunks(path, g, n)
    if gone:
        more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
        raise SessionError(f"{path}: damaged session: chunk {', '.join(gone[:3])}{more} missing (deleted or never "
                           f"written): its rows would read as invented fill values (blank frames, unknown "
                           f"times), so the session is not used")
    meta = {k: None for k in META_KEYS}
    meta.update(attrs.get("meta") or {})
    meta["resolution"] = list(shp[1:])
    eeprom = np.asarray(g["eeprom"][:], dtype=np.uint16) if "eeprom" in g else None
    try:
        s = _LazySession(g, n, start=_parse_iso(attrs.get("start")), meta=meta, eeprom=eeprom, path=path)
    except Exception as e:
        raise SessionError(f"{path}: cannot read ({type(e).__name__}: {e})") from None
    if not lazy:
        _ = s.frames
    return s


class SessionWriter:
    """Append frames to a new (or, with ``append=True``, an existing) session folder ``path``.

    ``meta``: acquisition context (SESSION.md section 3); ``start``: tz-aware datetime of
    t_ms = 0 (None: unknown); ``eeprom``: optional (832,) uint16 calibration image.
    Refuses an existing ``path`` unless ``force`` (replace) or ``append`` (SessionError).
    Frames are committed every ``sync_every_s`` seconds and at :meth:`close`; a crash loses at
    most the frames appended since the last commit. Use as a context manager.
    """

    def __init__(self, path: str | Path, meta: dict | None = None, start: datetime | None = None, *,
                 force: bool = False, append: bool = False, eeprom=None, sync_every_s: float = 1.0,
                 resolution: tuple[int, int] | None = None):
        import shutil

        self.path = Path(path)
        self.sync_every_s = float(sync_every_s)
        self._buf: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._buffered = 0
        self._last_sync = time.monotonic()
        self.closed = False
        self._invalid = {"invalid_frames": 0, "invalid_pixels": 0}
        if self.path.exists() and append:
            self._g = _open_group(self.path, "r+")
            if self._g.attrs.get("tinyheat_session") != FORMAT_VERSION:
                raise SessionError(f"{self.path}: not a tinyheat session, cannot append")
            self.n = int(self._g.attrs.get("n_frames", 0))
            self.resolution = tuple(self._g["frames"].shape[1:])
            self.meta = dict(self._g.attrs.get("meta") or {})
            old = self.meta.get("stats") or {}
            self._invalid = {k: int(old.get(k, 0)) for k in self._invalid}
            if meta:
                self.meta.update(_jsonable(dict(meta)))
            return
        if self.path.exists():
            if not force:
                raise SessionError(f"{self.path} exists; choose another name (or pass --force where the command "
                                   f"has one)")
            if not (self.path / "zarr.json").exists():
                raise SessionError(f"{self.path} exists and is not a session; not replacing it")
            shutil.rmtree(self.path)
        self._iso_start = _iso(start)
        self.meta = {k: None for k in META_KEYS}
        self.meta.update(_jsonable(dict(meta or {})))
        self.n = 0
        self.resolution = tuple(resolution) if resolution else None
        self._g = None
        self._eeprom = None if eeprom is None else np.asarray(eeprom, dtype=np.uint16).reshape(-1)
        if self.resolution:
            self._create()

    def _create(self) -> None:
        import zarr

        h, w = self.resolution
        self.meta["resolution"] = [int(h), int(w)]
        ct = max(1, min(256, CHUNK_BYTES // (4 * h * w)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        g = zarr.open_group(store=str(self.path), mode="w-", zarr_format=3)
        g.create_array("frames", shape=(0, h, w), chunks=(ct, h, w), dtype="float32", fill_value=np.nan,
                       dimension_names=("time", "y", "x"))
        g.create_array("t_ms", shape=(0,), chunks=(4096,), dtype="int64", fill_value=-1,
                       dimension_names=("time",))
        g.create_array("ta_degC", shape=(0,), chunks=(4096,), dtype="float32", fill_value=np.nan,
                       dimension_names=("time",))
        if self._eeprom is not None:
            e = g.create_array("eeprom", shape=self._eeprom.shape, dtype="uint16", fill_value=0,
                               dimension_names=("address",))
            e[:] = self._eeprom
        g.attrs.update({"tinyheat_session": FORMAT_VERSION, "n_frames": 0, "start": self._iso_start,
                        "meta": self.meta, "every_chunk_written": True})
        self._g = g

    def set_start(self, start: datetime | None) -> None:
        """Set the session's UTC start (tz-aware; None: unknown) once it is known (a streamed import)."""
        self._iso_start = _iso(start)
        if self._g is not None:
            self._g.attrs.update({"start": self._iso_start})

    @property
    def count(self) -> int:
        """Frames appended so far (committed + buffered)."""
        return self.n + self._buffered

    def append(self, frames, t_ms, ta_degC=None) -> None:
        """Append one frame (H, W) or a batch (K, H, W) degC with t_ms (scalar or (K,), ms since
        the start) and optional Ta (degC; None = unknown). Raises SessionError on a shape mismatch."""
        if self.closed:
            raise SessionError(f"{self.path}: writer is closed")
        f = np.asarray(frames, dtype=np.float32)
        if f.ndim == 2:
            f = f[None]
        if f.ndim != 3:
            raise SessionError(f"frames must be (H, W) or (K, H, W), got shape {f.shape}")
        if np.isinf(f).any():  # an invalid pixel is NaN (SESSION.md section 1); inf is never stored
            f = np.where(np.isinf(f), np.float32(np.nan), f)
        k = len(f)
        t = np.asarray(t_ms, dtype=np.int64).reshape(-1)
        ta = np.full(k, np.nan, np.float32) if ta_degC is None else np.asarray(ta_degC, np.float32).reshape(-1)
        if t.size != k or ta.size != k:
            raise SessionError(f"{k} frames but {t.size} t_ms and {ta.size} ta_degC values")
        if self.resolution is None:
            self.resolution = f.shape[1:]
            self._create()
        if f.shape[1:] != tuple(self.resolution):
            raise SessionError(f"frame shape {f.shape[1:]} does not match the session's {tuple(self.resolution)}")
        self._buf.append((f, t, ta))
        self._buffered += k
        if time.monotonic() - self._last_sync >= self.sync_every_s:
            self.commit()

    def commit(self) -> None:
        """Write the buffered frames and then record the new frame count (crash-safe order)."""
        self._last_sync = time.monotonic()
        if not self._buf:
            return
        f = np.concatenate([b[0] for b in self._buf])
        t = np.concatenate([b[1] for b in self._buf])
        ta = np.concatenate([b[2] for b in self._buf])
        import zarr

        n0, n1 = self.n, self.n + len(f)
        g = self._g
        # every chunk is written, also one of pure fill value, so a missing chunk is damage (missing_chunks)
        with zarr.config.set({"array.write_empty_chunks": True}), _sigint_deferred():
            try:
                for name, data in (("frames", f), ("t_ms", t), ("ta_degC", ta)):
                    a = g[name]
                    if a.shape[0] < n1:
                        a.resize((n1, *a.shape[1:]))
                    a[n0:n1] = data
            except BaseException:
                _drain_zarr()
                raise
            self.n = n1
            bad = ~np.isfinite(f)
            self._invalid["invalid_pixels"] += int(bad.sum())
            self._invalid["invalid_frames"] += int(bad.reshape(len(f), -1).all(axis=1).sum())
            self._buf, self._buffered = [], 0
            g.attrs.update({"n_frames": self.n})

    def close(self) -> Path:
        """Commit what is buffered and store the timing statistics. Returns the path."""
        if self.closed:
            return self.path
        if self._g is None:  # nothing ever appended: still leave a valid empty session
            if self.resolution is None:
                self.resolution = tuple(self.meta.get("resolution") or (24, 32))
            self._create()
        self.commit()
        self.closed = True
        t = np.asarray(self._g["t_ms"][: self.n])
        self.meta["stats"] = _jsonable({**timing_stats(t), **self._invalid})
        self._g.attrs.update({"meta": self.meta})
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
