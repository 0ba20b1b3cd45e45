"""Heads / faces in one thermal frame: warm-band segmentation, watershed split, ellipse fit.

Designed for two scales: the MLX90640's 32x24 (a head is 3-8 pixels wide and mixes with the
background and the shoulders) and full-resolution radiometric footage (640x480: a face is tens of
pixels). All sizes scale with ``scale = frame width / 32``.

Per frame (temperatures in degC):

1. Background level ``bg`` = the frame's median (people cover a small part of the view), so
   room and camera drift move the threshold with the scene. The session's median image guides
   the search: pixels warm in (nearly) every frame of the session (``static_frac``) are static
   heat sources (a radiator, a laptop) and are masked out.
2. Warm pixels: ``T > bg + delta_k`` and ``T <= max_degC`` (skin band: hotter objects such as a
   kettle are not people); with ``delta_k`` None it is ``max(1.0, 6 x the frame's robust noise)``
   (noise = 1.4826 x MAD of the Laplacian-free pixel differences).
3. Connected components (scikit-image ``label``, 8-connectivity) of the warm mask smoothed with a
   Gaussian of 0.5 x scale pixels. A body seen from above or the side is part of the same blob
   as its head, and two people can touch: each component is split by a watershed on the
   smoothed temperature from its local maxima (``peak_local_max``, ``min_distance`` 2 x scale,
   peak at least ``peak_k`` above the threshold and at least ``peak_rel`` of the component's
   maximum above ``bg``, so a body or shoulders next to a head are no second head), and the head is the part of each
   watershed basin within ``head_k`` of that basin's peak (the warmest cap).
4. Each head region gets an ellipse fit (``regionprops``: centroid, major/minor axis, orientation)
   and its max, 95th percentile and mean temperature. Regions smaller than ``min_area`` (1 x
   scale^2 pixels) or larger than ``max_area`` (80 x scale^2) are dropped.
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
    peak_k: float = 0.8             #: a peak must rise this much above its component's threshold
    peak_rel: float = 0.6           #: and reach this fraction of its component's max above bg
    static_frac: float = 0.95       #: warm in this fraction of frames = static source
    min_area_px: float = 1.0        #: x scale^2
    max_area_px: float = 80.0       #: x scale^2


def frame_noise(frame: np.ndarray) -> float:
    """Robust per-pixel noise estimate (K): 1.4826 x MAD of horizontal neighbour differences / sqrt(2)."""
    d = np.diff(frame, axis=1).ravel()
    d = d[np.isfinite(d)]
    if d.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


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


def detect(frame: np.ndarray, cfg: DetectorConfig = DetectorConfig(), static: np.ndarray | None = None,
           keep_masks: bool = True) -> list[Detection]:
    """Heads in one frame (H, W) degC (NaN = invalid). ``static``: optional (H, W) bool mask of
    static heat sources (:func:`static_mask`). Returns detections, warmest first."""
    from skimage.feature import peak_local_max
    from skimage.measure import label, regionprops
    from skimage.segmentation import watershed

    f = np.asarray(frame, np.float32)
    h, w = f.shape
    scale = w / 32.0
    finite = np.isfinite(f)
    if not finite.any():
        return []
    bg = float(np.median(f[finite]))
    ff = np.where(finite, f, bg)
    noise = frame_noise(ff)
    delta = cfg.delta_k if cfg.delta_k is not None else max(1.0, 6.0 * noise)
    sm = ndi.gaussian_filter(ff, 0.5 * scale) if scale > 1.5 else ndi.gaussian_filter(ff, 0.5)
    warm = (sm > bg + delta) & (ff <= cfg.max_degC) & finite
    if static is not None:
        warm &= ~static
    if not warm.any():
        return []
    lab = label(warm, connectivity=2)
    md = max(1, int(round(2 * scale)))
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
