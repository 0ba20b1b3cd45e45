"""Fixtures of the serial-link tests: the shared vectors and C builds into a per-session folder
(so concurrent test runs do not race on firmware/build)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIRMWARE = REPO / "firmware"


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((HERE / "vectors.json").read_text())


def make(target_dir: Path, build: Path, *targets: str) -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no host C compiler")
    r = subprocess.run(["make", "-s", "-C", str(target_dir), f"BUILD={build}", *targets],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"make failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="session")
def c_link_build(tmp_path_factory) -> Path:
    """firmware/test/link built (ASan/UBSan) into a temporary folder."""
    build = tmp_path_factory.mktemp("c_link")
    make(FIRMWARE / "test" / "link", build)
    return build


@pytest.fixture(scope="session")
def sim_exe(tmp_path_factory) -> Path:
    """The simulated device (firmware/host) built into a temporary folder, once per test run."""
    build = tmp_path_factory.mktemp("sim")
    make(FIRMWARE / "host", build)
    return build / "tinyheat_sim"
