"""Model input: degC frames -> normalized float -> int8 tensor (spec: ``datasets/FORMAT.md`` section 5).

The firmware's C core implements the same steps (``th_classify``); the parity test
``tests/firmware`` runs both on the same frames. All arithmetic is float32 like the device.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..dataset import sample_format as sf

#: input modes and their codes in ``tinyheat_model.h`` (``TH_MODEL_INPUT_MODE``, th_input_mode_t)
MODES = ("window", "relative", "relative-clipped", "two-channel")
#: default clip of the relative input, FORMAT.md section 5 (issue 8: -0.5..2.0 at a 10 K span, i.e.
#: 5 K below to 20 K above the frame median)
CLIP_LO, CLIP_HI = -0.5, 2.0


@dataclass(frozen=True)
class InputSpec:
    """How a frame becomes the model input (FORMAT.md section 5); m = median of the frame, c0/c1 = clip.

    mode: ``"window"`` -> ``clamp((T - lo) / (hi - lo), 0, 1)``; ``"relative"`` -> ``(T - m) / span``;
    ``"relative-clipped"`` -> ``clamp((T - m) / span, c0, c1)``; ``"two-channel"`` -> channel 0 the
    clipped relative input, channel 1 ``clamp((T - lo) / s + c0, c0, c1)`` with ``s = (hi - lo) / (c1 - c0)``
    (the window lo..hi degC mapped onto the same range c0..c1, so one int8 scale serves both).
    window_lo_degC / window_hi_degC: the window (degC). relative_span_K: the span (K).
    clip_lo / clip_hi: the clip range (dimensionless).
    """

    mode: str = "relative"
    window_lo_degC: float = sf.WINDOW_LO_DEGC
    window_hi_degC: float = sf.WINDOW_HI_DEGC
    relative_span_K: float = 8.0
    clip_lo: float = CLIP_LO
    clip_hi: float = CLIP_HI

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"input mode must be one of {MODES}, got {self.mode!r}")
        if not self.window_hi_degC > self.window_lo_degC:
            raise ValueError("window_hi_degC must be above window_lo_degC")
        if not self.relative_span_K > 0:
            raise ValueError("relative_span_K must be positive")
        if not self.clip_hi > self.clip_lo:
            raise ValueError("clip_hi must be above clip_lo")

    @property
    def channels(self) -> int:
        """C of the model input (24, 32, C): 2 for ``two-channel``, else 1."""
        return 2 if self.mode == "two-channel" else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "InputSpec":
        keys = ("mode", "window_lo_degC", "window_hi_degC", "relative_span_K", "clip_lo", "clip_hi")
        return cls(**{k: d[k] for k in keys if k in d})


def fill_invalid(frames: np.ndarray) -> np.ndarray:
    """Replace invalid pixels (NaN/inf, outside -40..300 degC) of each frame by the median of its valid ones.

    frames: (n, 24, 32) degC -> (n, 24, 32) float32. A frame with no valid pixel becomes all 0 degC.
    """
    f = np.array(frames, dtype=np.float32).reshape(-1, sf.ROWS, sf.COLS)
    bad = sf.invalid_mask(f)
    if bad.any():
        for i in np.nonzero(bad.any(axis=(1, 2)))[0]:
            good = f[i][~bad[i]]
            f[i][bad[i]] = _median768(good) if good.size else np.float32(0.0)
    return f


def _median768(values: np.ndarray) -> np.float32:
    """Median as the spec defines it: mean of the two middle values (float32)."""
    v = np.sort(np.asarray(values, dtype=np.float32).ravel())
    n = v.size
    if n % 2:
        return v[n // 2]
    return np.float32((v[n // 2 - 1] + v[n // 2]) * np.float32(0.5))


def normalize(frames: np.ndarray, spec: InputSpec) -> np.ndarray:
    """degC frames (n, 24, 32) -> model input (n, 24, 32, C) float32, FORMAT.md section 5 steps 1-2.

    Each step is one float32 operation in the spec's order, as in the firmware's ``th_preprocess``.
    """
    f32 = np.float32
    f = fill_invalid(frames)
    lo, hi = f32(spec.window_lo_degC), f32(spec.window_hi_degC)
    c0, c1 = f32(spec.clip_lo), f32(spec.clip_hi)
    if spec.mode == "window":
        return np.clip((f - lo) / (hi - lo), f32(0), f32(1)).astype(np.float32)[..., None]
    med = np.array([_median768(fr) for fr in f], dtype=np.float32)[:, None, None]
    x = ((f - med) / f32(spec.relative_span_K)).astype(np.float32)
    if spec.mode == "relative":
        return x[..., None]
    x = np.clip(x, c0, c1)
    if spec.mode == "relative-clipped":
        return x[..., None]
    step = f32((hi - lo) / (c1 - c0))
    x1 = np.clip(((f - lo) / step).astype(np.float32) + c0, c0, c1).astype(np.float32)
    return np.stack([x, x1], axis=-1)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite affine quantization to int8: ``clamp(floor(x / scale + 0.5) + zero_point, -128, 127)`` in float32."""
    q = np.floor(np.asarray(x, dtype=np.float32) / np.float32(scale) + np.float32(0.5)) + np.float32(zero_point)
    return np.clip(q, -128, 127).astype(np.int8)


def quantize_input(frames_degc: np.ndarray, card_input: dict) -> np.ndarray:
    """degC frames (n, 24, 32) -> int8 model input (n, 24, 32, C), using a model card's ``input`` dict
    (keys ``mode``, ``window_lo_degC``, ``window_hi_degC``, ``relative_span_K``, ``clip_lo``, ``clip_hi``,
    ``scale``, ``zero_point``; one scale for every channel)."""
    spec = InputSpec.from_dict(card_input)
    return quantize(normalize(frames_degc, spec), card_input["scale"], int(card_input["zero_point"]))


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 -> float32: ``(q - zero_point) * scale``."""
    return ((np.asarray(q, dtype=np.int32) - int(zero_point)) * np.float32(scale)).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, max subtracted first: (n, k) logits -> (n, k) probabilities."""
    z = np.asarray(logits, dtype=np.float32)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def probabilities(q_out: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """int8 model outputs (n, k) -> probabilities (n, k): softmax of the dequantized logits (FORMAT.md section 5)."""
    return softmax(dequantize(q_out, scale, zero_point))
