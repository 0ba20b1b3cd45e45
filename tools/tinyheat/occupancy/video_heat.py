"""Video (or a thermal recording) -> one activation map per second -> per-second PNGs or the heat-map
store. Streamed: one second of frames at a time; the store path spools finished seconds to a
temporary folder in chunks of ``CHUNK_S`` and writes the store only after the whole input was read,
so a truncated or corrupt video leaves the store untouched. Spec: ``datasets/HEATMAP.md`` section 8.

Seconds of a video are ``[k, k + 1)`` s after its first frame, stored as epoch second
``floor(start) + k`` (a fractional start moves them by under a second); a second of video with no
frame (a gap in the time stamps) is an error, so there is exactly one activation map per second.
"""
from __future__ import annotations

import csv
import itertools
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import ops
from .activation import Activation
from .floorplan import GRID_PX, Mapper
from .video import VideoError, VideoReader
from .store import iso

#: seconds per stored session chunk (memory of the store path: CHUNK_S activation maps)
CHUNK_S = 600


class Source:
    """What the driver reads: ``frames()`` yields ``(t_ms, frame)`` with ``t_ms`` since the first frame;
    ``start_s`` epoch s (float) of the first frame; ``size`` (W, H); ``kind`` "video" or "thermal";
    ``by_epoch``: group seconds by epoch second (thermal, as :func:`activation.activation`) instead
    of by seconds since the first frame (video)."""

    def __init__(self, frames, start_s: float, size, kind: str, label: str, by_epoch: bool = False):
        self._frames, self.start_s, self.size, self.kind, self.label, self.by_epoch = frames, start_s, size, kind, label, by_epoch

    def frames(self):
        return self._frames()


def video_source(path, start: datetime | None = None) -> Source:
    r = VideoReader(path, start)
    return Source(r.__iter__, r.info.start.timestamp(), r.info.size, "video", str(path))


def recording_source(rec, label: str) -> Source:
    """A :class:`tinyheat.occupancy.recording.Recording` (degC frames) as a source."""
    t0 = int(rec.epoch_ms[0])

    def gen():
        for t, f in zip(rec.epoch_ms, rec.frames):
            yield int(t) - t0, f
    return Source(gen, t0 / 1000.0, (rec.shape[1], rec.shape[0]), "thermal", label, by_epoch=True)


def make_op(name: str | None, src: Source, mapper: Mapper, params: ops.VideoParams = ops.VideoParams(),
            thermal_params=None) -> ops.Operation:
    """The operation ``name`` (default: motion for video, thermal for recordings), checked against the input."""
    name = name or ("motion" if src.kind == "video" else "thermal")
    cls = ops.get(name)
    if cls.input != src.kind:
        raise VideoError(f"--op {name} needs {'video' if cls.input == 'video' else 'a radiometric (degC) recording'}; "
                         f"{src.label} is {'video' if src.kind == 'video' else 'a thermal recording'}")
    return cls(mapper, params, thermal_shape=(src.size[1], src.size[0]), thermal_params=thermal_params)


def make_mapper(src: Source, grid_px: int = GRID_PX, plan=None, H=None) -> Mapper:
    """Thermal recordings keep their own pixels as the grid unless a plan is given."""
    return Mapper(src.size, grid_px, plan=plan, H=H, native=(src.kind == "thermal" and plan is None))


def seconds(src: Source, op: ops.Operation) -> Iterator[ops.Second]:
    """One :class:`ops.Second` per second of ``src`` (module docstring), in order."""
    base = math.floor(src.start_s)
    t0_ms = int(round(src.start_s * 1000))
    prev = None

    def key(item):
        return (t0_ms + item[0]) // 1000 if src.by_epoch else item[0] // 1000

    for k, group in itertools.groupby(src.frames(), key=key):
        if prev is not None and not src.by_epoch and k > prev + 1:
            raise VideoError(f"{src.label}: no frame from {prev + 1} s to {k} s (a gap in the time stamps): "
                             "cannot give one activation map per second")
        prev = k
        yield op.second(int(k) if src.by_epoch else base + int(k), group)


def coverage(mapper: Mapper) -> np.ndarray:
    """bool (H, W): grid cells the camera sees (all without a plan; with one, the warped image > 1/2)."""
    if not mapper.has_plan:
        return np.ones(mapper.shape, bool)
    return mapper.warp(np.ones((64, 64), np.float32)) > 0.5


def _chunk_activation(secs: list[ops.Second], cov: np.ndarray, start_ms: int) -> Activation:
    sec = np.asarray([s.sec for s in secs], np.int64)
    act = np.stack([s.act for s in secs]).astype(np.float32)
    covs = np.stack([cov & (s.n_evaluated > 0) for s in secs])
    epoch_ms = np.concatenate([start_ms + s.t_ms for s in secs]).astype(np.int64)
    counts = np.concatenate([s.counts for s in secs]).astype(np.int64)
    occ = np.concatenate([np.full(s.n_frames, int(round(float(s.act.sum()))), np.int64) for s in secs])
    h, w = act.shape[1:]
    msum = np.zeros((h, w))
    mn = np.zeros((h, w), np.int64)
    for s in secs:
        _fold_mean(s, msum, mn)
    return Activation(sec, act, covs, epoch_ms, counts, counts.copy(), occ, msum, mn)


def _fold_mean(s: ops.Second, msum: np.ndarray, mn: np.ndarray) -> None:
    """Add the second's mean image (weighted by its frames) to the sums and drop it from ``s``."""
    if s.mean_grey is not None:
        ok = np.isfinite(s.mean_grey)
        msum += np.where(ok, s.mean_grey, 0) * s.n_frames
        mn += ok * s.n_frames
        s.mean_grey = None


def add_to_store(src: Source, op: ops.Operation, store, sensor: str, *, chunk_s: int = CHUNK_S,
                 on_second=None) -> list[dict]:
    """Run ``op`` over ``src`` and add the result to ``store`` (a :class:`HeatStore`) as one session per
    ``chunk_s`` seconds, registered together at the end. Returns the manifest entries. Raises
    VideoError (store untouched) for bad input, StoreError for a refused session."""
    entries = write_sessions(src, op, store.root, sensor, check=store.check, chunk_s=chunk_s, on_second=on_second)
    store.register(entries)
    return entries


def write_sessions(src: Source, op: ops.Operation, store_root, sensor: str, *, check=None, chunk_s: int = CHUNK_S,
                   on_second=None) -> list[dict]:
    """The lock-free half of :func:`add_to_store` (what a Dask worker runs): read the whole input, call
    ``check(entry)`` (e.g. :meth:`HeatStore.check`) on every chunk's entry, then write the sessions' new
    files under ``store_root`` (:func:`store.write_session`) and return their manifest entries for
    :meth:`HeatStore.register`. Bad input raises VideoError before any file is written."""
    from .store import session_id, write_session

    cov = coverage(op.mapper)
    start_ms = int(round(src.start_s * 1000))
    with tempfile.TemporaryDirectory(prefix="tinyheat-video-") as tmp:
        spooled, buf = [], []

        def spill():
            a = _chunk_activation(buf, cov, start_ms)
            a.mean_sum, a.mean_n = msum.copy(), mn.copy()
            msum[:], mn[:] = 0, 0
            p = Path(tmp) / f"chunk{len(spooled):05d}.npz"
            np.savez(p, **{k: getattr(a, k) for k in ("sec", "act", "cov", "epoch_ms", "blobs", "people",
                                                      "occupied_px", "mean_sum", "mean_n")})
            spooled.append(p)
            buf.clear()

        msum, mn = np.zeros(op.mapper.shape), np.zeros(op.mapper.shape, np.int64)
        for s in seconds(src, op):
            if on_second:
                on_second(s)
            _fold_mean(s, msum, mn)  # keep one sum, not a mean image per second
            buf.append(s)
            if len(buf) >= chunk_s:
                spill()
        if buf:
            spill()
        if not spooled:
            raise VideoError(f"{src.label}: no frames")
        n = len(spooled)
        acts = []
        for i, p in enumerate(spooled):  # check every chunk before writing any
            with np.load(p) as z:
                a = Activation(**{k: z[k] for k in z.files})
            label = src.label if n == 1 else f"{src.label} [part {i + 1}/{n}]"
            if check is not None:
                check({"sensor": sensor, "id": session_id(sensor, a), "shape": list(a.shape),
                       "first_s": int(a.sec[0]), "last_s": int(a.sec[-1]), "source": label})
            acts.append((p, label))
        entries = []
        for p, label in acts:
            with np.load(p) as z:
                a = Activation(**{k: z[k] for k in z.files})
            entries.append(write_session(store_root, sensor, a, label))
    return entries


def write_second_png(out: Path, s: ops.Second) -> Path:
    """``out/YYYYmmddTHHMMSSZ.png``: 8-bit grey, value = round(255 * activation)."""
    import cv2

    p = out / (datetime.fromtimestamp(s.sec, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".png")
    cv2.imwrite(str(p), np.round(np.clip(s.act, 0, 1) * 255).astype(np.uint8))
    return p


def overlay_png(path, dwell: np.ndarray, background: np.ndarray, *, scale: str = "sqrt") -> None:
    """Heat map ``dwell`` (H, W) s drawn over ``background`` uint8 (h, w[, 3]) at the background's size:
    inferno colours, opacity rising with the value (like :func:`pictures.heatmap_png`), max in the corner."""
    import cv2

    bg = background if background.ndim == 3 else cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
    h, w = bg.shape[:2]
    top = float(dwell.max())
    v = cv2.resize(dwell.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC).clip(0, None)
    n = (v / top if top > 0 else v) if scale == "linear" else (np.sqrt(v / top) if top > 0 else v)
    n = n.clip(0, 1)
    col = cv2.applyColorMap((n * 255).astype(np.uint8), cv2.COLORMAP_INFERNO).astype(np.float32)
    alpha = np.clip(n * 3, 0, 0.8)[..., None] if top > 0 else np.zeros((h, w, 1), np.float32)
    img = (bg.astype(np.float32) * (1 - alpha) + col * alpha).astype(np.uint8)
    cv2.putText(img, f"max {top:.0f} s ({scale} scale)", (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)
    if not cv2.imwrite(str(path), img):
        raise VideoError(f"{path}: could not write the PNG")


def write_activation_dir(src: Source, op: ops.Operation, out: Path, *, heatmap_bg: np.ndarray | None = None,
                         on_second=None) -> dict:
    """Per-second PNGs, ``seconds.csv`` (and ``people.csv`` with foot points for the people op) and
    ``heatmap.png`` (dwell over ``heatmap_bg``, default the first frame or the plan) into ``out``,
    written to a sibling temporary folder first and renamed at the end (an error leaves no ``out``)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    first_frame = [None]
    try:
        dwell = np.zeros(op.mapper.shape, np.float64)
        n = frames = 0
        with open(tmp / "seconds.csv", "w", newline="") as fs, open(tmp / "people.csv", "w", newline="") as fp:
            ws, wp = csv.writer(fs), csv.writer(fp)
            ws.writerow(["second", "epoch_s", "time_utc", "png", "frames", "evaluated", "max_count", "mean_activation"])
            wp.writerow(["epoch_ms", "time_utc", "x_image_px", "y_image_px", "x_grid", "y_grid", "score"])

            def frames_keep_first(gen):
                for item in gen:
                    if first_frame[0] is None:
                        first_frame[0] = item[1]
                    yield item
            src2 = Source(lambda: frames_keep_first(src.frames()), src.start_s, src.size, src.kind, src.label,
                          src.by_epoch)
            base_ms = int(round(src.start_s * 1000))
            for s in seconds(src2, op):
                png = write_second_png(tmp, s)
                ws.writerow([n, s.sec, iso(s.sec), png.name, s.n_frames, s.n_evaluated,
                             int(s.counts.max()) if len(s.counts) else 0, f"{float(s.act.mean()):.6f}"])
                for t, xi, yi, xg, yg, sc in s.points:
                    ms = base_ms + t
                    wp.writerow([ms, iso(ms // 1000), f"{xi:.1f}", f"{yi:.1f}", f"{xg:.2f}", f"{yg:.2f}", f"{sc:.3f}"])
                dwell += s.act
                n += 1
                frames += s.n_frames
                if on_second:
                    on_second(s)
        if op.name != "people":
            (tmp / "people.csv").unlink()
        if heatmap_bg is None:
            heatmap_bg = op.mapper.plan_image if op.mapper.has_plan else _as_image(first_frame[0])
        overlay_png(tmp / "heatmap.png", dwell, heatmap_bg)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"seconds": n, "frames": frames, "dwell": dwell}


def _as_image(frame):
    """A frame as uint8 for a background: video as is; degC scaled to 0..255 over its range."""
    f = np.asarray(frame)
    if f.dtype == np.uint8:
        return f
    lo, hi = np.nanpercentile(f, [1, 99]) if np.isfinite(f).any() else (0, 1)
    return np.nan_to_num((f - lo) / max(hi - lo, 1e-6) * 255).clip(0, 255).astype(np.uint8)
