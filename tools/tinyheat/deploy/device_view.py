"""What the device will show: the firmware's classifier post-processing, on the laptop.

The Wio Terminal does not show the per-frame top-1. ``th_postprocess`` in
``firmware/lib/tinyheat_core/th_classify.c`` (spec: ``datasets/FORMAT.md`` section 5,
"What the device shows") dequantizes the int8 logits, applies softmax in float32, takes the mean
of the last ``TH_SMOOTH_FRAMES`` probability vectors (fewer right after start), picks the first
index of the maximum, and shows "uncertain" when that mean probability is below
``TH_UNCERTAIN_BELOW``. Both constants are read from the firmware's own configuration header,
``firmware/include/tinyheat_config.h`` (:func:`device_constants`), the one place both sides read.

:func:`postprocess` reproduces ``th_postprocess`` step by step in float32 (parity-tested against
the C core on real frames through ``th_vectors post``); :func:`device_metrics` turns it into
metrics. Smoothing runs along capture order inside each group (a recording session / capture
block), restarting at every group, never across groups: on the device a new scene starts with an
empty history only after a restart, but across two sessions the laptop cannot know what the device
saw in between, so the conservative choice is a fresh start.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

CONFIG_HEADER = Path("include") / "tinyheat_config.h"
_DEFINE = r"^\s*#\s*define\s+{name}\s+\(?\s*([0-9.]+)[fF]?\s*\)?"


def device_constants(firmware: str | Path | None = None) -> dict:
    """``{"smooth_frames": int, "uncertain_below": float, "source": str}`` from the firmware config.

    firmware: the firmware folder (default: :func:`tinyheat.paths.firmware_dir`). Raises
    FileNotFoundError without the header and ValueError when a constant is missing or out of range
    (smooth_frames 1..16 = TH_SMOOTH_MAX_K, uncertain_below 0..1).
    """
    if firmware is None:
        from ..paths import firmware_dir

        firmware = firmware_dir()
    path = Path(firmware) / CONFIG_HEADER
    text = path.read_text()
    out = {}
    for key, name, conv in (("smooth_frames", "TH_SMOOTH_FRAMES", int), ("uncertain_below", "TH_UNCERTAIN_BELOW", float)):
        m = re.search(_DEFINE.format(name=name), text, re.M)
        if not m:
            raise ValueError(f"{path}: no numeric #define {name}")
        out[key] = conv(m.group(1))
    if not 1 <= out["smooth_frames"] <= 16 or not 0.0 <= out["uncertain_below"] <= 1.0:
        raise ValueError(f"{path}: TH_SMOOTH_FRAMES must be 1..16 and TH_UNCERTAIN_BELOW 0..1, got {out}")
    out["source"] = str(path)
    return out


def _softmax_f32(z: np.ndarray) -> np.ndarray:
    """th_softmax: exp(z - max) / sum, float32, summed left to right like the C loop."""
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(z - z.max(axis=-1, keepdims=True)).astype(np.float32)
    s = np.zeros(e.shape[:-1], dtype=np.float32)
    for c in range(e.shape[-1]):
        s = (s + e[..., c]).astype(np.float32)
    return (e / s[..., None]).astype(np.float32)


def probabilities_from(scores: np.ndarray, output_scale: float | None = None,
                       output_zero_point: int | None = None) -> np.ndarray:
    """(n, k) class probabilities (float32) from int8 logits, float logits or probabilities.

    int8 input: the model's quantized output; needs ``output_scale`` and ``output_zero_point``
    (z = (q - zero_point) * scale, then softmax). Float input whose rows are non-negative and sum to
    1 (within 1e-3) is taken as probabilities; any other float input as logits. ValueError otherwise.
    """
    a = np.asarray(scores)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"scores must be (n, k) with k >= 1, got shape {a.shape}")
    if a.dtype == np.int8:
        if output_scale is None or output_zero_point is None:
            raise ValueError("int8 logits need output_scale and output_zero_point (the model's output quantization)")
        z = ((a.astype(np.int32) - int(output_zero_point)).astype(np.float32) * np.float32(output_scale)).astype(np.float32)
        return _softmax_f32(z)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"scores must be int8 logits or float logits/probabilities, got {a.dtype}")
    a = a.astype(np.float32)
    if len(a) and (a >= 0).all() and np.allclose(a.sum(axis=1), 1.0, atol=1e-3):
        return a
    return _softmax_f32(a)


def _groups_in_order(order_groups, n: int) -> list[np.ndarray]:
    """Indices of each group, in order of first appearance, each in the given (capture) order."""
    if order_groups is None:
        return [np.arange(n)]
    g = np.asarray(order_groups)
    if g.shape[:1] != (n,):
        raise ValueError(f"order_groups has {g.shape[0] if g.ndim else 0} entries for {n} frames")
    keys = [tuple(x) if g.ndim > 1 else x for x in g]
    seen: dict = {}
    for i, key in enumerate(keys):
        seen.setdefault(key, []).append(i)
    return [np.array(v, dtype=int) for v in seen.values()]


def smooth(probs: np.ndarray, smooth_frames: int) -> np.ndarray:
    """th_smoother_push over one group in capture order: mean of the last min(count, K) vectors.

    The sum runs over the ring buffer's slots in slot order (frame f sits in slot f % K), in
    float32, exactly as the C loop does.
    """
    k = int(smooth_frames)
    out = np.empty_like(probs, dtype=np.float32)
    for i in range(len(probs)):
        count = min(i + 1, k)
        frames = sorted(range(i - count + 1, i + 1), key=lambda f: f % k)
        s = np.zeros(probs.shape[1], dtype=np.float32)
        for f in frames:
            s = (s + probs[f]).astype(np.float32)
        out[i] = (s / np.float32(count)).astype(np.float32)
    return out


def postprocess(probs: np.ndarray, order_groups=None, smooth_frames: int = 1, uncertain_below: float = 0.0) -> dict:
    """th_postprocess for every frame: ``{"top", "label", "confidence", "smoothed"}``.

    probs: (n, k) float32 probabilities in capture order within each group (see
    :func:`probabilities_from`). ``top`` (n,) int: first index of the maximum smoothed probability;
    ``label`` (n,) int: ``top``, or -1 ("uncertain") when ``confidence`` < ``uncertain_below``;
    ``confidence`` (n,) float32; ``smoothed`` (n, k) float32. smooth_frames <= 1: no smoothing.
    """
    probs = np.asarray(probs, dtype=np.float32)
    sm = probs.copy()
    if smooth_frames > 1:
        for idx in _groups_in_order(order_groups, len(probs)):
            sm[idx] = smooth(probs[idx], smooth_frames)
    top = sm.argmax(axis=1) if len(sm) else np.zeros(0, int)
    conf = sm[np.arange(len(sm)), top] if len(sm) else np.zeros(0, np.float32)
    label = np.where(conf >= np.float32(uncertain_below), top, -1)
    return {"top": top.astype(int), "label": label.astype(int), "confidence": conf.astype(np.float32), "smoothed": sm}


def _balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean over the classes present in y of the recall (pred == -1 counts as wrong)."""
    classes = np.unique(y)
    if len(classes) == 0:
        return float("nan")
    return float(np.mean([(pred[y == c] == c).mean() for c in classes]))


def device_metrics(y_true, logits_or_probs, order_groups=None, *, output_scale: float | None = None,
                   output_zero_point: int | None = None, smooth_frames: int | None = None,
                   uncertain_below: float | None = None, labels: list[str] | None = None,
                   firmware: str | Path | None = None) -> dict:
    """Metrics of what the device shows, with the firmware's smoothing and "uncertain" threshold.

    y_true: (n,) int class indices. logits_or_probs: (n, k) int8 logits (give output_scale and
    output_zero_point), float logits or probabilities (:func:`probabilities_from`).
    order_groups: (n,) group id per frame (e.g. session, or (label, session) rows), frames in
    capture order within each group; smoothing restarts at each group. None = one group.
    smooth_frames / uncertain_below: default from the firmware config (:func:`device_constants`).

    Returns a dict (JSON-ready):
    ``per_frame_balanced_accuracy`` (top-1 of each frame alone), ``smoothed_balanced_accuracy``
    (top-1 after smoothing, threshold ignored), ``shown_balanced_accuracy`` (what the screen shows:
    "uncertain" counts as not correct), ``uncertain_rate`` (fraction of frames shown "uncertain"),
    ``decided_balanced_accuracy`` (over the frames not uncertain; NaN for a class never decided),
    ``per_class`` (per label: ``uncertain_rate``, ``shown_recall``), ``smooth_frames``,
    ``uncertain_below``, ``groups``, ``n``.
    """
    y = np.asarray(y_true, dtype=int)
    probs = probabilities_from(logits_or_probs, output_scale, output_zero_point)
    if len(y) != len(probs):
        raise ValueError(f"{len(y)} labels for {len(probs)} score rows")
    if smooth_frames is None or uncertain_below is None:
        const = device_constants(firmware)
        smooth_frames = const["smooth_frames"] if smooth_frames is None else smooth_frames
        uncertain_below = const["uncertain_below"] if uncertain_below is None else uncertain_below
    groups = _groups_in_order(order_groups, len(y))
    per_frame = probs.argmax(axis=1) if len(probs) else np.zeros(0, int)
    pp = postprocess(probs, order_groups, smooth_frames, uncertain_below)
    uncertain = pp["label"] < 0
    decided = ~uncertain
    names = labels or [str(c) for c in range(probs.shape[1])]
    per_class = {}
    for c in np.unique(y):
        m = y == c
        per_class[names[c] if c < len(names) else str(c)] = {
            "n": int(m.sum()), "uncertain_rate": float(uncertain[m].mean()),
            "shown_recall": float((pp["label"][m] == c).mean())}
    dec_recalls = [(pp["label"][(y == c) & decided] == c).mean() for c in np.unique(y) if ((y == c) & decided).any()]
    return {
        "per_frame_balanced_accuracy": _balanced_accuracy(y, per_frame),
        "smoothed_balanced_accuracy": _balanced_accuracy(y, pp["top"]),
        "shown_balanced_accuracy": _balanced_accuracy(y, pp["label"]),
        "uncertain_rate": float(uncertain.mean()) if len(y) else float("nan"),
        "decided_balanced_accuracy": float(np.mean(dec_recalls)) if len(dec_recalls) == len(np.unique(y)) and dec_recalls else float("nan"),
        "per_class": per_class,
        "smooth_frames": int(smooth_frames),
        "uncertain_below": float(uncertain_below),
        "groups": len(groups),
        "n": int(len(y)),
    }
