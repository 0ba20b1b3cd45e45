"""The one device loop (firmware/lib/tinyheat_core/th_device.c: th_device_init/th_device_step,
the functions the Wio Terminal's main.cpp and the simulator both call) under the simulator's
port with a simulated clock and injected faults (firmware/test/host/th_device_tests.c)."""
from __future__ import annotations

import re
import subprocess


def test_device_loop_heals_faults_and_stays_flat_for_hours(core_build, tmp_path):
    """Sensor NACK mid-frame and unplug/re-plug, SD pulled mid-write / removed / full, a
    1000-PING burst through an 8 KB transmit buffer (every reply arrives), CAPTURE of the next
    frame, HELLO session 0 without a card, EEPROM backup + GET_EEPROM, debug text as LOG, and
    2 simulated hours (with a fault every 10 min, across the millis() wrap) with flat memory."""
    card = tmp_path / "card"
    r = subprocess.run([str(core_build / "th_device_tests"), str(card), "2"], capture_output=True, text=True,
                       timeout=120)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"(\d+) checks, 0 failures", r.stdout)
    assert m and int(m.group(1)) >= 60
    assert "1000-PING burst: 1000 replies" in r.stdout
    # the long run's card, seen from Python: the EEPROM backup (832 little-endian words) and
    # session.txt; no sample was captured in that run
    ee = (card / "mlx90640_ee_53494d000001.bin").read_bytes()
    assert len(ee) == 1664 and int.from_bytes(ee[14:16], "little") == 0x5349
    assert (card / "session.txt").read_text() == "00000001\n"
