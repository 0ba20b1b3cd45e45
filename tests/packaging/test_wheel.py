"""A non-editable install must carry every subpackage and the firmware sources that
``tinyheat sim-device`` builds (README: ``pip install .`` gives a working ``tinyheat``)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    pytest.importorskip("setuptools")
    out = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: setuptools builds in-tree and a stale build/ would hide a missing package.
    src = out / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "runs", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".hypothesis"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                        "-w", str(out), str(src)], capture_output=True, text=True, cwd=out)
    assert r.returncode == 0, r.stderr
    (whl,) = out.glob("tinyheat-*.whl")
    with zipfile.ZipFile(whl) as z:
        return set(z.namelist())


def test_wheel_holds_every_python_module_of_the_source_tree(wheel_names):
    sources = {f"tinyheat/{p.relative_to(REPO / 'tools' / 'tinyheat').as_posix()}"
               for p in (REPO / "tools" / "tinyheat").rglob("*.py") if "_firmware" not in p.parts}
    sources |= {f"tinyheat/training/{p.relative_to(REPO / 'training').as_posix()}" for p in (REPO / "training").rglob("*.py")}
    missing = sorted(sources - wheel_names)
    assert not missing, f"not in the wheel (add the subpackage to pyproject.toml's packages): {missing}"


def test_wheel_carries_the_firmware_the_simulated_device_builds(wheel_names):
    for part in ("host/Makefile", "lib/tinyheat_core/th_app.c", "lib/tinyheat_link/th_link.c",
                 "lib/tinyheat_model/tinyheat_model.tflite"):
        assert f"tinyheat/_firmware/{part}" in wheel_names, part
    assert not any("/build/" in n for n in wheel_names if n.startswith("tinyheat/_firmware/"))
