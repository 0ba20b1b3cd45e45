"""Cross-validation protocol that adapts to the dataset: leave-one-session-out or blocked k-fold.

Neighbouring thermal frames are near-duplicates, so folds are never random:

- **leave-one-session-out** when the dataset has at least 3 sessions and every class was captured
  in at least 2 of them (then each fold tests a session the model has never seen, the situation
  of a new day on the device);
- otherwise **leave-one-block-out over contiguous capture-order blocks** of each class, with
  ``folds = min(5, smallest class)`` and a gap of ``min(3, block // 3)`` frames dropped from
  training on both sides of the test block (0 for 5-per-class sets: there is nothing to spare).

No fold has a val block: the epoch count is chosen by the folds themselves (scores at a few
checkpoints, pooled over folds) and the deployed model is refit on every sample with it.

The estimate is the balanced accuracy of the predictions pooled over folds (every sample is
predicted exactly once, by a model that never trained on it or its gap neighbours), with a
bootstrap interval over folds (folds resampled with replacement, 1000 draws; Efron & Tibshirani
1993, percentile interval).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from .data import LabelledFrames, Split

#: fewest samples per class that ``tinyheat run`` trains on (FORMAT.md has no lower bound; below 5,
#: a 5-block CV has empty blocks and the estimate is meaningless).
MIN_PER_CLASS = 5
MAX_FOLDS = 5
#: a set with at most this many samples in some class, all from one session, is "tiny" (issue 19):
#: its CV estimate is unreliable and selection keeps the simplest model
TINY_PER_CLASS = 30
BOOTSTRAP_DRAWS = 1000


class DatasetTooSmall(ValueError):
    """The dataset cannot be cross-validated (one class, empty, or a class under MIN_PER_CLASS)."""


@dataclass
class CVPlan:
    """The folds of one dataset: ``splits[k].test`` is fold k's test set; ``val`` is always empty."""

    kind: str  # "leave-one-session-out" or "leave-one-block-out (capture order)"
    splits: list[Split]
    fold_names: list[str]  # session id or "block k"
    gap: int
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        return {"kind": self.kind, "folds": len(self.splits), "gap_frames": self.gap,
                "fold_names": self.fold_names, "test_sizes": [int(len(s.test)) for s in self.splits],
                "notes": self.notes}


def validate_dataset(data: LabelledFrames, min_per_class: int = MIN_PER_CLASS) -> None:
    """Raise DatasetTooSmall with a one-line reason if ``data`` cannot be trained and cross-validated."""
    if len(data) == 0:
        raise DatasetTooSmall("the dataset holds no samples")
    counts = data.counts()
    present = {k: v for k, v in counts.items() if v > 0}
    if len(present) < 2:
        raise DatasetTooSmall(f"the dataset has one class only ({', '.join(present) or 'none'}): a classifier "
                              f"needs at least two labels (e.g. add an 'empty' scene)")
    small = {k: v for k, v in present.items() if v < min_per_class}
    if small:
        raise DatasetTooSmall("too few samples: " + ", ".join(f"{k} has {v}" for k, v in small.items())
                              + f" (need at least {min_per_class} per class)")


def _session_plan(data: LabelledFrames) -> CVPlan | None:
    sessions = np.unique(data.session)
    if len(sessions) < 3:
        return None
    for c in range(len(data.labels)):
        if len(np.unique(data.session[data.y == c])) < 2:
            return None
    splits, names = [], []
    for s in sessions:
        test = np.nonzero(data.session == s)[0]
        train = np.nonzero(data.session != s)[0]
        # every class must remain in training; a session holding the only other copy would break it
        if len(np.unique(data.y[train])) < len(data.labels):
            return None
        splits.append(Split(train, np.zeros(0, int), test, {"kind": "leave-one-session-out", "session": str(s)}))
        names.append(str(s))
    return CVPlan("leave-one-session-out", splits, names, 0)


def _block_plan(data: LabelledFrames, max_folds: int) -> CVPlan:
    n_min = min(v for v in data.counts().values() if v > 0)
    folds = max(2, min(max_folds, n_min))
    gap = int(min(3, (n_min // folds) // 3))
    per_fold_train = [[] for _ in range(folds)]
    per_fold_test = [[] for _ in range(folds)]
    for c in range(len(data.labels)):
        idx = np.nonzero(data.y == c)[0]  # capture order within the class
        n = len(idx)
        edges = np.round(np.linspace(0, n, folds + 1)).astype(int)
        for k in range(folds):
            t0, t1 = edges[k], edges[k + 1]
            per_fold_test[k].append(idx[t0:t1])
            keep = np.r_[np.arange(0, max(0, t0 - gap)), np.arange(min(n, t1 + gap), n)].astype(int)
            per_fold_train[k].append(idx[keep])
    splits = [Split(np.concatenate(per_fold_train[k]), np.zeros(0, int), np.concatenate(per_fold_test[k]),
                    {"kind": "leave-one-block-out", "fold": k, "gap_frames": gap}) for k in range(folds)]
    return CVPlan("leave-one-block-out (capture order)", splits, [f"block {k}" for k in range(folds)], gap)


def is_tiny(data: LabelledFrames) -> bool:
    """True for a set of one session whose smallest class has at most TINY_PER_CLASS samples."""
    counts = [v for v in data.counts().values() if v > 0]
    return bool(counts) and min(counts) <= TINY_PER_CLASS and len(np.unique(data.session)) <= 1


def plan_cv(data: LabelledFrames, max_folds: int = MAX_FOLDS) -> CVPlan:
    """Choose and build the folds for ``data`` (module docstring). Raises DatasetTooSmall."""
    validate_dataset(data)
    plan = _session_plan(data)
    if plan is None:
        plan = _block_plan(data, max_folds)
        if len(np.unique(data.session)) > 1:
            plan.notes.append("sessions not used as folds: some class was captured in fewer than 2 sessions")
    if is_tiny(data):
        n_min = min(v for v in data.counts().values() if v > 0)
        plan.notes.append(f"tiny set ({n_min} samples in the smallest class, one session): the CV estimate is "
                          f"unreliable (read its interval, not the figure); the simplest model is kept unless "
                          f"another is clearly better; record more, in another session")
    if len(plan.splits) < 5:
        plan.notes.append(f"only {len(plan.splits)} folds: the estimate is uncertain (see the interval)")
    return plan


#: forward-in-time cut points, as fractions of each class's samples in capture order: fold k trains on
#: everything before cut k (minus the gap) and tests on the samples from cut k to cut k+1 (the last to
#: the end), so every test sample is later than every training sample of its class.
FORWARD_CUTS = (0.5, 0.65, 0.8)


def forward_plan(data: LabelledFrames, cuts=FORWARD_CUTS) -> CVPlan:
    """Forward-in-time folds ("train on the past, test on the future"; rolling-origin evaluation,
    Tashman 2000, Int. J. Forecasting 16:437) per class by capture order (sessions in capture order too).

    Gap as :func:`plan_cv`'s block plan. A class with fewer than ``len(cuts) + 1`` samples per part
    still gets at least one training and one test sample per fold. Raises DatasetTooSmall.
    """
    validate_dataset(data)
    n_min = min(v for v in data.counts().values() if v > 0)
    gap = int(min(3, (n_min // MAX_FOLDS) // 3))
    tr = [[] for _ in cuts]
    te = [[] for _ in cuts]
    for c in range(len(data.labels)):
        idx = np.nonzero(data.y == c)[0]
        n = len(idx)
        edges = [min(n - 1, max(1, int(round(f * n)))) for f in cuts] + [n]
        for k in range(len(cuts)):
            a, b = edges[k], max(edges[k] + 1, edges[k + 1])
            te[k].append(idx[a:b])
            tr[k].append(idx[:max(1, a - gap)])
    splits = [Split(np.concatenate(tr[k]), np.zeros(0, int), np.concatenate(te[k]),
                    {"kind": "forward-in-time", "cut": cuts[k], "gap_frames": gap}) for k in range(len(cuts))]
    names = [f"train <{int(100 * f)}% -> test {int(100 * f)}-{int(100 * (cuts[k + 1] if k + 1 < len(cuts) else 1))}%"
             for k, f in enumerate(cuts)]
    return CVPlan("forward-in-time (per class, capture order)", splits, names, gap)


def pooled_balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else float("nan")


def bootstrap_interval(fold_true: list[np.ndarray], fold_pred: list[np.ndarray], draws: int = BOOTSTRAP_DRAWS,
                       seed: int = 0, level: float = 0.90) -> tuple[float, float]:
    """Percentile interval of pooled balanced accuracy when whole folds are resampled with replacement.

    fold_true/fold_pred: per fold, true and predicted class indices. Returns (lo, hi); with one fold
    the interval is (nan, nan).
    """
    k = len(fold_true)
    if k < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    # per fold and class: true samples and correct predictions; a draw's pooled balanced accuracy is
    # the mean recall over the classes present in its true labels (as balanced_accuracy_score, which
    # drops classes that are only predicted), computed from summed counts instead of 1000 sklearn calls
    n_cls = 1 + max([int(np.max(a)) for a in list(fold_true) + list(fold_pred) if len(a)] or [0])
    true_n = np.stack([np.bincount(np.asarray(t, int), minlength=n_cls) for t in fold_true])
    correct = np.stack([np.bincount(np.asarray(t, int)[np.asarray(t) == np.asarray(p)], minlength=n_cls)
                        for t, p in zip(fold_true, fold_pred)])
    picks = np.stack([rng.integers(0, k, k) for _ in range(draws)])
    tn, cn = true_n[picks].sum(axis=1), correct[picks].sum(axis=1)
    stats = []
    for t, c in zip(tn, cn):
        present = t > 0
        stats.append(float(np.mean(c[present] / t[present])) if present.any() else float("nan"))
    a = (1 - level) / 2
    return float(np.quantile(stats, a)), float(np.quantile(stats, 1 - a))
