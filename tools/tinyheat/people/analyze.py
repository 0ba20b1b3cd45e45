"""Session -> heads per frame -> tracks -> series: the ``tinyheat people`` step (no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detect import DetectorConfig, Detection, background_image, detect, static_mask
from .series import auto_reference, reference_signal, track_table
from .track import Track, TrackerConfig, track


@dataclass
class PeopleResult:
    """``tracks``; ``table`` (tidy DataFrame, :mod:`tinyheat.people.series`); ``reference`` region
    (x0, y0, x1, y1) and how it was chosen; ``ref`` (N,) degC; ``static`` (H, W) bool mask;
    ``detections`` per frame."""

    tracks: list[Track]
    table: object
    reference: tuple[int, int, int, int]
    reference_source: str
    ref: np.ndarray
    static: np.ndarray
    detections: list[list[Detection]] = field(default_factory=list)


def find_people(frames: np.ndarray, t_ms: np.ndarray, reference: tuple[int, int, int, int] | None = None,
                det_cfg: DetectorConfig = DetectorConfig(), trk_cfg: TrackerConfig = TrackerConfig(),
                progress=None, background: str = "auto") -> PeopleResult:
    """Detect, track and measure heads in ``frames`` (N, H, W) degC with times ``t_ms`` (N,).
    ``reference``: control region (x0, y0, x1, y1) or None for the most stable background patch.
    ``background``: ``session`` subtracts :func:`background_image` (people who move), ``frame``
    only each frame's median (a person who never leaves, single images); ``auto`` = session
    when there are at least 20 frames."""
    frames = np.asarray(frames, np.float32)
    st = static_mask(frames, det_cfg)
    if background == "auto":
        background = "session" if len(frames) >= 20 else "frame"
    bgimg = background_image(frames) if background == "session" else None
    it = progress(frames) if progress else frames
    dets = [detect(f, det_cfg, static=st, background=bgimg) for f in it]
    tracks = track(dets, frames.shape[2], trk_cfg, t_ms=t_ms)
    if reference is None:
        occ = np.zeros(frames.shape[1:], bool)
        for tk in tracks:
            for d in tk.dets:
                occ |= d.mask
        occ |= st
        reference, src = auto_reference(frames, occ), "auto"
    else:
        src = "given"
    ref = reference_signal(frames, reference)
    for tk in tracks:  # free the masks: the table keeps what is needed
        for d in tk.dets:
            d.mask = None
    return PeopleResult(tracks, track_table(tracks, t_ms, ref), tuple(reference), src, ref, st, dets)
