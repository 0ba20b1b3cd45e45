"""Fixtures for the firmware's portable C core: build it with the host C compiler (make) and
run its binaries. The Python side of each contract is tinyheat.dataset.sample_format /
tinyheat.training.preprocess; the spec is datasets/FORMAT.md."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from tinyheat.paths import build_lock

REPO = Path(__file__).resolve().parents[2]
HOST_DIR = REPO / "firmware" / "test" / "host"
BUILD = HOST_DIR / "build"


@pytest.fixture(scope="session")
def core_build() -> Path:
    """Run ``make -C firmware/test/host`` (host cc, -Wall -Wextra -Werror) and return the build dir."""
    if shutil.which("make") is None or shutil.which("cc") is None:
        pytest.skip("make and a host C compiler (cc) are needed to build the firmware core")
    with build_lock(HOST_DIR / "build"):  # parallel test workers share this build folder
        r = subprocess.run(["make", "-C", str(HOST_DIR), "all"], capture_output=True, text=True)
    assert r.returncode == 0, f"host build of the firmware core failed:\n{r.stdout}\n{r.stderr}"
    return BUILD


class Vectors:
    """Runs ``th_vectors <cmd> ...`` with binary stdin/stdout (see firmware/test/host/th_vectors.c)."""

    def __init__(self, exe: Path):
        self.exe = exe

    def run(self, *args, data: bytes = b"") -> bytes:
        r = subprocess.run([str(self.exe), *map(str, args)], input=data, capture_output=True)
        assert r.returncode == 0, f"th_vectors {args} failed: {r.stderr.decode()}"
        return r.stdout

    def frames(self, cmd: str, frames: np.ndarray, *args, dtype) -> np.ndarray:
        frames = np.ascontiguousarray(frames, dtype=np.float32).reshape(-1, 768)
        out = self.run(cmd, *args, data=frames.tobytes())
        return np.frombuffer(out, dtype=dtype)


@pytest.fixture(scope="session")
def vectors(core_build) -> Vectors:
    return Vectors(core_build / "th_vectors")


def load_presence(path: Path) -> np.ndarray:
    """person.csv / empty.csv -> (n, 24, 32) float32 degC."""
    rows = [np.array(line.split(","), dtype=np.float32) for line in path.read_text().splitlines() if line.strip()]
    return np.stack(rows).reshape(-1, 24, 32)


def load_esp32(folder: Path) -> np.ndarray:
    """All 24-line text frames under cat/ empty/ human/ -> (n, 24, 32) float32 degC."""
    frames = []
    for p in sorted(folder.rglob("*.txt")):
        lines = [l for l in p.read_text().splitlines() if l.strip()]
        frames.append(np.array([[float(v) for v in l.strip().strip(",").split(",")] for l in lines], dtype=np.float32))
    return np.stack(frames)


@pytest.fixture(scope="session")
def real_frames(presence_csvs, esp32_samples) -> np.ndarray:
    """Every real MLX90640 frame in ../shared/datasets as (n, 24, 32) float32 (n = 449)."""
    parts = [load_presence(presence_csvs["person"]), load_presence(presence_csvs["empty"]), load_esp32(esp32_samples)]
    return np.concatenate(parts).astype(np.float32)
