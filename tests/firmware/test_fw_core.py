"""The portable C core's own unit tests (labels.txt, naming/no-overwrite on a temp-dir card,
captures.csv, session ids, state machine key sequences, post-processing, rendering), and the
Cortex-M4F cross-compile size report."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pathlib import Path
from tinyheat.paths import build_lock

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
    with build_lock(HOST_DIR / "build"):  # parallel test workers share this build folder
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
    # single precision only: the FPv4-SP FPU has no double, so any double arithmetic becomes a
    # call to a soft-float routine (__aeabi_dadd/dmul/..., conversions __aeabi_f2d/i2d/d2f...)
    # or to a double libm function; none may be referenced by the portable core
    nm = subprocess.run(["arm-none-eabi-nm", "-u", *objs], capture_output=True, text=True)
    assert nm.returncode == 0, nm.stderr
    undefined = {l.split()[-1] for l in nm.stdout.splitlines() if l.strip() and not l.endswith(":")}
    soft_double = sorted(u for u in undefined if SOFT_DOUBLE.fullmatch(u))
    assert not soft_double, f"soft-float double routines referenced by the core: {soft_double}"


# __aeabi_d* (arithmetic, compare, conversions from double), __aeabi_*2d (to double),
# __aeabi_cd* (compare helpers), __aeabi_f2lz/f2ulz (float -> 64-bit integer: libgcc converts
# through double, __fixunssfdi), and the double versions of the libm functions the core could use
SOFT_DOUBLE = re.compile(r"__aeabi_(d\w+|\w+2d|cd\w+|f2u?lz)|(floor|ceil|round|lround|trunc|pow|sqrt|exp|log|log10|fabs|fmod|modf|"
                         r"ldexp|frexp|sin|cos|tan|atan|atan2)")


def test_soft_double_pattern():
    """The pattern above catches what a double in the core would link, and not the integer helpers."""
    for name in ("__aeabi_dadd", "__aeabi_dmul", "__aeabi_ddiv", "__aeabi_dcmplt", "__aeabi_d2iz", "__aeabi_f2d",
                 "__aeabi_i2d", "__aeabi_ui2d", "__aeabi_cdcmple", "__aeabi_f2ulz", "__aeabi_f2lz", "floor", "pow",
                 "sqrt"):
        assert SOFT_DOUBLE.fullmatch(name), name
    for name in ("__aeabi_idiv", "__aeabi_uidiv", "__aeabi_ldivmod", "__aeabi_uldivmod", "__aeabi_ul2f", "floorf",
                 "sqrtf", "expf", "memset"):
        assert not SOFT_DOUBLE.fullmatch(name), name


def test_qemu_benchmark_builds_at_device_flags_and_runs():
    """make bench-qemu: the Cortex-M4F benchmark (QEMU mps2-an386, -icount) built with the device's
    -Os flags; prints instructions per subpage of the float32 MLX90640 compensation and per frame
    of rendering and pre-processing (figures printed, not asserted: firmware/README.md "Budgets")."""
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("arm-none-eabi-gcc and qemu-system-arm are needed for the QEMU benchmark")
    with build_lock(HOST_DIR / "build"):  # parallel test workers share this build folder
        r = subprocess.run(["make", "-B", "-C", str(HOST_DIR), "bench-qemu"], capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr  # QEMU's semihosting console writes to stderr
    print(out)
    assert r.returncode == 0, out
    assert " -Os " in out and " -O2 " not in out
    assert "FAILED" not in out
    figures = dict(re.findall(r"^(th_mlx_to chess|th_mlx_to interleaved|render 256x192)[^~]*~ (\d+)", out, re.M))
    assert set(figures) == {"th_mlx_to chess", "th_mlx_to interleaved", "render 256x192"}, out
    assert all(int(v) > 0 for v in figures.values())
    elf = HOST_DIR / "build" / "bench_render.elf"
    syms = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout
    linked = [l.split()[-1] for l in syms.splitlines() if SOFT_DOUBLE.fullmatch(l.split()[-1])]
    assert not linked, f"soft-float double routines linked into the benchmark: {linked}"
