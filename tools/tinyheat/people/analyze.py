"""Session -> people (bodies) per frame -> tracks -> series: the ``tinyheat people`` step (no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detect import DetectorConfig, Detection, background_image, detect, static_mask
from .series import auto_reference, reference_signal, track_table
from .track import Track, TrackerConfig, track


@dataclass
class PeopleResult:
    """``tracks``; ``table`` (tidy DataFrame, :mod:`tinyheat.people.series`); ``reference`` region
    (x0, y0, x1, y1) or None (refused) and a sentence on how it was chosen (and whether it was
    applied: a correction that makes the series noisier than raw is not); ``ref`` (N,) degC; ``static`` (H, W) bool mask;
    ``detections`` per frame."""

    tracks: list[Track]
    table: object
    reference: tuple[int, int, int, int] | None
    reference_source: str
    ref: np.ndarray
    static: np.ndarray
    detections: list[list[Detection]] = field(default_factory=list)


def find_people(frames: np.ndarray, t_ms: np.ndarray, reference: tuple[int, int, int, int] | None = None,
                det_cfg: DetectorConfig = DetectorConfig(), trk_cfg: TrackerConfig = TrackerConfig(),
                progress=None, background: str = "auto") -> PeopleResult:
    """Detect, track and measure people in ``frames`` (N, H, W) degC with times ``t_ms`` (N,).
    ``reference``: control region (x0, y0, x1, y1) or None for the most stable background patch
    that no person ever covered (:func:`choose_reference`).
    ``background``: ``session`` subtracts :func:`background_image` (people who move), ``frame``
    only each frame's median (a person who never leaves, single images); ``auto`` = session
    when there are at least 20 frames."""
    frames = np.asarray(frames, np.float32)
    st = static_mask(frames, det_cfg)
    if background == "auto":
        background = "session" if len(frames) >= 20 else "frame"
    bgimg = background_image(frames) if background == "session" else None
    it = progress(frames) if progress else frames
    # session mode: the background image already cancels static sources; masking them as well
    # would cut a person who lies or sits still for most of the session
    dets = [detect(f, det_cfg, static=None if bgimg is not None else st, background=bgimg) for f in it]
    tracks = track(dets, frames.shape[2], trk_cfg, t_ms=t_ms)
    stat = None if bgimg is not None else st
    for tk in tracks:
        fill_gaps(tk, frames, det_cfg, trk_cfg, bgimg, stat)
    occ = st.copy()
    for tk in tracks:  # every body a track ever covered: no reference there
        for d in tk.dets:
            if d.mask is not None:
                occ |= d.mask
    reference, src = choose_reference(frames, occ, reference)
    ref = reference_signal(frames, reference) if reference is not None else np.full(len(frames), np.nan)
    table = track_table(tracks, t_ms, ref)
    if reference is not None and len(table) and _noisier(table):
        src += "; not applied: the corrected series was noisier than the raw one"
        table = track_table(tracks, t_ms, ref, apply=False)
    for ds in dets:  # free the masks: the table keeps what is needed
        for d in ds:
            d.mask = None
    return PeopleResult(tracks, table, tuple(reference) if reference is not None else None, src, ref, st, dets)


def fill_gaps(tk, frames: np.ndarray, det_cfg: DetectorConfig, trk_cfg: TrackerConfig, bgimg, static) -> int:
    """Re-detect a track's short gaps (<= ``trk_cfg.max_missed`` frames) with a weaker threshold
    (``noise_mult`` 2.5, ``min_delta_k`` 0.3 K, ``core_k`` 0.2 K) near the position interpolated
    between the detections around the gap (within the tracking gate): a faint body in a warm room
    that the tracker coasted over. Only for a solid track (detected in >= 80 % of the frames of
    its span): a flickering one is more likely noise or an object at the edge. Inserts what it
    finds into ``tk`` (in frame order); returns the number of frames filled."""
    from dataclasses import replace

    if len(tk.frames) < 0.8 * (tk.frames[-1] - tk.frames[0] + 1):
        return 0
    weak = replace(det_cfg, noise_mult=min(det_cfg.noise_mult, 2.5), min_delta_k=min(det_cfg.min_delta_k, 0.3),
                   core_k=min(det_cfg.core_k, 0.2), core_sigma=min(det_cfg.core_sigma, 1.0))
    gate = trk_cfg.gate_px * frames.shape[2] / 32.0
    frs, ds = list(tk.frames), list(tk.dets)
    out_f, out_d, filled = [frs[0]], [ds[0]], 0
    for (a, da), (b, db) in zip(zip(frs[:-1], ds[:-1]), zip(frs[1:], ds[1:])):
        if 1 < b - a <= trk_cfg.max_missed + 1:
            for f in range(a + 1, b):
                w = (f - a) / (b - a)
                px, py = da.x + w * (db.x - da.x), da.y + w * (db.y - da.y)
                cand = detect(frames[f], weak, static=static, background=bgimg)
                near = [(np.hypot(c.x - px, c.y - py), k) for k, c in enumerate(cand)]
                near = [x for x in near if x[0] <= gate]
                if near:
                    out_f.append(f)
                    out_d.append(cand[min(near)[1]])
                    filled += 1
        out_f.append(b)
        out_d.append(db)
    tk.frames, tk.dets = out_f, out_d
    return filled


def choose_reference(frames: np.ndarray, occupied: np.ndarray, given=None, max_step_k: float = 1.0):
    """The drift-control region and a sentence on how it was chosen: ``given`` (x0, y0, x1, y1)
    as is, else :func:`auto_reference` among pixels no person ever covered (``occupied`` (H, W)
    bool). A region is refused (None) when there is none, or when its signal is not stable:
    the 95th percentile of its frame-to-frame change above ``max_step_k`` K (something moves or
    flickers there; slow drift changes consecutive frames by hundredths of a kelvin)."""
    if given is not None:
        region, src = tuple(given), "given"
    else:
        region = auto_reference(frames, occupied)
        if region is None:
            return None, "none: every candidate region was covered by a person at some time"
        src = "auto"
    if len(frames) > 2:
        sig = reference_signal(frames, region)
        step = np.abs(np.diff(sig))
        step = step[np.isfinite(step)]
        p95 = float(np.percentile(step, 95)) if step.size else np.inf
        if p95 > max_step_k:
            return None, (f"none: region {','.join(map(str, region))} ({src}) is not stable "
                          f"(95th percentile frame-to-frame change {p95:.2f} K > {max_step_k} K)")
    return region, src


def _noisier(table) -> bool:
    """True when the drift-corrected series is noisier than the raw (Hampel-filtered) one:
    summed over tracks, its interquartile range is larger (the reference moved with something
    other than the room and camera)."""
    def iqr(x):
        x = np.asarray(x, float)
        x = x[np.isfinite(x)]
        return float(np.subtract(*np.percentile(x, [75, 25]))) if len(x) >= 4 else 0.0

    groups = [g for _, g in table.groupby("track")]
    raw = sum(iqr(g.p95_filtered) for g in groups)
    cor = sum(iqr(g.p95_corrected) for g in groups)
    return cor > raw
