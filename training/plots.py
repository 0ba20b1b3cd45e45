"""PNG plots of a run: confusion matrices and training curves (matplotlib, headless Agg backend)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402


def plot_confusion(matrices: dict[str, list[list[int]]], labels: list[str], path: str | Path) -> Path:
    """One panel per matrix (e.g. {"float": cm, "int8": cm}); rows = true label, columns = predicted."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 3.8), squeeze=False)
    for ax, (title, cm) in zip(axes[0], matrices.items()):
        ConfusionMatrixDisplay(np.asarray(cm), display_labels=labels).plot(ax=ax, colorbar=False, cmap="Blues")
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


