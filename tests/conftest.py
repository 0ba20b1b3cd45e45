"""Shared fixtures, and the one rule for skipped tests.

Real MLX90640 recordings live in ``../shared/datasets`` beside the repo: tests that need them skip
when the folder is absent. Every skip (a missing recording, tool or extra: ``pytest.skip``,
``pytest.importorskip``, ``skipif``) goes through :func:`pytest_runtest_makereport` /
:func:`pytest_make_collect_report` below: under ``CI=true``, where ``.ci/run`` installs every
Debian tool (arm-none-eabi-gcc, qemu-system-arm, Xvfb, ...) and the ``dev`` extra, a skip FAILS
the run instead, unless the test is marked ``@pytest.mark.ci_may_skip`` (a skip that is right on
any machine). The project's own modules are imported plainly, never through importorskip: a
tinyheat module that does not import is a failure everywhere."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def under_ci() -> bool:
    """True when ``CI=true`` (GitHub Actions, GitLab and .ci/run set it): skips fail."""
    return os.environ.get("CI") == "true"


def _skip_reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_skip_under_ci(rep, may_skip: bool) -> None:
    if under_ci() and rep.skipped and not hasattr(rep, "wasxfail") and not may_skip:
        rep.outcome = "failed"
        rep.longrepr = (f"skipped under CI=true, where .ci/run installs every tool and extra: "
                        f"{_skip_reason(rep.longrepr)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped test (setup or call) fails under CI=true unless marked ``ci_may_skip``."""
    outcome = yield
    _fail_skip_under_ci(outcome.get_result(), item.get_closest_marker("ci_may_skip") is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped at import (module-level ``importorskip``/``skip``) fails under CI=true."""
    outcome = yield
    _fail_skip_under_ci(outcome.get_result(), False)


def pytest_configure(config):
    config.addinivalue_line("markers", "ci_may_skip: this test's skip is right on any machine, CI included")


def _require_shared() -> Path:
    if SHARED_DATASETS.is_dir():
        return SHARED_DATASETS
    pytest.skip(f"real datasets not found at {SHARED_DATASETS}")   # fails under CI=true (hooks above)


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
