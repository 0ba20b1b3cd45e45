"""Heads / faces in one thermal frame: warm-band segmentation, watershed split, ellipse fit.

Designed for two scales: the MLX90640's 32x24 (a head is 3-8 pixels wide and mixes with the
background and the shoulders) and full-resolution radiometric footage (640x480: a face is tens of
pixels). All sizes scale with ``scale = frame width / 32``.

Per frame (temperatures in degC):

1. Relative image ``d = T - median(T)`` (people cover a small part of the view, so room and
   camera drift move with the median). Session mode (:func:`background_image`, used by
   :func:`tinyheat.people.analyze.find_people` for >= 20 frames): the session's low-percentile
   image of ``d`` (the empty room) is subtracted too, so warm floor patches, static objects and
   hot pixels cancel, and a per-pixel temporal noise map raises the threshold where the sensor
   is noisy (corners). Pixels warm in ``static_frac`` of all frames (:func:`static_mask`) are
   masked out as static heat sources (a radiator, a laptop).
2. Warm pixels: smoothed ``d > delta`` and ``d > noise_mult x`` the pixel's noise, ``T <=
   max_degC`` (hotter things, e.g. a kettle, are not skin); ``delta`` = ``delta_k`` or
   ``max(1.0, noise_mult x 1.4826 x MAD(d))``. Warm components smaller than
   ``min_component_px`` x scale^2 are noise.
3. Connected components (scikit-image ``label``, 8-connectivity). A body seen from above or the
   side is part of the same blob as its head, and two people can touch: each component is split
   by a watershed on the smoothed image from its local maxima (``peak_local_max``,
   ``min_distance_px`` x scale apart, at least ``peak_k`` above the threshold and at least
   ``peak_rel`` of the component's maximum, so a body or shoulders next to a head are no second
   head); the head is the part of each basin within ``head_k`` of its peak (the warmest cap;
   automatic: 55 % of the peak's height above the threshold, at least 0.5 K).
4. Each head region gets an ellipse fit (``regionprops``: centroid, major/minor axis, orientation)
   and the max, 95th percentile and mean of its temperatures T. Regions smaller than
   ``min_area_px`` x scale^2 or larger than ``max_area_px`` x scale^2 are dropped.

Known limits: a person who stays in the same place for (nearly) the whole session becomes part
of the session background / static mask and is missed (use a session that includes the empty
room); at 32x24 the head of a person seen from above merges with the shoulders, so its p95 is
lower than skin temperature (pixel mixing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass
class Detection:
    """One head: centre (x = column, y = row, pixels, sub-pixel), ``area`` px, ellipse ``major``/
    ``minor`` axis lengths px and ``orientation`` rad (scikit-image convention), temperatures
    degC of the region: ``t_max``, ``t_p95``, ``t_mean``; ``mask`` bool (H, W) of the region."""

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


@dataclass
class DetectorConfig:
    delta_k: float | None = None    #: warm threshold above the frame median, K (None: from noise)
    max_degC: float = 42.0          #: warmer pixels are not skin
    head_k: float | None = None     #: head = basin pixels within head_k of the basin peak (None: auto)
    peak_k: float = 0.5             #: a peak must rise this much above the warm threshold, K
    peak_rel: float = 0.6           #: and reach this fraction of its component's max above bg
    min_distance_px: float = 3.0    #: min distance between two heads' peaks, pixels x scale
    min_component_px: float = 3.0   #: warm components smaller than this (x scale^2) are noise
    noise_mult: float = 3.0         #: automatic threshold = noise_mult x robust sigma of the frame
    static_frac: float = 0.8        #: warm in this fraction of frames = static source
    min_area_px: float = 1.0        #: x scale^2
    max_area_px: float = 80.0       #: x scale^2


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


def detect(frame: np.ndarray, cfg: DetectorConfig = DetectorConfig(), static: np.ndarray | None = None,
           keep_masks: bool = True, background: np.ndarray | None = None) -> list[Detection]:
    """Heads in one frame (H, W) degC (NaN = invalid). ``static``: optional (H, W) bool mask of
    static heat sources (:func:`static_mask`); ``background``: optional (H, W) relative background
    (:func:`background_image`), subtracted before thresholding (session mode). Returns
    detections, warmest first."""
    from skimage.feature import peak_local_max
    from skimage.measure import label, regionprops
    from skimage.segmentation import watershed

    f = np.asarray(frame, np.float32)
    h, w = f.shape
    scale = w / 32.0
    finite = np.isfinite(f)
    if not finite.any():
        return []
    med = float(np.median(f[finite]))
    ff = np.where(finite, f, med)
    d = ff - med
    px_noise = None
    if background is not None:
        d = d - np.where(np.isfinite(background[0]), background[0], 0)
        d = d - float(np.median(d))
        px_noise = np.where(np.isfinite(background[1]), background[1], 0)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    delta = cfg.delta_k if cfg.delta_k is not None else max(1.0, cfg.noise_mult * sigma)
    bg = 0.0
    sm = ndi.gaussian_filter(d, 0.5 * scale) if scale > 1.5 else ndi.gaussian_filter(d, 0.5)
    warm = (sm > bg + delta) & (ff <= cfg.max_degC) & finite
    if px_noise is not None:  # and well above each pixel's own noise (noisy corners, bad pixels)
        warm &= d > cfg.noise_mult * px_noise
    if cfg.min_component_px > 1:  # single-pixel spikes are noise, a head is 3-8 px wide at 32x24
        lab0 = label(warm, connectivity=2)
        sizes = np.bincount(lab0.ravel())
        warm &= sizes[lab0] >= cfg.min_component_px * scale * scale
    if static is not None:
        warm &= ~static
    if not warm.any():
        return []
    lab = label(warm, connectivity=2)
    md = max(1, int(round(cfg.min_distance_px * scale)))
    peaks = peak_local_max(sm, min_distance=md, labels=lab, threshold_abs=bg + delta + cfg.peak_k,
                           exclude_border=False)
    if len(peaks) == 0:
        return []
    # a peak well below its component's warmest point is clothing / a body, not a second head
    comp_max = ndi.maximum(sm, lab, index=np.arange(1, lab.max() + 1))
    keep = [sm[r, c] - bg >= cfg.peak_rel * (comp_max[lab[r, c] - 1] - bg) for r, c in peaks]
    peaks = peaks[np.asarray(keep, bool)]
    markers = np.zeros_like(lab)
    for k, (r, c) in enumerate(peaks, start=1):
        markers[r, c] = k
    basins = watershed(-sm, markers, mask=warm)
    head_k = cfg.head_k
    out = []
    min_area, max_area = cfg.min_area_px * scale * scale, cfg.max_area_px * scale * scale
    for k, (r, c) in enumerate(peaks, start=1):
        basin = basins == k
        peak_t = sm[r, c]
        # the warmest cap of the basin: at least 45 % of the way from the threshold to the peak
        hk = head_k if head_k is not None else max(0.5, 0.55 * (peak_t - bg - delta))
        cap = basin & (sm >= peak_t - hk)
        cap_lab = label(cap, connectivity=2)
        cap = cap_lab == cap_lab[r, c] if cap_lab[r, c] else cap
        area = int(cap.sum())
        if area < min_area or area > max_area:
            continue
        props = regionprops(cap.astype(np.uint8), intensity_image=ff)[0]
        vals = ff[cap]
        cy, cx = props.centroid_weighted if hasattr(props, "centroid_weighted") else props.centroid
        out.append(Detection(x=float(cx) + 0.5, y=float(cy) + 0.5, area=area,
                             major=float(props.axis_major_length), minor=float(props.axis_minor_length),
                             orientation=float(props.orientation), t_max=float(vals.max()),
                             t_p95=float(np.percentile(vals, 95)), t_mean=float(vals.mean()),
                             mask=cap if keep_masks else None))
    out.sort(key=lambda d: -d.t_max)
    return out
