"""Classification metrics (scikit-learn) in the ``metrics.json`` schema."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                             precision_recall_fscore_support)


def classification_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """Metrics of predicted class indices against true ones.

    Returns ``{"n", "accuracy", "balanced_accuracy", "per_class": {label: {"precision", "recall",
    "f1", "support"}}, "confusion_matrix": [[...]] (rows = true, columns = predicted, label order)}``.
    Classes absent from ``y_true`` get support 0 and are left out of balanced accuracy
    (scikit-learn's definition: mean recall over the classes present).
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=idx, zero_division=0)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, lab in enumerate(labels)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=idx).tolist(),
    }
