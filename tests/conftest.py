"""Shared fixtures. Real MLX90640 recordings live in ``../shared/datasets`` beside the repo:
tests that need them skip when the folder is absent, and fail under ``CI=true``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def _require_shared() -> Path:
    if SHARED_DATASETS.is_dir():
        return SHARED_DATASETS
    msg = f"real datasets not found at {SHARED_DATASETS}"
    if os.environ.get("CI") == "true":
        pytest.fail(msg + " (required under CI=true)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` (skips, or fails under CI=true, when absent)."""
    return _require_shared()


@pytest.fixture(scope="session")
def presence_csvs(shared_datasets) -> dict[str, Path]:
    """{"person": .../person.csv, "empty": .../empty.csv} of the mlx90640-presence recording."""
    d = shared_datasets / "mlx90640-presence"
    return {"person": d / "person.csv", "empty": d / "empty.csv"}


@pytest.fixture(scope="session")
def esp32_samples(shared_datasets) -> Path:
    """Folder with cat/, empty/, human/ of 24-line x 32-value text frames."""
    return shared_datasets / "mlx90640-esp32-samples"
