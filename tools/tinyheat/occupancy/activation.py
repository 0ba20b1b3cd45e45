"""Background model, per-frame foreground masks and per-second activation maps.

Person-aware: pixels under a blob that walked in (a person) are not absorbed while it lives;
a blob that appears in place is (the absorption rule: ``datasets/HEATMAP.md`` section 2,
:meth:`ActivationEngine._follow`).

Background: per pixel, the running **median of the per-second median frames of the last
``2 * absorb_s`` seconds** (causal; at most 32 samples, recomputed when one is added, so long windows keep one second in every
``ceil(2 * absorb_s / 32)``). A slow room drift is followed with a lag of about ``absorb_s``; a static warm
object that appears is absorbed once it has been there for more than half the window, i.e. after
about ``absorb_s`` seconds (a person who walked in and stays still is held, see above). The
first second of a recording is its own background (start recordings with the scene empty for a
few seconds for a clean start); the window starts full of it, so the absorption time is
``absorb_s`` from the first second on.

Foreground: ``r = frame - background``; ``r - median(r)`` (removes whole-frame offsets) above
``max(k_sigma * sigma, min_delta_degC)`` where ``sigma = 1.4826 * MAD(r)`` over the frame's valid
pixels (the robust normal-consistent spread; Rousseeuw & Croux 1993), floored at
``sigma_floor_degC`` and raised to the pixel's own temporal noise (an exponential average over
seconds of ``1.4826 * median |frame[i] - frame[i-1]| / sqrt(2)``: noisy corner pixels of the
MLX90640 need more; a static warm body does not raise its own threshold). Blobs (8-connected, ``scipy.ndimage.label``) smaller than ``min_blob_px``
or larger than ``max_blob_frac`` of the frame are dropped.

Activation of a pixel in a second = occupied frames / valid frames of that pixel in that second
(0..1); coverage = the pixel had at least one valid frame in that second.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: 8-connected in-plane, never across frames (frames stacked on axis 0).
_STRUCT = np.zeros((3, 3, 3), bool)
_STRUCT[1] = True
#: most samples in the background window (longer windows are subsampled: one per ``step`` s)
MAX_SAMPLES = 32


@dataclass(frozen=True)
class Params:
    """Detection parameters (units in the names)."""

    absorb_s: float = 60.0
    k_sigma: float = 3.0
    min_delta_degC: float = 1.0
    sigma_floor_degC: float = 0.1
    min_blob_px: int = 3
    max_blob_frac: float = 0.5
    merge_px: int = 1  # blobs closer than this many pixels count as one (people counting only)
    person_px: int | None = None  # blob area of one person; None = one person per blob
    hold_travel_px: float | None = 2.0  # person-aware background: blobs that travelled this far (px x width/32) are held; None = off
    hold_max_s: float = 1800.0  # a held blob that stopped travelling is released (absorbed) after this long

    def __post_init__(self):
        if self.hold_travel_px is not None and (self.hold_travel_px <= 0 or self.hold_max_s <= 0):
            raise ValueError("hold_travel_px > 0 (or None) and hold_max_s > 0")
        if self.absorb_s < 1:
            raise ValueError(f"absorb_s must be >= 1 s, got {self.absorb_s}")
        if self.k_sigma <= 0 or self.min_delta_degC < 0 or self.min_blob_px < 1 or not 0 < self.max_blob_frac <= 1:
            raise ValueError("k_sigma > 0, min_delta_degC >= 0, min_blob_px >= 1, 0 < max_blob_frac <= 1")


@dataclass
class SecondResult:
    """One second: ``sec`` epoch s; ``act`` float32 (H, W) 0..1; ``cov`` bool (H, W); per frame:
    ``masks`` bool (n, H, W), ``blobs`` int (n,), ``people`` int (n,)."""

    sec: int
    act: np.ndarray
    cov: np.ndarray
    masks: np.ndarray
    blobs: np.ndarray
    people: np.ndarray


class ActivationEngine:
    """Causal, incremental: feed the frames of one second at a time (:meth:`second`), or use
    :func:`activation` for a whole recording. Same code for files, Dask partitions and ``--live``."""

    def __init__(self, shape: tuple[int, int], params: Params = Params()):
        self.shape = tuple(shape)
        self.params = params
        window = max(3, int(round(2 * params.absorb_s)))
        #: the window holds at most MAX_SAMPLES per-second medians, one every ``step`` seconds
        self.step = -(-window // MAX_SAMPLES)
        self._buf: collections.deque = collections.deque(maxlen=-(-window // self.step))
        self._last_push: int | None = None
        self.background: np.ndarray | None = None
        self.noise: np.ndarray | None = None  # per-pixel noise sigma (degC), EMA over seconds
        self._prev: np.ndarray | None = None
        self._blobs: list[_Blob] = []  # blob tracks of the person-aware background
        self.held = np.zeros(self.shape, bool)  # pixels the background does not absorb now

    def masks(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Foreground of ``frames`` float32 (n, H, W) against the current background ->
        (masks bool (n, H, W), blob count (n,), people estimate (n,))."""
        p = self.params
        n = len(frames)
        r = frames - self.background[None]
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(r)
            flat = r.reshape(n, -1)
            med = _median(flat, 1)
            mad = _median(np.abs(flat - med[:, None]), 1)
            sigma = np.maximum(1.4826 * np.nan_to_num(mad), p.sigma_floor_degC)[:, None, None]
            if self.noise is not None:
                sigma = np.maximum(sigma, self.noise[None])
            rc = r - np.nan_to_num(med)[:, None, None]
            fg = valid & (rc > np.maximum(p.k_sigma * sigma, p.min_delta_degC))
        lab, nlab = ndimage.label(fg, structure=_STRUCT)
        if nlab == 0:
            z = np.zeros(n, np.int64)
            return fg, z, z.copy()
        size = np.bincount(lab.ravel(), minlength=nlab + 1)
        keep = (size >= p.min_blob_px) & (size <= p.max_blob_frac * self.shape[0] * self.shape[1])
        keep[0] = False
        fg = keep[lab]
        frame_of = np.zeros(nlab + 1, np.int64)
        nz = np.flatnonzero(lab.ravel())
        frame_of[lab.ravel()[nz]] = nz // (self.shape[0] * self.shape[1])
        if p.merge_px > 0:  # count fragments of one body as one blob
            grown = ndimage.binary_dilation(fg, structure=_STRUCT, iterations=p.merge_px)
            glab, gn = ndimage.label(grown, structure=_STRUCT)
            lab = np.where(fg, glab, 0)
            nlab = gn
            size = np.bincount(lab.ravel(), minlength=nlab + 1)
            frame_of = np.zeros(nlab + 1, np.int64)
            nz = np.flatnonzero(lab.ravel())
            frame_of[lab.ravel()[nz]] = nz // (self.shape[0] * self.shape[1])
            keep = size > 0
            keep[0] = False
        kept = np.flatnonzero(keep)
        blobs = np.bincount(frame_of[kept], minlength=n)
        if p.person_px:
            per = np.maximum(1, np.round(size[kept] / p.person_px)).astype(np.int64)
            people = np.bincount(frame_of[kept], weights=per, minlength=n).astype(np.int64)
        else:
            people = blobs.copy()
        return fg, blobs, people

    def second(self, sec: int, frames: np.ndarray) -> SecondResult:
        """Process the frames (float32 (n, H, W) degC, NaN invalid, n >= 1) of epoch second ``sec``."""
        frames = np.asarray(frames, np.float32)
        this = _median(frames, 0)
        if self.background is None:  # a full window of the first second: absorption takes absorb_s from the start
            self.background = this.copy()
            self._buf.extend([this] * (self._buf.maxlen - 1))
        fg, blobs, people = self.masks(frames)
        # per-pixel temporal noise: frame-to-frame differences (a static warm body does not change
        # them, so it cannot raise its own threshold); sigma = 1.4826 * median|d| / sqrt(2)
        seq = frames if self._prev is None else np.concatenate([self._prev[None], frames])
        self._prev = frames[-1]
        if len(seq) > 1:
            dev = 1.4826 / np.sqrt(2) * _median(np.abs(np.diff(seq, axis=0)), 0)
            if self.noise is None:
                self.noise, self._noise_n = np.where(np.isfinite(dev), dev, 0.0).astype(np.float32), 1
            else:  # running mean for the first 10 seconds, then an exponential average (weight 0.1)
                self._noise_n += 1
                k = max(0.1, 1.0 / self._noise_n)
                self.noise = np.where(np.isfinite(dev), (1 - k) * self.noise + k * dev, self.noise).astype(np.float32)
        if self.params.hold_travel_px is not None:
            self._follow(sec, frames, fg)
        valid = np.isfinite(frames)
        nvalid = valid.sum(0)
        act = np.where(nvalid > 0, fg.sum(0) / np.maximum(nvalid, 1), 0.0).astype(np.float32)
        if np.isfinite(this).any() and (self._last_push is None or sec - self._last_push >= self.step):
            self._last_push = int(sec)
            if self.held.any():  # person-aware: a person who walked in and stays is not absorbed
                this = np.where(self.held, self.background, this)
            self._buf.append(this)
            stack = np.stack(self._buf)
            bg = _median(stack, 0)
            self.background = np.where(np.isfinite(bg), bg, self.background).astype(np.float32)
        return SecondResult(int(sec), act, nvalid > 0, fg, blobs, people)


    def _follow(self, sec: int, frames: np.ndarray, fg: np.ndarray) -> None:
        """Person-aware background (``datasets/HEATMAP.md``): follow the foreground blobs frame
        by frame (nearest centroid within 3 px x width/32, or overlap with the blob's last mask);
        a blob that has travelled ``hold_travel_px`` from where it appeared came in as a person
        and its pixels are held out of the background while it lives (it ends after 2 s unseen)
        and for at most ``hold_max_s`` after it last travelled; a blob that appeared in place (a
        heater switched on, a warm chair left behind) has no travel and is absorbed as usual."""
        p = self.params
        scale = self.shape[1] / 32.0
        reach = 3.0 * scale
        travel = p.hold_travel_px * scale
        n = len(frames)
        struct = np.ones((3, 3), bool)
        for i in range(n):
            t = sec + i / max(n, 1)
            lab, k = ndimage.label(fg[i], structure=struct)
            cents = ndimage.center_of_mass(fg[i], lab, range(1, k + 1)) if k else []
            free = list(range(k))
            for b in sorted(self._blobs, key=lambda b: -b.moved_at):
                if not free:
                    break
                best = min(free, key=lambda j: np.hypot(cents[j][0] - b.cy, cents[j][1] - b.cx))
                d = np.hypot(cents[best][0] - b.cy, cents[best][1] - b.cx)
                m = lab == best + 1
                if d > reach and not (m & b.mask).any():
                    continue
                free.remove(best)
                b.cy, b.cx, b.mask, b.seen = cents[best][0], cents[best][1], m, t
                if np.hypot(b.cy - b.y0, b.cx - b.x0) >= travel or b.travelled:
                    if not b.travelled or np.hypot(b.cy - b.ly, b.cx - b.lx) >= 1.0 * scale:
                        b.moved_at, b.ly, b.lx = t, b.cy, b.cx
                    b.travelled = True
            for j in free:
                c = cents[j]
                self._blobs.append(_Blob(c[0], c[1], c[0], c[1], lab == j + 1, t, t))
            self._blobs = [b for b in self._blobs if t - b.seen <= 2.0]
        held = np.zeros(self.shape, bool)
        for b in self._blobs:
            if b.travelled and sec - b.moved_at <= p.hold_max_s:
                held |= b.mask
        self.held = ndimage.binary_dilation(held, structure=struct) if held.any() else held


@dataclass
class _Blob:
    """A followed foreground blob: centroid (row ``cy``, column ``cx``), where it appeared
    (``y0``, ``x0``), last mask, last seen s, when it last moved (s) and from where (``ly``, ``lx``)."""

    cy: float
    cx: float
    y0: float
    x0: float
    mask: np.ndarray
    seen: float
    moved_at: float
    travelled: bool = False
    ly: float = 0.0
    lx: float = 0.0


def _median(a: np.ndarray, axis: int) -> np.ndarray:
    """Median ignoring NaN (all-NaN -> NaN); the fast np.median when there is no NaN."""
    if not np.isnan(a).any():
        return np.median(a, axis=axis)
    with np.errstate(invalid="ignore"), _quiet_nan():
        return np.nanmedian(a, axis=axis)


class _quiet_nan:
    """Silence numpy's all-NaN-slice warnings (an all-invalid pixel stays NaN, which is wanted)."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


@dataclass
class Activation:
    """A recording's activation. ``sec`` int64 (S,) epoch s (only seconds with frames);
    ``act`` float32 (S, H, W) occupied fraction; ``cov`` bool (S, H, W); per frame (N,):
    ``epoch_ms`` int64, ``blobs``/``people`` int64, ``occupied_px`` int64; ``mean_sum`` float64
    (H, W) sum of valid degC and ``mean_n`` int64 (H, W) count (mean thermal image = sum / n)."""

    sec: np.ndarray
    act: np.ndarray
    cov: np.ndarray
    epoch_ms: np.ndarray
    blobs: np.ndarray
    people: np.ndarray
    occupied_px: np.ndarray
    mean_sum: np.ndarray
    mean_n: np.ndarray
    masks: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.act.shape[1]), int(self.act.shape[2])


def activation(frames: np.ndarray, epoch_ms: np.ndarray, params: Params = Params(), *,
               keep_masks: bool = False) -> Activation:
    """Run :class:`ActivationEngine` over a recording: ``frames`` float32 (N, H, W) degC,
    ``epoch_ms`` int64 (N,) non-decreasing. Returns :class:`Activation` (masks only if asked)."""
    frames = np.asarray(frames, np.float32)
    epoch_ms = np.asarray(epoch_ms, np.int64)
    if frames.ndim != 3 or len(frames) != len(epoch_ms) or len(frames) == 0:
        raise ValueError(f"frames (N, H, W) and epoch_ms (N,) with N >= 1 expected, got {frames.shape}, {epoch_ms.shape}")
    eng = ActivationEngine(frames.shape[1:], params)
    secs = epoch_ms // 1000
    cuts = np.flatnonzero(np.diff(secs)) + 1
    bounds = np.concatenate([[0], cuts, [len(frames)]])
    out_sec, out_act, out_cov, blobs, people, occ, masks = [], [], [], [], [], [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        res = eng.second(int(secs[a]), frames[a:b])
        out_sec.append(res.sec)
        out_act.append(res.act)
        out_cov.append(res.cov)
        blobs.append(res.blobs)
        people.append(res.people)
        occ.append(res.masks.reshape(len(res.masks), -1).sum(1))
        if keep_masks:
            masks.append(res.masks)
    valid = np.isfinite(frames)
    return Activation(np.asarray(out_sec, np.int64), np.stack(out_act), np.stack(out_cov), epoch_ms,
                      np.concatenate(blobs), np.concatenate(people), np.concatenate(occ),
                      np.where(valid, frames, 0).sum(0, dtype=np.float64), valid.sum(0).astype(np.int64),
                      np.concatenate(masks) if keep_masks else None)
