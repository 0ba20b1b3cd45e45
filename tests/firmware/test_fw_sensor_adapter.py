"""The device's MLX90640 adapter (firmware/src/sensor_mlx90640.cpp) built with the host C++
compiler against a fake Arduino Wire bus with an MLX90640 register model
(firmware/test/host/fake_arduino, fake_mlx.cpp): 254-byte transfers (7 per subpage), NACK
detection, the EEPROM read twice, subpage assembly equal to th_mlx_to, a subpage overwritten
during the read or missed, stalls, re-initialisation after repeated errors (unplug / replug),
the frame-rate and error counters."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tinyheat.paths import build_lock

HOST_DIR = Path(__file__).resolve().parents[2] / "firmware" / "test" / "host"


def test_sensor_adapter_on_fake_bus():
    if shutil.which("make") is None or (shutil.which("c++") is None and shutil.which("g++") is None):
        pytest.skip("make and a host C++ compiler are needed")
    with build_lock(HOST_DIR / "build"):  # parallel test workers share this build folder
        r = subprocess.run(["make", "-C", str(HOST_DIR), "sensor"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(HOST_DIR / "build" / "th_sensor_tests")], capture_output=True, text=True, timeout=60)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"(\d+) checks, 0 failures", r.stdout)
    assert m and int(m.group(1)) >= 50
