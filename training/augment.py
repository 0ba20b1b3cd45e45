"""Physics-respecting augmentation of degC frames (see :class:`tinyheat.training.recipes.Augment`)."""
from __future__ import annotations

import numpy as np

from .recipes import Augment


def augment_frames(frames: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """Return augmented copies of ``frames`` (n, 24, 32) float32 degC; the input is not modified.

    Order: mirror, shift (edge pixels replicated, as the scene continues beyond the field of
    view), contrast about the frame median, whole-frame ambient offset, per-pixel sensor noise.
    """
    x = np.array(frames, dtype=np.float32, copy=True)
    n = len(x)
    if n == 0 or not aug.enabled:
        return x
    if aug.hflip:
        flip = rng.random(n) < aug.hflip
        x[flip] = x[flip][:, :, ::-1]
    if aug.shift_px:
        s = aug.shift_px
        pad = np.pad(x, ((0, 0), (s, s), (s, s)), mode="edge")
        dy = rng.integers(-s, s + 1, n)
        dx = rng.integers(-s, s + 1, n)
        for i in range(n):
            x[i] = pad[i, s + dy[i]: s + dy[i] + x.shape[1], s + dx[i]: s + dx[i] + x.shape[2]]
    if aug.gain:
        med = np.median(x, axis=(1, 2), keepdims=True)
        g = (1.0 + rng.normal(0.0, aug.gain, (n, 1, 1))).astype(np.float32)
        x = med + (x - med) * g
    if aug.ambient_K:
        x += rng.normal(0.0, aug.ambient_K, (n, 1, 1)).astype(np.float32)
    if aug.noise_K:
        x += rng.normal(0.0, aug.noise_K, x.shape).astype(np.float32)
    return x.astype(np.float32)
