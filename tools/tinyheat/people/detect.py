"""People in one thermal frame: one detection per body (warm region against a background),
split only where a region really holds several people; the head is the body's warmest cap.

Designed for two scales: the MLX90640's 32x24 (a body seen from a ceiling is 10-60 pixels, a
head 3-8 pixels wide and mixed with the shoulders) and full-resolution radiometric footage
(640x480: a face is tens of pixels). All sizes scale with ``scale = frame width / 32``.

Per frame (temperatures in degC):

1. Relative image ``d = T - median(T)``: people cover a small part of the view, so a warm or
   cold room, and room or camera drift, move with the median (a warm room at 28 degC with a
   1-3 K body is the same problem as a cold one). Session mode (:func:`background_image`, used
   by :func:`tinyheat.people.analyze.find_people` for >= 20 frames): the session's empty-room
   image of ``d`` (low percentile over time) is subtracted too, so warm floor patches, static
   objects and hot pixels cancel. Pixels warm in ``static_frac`` of all frames
   (:func:`static_mask`) are masked out as static heat sources (a radiator, a laptop).
2. Smoothed image ``s`` (Gaussian, ``smooth_px`` x scale; averages the sensor noise down so a
   1-2 K body stands out of 0.3-0.4 K pixel noise). Warm regions: hysteresis threshold
   (scikit-image ``apply_hysteresis_threshold``): ``s > low`` connected to a core ``s > low +
   core_k``; ``low = delta_k`` or ``max(min_delta_k, noise_mult x 1.4826 x MAD(s))`` (the
   smoothed frame's own robust noise). Regions smaller than ``min_body_px`` x scale^2 are noise.
3. Split a region into several people only when it holds several: local maxima of ``s``
   (``peak_local_max``) at least ``min_sep_px`` x scale apart (two heads side by side) seed a
   watershed; two basins are merged back unless BOTH are at least ``min_body_px`` x scale^2
   (the area of two bodies) AND the valley (saddle) between them is at least ``saddle_k``
   below the lower peak (``max(saddle_k, saddle_rel x`` the lower peak's height above ``low``).
   A lying body (head, torso, legs) is warm along its length with no deep valley and stays one.
4. Per body: centre ``x, y`` = centroid of ``s - low`` over the body (warmth-weighted, stable
   while the body moves its arms or head); temperatures of the body's pixels T: ``t_max``,
   ``t_mean`` and ``t_p95`` = the mean of its ``top_px`` x scale^2 warmest pixels (the skin
   temperature the series follows: a stable statistic of the whole tracked body that does not
   jump between head and shoulders as a "head" region does, and averages the noise of single
   pixels; named p95 for the column it fills); the head is the body's warmest cap
   (pixels within ``head_k`` of the body's peak, connected to it), reported as ``head_x``,
   ``head_y`` and the ellipse ``major``, ``minor``, ``orientation`` (scikit-image moments
   convention).

Known limits: a person who stays in the same place for (nearly) the whole session becomes part
of the session background / static mask and is missed (use a session that includes the empty
room); two people hugging (no valley between them) are one body.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass
class Detection:
    """One person: body centre (x = column, y = row, pixels, sub-pixel, pixel centres at .5),
    body ``area`` px; head (the body's warmest cap) centre ``head_x``, ``head_y`` and ellipse
    ``major``/``minor`` axis lengths px, ``orientation`` rad (scikit-image convention);
    temperatures degC of the body's pixels: ``t_max``, ``t_p95`` (mean of the warmest
    ``top_px`` x scale^2), ``t_mean``; ``mask`` bool (H, W)
    of the body."""

    x: float
    y: float
    area: int
    major: float
    minor: float
    orientation: float
    t_max: float
    t_p95: float
    t_mean: float
    mask: np.ndarray | None = None
    head_x: float = float("nan")
    head_y: float = float("nan")


@dataclass
class DetectorConfig:
    delta_k: float | None = None    #: warm threshold of the smoothed image above background, K (None: from noise)
    min_delta_k: float = 0.4        #: automatic threshold at least this, K
    noise_mult: float = 3.5         #: automatic threshold = noise_mult x robust sigma of the smoothed frame
    core_k: float = 0.3             #: a body needs a core this much above the threshold, K ...
    core_sigma: float = 2.0         #: ... and this many robust sigmas of the smoothed frame
    smooth_px: float = 0.8          #: Gaussian sigma, pixels x scale
    max_degC: float = 45.0          #: warmer pixels are not skin or clothing (a kettle, a lamp)
    head_k: float | None = None     #: head = body pixels within head_k of the body's peak (None: 30 % of its height, >= 0.5 K)
    min_sep_px: float = 4.0         #: two people's peaks are at least this far apart, pixels x scale
    min_body_px: float = 6.0        #: smallest body, pixels x scale^2 (also each part of a split)
    saddle_k: float = 0.8           #: a split needs a valley this deep below the lower peak, K
    merge_px: float = 1.0           #: warm fragments this close (pixels x scale) are one region
    saddle_rel: float = 0.3         #: ... and this fraction of the lower peak's height above the threshold
    static_frac: float = 0.8        #: warm in this fraction of frames = static source
    top_px: float = 3.0             #: body temperature = mean of its top_px x scale^2 warmest pixels
    max_area_frac: float = 0.5      #: a region larger than this fraction of the frame is not a person


def static_mask(frames: np.ndarray, cfg: DetectorConfig = DetectorConfig()) -> np.ndarray:
    """(H, W) bool: static heat sources (a radiator, a laptop), not people: pixels warmer than
    their frame's median + 2 K in at least ``cfg.static_frac`` of the session's frames (sampled
    to <= 400 frames), dilated by one pixel. A person who never moves for the whole session is
    masked too (a documented limitation)."""
    f = np.asarray(frames, np.float32)
    if len(f) < 10:
        return np.zeros(f.shape[1:], bool)
    sub = f[:: max(1, len(f) // 400)]
    med = np.nanmedian(sub.reshape(len(sub), -1), axis=1)[:, None, None]
    frac = np.mean(sub > med + 2.0, axis=0)
    m = frac >= cfg.static_frac
    return ndi.binary_dilation(m, iterations=1) if m.any() else m


def background_image(frames: np.ndarray, q: float = 20.0) -> np.ndarray:
    """(2, H, W) float32: [0] background relative to each frame's median, the ``q``-th percentile
    over time of ``frame - median(frame)`` (sampled to <= 400 frames): people are warm and move,
    so a pixel's low percentile is its empty-room value as long as it is empty for at least q % of
    the session; static warm objects and hot pixels are part of it and cancel. [1] per-pixel
    temporal noise, K: 1.4826 x MAD of frame-to-frame differences / sqrt(2) (the MLX90640's
    corners are about 1.6 x noisier than its centre)."""
    f = np.asarray(frames, np.float32)
    sub = f[:: max(1, len(f) // 400)]
    rel = sub - np.nanmedian(sub.reshape(len(sub), -1), axis=1)[:, None, None]
    # vectorised np.percentile (nanpercentile loops per pixel): invalid = +inf, so a pixel that
    # is invalid in more than (100 - q) % of frames gets no background (inf -> NaN -> 0 below)
    bg = np.percentile(np.where(np.isfinite(rel), rel, np.inf), q, axis=0)
    bg = np.where(np.isfinite(bg), bg, np.nan)
    dd = np.diff(f[: min(len(f), 800)], axis=0)
    if len(dd) >= 2:
        dd = dd - np.nanmedian(dd.reshape(len(dd), -1), axis=1)[:, None, None]
        ad = np.abs(dd)
        noise = 1.4826 * np.median(np.where(np.isfinite(ad), ad, np.inf), axis=0) / np.sqrt(2)
        noise = np.where(np.isfinite(noise), noise, np.nan)
    else:
        noise = np.zeros_like(bg)
    return np.stack([bg, noise]).astype(np.float32)


def _robust_sigma(x: np.ndarray) -> float:
    """1.4826 x median absolute deviation (normal-consistent; Rousseeuw & Croux 1993)."""
    m = np.median(x)
    return 1.4826 * float(np.median(np.abs(x - m)))


def detect(frame: np.ndarray, cfg: DetectorConfig = DetectorConfig(), static: np.ndarray | None = None,
           keep_masks: bool = True, background: np.ndarray | None = None) -> list[Detection]:
    """People in one frame (H, W) degC (NaN = invalid) as described in the module docstring.
    ``static``: optional (H, W) bool mask of static heat sources (:func:`static_mask`);
    ``background``: optional (2, H, W) from :func:`background_image` (session mode). Returns
    detections, warmest first."""
    from skimage.feature import peak_local_max
    from skimage.filters import apply_hysteresis_threshold

    f = np.asarray(frame, np.float32)
    h, w = f.shape
    scale = w / 32.0
    finite = np.isfinite(f)
    if not finite.any():
        return []
    med = float(np.median(f[finite]))
    ff = np.where(finite, f, med)
    d = ff - med
    if background is not None:
        d = d - np.where(np.isfinite(background[0]), background[0], 0)
        d = d - float(np.median(d[finite]))
    sig_px = max(0.5, cfg.smooth_px * scale)
    sm = ndi.gaussian_filter(d, sig_px)
    sigma = _robust_sigma(sm[finite])
    low = cfg.delta_k if cfg.delta_k is not None else max(cfg.min_delta_k, cfg.noise_mult * sigma)
    core = max(cfg.core_k, cfg.core_sigma * sigma)
    allowed = finite & (ff <= cfg.max_degC)
    if static is not None:
        allowed &= ~static
    # z = height above the local threshold: a pixel's own temporal noise, averaged down by the
    # smoothing (white noise: x 1 / (2 sqrt(pi) sigma_px)), raises it (noisy MLX90640 corners)
    thr = low
    if background is not None and cfg.delta_k is None:
        noise = ndi.gaussian_filter(np.nan_to_num(background[1]), sig_px)
        thr = np.maximum(low, cfg.noise_mult * noise / (2 * np.sqrt(np.pi) * sig_px))
    z = np.where(allowed, sm - thr, -np.inf)
    if not (z > core).any():
        return []
    warm = apply_hysteresis_threshold(z, 0.0, core)
    # fragments of one body closer than merge_px (a cooler belt, an arm) are one region
    mp = max(1, int(round(cfg.merge_px * scale)))
    grown = ndi.binary_dilation(warm, iterations=mp) if cfg.merge_px > 0 else warm
    lab, n = ndi.label(grown, structure=np.ones((3, 3), bool))
    lab = np.where(warm, lab, 0)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    min_body = max(2.0, cfg.min_body_px * scale * scale)
    ok = (sizes >= min_body) & (sizes <= cfg.max_area_frac * h * w)
    ok[0] = False
    if not ok[1:].any():
        return []
    md = max(1, int(round(cfg.min_sep_px * scale)))
    glab = np.where(ok[lab], lab, 0)
    peaks = peak_local_max(np.where(glab > 0, z, 0), min_distance=md, labels=glab, threshold_abs=core,
                           exclude_border=False)
    per = np.bincount(glab[peaks[:, 0], peaks[:, 1]], minlength=n + 1) if len(peaks) else np.zeros(n + 1, int)
    regions = []
    for k in np.flatnonzero(ok):
        region = glab == k
        if per[k] >= 2 and sizes[k] >= 2 * min_body:
            pk = peaks[glab[peaks[:, 0], peaks[:, 1]] == k]
            regions.extend(_split(region, sm, pk, low, min_body, cfg))
        else:
            regions.append(region)
    fine = ndi.gaussian_filter(d, 0.5) if scale > 1.5 else sm  # the head at full resolution: little blur
    out = []
    for body in regions:
        out.append(_measure(body, sm, fine, ff, low, cfg, keep_masks))
    out.sort(key=lambda d: -d.t_max)
    return out


def _split(region: np.ndarray, sm: np.ndarray, peaks: np.ndarray, low: float, min_body: float,
           cfg: DetectorConfig) -> list[np.ndarray]:
    """Watershed of one warm region from its peaks, then merge neighbouring basins back unless
    both are body-sized and separated by a deep enough valley (module docstring, step 3)."""
    from skimage.segmentation import watershed

    markers = np.zeros(region.shape, np.int32)
    for j, (r, c) in enumerate(peaks, start=1):
        markers[r, c] = j
    basins = watershed(-sm, markers, mask=ndi.binary_dilation(region, iterations=2)) * region
    parts = {j: basins == j for j in range(1, len(peaks) + 1)}
    top = {j: float(sm[r, c]) for j, (r, c) in enumerate(peaks, start=1)}
    struct = np.ones((3, 3), bool)
    reach = max(1, int(round(cfg.merge_px * region.shape[1] / 32.0))) + 1
    merged = True
    while merged and len(parts) > 1:
        merged = False
        keys = sorted(parts, key=lambda j: top[j])  # try the weakest part first
        for a in keys:
            grown = ndi.binary_dilation(parts[a], struct)
            best, best_saddle = None, -np.inf
            for b in parts:
                if b == a:
                    continue
                touch = grown & parts[b]
                if not touch.any():  # fragments across a gap: the gap is the valley
                    if (ndi.binary_dilation(parts[a], struct, iterations=reach) & parts[b]).any():
                        saddle = low
                    else:
                        continue
                else:  # pass height (upper bound): warmest boundary pixel on each side, the cooler of the two
                    edge_b = float(sm[touch].max())
                    edge_a = float(sm[ndi.binary_dilation(parts[b], struct) & parts[a]].max())
                    saddle = min(edge_a, edge_b)
                if saddle > best_saddle:
                    best, best_saddle = b, saddle
            if best is None:
                continue
            lower = min(top[a], top[best])
            deep = lower - best_saddle >= max(cfg.saddle_k, cfg.saddle_rel * (lower - low))
            big = parts[a].sum() >= min_body and parts[best].sum() >= min_body
            if not (deep and big):
                keep, drop = (best, a) if top[best] >= top[a] else (a, best)
                parts[keep] = parts[keep] | parts.pop(drop)
                merged = True
                break
    return list(parts.values())


def _top_mean(vals: np.ndarray, k: float) -> float:
    """Mean of the ``k`` warmest values (at least 1, at most all), degC."""
    k = int(min(len(vals), max(1, round(k))))
    return float(np.partition(vals, len(vals) - k)[len(vals) - k:].mean())


def _measure(body: np.ndarray, sm: np.ndarray, fine: np.ndarray, ff: np.ndarray, low: float, cfg: DetectorConfig,
             keep_mask: bool) -> Detection:
    rr, cc = np.nonzero(body)
    wgt = np.maximum(sm[rr, cc] - low, 1e-3)
    x = float((cc * wgt).sum() / wgt.sum()) + 0.5
    y = float((rr * wgt).sum() / wgt.sum()) + 0.5
    vals = ff[rr, cc]
    j = int(np.argmax(fine[rr, cc]))
    peak = float(fine[rr[j], cc[j]])
    hk = cfg.head_k if cfg.head_k is not None else max(0.5, 0.3 * (peak - low))
    cap = np.zeros_like(body)
    sel = fine[rr, cc] >= peak - hk
    cap[rr[sel], cc[sel]] = True
    cl, _ = ndi.label(cap, structure=np.ones((3, 3), bool))
    cap = cl == cl[rr[j], cc[j]]
    hr, hc = np.nonzero(cap)
    hy, hx = hr.mean(), hc.mean()
    if len(hr) > 1:  # ellipse from the second central moments (as skimage regionprops)
        cov = np.cov(np.vstack([hr, hc]), bias=True)
        ev, evec = np.linalg.eigh(cov)
        major, minor = 4 * np.sqrt(max(ev[1], 0)), 4 * np.sqrt(max(ev[0], 0))
        # skimage convention: angle between the row axis and the major axis, -pi/2..pi/2
        orientation = float(0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1]))
        major = max(major, 1.0)
        minor = max(minor, 1.0)
    else:
        major = minor = 1.0
        orientation = 0.0
    return Detection(x=x, y=y, area=int(len(rr)), major=float(major), minor=float(minor), orientation=orientation,
                     t_max=float(vals.max()), t_p95=_top_mean(vals, cfg.top_px * (body.shape[1] / 32.0) ** 2), t_mean=float(vals.mean()),
                     mask=body if keep_mask else None, head_x=float(hx) + 0.5, head_y=float(hy) + 0.5)
