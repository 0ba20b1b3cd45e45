"""One temperature series per track: outlier marking (Hampel filter) and drift correction with a
reference region.

Tidy table (pandas DataFrame, one row per track and frame):

=================  =========  ==========================================================
column             unit       meaning
=================  =========  ==========================================================
track              -          track id (1..)
frame              -          frame index in the session
t_ms               ms         time since the session start
x, y               px         body centre (warmth-weighted; column, row; pixel centres at .5)
area               px         body region size
major, minor       px         fitted ellipse axes of the head (the body's warmest cap)
t_max, t_p95,      degC       max, skin temperature (mean of the body's 3 x scale^2 warmest
t_mean                        pixels, :mod:`tinyheat.people.detect`) and mean of the body region
p95_outlier        bool       t_p95 flagged by the Hampel filter (kept, marked)
p95_filtered       degC       t_p95 with outliers replaced by the window median
ref_degC           degC       median of the reference region in this frame
p95_corrected      degC       p95_filtered - (ref_degC - ref_start): the reference's change since
                              the session start (ref_start = median over its first 5 % of frames,
                              at least 5) is the room/camera drift removed; = p95_filtered
                              when no reference was usable or the correction made the series
                              noisier (``tinyheat people`` says which)
head_x, head_y     px         head centre (the body's warmest cap)
=================  =========  ==========================================================

Hampel filter (Hampel 1974; Pearson et al. 2016, "Generalized Hampel filters"): a value is an
outlier when it differs from the median of a centred window of ``2k+1`` samples by more than
``n_sigma`` x 1.4826 x MAD of the window.
"""
from __future__ import annotations

import numpy as np

from .track import Track


def hampel(x: np.ndarray, k: int = 5, n_sigma: float = 3.5, floor: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Hampel filter of a 1-D series. Returns (filtered copy, bool outlier mask). ``floor`` (same
    unit as x) is a lower bound on the scale so a flat window does not flag noise-free steps of
    one quantum. NaNs are left as they are and never flagged."""
    x = np.asarray(x, np.float64)
    n = len(x)
    out, flag = x.copy(), np.zeros(n, bool)
    for i in range(n):
        w = x[max(0, i - k): i + k + 1]
        w = w[np.isfinite(w)]
        if len(w) < 3 or not np.isfinite(x[i]):
            continue
        med = np.median(w)
        s = max(1.4826 * np.median(np.abs(w - med)), floor)
        if abs(x[i] - med) > n_sigma * s:
            flag[i] = True
            out[i] = med
    return out, flag


def parse_region(text: str, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``x0,y0,x1,y1`` (columns x0..x1-1, rows y0..y1-1) -> ints, ValueError if outside (H, W) or empty."""
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"reference {text!r}: expected x0,y0,x1,y1 (integers)") from None
    h, w = shape
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"reference {text!r}: must satisfy 0 <= x0 < x1 <= {w} and 0 <= y0 < y1 <= {h}")
    return x0, y0, x1, y1


def auto_reference(frames: np.ndarray, occupied: np.ndarray, size: int | None = None) -> tuple[int, int, int, int]:
    """The most stable background patch: among ``size`` x ``size`` windows (default 3 x scale px)
    that no track ever touched (``occupied`` (H, W) bool, grown by one pixel), the one whose
    95th percentile of frame-to-frame absolute change is smallest: low noise and never crossed by
    a warm body (slow drift, which the reference must keep, barely changes consecutive frames).
    Returns (x0, y0, x1, y1), or None when every window was touched."""
    from scipy import ndimage as ndi

    f = np.asarray(frames, np.float32)
    n, h, w = f.shape
    size = size or max(3, int(round(3 * w / 32)))
    sub = f[:: max(1, n // 400)]
    if len(sub) > 1:  # NaN (invalid) counts as an infinite change: such a pixel is no reference
        dif = np.abs(np.diff(sub, axis=0))
        jitter = np.percentile(np.where(np.isfinite(dif), dif, np.inf), 95, axis=0)
    else:
        jitter = np.zeros((h, w))
    jitter = np.where(np.isfinite(jitter), jitter, np.inf)
    busy = ndi.binary_dilation(occupied, iterations=1) if occupied.any() else occupied
    score = ndi.uniform_filter(jitter, size, mode="nearest")
    bad = ndi.maximum_filter(busy.astype(np.uint8), size, mode="nearest") > 0
    half = size // 2
    valid = np.zeros((h, w), bool)
    valid[half: h - (size - 1 - half), half: w - (size - 1 - half)] = True
    cand = np.where(valid & ~bad, score, np.inf)
    if not np.isfinite(cand).any():  # everything was occupied at some time: no reference
        return None
    r, c = np.unravel_index(int(np.argmin(cand)), cand.shape)
    return int(c - half), int(r - half), int(c - half + size), int(r - half + size)


def reference_signal(frames: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """(N,) median degC of the region (x0, y0, x1, y1) in every frame (NaN pixels ignored; the
    median keeps a person brushing the patch's edge out of the control signal)."""
    x0, y0, x1, y1 = region
    with np.errstate(all="ignore"):
        return np.nanmedian(np.asarray(frames)[:, y0:y1, x0:x1].reshape(len(frames), -1), axis=1)


def reference_start(ref: np.ndarray) -> float:
    """Baseline of a reference signal: median over its first 5 % of frames (at least 5), degC."""
    ref = np.asarray(ref, np.float64)
    head = ref[: max(5, len(ref) // 20)]
    head = head[np.isfinite(head)]
    return float(np.median(head)) if head.size else np.nan


def track_table(tracks: list[Track], t_ms: np.ndarray, ref: np.ndarray | None = None,
                hampel_k: int = 5, hampel_sigma: float = 3.5, apply: bool = True):
    """The tidy per-track, per-frame table described in the module docstring (pandas DataFrame).
    ``apply=False`` (or no reference): ``p95_corrected`` = ``p95_filtered`` (no correction)."""
    import pandas as pd

    t_ms = np.asarray(t_ms)
    rows = []
    ref_med = reference_start(ref) if ref is not None else np.nan
    if not apply or not np.isfinite(ref_med):
        ref_med = np.nan
    for tk in tracks:
        p95 = np.array([d.t_p95 for d in tk.dets])
        filt, flag = hampel(p95, hampel_k, hampel_sigma)
        for j, (fi, d) in enumerate(zip(tk.frames, tk.dets)):
            r = float(ref[fi]) if ref is not None else np.nan
            rows.append({"track": tk.tid, "frame": fi, "t_ms": int(t_ms[fi]), "x": round(d.x, 3),
                         "y": round(d.y, 3), "area": d.area, "major": round(d.major, 3),
                         "minor": round(d.minor, 3), "t_max": d.t_max, "t_p95": d.t_p95, "t_mean": d.t_mean,
                         "p95_outlier": bool(flag[j]), "p95_filtered": float(filt[j]), "ref_degC": r,
                         "p95_corrected": float(filt[j] - (r - ref_med)) if np.isfinite(r - ref_med) else float(filt[j]),
                         "head_x": round(d.head_x, 3), "head_y": round(d.head_y, 3)})
    cols = ["track", "frame", "t_ms", "x", "y", "area", "major", "minor", "t_max", "t_p95", "t_mean",
            "p95_outlier", "p95_filtered", "ref_degC", "p95_corrected", "head_x", "head_y"]
    return pd.DataFrame(rows, columns=cols)
