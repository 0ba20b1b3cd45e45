"""Fit a recipe's CNN on a capture-order split with augmentation, class weights and early stopping."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from tqdm.auto import tqdm

from .augment import augment_frames
from .data import LabelledFrames, Split
from .model import build_model, keras
from .preprocess import normalize
from .recipes import Recipe


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int  # 1-based epoch whose weights were kept
    seconds: float


def class_weights(y: np.ndarray, num_classes: int) -> dict[int, float]:
    """scikit-learn's "balanced" weights ``n / (k * count_c)``; classes absent from y get weight 1."""
    present = np.unique(y)
    w = compute_class_weight("balanced", classes=present, y=y)
    out = {c: 1.0 for c in range(num_classes)}
    out.update({int(c): float(v) for c, v in zip(present, w)})
    return out


def mixup(x: np.ndarray, y: np.ndarray, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mixup (Zhang et al. 2018): blend each sample with a random partner, lam ~ Beta(alpha, alpha).

    x: (n, ...) float32 inputs, y: (n, k) one-hot -> blended copies of both.
    """
    lam = rng.beta(alpha, alpha, len(x)).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)  # keep the original sample dominant
    j = rng.permutation(len(x))
    lx = lam.reshape((-1,) + (1,) * (x.ndim - 1))
    return (lx * x + (1 - lx) * x[j]).astype(np.float32), (lam[:, None] * y + (1 - lam[:, None]) * y[j]).astype(np.float32)


def fit(data: LabelledFrames, split: Split, recipe: Recipe, progress: bool = True, model=None) -> TrainResult:
    """Train on ``split.train``, early-stop on ``split.val`` (lowest val loss, weights restored).

    A fresh augmentation of the training frames is drawn every epoch (seeded by ``recipe.seed``).
    ``recipe.patience == 0`` (or an empty val block) trains all ``recipe.epochs``. ``model``: start
    from this compiled model (used by QAT fine-tuning) instead of building one.
    """
    import time

    t0 = time.perf_counter()
    k = len(data.labels)
    rng = np.random.default_rng(recipe.seed)
    model = model if model is not None else build_model(recipe, k)
    xtr_degc, ytr = data.frames[split.train], data.y[split.train]
    has_val = len(split.val) > 0
    xva = normalize(data.frames[split.val], recipe.input)
    yva = keras.utils.to_categorical(data.y[split.val], k) if has_val else None
    ytr_1h = keras.utils.to_categorical(ytr, k)
    cw = class_weights(ytr, k) if recipe.class_weighting else None
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    best = (np.inf, 0, model.get_weights())
    bar = tqdm(range(recipe.epochs), desc=f"train {recipe.name}", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        xtr = normalize(augment_frames(xtr_degc, recipe.augment, rng), recipe.input)
        ytr_fit = ytr_1h
        if recipe.mixup_alpha:
            xtr, ytr_fit = mixup(xtr, ytr_1h, recipe.mixup_alpha, rng)
        h = model.fit(xtr, ytr_fit, batch_size=recipe.batch_size, epochs=1, verbose=0, shuffle=True,
                      class_weight=cw, validation_data=(xva, yva) if has_val else None)
        for key in history:
            history[key].append(float(h.history[key][0]) if key in h.history else float("nan"))
        vl = history["val_loss"][-1] if has_val else np.inf
        if vl < best[0] - 1e-4:
            best = (vl, epoch + 1, model.get_weights())
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", val_loss=f"{vl:.3f}",
                        val_acc=f"{history['val_accuracy'][-1]:.2f}")
        if has_val and recipe.patience and epoch + 1 - best[1] >= recipe.patience:
            break
    if has_val and recipe.patience:
        model.set_weights(best[2])
        best_epoch = best[1]
    else:
        best_epoch = len(history["loss"])
    return TrainResult(model, history, best_epoch, time.perf_counter() - t0)


