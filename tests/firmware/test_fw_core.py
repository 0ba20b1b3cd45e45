"""The portable C core's own unit tests (labels.txt, naming/no-overwrite on a temp-dir card,
captures.csv, session ids, state machine key sequences, post-processing, rendering), and the
Cortex-M4F cross-compile size report."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pathlib import Path

HOST_DIR = Path(__file__).resolve().parents[2] / "firmware" / "test" / "host"


def test_core_unit_tests(core_build, tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    r = subprocess.run([str(core_build / "th_unit_tests"), str(card)], capture_output=True, text=True, timeout=60)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"(\d+) checks, 0 failures", r.stdout)
    assert m and int(m.group(1)) >= 150
    # the storage tests left real files on the temp card: check one from Python too
    assert (card / "face0.6.jpg").read_bytes() == b"\xff\xd8\xff\xd9"
    assert (card / "face0.0.jpg").read_bytes() == b"USER0"  # a user's sample was not overwritten


def test_core_cross_compiles_for_cortex_m4f_without_warnings():
    """arm-none-eabi-gcc -mcpu=cortex-m4 -mfloat-abi=hard -Os -Wall -Wextra -Werror; prints text/data/bss."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    r = subprocess.run(["make", "-B", "-C", str(HOST_DIR), "size"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stderr.lower()
    print(r.stdout)
    total = [l for l in r.stdout.splitlines() if "(TOTALS)" in l]
    assert total, r.stdout
    text, data, bss = (int(v) for v in total[0].split()[:3])
    # budgets for the core alone (the whole firmware: flash <= 400 KB, static RAM <= 128 KB; firmware/README.md)
    assert text + data <= 32 * 1024, f"core flash {text + data} B"
    assert data + bss <= 8 * 1024, f"core static RAM {data + bss} B"
    # -ffp-contract=off keeps float32 results equal to the Python spec: no fused multiply-add
    # (VFMA/VFMS/VFNMA) may appear in the Cortex-M4F code
    objs = sorted(str(p) for p in (HOST_DIR / "build" / "arm").glob("*.o"))
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", *objs], capture_output=True, text=True).stdout
    assert "vadd.f32" in dis or "vmul.f32" in dis, "no hardware float instructions: wrong float ABI?"
    fused = [l for l in dis.splitlines() if re.search(r"\bvf[n]?m[as]\.f32", l)]
    assert not fused, f"fused multiply-add in the core: {fused[:3]}"
