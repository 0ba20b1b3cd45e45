"""Float32 MLX90641 compensation of the portable core (firmware/lib/tinyheat_core/th_mlx90641.c)
against the Melexis C driver (issue 17 item 8), within 0.01 K per pixel.

The reference is the pinned Seeed/Melexis MLX90641_API.cpp (Seeed_Arduino_MLX9064x @ 17db92f:
MLX90641_HammingDecode + MLX90641_ExtractParameters + MLX90641_GetTa / GetVdd / CalculateTo,
double maths in places) on 5 synthetic Hamming-coded EEPROM images and 8 frames
(mlx90641_images.py: TGC 0..1, emissivity 0.9..1, ADC resolution 16/18/19 bit, both subpages,
To from -38 to 401 degC = every KsTo range); its output is committed in
data/mlx90641_vectors.npz (make_mlx41_vectors.py; the driver is not in this repository).
The Python ``mlx9064x-driver`` implements the EVB's newer MLX90641 calibration (several
calibration ranges, "cyclops" pixels, ParameterCodes EEPROM map), not the datasheet/driver
layout the Grove sensor's EEPROM uses, so it is no reference here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mlx90641_images as im  # noqa: E402

VECTORS = np.load(HERE / "data" / "mlx90641_vectors.npz")
NAMES = [str(n) for n in VECTORS["names"]]
REC = np.dtype([("ta", "<f4"), ("vdd", "<f4"), ("to", "<f4", 192)])
TOL_K = 0.01


@pytest.fixture(scope="module")
def exe(core_build) -> Path:
    return core_build / "th_mlx41_vectors"


def run_to(exe, ee, frames, e, tr) -> tuple[int, np.ndarray]:
    data = np.asarray(ee).astype("<u2").tobytes() + np.asarray(frames).astype("<u2").tobytes()
    r = subprocess.run([str(exe), "to", str(e), str(tr)], input=data, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return int(np.frombuffer(r.stdout[:4], "<i4")[0]), np.frombuffer(r.stdout[4:], dtype=REC)


@pytest.mark.parametrize("name", NAMES)
def test_to_matches_melexis_c_driver(exe, name):
    e, tr = (float(x) for x in VECTORS[f"{name}/args"])
    status, rec = run_to(exe, VECTORS[f"{name}/ee"], VECTORS[f"{name}/frames"], e, tr)
    assert status == 0
    np.testing.assert_allclose(rec["ta"], VECTORS[f"{name}/ref_ta"], atol=1e-3)
    np.testing.assert_allclose(rec["vdd"], VECTORS[f"{name}/ref_vdd"], atol=1e-5)
    err = np.abs(rec["to"] - VECTORS[f"{name}/ref_to"])
    print(f"{name}: max |To - driver| = {err.max() * 1000:.3f} mK over To "
          f"{VECTORS[f'{name}/ref_to'].min():.1f}..{VECTORS[f'{name}/ref_to'].max():.1f} degC")
    assert err.max() <= TOL_K


def test_hamming_single_bit_errors_are_corrected_double_errors_refused(exe):
    name = NAMES[0]
    ee, frames = VECTORS[f"{name}/ee"].copy(), VECTORS[f"{name}/frames"]
    e, tr = (float(x) for x in VECTORS[f"{name}/args"])
    _, clean = run_to(exe, ee, frames, e, tr)
    rng = np.random.default_rng(0)
    for addr in rng.integers(16, 832, 20):  # one flipped bit per word: same result
        ee[addr] ^= 1 << int(rng.integers(0, 16))
    status, fixed = run_to(exe, ee, frames, e, tr)
    assert status == 0 and np.array_equal(fixed["to"], clean["to"])
    ee[300] ^= 0b11  # two bits in one word: refused (driver error -10)
    status, bad = run_to(exe, ee, frames, e, tr)
    assert status == -2 and np.isnan(bad["to"]).all()


def test_broken_pixels_are_interpolated_on_16_column_rows(exe):
    broken = (0, 37, 191)  # column 0, an inner pixel, column 15
    ee, info = im.eeprom(11, broken=broken)
    tpl = im.frame_template(info, 25.0, 0)
    want = np.full(192, 25.0, np.float32) + np.tile(np.arange(16, dtype=np.float32), 12)  # +1 K per column
    r = subprocess.run([str(exe), "raw", "1.0", "0"], input=ee.astype("<u2").tobytes() + tpl.astype("<u2").tobytes()
                       + want.astype("<f4").tobytes(), capture_output=True, check=True)
    status, rec = run_to(exe, ee, np.frombuffer(r.stdout, "<u2")[None], 1.0, 0.0)
    to = rec["to"][0]
    assert status == 0 and np.isfinite(to).all()
    assert to[0] == to[1] and to[191] == to[190]
    assert abs(to[37] - 30.0) < 0.3  # column 5 of row 2 from its row neighbours (gradient 1 K/column)


@pytest.mark.parametrize("k", [0, 1])
def test_board_adapter_reads_a_subpage_and_matches_the_driver(core_build, k):
    """src/sensor_mlx90641.cpp (-DTH_SENSOR_MLX90641) on a fake Wire bus: EEPROM read twice and
    Hamming-decoded, the subpage's six 32-word pixel blocks + the auxiliary words read, To with
    the adapter's emissivity 0.95 and reflected temperature Ta - 5 equal to the Melexis driver
    (vector "room-sp0" uses exactly those) within 0.01 K; one image per subpage."""
    host = Path(__file__).resolve().parents[2] / "firmware" / "test" / "host"
    r = subprocess.run(["make", "-s", "-C", str(host), "sensor41"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    name = "room-sp0"
    assert tuple(float(x) for x in VECTORS[f"{name}/args"]) == (pytest.approx(0.95), -5.0)
    frame = VECTORS[f"{name}/frames"][k]
    out = subprocess.run([str(core_build / "th_sensor41_tests")], input=VECTORS[f"{name}/ee"].astype("<u2").tobytes()
                         + frame.astype("<u2").tobytes(), capture_output=True, check=True).stdout
    begun, got = np.frombuffer(out[:8], "<i4")
    ta = np.frombuffer(out[8:12], "<f4")[0]
    to = np.frombuffer(out[12:12 + 768], "<f4")
    transactions = int(np.frombuffer(out[-4:], "<u4")[0])
    assert begun == 1 and got == 1 and int(frame[241]) == k
    assert abs(ta - VECTORS[f"{name}/ref_ta"][k]) < 1e-3
    assert np.abs(to - VECTORS[f"{name}/ref_to"][k]).max() <= TOL_K
    # status, clear, 6 pixel blocks, auxiliary words, status again: each a register write + read
    assert transactions == 2 * (1 + 6 + 1 + 1) + 1
