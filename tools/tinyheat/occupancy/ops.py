"""Activation operations: the one interface every ``--op`` implements, and the registry.

An operation turns the frames of one second into one activation map (float32 (H, W), 0..1, on the
heat-map grid of a :class:`~tinyheat.occupancy.floorplan.Mapper`). The driver
(:mod:`tinyheat.occupancy.video_heat`) calls :meth:`Operation.second` exactly once per second of
video, in order, with an iterator over that second's ``(t_ms, frame)`` pairs (consume it once; frames are
not kept, so memory does not grow with the video). Spec and how to add one: ``datasets/HEATMAP.md`` 8.

Built in:

- ``motion``: OpenCV MOG2 background subtraction (Zivkovic 2004, ``cv2.createBackgroundSubtractorMOG2``)
  on frames shrunk to ``motion_px`` on the longer side, shadows (MOG2 value 127) ignored, speckle removed
  by a 3x3 opening. A global brightness change is not activation: each frame's tone is first matched
  to the learned background (:func:`tone_match`, a RANSAC line per colour channel), and a frame whose
  foreground still covers more than ``max_fg_frac`` of the picture is a global change: the model is
  relearned from it and the frame is not evaluated.
- ``people``: OpenCV's HOG people detector (Dalal & Triggs 2005, ``cv2.HOGDescriptor_getDefaultPeopleDetector``,
  shipped inside OpenCV, nothing fetched) on ``people_fps`` frames per second shrunk to ``people_px``,
  boxes merged with non-maximum suppression (``cv2.dnn.NMSBoxes``); each person is a disc at the foot
  point (box bottom minus the 1/8 margin of the 64 x 128 window, centre column) whose diameter is the
  person's width (half the box width), mapped onto the grid (or plan).
- ``thermal``: the radiometric activation of :mod:`tinyheat.occupancy.activation` (degC frames).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .floorplan import Mapper


@dataclass(frozen=True)
class VideoParams:
    """Parameters of the video operations (units in the names). ``absorb_s``: a still object
    (or person) becomes background after about this long (motion)."""

    absorb_s: float = 60.0
    motion_px: int = 320
    var_threshold: float = 16.0
    max_fg_frac: float = 0.5
    min_blob_frac: float = 0.001
    people_px: int = 512
    people_fps: float = 2.0
    people_stride_px: int = 4
    people_scale: float = 1.05
    people_min_score: float = 0.0
    nms_iou: float = 0.45


@dataclass
class Second:
    """One second: ``sec`` epoch s; ``act`` float32 (H, W) 0..1; ``n_frames`` frames in it;
    ``n_evaluated`` frames the operation looked at (act is their mean; 0 -> act all zero);
    ``counts`` int64 (n_frames,) objects per frame (blobs or people; a frame not evaluated repeats the
    last evaluated one); ``t_ms`` int64 (n_frames,) frame times; ``points``: rows
    ``(t_ms, x_img, y_img, x_grid, y_grid, score)`` of detected people (people op only);
    ``mean_grey`` float32 (H, W) mean grey level 0..255 of the frames on the grid (video) or None."""

    sec: int
    act: np.ndarray
    n_frames: int
    n_evaluated: int
    counts: np.ndarray
    t_ms: np.ndarray
    points: list = field(default_factory=list)
    mean_grey: np.ndarray | None = None


class Operation(ABC):
    """One activation operation. Subclasses set ``name`` and ``input`` ("video": uint8 (H, W, 3) BGR
    frames; "thermal": float32 (H, W) degC frames, NaN invalid) and implement :meth:`frame_map` or,
    for whole-second logic, :meth:`second`. Register with :func:`register`."""

    name: str = ""
    input: str = "video"

    def __init__(self, mapper: Mapper, params: VideoParams = VideoParams(), **thermal_params):
        self.mapper = mapper
        self.params = params
        self._last_count = 0

    def frame_map(self, t_ms: int, frame: np.ndarray, dt_ms: float) -> tuple[np.ndarray, int, list] | None:
        """One frame -> (map float32 (h, w) 0..1 over the whole camera image or already on the
        grid, object count, points) or None when the frame is not evaluated."""
        raise NotImplementedError

    def second(self, sec: int, frames: Iterable[tuple[int, np.ndarray]]) -> Second:
        """Default: mean of :meth:`frame_map` over the evaluated frames, mapped onto the grid."""
        gh, gw = self.mapper.shape
        acc = np.zeros((gh, gw), np.float64)
        grey = np.zeros((gh, gw), np.float64)
        n = ev = 0
        counts, times, points = [], [], []
        last_t = None
        for t, frame in frames:
            dt = 100.0 if last_t is None else max(1.0, t - last_t)
            last_t = t
            r = self.frame_map(t, frame, dt)
            if r is not None:
                m, c, pts = r
                acc += m if m.shape == (gh, gw) else self.mapper.warp(m)
                self._last_count = c
                points.extend(pts)
                ev += 1
            counts.append(self._last_count)
            times.append(t)
            if self.mapper.background is None:
                grey += self.mapper.warp(self._grey(frame))
            n += 1
        act = (acc / ev if ev else acc).astype(np.float32)
        mean = (self.mapper.background if self.mapper.background is not None else grey / max(n, 1)).astype(np.float32)
        return Second(sec, np.clip(act, 0, 1), n, ev, np.asarray(counts, np.int64), np.asarray(times, np.int64),
                      points, mean)

    def _grey(self, frame):
        import cv2
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)


_REGISTRY: dict[str, type[Operation]] = {}


def register(cls: type[Operation]) -> type[Operation]:
    """Class decorator: make ``cls`` available as ``--op cls.name``."""
    if not cls.name:
        raise ValueError("an Operation needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> type[Operation]:
    from .video import VideoError

    try:
        return _REGISTRY[name]
    except KeyError:
        raise VideoError(f"unknown --op {name!r}; known: {', '.join(names())}") from None


#: exposure fit: every this many-th pixel (in both directions) is a sample
TONE_SAMPLE = 4
#: RANSAC: line hypotheses per channel, inlier band (grey levels), levels counted as clipped
TONE_HYPOTHESES = 64
TONE_BAND = 6.0
TONE_CLIP = (4, 250)


def tone_match(frame: np.ndarray, background: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Undo a global change of exposure, gain or white balance: per colour channel, the line
    ``background ~ a * frame + b`` fitted by RANSAC (Fischler & Bolles 1981; ``TONE_HYPOTHESES`` lines through
    random sample pairs, the one with most samples within ``TONE_BAND`` levels wins, refitted by least
    squares on its inliers) over unclipped pixels, applied to the frame. Foreground (a minority of
    the pixels) does not pull the fit. A clipped pixel (any channel >= 250 or <= 4) whose background is
    at least as bright (dark) as the clipped level maps to is replaced by the background: a camera
    that opens up saturates near-white walls. uint8 (H, W, 3) in and out; the frame unchanged when the
    fit is the identity within 2 % / 2 levels or fewer than 50 % of the samples agree."""
    import cv2

    rng = rng if rng is not None else np.random.default_rng(0)
    f = frame[::TONE_SAMPLE, ::TONE_SAMPLE].reshape(-1, 3).astype(np.float32)
    bg = background[::TONE_SAMPLE, ::TONE_SAMPLE].reshape(-1, 3).astype(np.float32)
    lut = np.empty((256, 3), np.uint8)
    levels = np.arange(256, dtype=np.float32)
    changed = False
    for c in range(3):
        ok = (f[:, c] > TONE_CLIP[0]) & (f[:, c] < TONE_CLIP[1]) & (bg[:, c] > TONE_CLIP[0]) & (bg[:, c] < TONE_CLIP[1])
        x, y = f[ok, c], bg[ok, c]
        lut[:, c] = levels.astype(np.uint8)
        if len(x) < 100:
            continue
        i, j = rng.integers(0, len(x), (2, TONE_HYPOTHESES))
        dx = x[j] - x[i]
        good = np.abs(dx) >= 8
        if not good.any():
            continue
        a = (y[j] - y[i])[good] / dx[good]
        b = y[i][good] - a * x[i][good]
        inl = np.abs(a[:, None] * x[None] + b[:, None] - y[None]) <= TONE_BAND
        k = int(np.argmax(inl.sum(1)))
        if inl[k].sum() < 0.5 * len(x):
            continue
        m = inl[k]
        A = np.c_[x[m], np.ones(int(m.sum()), np.float32)]
        (a1, b1), *_ = np.linalg.lstsq(A, y[m], rcond=None)
        if a1 <= 0:
            continue
        if abs(a1 - 1) > 0.02 or abs(b1 + (a1 - 1) * 128) > 2:
            changed = True
            lut[:, c] = np.clip(np.round(a1 * levels + b1), 0, 255).astype(np.uint8)
    if not changed:
        return frame
    out = cv2.merge([cv2.LUT(frame[..., c], lut[:, c]) for c in range(3)])
    # a clipped pixel carries no level to compare: where the background is at least as bright (dark)
    # as the clipped level maps to, it is taken as background
    hi, lo = TONE_CLIP[1], TONE_CLIP[0]
    sat = np.zeros(frame.shape[:2], bool)
    for c in range(3):
        sat |= (frame[..., c] >= hi) & (background[..., c] >= int(lut[hi, c]) - TONE_BAND)
        sat |= (frame[..., c] <= lo) & (background[..., c] <= int(lut[lo, c]) + TONE_BAND)
    out[sat] = background[sat]
    return out


def _shrink(cv2, frame, long_px):
    h, w = frame.shape[:2]
    s = min(1.0, long_px / max(h, w))
    if s >= 1.0:
        return frame, 1.0
    return cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


@register
class MotionOp(Operation):
    """Background subtraction (module docstring). Map: foreground fraction of each grid cell."""

    name = "motion"
    #: MOG2's backgroundRatio (OpenCV default): a component is background once the older ones weigh less
    BACKGROUND_RATIO = 0.9

    def __init__(self, mapper, params=VideoParams(), **kw):
        super().__init__(mapper, params)
        import cv2

        self.cv2 = cv2
        self._kernel = np.ones((3, 3), np.uint8)
        self._rng = np.random.default_rng(0)
        self._new_model()
        self.resets = 0

    def _new_model(self):
        self.sub = self.cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=self.params.var_threshold,
                                                           detectShadows=True)
        self.sub.setBackgroundRatio(self.BACKGROUND_RATIO)
        self._bg = None
        self._frames = 0

    def learning_rate(self, dt_ms: float) -> float:
        """Per-frame MOG2 learning rate so that the old background's weight falls below the
        background ratio after ``absorb_s``: ``1 - ratio ** (dt / absorb_s)``."""
        return 1.0 - self.BACKGROUND_RATIO ** (dt_ms / 1000.0 / self.params.absorb_s)

    def frame_map(self, t_ms, frame, dt_ms):
        cv2, p = self.cv2, self.params
        small, _ = _shrink(cv2, frame, p.motion_px)
        if self._bg is not None:
            small = tone_match(small, self._bg, self._rng)
        lr = 1.0 if self._frames == 0 else self.learning_rate(dt_ms)
        fg = self.sub.apply(small, learningRate=lr)
        self._frames += 1
        if self._frames == 1 or self._frames % 10 == 0:
            self._bg = self.sub.getBackgroundImage()
        mask = (fg == 255).astype(np.uint8)  # 127 = shadow: ignored
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        frac = float(mask.mean())
        if frac > p.max_fg_frac:  # a global change the gain could not explain: relearn, do not count
            self.resets += 1
            self._new_model()
            self.sub.apply(small, learningRate=1.0)
            self._frames = 1
            self._bg = self.sub.getBackgroundImage()
            return None
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        blobs = int((stats[1:, cv2.CC_STAT_AREA] >= p.min_blob_frac * mask.size).sum()) if n > 1 else 0
        return mask.astype(np.float32), blobs, []


@register
class PeopleOp(Operation):
    """HOG people detector + NMS (module docstring). Map: foot-point discs on the grid."""

    name = "people"
    #: the 64 x 128 INRIA window has about 16 px of margin below the feet (Dalal & Triggs 2005): 1/8 of the height
    FOOT_MARGIN = 16 / 128

    def __init__(self, mapper, params=VideoParams(), **kw):
        super().__init__(mapper, params)
        import cv2

        self.cv2 = cv2
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._next_ms = 0.0

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes float64 (K, 4) x, y, w, h in frame pixels and scores (K,) after NMS."""
        cv2, p = self.cv2, self.params
        small, s = _shrink(cv2, frame, p.people_px)
        st = (p.people_stride_px, p.people_stride_px)
        rects, weights = self.hog.detectMultiScale(small, hitThreshold=p.people_min_score, winStride=st,
                                                   padding=(8, 8), scale=p.people_scale)
        if len(rects) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        rects = np.asarray(rects, np.float64).reshape(-1, 4)
        scores = np.asarray(weights, np.float64).ravel()
        keep = np.asarray(cv2.dnn.NMSBoxes(rects.tolist(), scores.tolist(), p.people_min_score, p.nms_iou)).ravel()
        return rects[keep] / s, scores[keep]

    def frame_map(self, t_ms, frame, dt_ms):
        if t_ms + 1e-6 < self._next_ms:
            return None
        self._next_ms = (math.floor(t_ms * self.params.people_fps / 1000.0) + 1) * 1000.0 / self.params.people_fps
        boxes, scores = self.detect(frame)
        gh, gw = self.mapper.shape
        m = np.zeros((gh, gw), np.float32)
        if len(boxes) == 0:
            return m, 0, []
        x, y, w, h = boxes.T
        feet = np.c_[x + w / 2, y + h * (1 - self.FOOT_MARGIN)]
        g, ok = self.mapper.points(feet)
        side, _ = self.mapper.points(feet + np.c_[w / 4, np.zeros(len(w))])
        pts = []
        for i in np.flatnonzero(ok):
            r = np.hypot(*(side[i] - g[i])) if np.isfinite(side[i]).all() else 1.0
            r = max(float(r), 0.5)
            sh = 4  # sub-cell precision of cv2.circle (1/16 cell)
            self.cv2.circle(m, (int(round(g[i, 0] * 2 ** sh)), int(round(g[i, 1] * 2 ** sh))),
                            int(round(r * 2 ** sh)), 1.0, -1, lineType=self.cv2.LINE_8, shift=sh)
            pts.append((int(t_ms), float(feet[i, 0]), float(feet[i, 1]), float(g[i, 0]), float(g[i, 1]),
                        float(scores[i])))
        return m, int(ok.sum()), pts


@register
class ThermalOp(Operation):
    """Radiometric activation (:class:`tinyheat.occupancy.activation.ActivationEngine`, unchanged) of
    degC frames; with a plan, each second's map is warped onto it."""

    name = "thermal"
    input = "thermal"

    def __init__(self, mapper, params=VideoParams(), *, thermal_shape=None, thermal_params=None, **kw):
        super().__init__(mapper, params)
        from .activation import ActivationEngine, Params

        self.engine = ActivationEngine(thermal_shape, thermal_params or Params())

    def second(self, sec, frames):
        pairs = list(frames)
        t = np.asarray([p[0] for p in pairs], np.int64)
        stack = np.stack([p[1] for p in pairs]).astype(np.float32)
        res = self.engine.second(sec, stack)
        act = self.mapper.warp(res.act)
        mean = self.mapper.background
        if mean is None:
            mean = np.nanmean(stack, 0) if np.isfinite(stack).any() else np.zeros(stack.shape[1:], np.float32)
        return Second(sec, act.astype(np.float32), len(pairs), len(pairs), np.asarray(res.people, np.int64), t, [],
                      np.asarray(mean, np.float32))
