"""Per-dataset recipe selection by cross-validation, then a refit on every sample.

Search space (all candidates fit the device budget: <= 150 k MACs, model and arena <= 32 KB):

inputs (each with the augmentation that fits it; all computed by the firmware's ``th_classify``,
FORMAT.md section 5):

- ``window-fixed``: ``clamp((T - 23) / 10, 0, 1)``, the fixed 23-33 degC window of the previous
  default recipe; augmentation: mirror, +-2 px shifts, 0.2 K sensor noise, 1 K whole-frame ambient offset.
- ``window-data``: the same formula with a window from the *training* frames' pixel temperatures:
  ``lo`` = 1st percentile rounded down, ``hi`` = 99.5th percentile rounded up (0.5 degC steps,
  at least 4 K wide); computed inside each fold from that fold's training frames only.
  Augmentation as above with a 0.5 K ambient offset.
- ``relative-clipped`` (the default): ``clamp((T - median(T)) / 10 K, -0.5, 2.0)`` (issue 8); augmentation:
  mirror, +-2 px shifts, 0.15 K noise and **no** ambient offset (a uniform offset does not change a
  median-relative frame, it would only waste capacity).
- ``two-channel``: channel 0 the clipped relative input, channel 1 the ``window-data`` window of
  absolute temperature mapped onto the same -0.5..2.0 range (one int8 scale for both); augmentation
  as relative with a 0.5 K ambient offset, which moves only the absolute channel. Its first
  convolution reads two channels (+6 k MACs for cnn-p, +14 k for cnn-s).

The unclipped ``relative`` input (``(T - median) / 10 K``, the int8 range clamps it) is still a
valid ``input_spec`` kind but no longer searched: ``relative-clipped`` replaces it (README
"Two-channel and clipped relative input" has the comparison on the real sets).

architectures (conv + ReLU blocks, flatten, dropout 0.3, logits; training settings of the default
recipe: label smoothing 0.05, Adam 3e-3 with cosine decay, balanced class weights, no mixup):

- ``cnn-s``: conv 8 (3x3, stride 2) + pool, conv 16 + pool: about 70 k MACs;
- ``cnn-p`` (the default): conv 8 (4x4, stride 4, no pool), conv 16 + pool, conv 32: about 118 k
  MACs, 494 k instructions per inference on the device (README "Model");
- ``cnn-m`` (the previous default, not searched): conv 8 (3x3, stride 2) + pool, conv 16 + pool,
  conv 32: about 126 k MACs but 668 k instructions (its first conv has 4x the output pixels).

Protocol (:mod:`tinyheat.training.cv`): every candidate is trained on every fold with successive
halving (Jamieson & Talwalkar 2016, arXiv:1502.07943): all candidates to a third of the epochs,
the best third, any candidate within noise of the leader and the fallback on to the full count;
scores are taken at 1/3, 2/3 and all of the epochs and pooled over folds. The fallback (the
default's input and architecture, :func:`fallback_name`) and the best FORWARD_FINALISTS are then
trained on the forward-in-time folds (:func:`tinyheat.training.cv.forward_plan`) at their best
epoch count, and each one's selection score is the mean of its blocked and forward balanced
accuracy. The fallback wins unless a candidate's score is higher by more than
``max(CLEAR_MARGIN, standard error of the paired per-fold difference)`` and its forward score is not
lower by more than NOISE_FLOOR (:func:`choose_winner`). Without a fallback, the cheapest candidate
(fewest MACs) within noise of the best score wins. The winner's epoch count is its checkpoint
with the best pooled blocked score, and :func:`refit` trains the deployed model on every sample with it.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from .augment import augment_frames
from .cv import CVPlan, bootstrap_interval, pooled_balanced_accuracy
from .data import LabelledFrames
from .preprocess import InputSpec, normalize, softmax
from .recipes import Augment, Recipe, get_recipe

#: scores closer than this to the best are treated as ties (README: seed and fold noise on sets of
#: a few hundred frames is about +-0.02 balanced accuracy).
NOISE_FLOOR = 0.02
#: device budget the search space respects (issue 8; firmware/README.md has the full budget)
MAX_MACS = 150_000

INPUT_KINDS = ("window-fixed", "window-data", "relative-clipped", "two-channel")
#: every kind input_spec() knows; "relative" (unclipped) is kept for comparisons only (module docstring)
ALL_INPUT_KINDS = ("window-fixed", "window-data", "relative", "relative-clipped", "two-channel")
AUGMENT_FOR = {
    "window-fixed": Augment(hflip=0.5, shift_px=2, noise_K=0.2, ambient_K=1.0, gain=0.0),
    "window-data": Augment(hflip=0.5, shift_px=2, noise_K=0.2, ambient_K=0.5, gain=0.0),
    "relative": Augment(hflip=0.5, shift_px=2, noise_K=0.15, ambient_K=0.0, gain=0.0),
    "relative-clipped": Augment(hflip=0.5, shift_px=2, noise_K=0.15, ambient_K=0.0, gain=0.0),
    # the ambient offset moves only the absolute channel (a median-relative frame does not change)
    "two-channel": Augment(hflip=0.5, shift_px=2, noise_K=0.15, ambient_K=0.5, gain=0.0),
}
ARCHITECTURES = {
    "cnn-s": ((8, 3, 2, True), (16, 3, 1, True)),
    "cnn-m": ((8, 3, 2, True), (16, 3, 1, True), (32, 3, 1, False)),
    "cnn-p": ((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False)),
}
#: searched by default; cnn-m (the previous default) is kept as a named architecture for comparisons
SEARCHED_ARCHITECTURES = ("cnn-s", "cnn-p")
RELATIVE_SPAN_K = 10.0
#: the default recipe's place in the search space: the fallback candidate of :func:`select`
DEFAULT_INPUT, DEFAULT_ARCH = "relative-clipped", "cnn-p"


def fallback_name(data: LabelledFrames) -> str:
    """The candidate :func:`select` keeps unless another is clearly better: the default recipe's input and
    architecture, or on a tiny set (:func:`tinyheat.training.cv.is_tiny`) the same input with the simplest
    architecture (cnn-s)."""
    from .cv import is_tiny

    return f"{DEFAULT_INPUT}/{'cnn-s' if is_tiny(data) else DEFAULT_ARCH}"


def data_window(frames: np.ndarray) -> tuple[float, float]:
    """(lo, hi) degC: 1st / 99.5th percentile of the frames' pixels, rounded out to 0.5 degC, >= 4 K wide."""
    finite = np.asarray(frames, dtype=np.float32)
    finite = finite[np.isfinite(finite) & (finite > -40) & (finite < 300)]
    lo, hi = np.percentile(finite, [1.0, 99.5]) if finite.size else (20.0, 35.0)
    lo, hi = math.floor(lo * 2) / 2, math.ceil(hi * 2) / 2
    if hi - lo < 4.0:
        mid = (hi + lo) / 2
        lo, hi = mid - 2.0, mid + 2.0
    return float(lo), float(hi)


def input_spec(kind: str, train_frames: np.ndarray) -> InputSpec:
    """The InputSpec of input ``kind`` fitted on ``train_frames`` (n, 24, 32) degC."""
    if kind == "window-fixed":
        return InputSpec(mode="window", window_lo_degC=23.0, window_hi_degC=33.0)
    if kind == "window-data":
        lo, hi = data_window(train_frames)
        return InputSpec(mode="window", window_lo_degC=lo, window_hi_degC=hi)
    if kind == "relative":
        return InputSpec(mode="relative", relative_span_K=RELATIVE_SPAN_K)
    if kind == "relative-clipped":
        return InputSpec(mode="relative-clipped", relative_span_K=RELATIVE_SPAN_K)
    if kind == "two-channel":
        lo, hi = data_window(train_frames)
        return InputSpec(mode="two-channel", window_lo_degC=lo, window_hi_degC=hi, relative_span_K=RELATIVE_SPAN_K)
    raise ValueError(f"unknown input kind {kind!r}; choose from {ALL_INPUT_KINDS}")


@dataclass(frozen=True)
class Candidate:
    """One point of the search space: an input kind (``fixed`` = the recipe's own input) and a recipe."""

    name: str
    input_kind: str
    recipe: Recipe
    architecture: str = ""

    def recipe_for(self, train_frames: np.ndarray) -> Recipe:
        """The recipe fitted to these training frames: the input (unless ``fixed``) and the batch size.

        Small sets get smaller batches, ``max(8, min(batch_size, n // 4))``, so that every epoch has
        at least about 4 optimizer steps (40 frames at batch 32 would train 2 steps per epoch and a
        24-epoch budget would leave the model near its initialisation).
        """
        batch = max(8, min(self.recipe.batch_size, len(train_frames) // 4))
        if self.input_kind == "fixed":
            return replace(self.recipe, batch_size=batch)
        return replace(self.recipe, input=input_spec(self.input_kind, train_frames), batch_size=batch)


#: (input kind, architecture) pairs searched by ``tinyheat run`` / ``tune``: the default, its simplest
#: variant (the tiny-set fallback) and the absolute-temperature inputs with the default architecture.
#: The fixed 23-33 degC window (window-fixed) was chosen on a shared recording and is no longer
#: searched (issue 19: defaults must not be tuned to the shared sets); cnn-m is dominated by cnn-p.
SEARCH = (("relative-clipped", "cnn-p"), ("relative-clipped", "cnn-s"), ("window-data", "cnn-p"),
          ("two-channel", "cnn-p"))


def search_space(epochs: int = 30, inputs=None, architectures=None) -> list[Candidate]:
    """Candidates of the SEARCH pairs, or of every ``inputs`` x ``architectures`` pair when either is given."""
    base = get_recipe("default")
    if inputs is None and architectures is None:
        pairs = SEARCH
    else:
        pairs = [(k, a) for a in (architectures or SEARCHED_ARCHITECTURES) for k in (inputs or INPUT_KINDS)]
    out = []
    for kind, arch in pairs:
        # Keras 3 model names may not hold "/": the recipe (and model) is named kind-arch
        r = replace(base, name=f"{kind}-{arch}", conv=ARCHITECTURES[arch], augment=AUGMENT_FOR[kind],
                    input=input_spec(kind, np.full((1, 24, 32), 25.0, np.float32)), epochs=epochs, patience=0)
        out.append(Candidate(f"{kind}/{arch}", kind, r, arch))
    return out


def fixed_candidate(name: str, epochs: int | None = None) -> Candidate:
    """A named recipe (``default``, ``baseline``) as a candidate with its own fixed input."""
    r = get_recipe(name)
    r = replace(r, patience=0, **({"epochs": epochs} if epochs else {}))
    return Candidate(name, "fixed", r, name)


#: (architecture and optimizer settings, classes) -> (compiled model, initial weights, fresh optimizer state)
_ENGINES: dict = {}


def _engine(recipe: Recipe, num_classes: int):
    """One compiled Keras model per architecture, shared by the CV trainers of that architecture.

    Tracing a new model's training step costs about 1 s (measured here); with 6 candidates x 5 folds
    that was about a third of the selection time. Each Trainer swaps its own weights and Adam state
    in and out, so sharing changes nothing but the time (dropout masks come from the shared layer's
    seed stream instead of a fresh one).
    """
    from .model import build_model

    key = (recipe.input.channels, recipe.conv, recipe.dropout, recipe.dense, recipe.learning_rate,
           recipe.label_smoothing, recipe.seed, num_classes)
    if key not in _ENGINES:
        if len(_ENGINES) > 8:
            _ENGINES.clear()
        model = build_model(recipe, num_classes)
        model.optimizer.build(model.trainable_variables)
        _ENGINES[key] = (model, model.get_weights(), [v.numpy() for v in model.optimizer.variables])
    return _ENGINES[key]


def learning_rate_at(recipe: Recipe, epoch: int) -> float:
    """Learning rate of 0-based ``epoch`` under ``recipe.lr_schedule`` (cosine decay over ``recipe.epochs``)."""
    if recipe.lr_schedule != "cosine":
        return float(recipe.learning_rate)
    return float(recipe.learning_rate * 0.5 * (1 + math.cos(math.pi * min(epoch, recipe.epochs) / max(1, recipe.epochs))))


class Trainer:
    """Trains one model epoch by epoch (so successive halving can continue it later).

    Each epoch draws a fresh augmentation of the degC frames, normalizes, applies mixup, and runs one
    pass of Adam with class weights (as :func:`tinyheat.training.train.fit`, without a val block).
    shared: train on the architecture's shared engine model (:func:`_engine`, for the many CV
    fold models) instead of a model of its own (the deployed refit).
    """

    def __init__(self, frames: np.ndarray, y: np.ndarray, num_classes: int, recipe: Recipe, shared: bool = False):
        from .model import build_model, keras
        from .train import class_weights

        self.recipe, self.frames, self.k = recipe, frames, num_classes
        self.y1h = keras.utils.to_categorical(y, num_classes)
        self.cw = class_weights(y, num_classes) if recipe.class_weighting else None
        self.rng = np.random.default_rng(recipe.seed)
        if shared:
            self._model, w, opt = _engine(recipe, num_classes)
            self._state = ([a.copy() for a in w], [a.copy() for a in opt])
        else:
            self._model, self._state = build_model(recipe, num_classes), None
        self.epochs = 0
        self.seconds = 0.0
        self.loss: list[float] = []

    def _load(self) -> None:
        if self._state is not None:
            self._model.set_weights(self._state[0])
            for v, a in zip(self._model.optimizer.variables, self._state[1]):
                v.assign(a)

    def _save(self) -> None:
        if self._state is not None:
            self._state = (self._model.get_weights(), [v.numpy() for v in self._model.optimizer.variables])

    @property
    def model(self):
        """The Keras model holding this trainer's weights (a shared engine is loaded first)."""
        self._load()
        return self._model

    def get_weights(self) -> list:
        return [a.copy() for a in self._state[0]] if self._state is not None else self._model.get_weights()

    def train_to(self, epochs: int) -> None:
        from .train import mixup

        t0 = time.perf_counter()
        if self.epochs < epochs:
            self._load()
        while self.epochs < epochs:
            # every epoch, every trainer: a shared engine may come from a trainer with another schedule
            self._model.optimizer.learning_rate.assign(learning_rate_at(self.recipe, self.epochs))
            x = normalize(augment_frames(self.frames, self.recipe.augment, self.rng), self.recipe.input)
            y = self.y1h
            if self.recipe.mixup_alpha:
                x, y = mixup(x, y, self.recipe.mixup_alpha, self.rng)
            h = self._model.fit(x, y, batch_size=self.recipe.batch_size, epochs=1, verbose=0, shuffle=True,
                                class_weight=self.cw)
            self.loss.append(float(h.history["loss"][0]))
            self.epochs += 1
        self._save()
        self.seconds += time.perf_counter() - t0

    def predict(self, frames: np.ndarray) -> np.ndarray:
        """Probabilities (n, k) of degC frames (n, 24, 32)."""
        if len(frames) == 0:
            return np.zeros((0, self.k), np.float32)
        model = self.model
        # a direct call, not predict(): predict() retraces a tf.function for every new model
        x = normalize(frames, self.recipe.input)
        return softmax(np.concatenate([np.asarray(model(x[i:i + 512], training=False))
                                       for i in range(0, len(x), 512)]))


@dataclass
class CandidateScore:
    candidate: Candidate
    macs: int = 0
    parameters: int = 0
    seconds: float = 0.0
    #: epoch checkpoint -> per-fold predicted class indices
    predictions: dict = field(default_factory=dict)
    #: epoch checkpoint -> per-fold model weights (to quantize the folds of the winner)
    weights: dict = field(default_factory=dict)
    recipes: list = field(default_factory=list)  # per fold, the input-resolved recipe
    stopped_at: int = 0  # epochs trained (successive halving may stop a candidate early)
    #: forward-in-time folds: per-fold predicted class indices at the blocked best epoch (None: not run)
    forward_predictions: list | None = None

    def pooled(self, y_folds, epoch: int) -> float:
        return pooled_balanced_accuracy(np.concatenate(y_folds), np.concatenate(self.predictions[epoch]))

    def best_epoch(self, y_folds) -> int:
        eps = sorted(self.predictions)
        scores = [self.pooled(y_folds, e) for e in eps]
        return eps[int(np.argmax(scores))]  # first maximum = fewest epochs

    def fold_scores(self, y_folds, epoch: int) -> np.ndarray:
        return np.array([pooled_balanced_accuracy(t, p) for t, p in zip(y_folds, self.predictions[epoch])])

    def forward(self, y_forward) -> float:
        """Pooled balanced accuracy on the forward-in-time folds (nan if they were not run)."""
        if self.forward_predictions is None or y_forward is None:
            return float("nan")
        return pooled_balanced_accuracy(np.concatenate(y_forward), np.concatenate(self.forward_predictions))

    def score(self, y_folds, y_forward) -> float:
        """Selection score: mean of the blocked-CV and forward-in-time balanced accuracy (blocked alone
        when the forward folds were not run)."""
        b = self.pooled(y_folds, self.best_epoch(y_folds))
        f = self.forward(y_forward) if y_forward is not None else float("nan")
        return b if not np.isfinite(f) else (b + f) / 2


@dataclass
class Selection:
    """Result of :func:`select`: the table, the winner, its CV estimate and the protocol."""

    plan: CVPlan
    scores: list[CandidateScore]
    winner: CandidateScore
    epochs: int
    y_folds: list[np.ndarray]
    table: list[dict]
    seconds: float
    forward_plan: CVPlan | None = None
    y_forward: list | None = None
    #: why the winner won: "fallback" (the default, nothing clearly better), "clearly better", "cheapest within noise"
    rule: str = ""


def _checkpoints(epochs: int) -> list[int]:
    return sorted({max(1, epochs // 3), max(1, 2 * epochs // 3), epochs})


def _score_until(data: LabelledFrames, plan: CVPlan, cs: CandidateScore, trainers: list, epochs: int,
                 checkpoints: list[int]) -> None:
    for k, split in enumerate(plan.splits):
        if trainers[k] is None:
            recipe = cs.candidate.recipe_for(data.frames[split.train])
            cs.recipes.append(recipe)
            trainers[k] = Trainer(data.frames[split.train], data.y[split.train], len(data.labels), recipe, shared=True)
        tr = trainers[k]
        for e in [c for c in checkpoints if tr.epochs < c <= epochs]:
            tr.train_to(e)
            cs.predictions.setdefault(e, [None] * len(plan.splits))[k] = tr.predict(data.frames[split.test]).argmax(1)
            cs.weights.setdefault(e, [None] * len(plan.splits))[k] = tr.get_weights()
    cs.seconds = sum(t.seconds for t in trainers)
    cs.stopped_at = epochs


def _cost(cs: CandidateScore, trainer) -> None:
    from .model import layer_macs

    cs.macs = int(sum(r["macs"] for r in layer_macs(trainer.model)))
    cs.parameters = int(trainer.model.count_params())


def within_noise(best: CandidateScore, other: CandidateScore, y_folds, eb: int, eo: int) -> bool:
    """True if ``other`` (at epoch eo) is within noise of ``best`` (at eb): see module docstring."""
    gap = best.pooled(y_folds, eb) - other.pooled(y_folds, eo)
    diff = best.fold_scores(y_folds, eb) - other.fold_scores(y_folds, eo)
    diff = diff[np.isfinite(diff)]
    se = float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    return gap <= max(NOISE_FLOOR, se)


#: a candidate replaces the fallback (the default recipe's candidate) only if its selection score is
#: higher by more than this, or by more than the standard error of its paired per-fold difference
#: (blocked and forward folds) if that is larger, and it holds up forward (its forward score is not
#: lower than the fallback's by more than NOISE_FLOOR). Issue 19: inner folds of 2-3 blocks of ~40
#: frames often rank a worse recipe first; a sensible default loses less.
CLEAR_MARGIN = 0.03
#: candidates scored on the forward folds: the fallback and the best few by blocked CV
FORWARD_FINALISTS = 2


def _forward_score(data: LabelledFrames, fplan: CVPlan, cs: CandidateScore, epoch: int) -> None:
    preds = []
    for split in fplan.splits:
        recipe = cs.candidate.recipe_for(data.frames[split.train])
        tr = Trainer(data.frames[split.train], data.y[split.train], len(data.labels), recipe, shared=True)
        tr.train_to(epoch)
        preds.append(tr.predict(data.frames[split.test]).argmax(1))
        cs.seconds += tr.seconds
    cs.forward_predictions = preds


def _paired_se(a: CandidateScore, b: CandidateScore, y_folds, y_forward) -> float:
    diff = list(a.fold_scores(y_folds, a.best_epoch(y_folds)) - b.fold_scores(y_folds, b.best_epoch(y_folds)))
    if a.forward_predictions is not None and b.forward_predictions is not None:
        diff += [pooled_balanced_accuracy(t, p) - pooled_balanced_accuracy(t, q)
                 for t, p, q in zip(y_forward, a.forward_predictions, b.forward_predictions)]
    d = np.array(diff, float)
    d = d[np.isfinite(d)]
    return float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def choose_winner(pool: list[CandidateScore], fallback: CandidateScore | None, y_folds, y_forward=None):
    """The selection rule (module docstring, CLEAR_MARGIN): returns (winner, candidates within noise of
    the best score, rule in words). ``pool``: scored candidates (with forward predictions if
    ``y_forward`` is given); ``fallback``: the default's candidate or None."""
    score = lambda s: s.score(y_folds, y_forward)  # noqa: E731
    best = max(pool, key=score)
    close = [s for s in pool if score(best) - score(s) <= max(NOISE_FLOOR, _paired_se(best, s, y_folds, y_forward))]
    if fallback is None:
        return min(close, key=lambda s: (s.macs, -score(s))), close, "cheapest within noise of the best"
    better = [s for s in pool if s is not fallback
              and score(s) - score(fallback) > max(CLEAR_MARGIN, _paired_se(s, fallback, y_folds, y_forward))
              and not (s.forward(y_forward) < fallback.forward(y_forward) - NOISE_FLOOR)]
    if better:
        return max(better, key=score), close, "clearly better than the default"
    return fallback, close, "default (no candidate clearly better)"


def select(data: LabelledFrames, plan: CVPlan, candidates: list[Candidate], epochs: int = 30,
           halving: bool = True, echo=None, forward: CVPlan | None = None, fallback: str | None = None) -> Selection:
    """Score ``candidates`` on ``plan``'s folds (and the finalists on ``forward``'s) and pick the winner.

    forward: forward-in-time folds (:func:`tinyheat.training.cv.forward_plan`); the fallback and the
    FORWARD_FINALISTS best candidates by blocked CV are trained on them at their blocked best epoch,
    and the selection score becomes the mean of blocked and forward balanced accuracy.
    fallback: name of the candidate to keep unless another is clearly better (CLEAR_MARGIN); without
    it (or if it is not among ``candidates``), the cheapest candidate within noise of the best score wins.
    echo: optional callable(str) for progress lines. Returns a Selection with the table rows
    ``{"candidate", "input", "architecture", "balanced_accuracy", "fold_std", "interval_90", "forward",
    "forward_interval_90", "score", "epochs", "macs", "parameters", "seconds", "selected", "within_noise"}``.
    """
    t0 = time.perf_counter()
    y_folds = [data.y[s.test] for s in plan.splits]
    y_fw = [data.y[s.test] for s in forward.splits] if forward is not None else None
    checkpoints = _checkpoints(epochs)
    scores = [CandidateScore(c) for c in candidates]
    trainers = {id(cs): [None] * len(plan.splits) for cs in scores}
    half = checkpoints[0] if halving and len(candidates) > 2 and len(checkpoints) > 1 else epochs
    blocked = lambda s: s.pooled(y_folds, s.best_epoch(y_folds))  # noqa: E731

    def iv(folds_true, folds_pred) -> str:  # every CV figure is printed with its 90 % interval
        lo, hi = bootstrap_interval(folds_true, folds_pred)
        return f"[{lo:.2f}, {hi:.2f}]"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balanced accuracy of a fold that lacks a class
        for cs in scores:
            _score_until(data, plan, cs, trainers[id(cs)], half, checkpoints)
            _cost(cs, trainers[id(cs)][0])
            if echo:
                echo(f"  {cs.candidate.name:<22} {half:>3} epochs: {blocked(cs):.3f} "
                     f"{iv(y_folds, cs.predictions[cs.best_epoch(y_folds)])}  ({cs.seconds:.0f} s)")
        if half < epochs:
            ranked = sorted(scores, key=lambda s: -blocked(s))
            lead, el = ranked[0], ranked[0].best_epoch(y_folds)
            go_on = [s for i, s in enumerate(ranked) if i < math.ceil(len(ranked) / 3)
                     or within_noise(lead, s, y_folds, el, s.best_epoch(y_folds))
                     or s.candidate.name == fallback]
            for cs in go_on:
                _score_until(data, plan, cs, trainers[id(cs)], epochs, checkpoints)
                if echo:
                    echo(f"  {cs.candidate.name:<22} {epochs:>3} epochs: {blocked(cs):.3f} "
                         f"{iv(y_folds, cs.predictions[cs.best_epoch(y_folds)])}  ({cs.seconds:.0f} s)")
        fb = next((s for s in scores if s.candidate.name == fallback), None)
        if forward is not None:
            ranked = sorted(scores, key=lambda s: -blocked(s))
            finalists = ranked[:FORWARD_FINALISTS] + ([fb] if fb is not None and fb not in ranked[:FORWARD_FINALISTS] else [])
            for cs in finalists:
                _forward_score(data, forward, cs, cs.best_epoch(y_folds))
                if echo:
                    echo(f"  {cs.candidate.name:<22} forward-in-time: {cs.forward(y_fw):.3f} "
                         f"{iv(y_fw, cs.forward_predictions)}")
        score = lambda s: s.score(y_folds, y_fw)  # noqa: E731
        pool = [s for s in scores if forward is None or s.forward_predictions is not None]
        winner, close, rule = choose_winner(pool, fb, y_folds, y_fw)
        table = []
        for s in scores:
            e = s.best_epoch(y_folds)
            fs = s.fold_scores(y_folds, e)
            lo, hi = bootstrap_interval(y_folds, s.predictions[e])
            row = {"candidate": s.candidate.name, "input": s.candidate.input_kind,
                   "architecture": s.candidate.architecture,
                   "balanced_accuracy": round(s.pooled(y_folds, e), 4),
                   "fold_std": round(float(np.nanstd(fs)), 4),
                   "interval_90": [round(lo, 4), round(hi, 4)], "forward": None, "forward_interval_90": None,
                   "score": round(score(s), 4), "epochs": e, "trained_epochs": s.stopped_at,
                   "macs": s.macs, "parameters": s.parameters, "seconds": round(s.seconds, 1),
                   "within_noise": s in close, "selected": s is winner, "fallback": s is fb}
            if s.forward_predictions is not None:
                flo, fhi = bootstrap_interval(y_fw, s.forward_predictions)
                row.update({"forward": round(s.forward(y_fw), 4), "forward_interval_90": [round(flo, 4), round(fhi, 4)]})
            table.append(row)
    return Selection(plan, scores, winner, winner.best_epoch(y_folds), y_folds, table, time.perf_counter() - t0,
                     forward, y_fw, rule)


def cv_report(data: LabelledFrames, sel: Selection) -> dict:
    """The winner's cross-validated estimate: pooled metrics, interval, per-fold breakdown (no training samples)."""
    from .metrics import classification_metrics

    w, e = sel.winner, sel.epochs
    y = np.concatenate(sel.y_folds)
    p = np.concatenate(w.predictions[e])
    m = classification_metrics(y, p, data.labels)
    lo, hi = bootstrap_interval(sel.y_folds, w.predictions[e])
    folds = []
    for name, split, yt, yp in zip(sel.plan.fold_names, sel.plan.splits, sel.y_folds, w.predictions[e]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            folds.append({"fold": name, "n": int(len(yt)), "balanced_accuracy": round(pooled_balanced_accuracy(yt, yp), 4),
                          "accuracy": round(float(np.mean(yt == yp)), 4) if len(yt) else None,
                          "classes": sorted({data.labels[i] for i in np.unique(yt)})})
    m.update({"estimate": "cross-validated: every sample predicted once by a model that did not train on it",
              "interval_90": [round(lo, 4), round(hi, 4)], "interval": "bootstrap over folds (percentile, 1000 draws)",
              "folds": folds, "selection_rule": sel.rule})
    if sel.forward_plan is not None and w.forward_predictions is not None:
        yf = np.concatenate(sel.y_forward)
        fm = classification_metrics(yf, np.concatenate(w.forward_predictions), data.labels)
        flo, fhi = bootstrap_interval(sel.y_forward, w.forward_predictions)
        m["forward"] = {"estimate": "forward-in-time: trained on the earlier samples of each class (capture "
                                    "order), tested on the later ones, at several cut points",
                        "protocol": sel.forward_plan.describe(), "balanced_accuracy": fm["balanced_accuracy"],
                        "interval_90": [round(flo, 4), round(fhi, 4)], "n": fm["n"],
                        "per_class_recall": {k: round(v["recall"], 4) for k, v in fm["per_class"].items()},
                        "folds": [round(pooled_balanced_accuracy(t, p), 4)
                                  for t, p in zip(sel.y_forward, w.forward_predictions)]}
        m["forward"]["note"] = forward_note(m, m["forward"], data)
    return m


#: forward-in-time below blocked CV by more than this is "clearly lower" (2.5x the noise floor)
FORWARD_GAP = 0.05


def forward_note(blocked: dict, forward: dict, data: LabelledFrames) -> str | None:
    """One line when the forward-in-time estimate is clearly below the blocked one, with the likely
    cause and what to record next; None otherwise.

    blocked: classification_metrics (with ``per_class``); forward: ``{"balanced_accuracy",
    "per_class_recall"}``. Cause: the class whose recall drops most forward, if its drop is at least
    0.15 and twice the others' mean drop ("a class that changes later"); else drift of the whole scene.
    """
    b, f = blocked["balanced_accuracy"], forward["balanced_accuracy"]
    if not (np.isfinite(b) and np.isfinite(f)) or b - f <= FORWARD_GAP:
        return None
    drops = {lab: blocked["per_class"][lab]["recall"] - forward["per_class_recall"].get(lab, np.nan)
             for lab in blocked["per_class"]}
    drops = {k: v for k, v in drops.items() if np.isfinite(v)}
    one_session = len(np.unique(data.session)) == 1
    where = "within one session" if one_session else "across the recording"
    lab = max(drops, key=drops.get) if drops else None
    others = [v for k, v in drops.items() if k != lab]
    if lab is not None and drops[lab] >= 0.15 and drops[lab] >= 2 * max(0.0, float(np.mean(others)) if others else 0.0):
        r_b, r_f = blocked["per_class"][lab]["recall"], forward["per_class_recall"][lab]
        cause = f"{lab} changes later {where} (recall {r_b:.2f} -> {r_f:.2f})"
        todo = (f"record {lab} again in another session (another day, other positions)" if one_session
                else f"record more {lab} in new sessions")
    else:
        cause = f"the scene drifts over time {where}"
        todo = ("record every class again in another session (another day)" if one_session
                else "record every class in more sessions, spread over days")
    return f"forward-in-time {f:.2f} is clearly below the cross-validated {b:.2f}: likely {cause}; next: {todo}"


def format_table(sel: Selection) -> str:
    """The selection table; ``bytes`` is the int8 model's size when measured (else the parameter count)."""
    lines = [f"{'candidate':<24}{'CV':>8} {'+-':>6} {'90% interval':>14}{'forward':>8}{'score':>7}"
             f"{'epochs':>7}{'MACs':>9}{'bytes':>7}{'sec':>6}"]
    for r in sorted(sel.table, key=lambda r: -r["score"]):
        mark = " <- selected" if r["selected"] else (" (default)" if r.get("fallback") else
                                                     (" (within noise)" if r["within_noise"] else ""))
        iv = r["interval_90"]
        fw = f"{r['forward']:>8.3f}" if r.get("forward") is not None else f"{'-':>8}"
        lines.append(f"{r['candidate']:<24}{r['balanced_accuracy']:>8.3f} {r['fold_std']:>6.3f} "
                     f"{'[' + format(iv[0], '.2f') + ', ' + format(iv[1], '.2f') + ']':>14}{fw}{r['score']:>7.3f}"
                     f"{r['epochs']:>7}{r['macs']:>9}{r.get('tflite_bytes') or r['parameters']:>7}"
                     f"{r['seconds']:>6.0f}{mark}")
    if sel.rule:
        lines.append(f"selection: {sel.rule} (score = mean of CV and forward balanced accuracy where both ran)")
    return "\n".join(lines)


def refit(data: LabelledFrames, candidate: Candidate, epochs: int):
    """Train ``candidate`` on every sample of ``data`` for ``epochs`` (fixed by CV); returns the Trainer.

    The input window (``window-data``) is computed from all frames, as the deployed model sees them.
    """
    recipe = replace(candidate.recipe_for(data.frames), epochs=epochs)
    tr = Trainer(data.frames, data.y, len(data.labels), recipe)
    tr.train_to(epochs)
    return tr
