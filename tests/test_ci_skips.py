"""Under CI=true a skipped test fails (tests/conftest.py): a missing tool, extra or recording, or a
module of ours that does not import, can no longer pass CI as "skipped"."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = '''
import pytest

def test_tool_missing():
    pytest.skip("arm-none-eabi-gcc not installed")

@pytest.mark.ci_may_skip
def test_right_everywhere():
    pytest.skip("the [qat] extra is installed here")

def test_runs():
    assert True
'''
PROBE_MODULE = 'import pytest\nmod = pytest.importorskip("tinyheat_no_such_module")\n\ndef test_x():\n    pass\n'


def _run(tmp_path: Path, ci: bool) -> str:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "test_probe_module.py").write_text(PROBE_MODULE)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {}) | {
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}   # no third-party plugins: a fast inner run
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--continue-on-collection-errors", "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return r.stdout.strip().splitlines()[-1] + "\n" + r.stdout


def test_skips_fail_under_ci_but_marked_ones_and_stay_skips_elsewhere(tmp_path):
    out = _run(tmp_path, ci=True)
    first = out.splitlines()[0]
    assert "1 failed" in first and "1 error" in first and "1 skipped" in first and "1 passed" in first, out
    assert "skipped under CI=true" in out and "arm-none-eabi-gcc not installed" in out
    assert "tinyheat_no_such_module" in out                       # a module-level importorskip too
    first = _run(tmp_path, ci=False).splitlines()[0]
    assert "3 skipped" in first and "1 passed" in first and "failed" not in first and "error" not in first
