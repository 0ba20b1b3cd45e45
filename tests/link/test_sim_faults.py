"""The laptop-side chain through faults injected at run time (issue 17 item 7): `tinyheat
sim-device` (the firmware's device loop on a pty) with its control FIFO, and the unchanged host
client. Each fault shows up on the link as the board would show it, and the device heals."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tinyheat.link import protocol as p
from tinyheat.link.client import DeviceClient, open_port


class Chain:
    def __init__(self, tmp_path):
        self.sd = tmp_path / "sd"
        self.proc = subprocess.Popen([sys.executable, "-m", "tinyheat.cli", "sim-device", "--sd", str(self.sd),
                                      "--mode", "stream", "--rate", "32", "--no-model"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("pty "), line + self.proc.stderr.read()
        faults = self.proc.stdout.readline()
        assert faults.startswith("faults "), faults
        self.fifo = faults.split(maxsplit=1)[1].strip()
        self.c = DeviceClient(open_port(line.split()[1]))
        self.hello = self.c.connect(stream=True)
        self.logs: list[str] = []
        self.frames = 0

    def fault(self, line: str) -> None:
        with open(self.fifo, "w") as f:
            f.write(line + "\n")

    def until(self, pred, timeout_s: float = 5.0) -> list:
        """Read messages until pred(message) is true; return the messages read."""
        seen, t0 = [], time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            for m in self.c.poll():
                seen.append(m)
                if isinstance(m, p.Log):
                    self.logs.append(m.text)
                if isinstance(m, p.Frame):
                    self.frames += 1
                if pred(m):
                    return seen
        raise AssertionError(f"timed out; last logs {self.logs[-5:]}")

    def frames_within(self, n: int, timeout_s: float = 5.0) -> None:
        f0 = self.frames
        self.until(lambda m: isinstance(m, p.Frame) and self.frames - f0 >= n, timeout_s)

    def close(self) -> str:
        self.c.close()
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=10)
        return err


def _log(text):
    return lambda m: isinstance(m, p.Log) and text in m.text


def _capture(ok):
    return lambda m: isinstance(m, p.CaptureEvent) and m.ok == ok


@pytest.fixture
def chain(tmp_path):
    ch = Chain(tmp_path)
    yield ch
    ch.close()


def test_the_chain_runs_through_injected_faults_and_heals(chain):
    ch = chain
    ch.frames_within(8)
    # sensor unplugged: an error LOG, no frames; plugged back: "sensor OK", frames resume
    ch.fault("sensor unplug")
    ch.until(_log("No MLX90640"))
    ch.fault("sensor plug")
    ch.until(_log("sensor OK"))
    ch.frames_within(8)
    # NACK mid-frame, a run of them: the device re-initialises the sensor (HELLO statistics)
    ch.fault("sensor nack 5")
    ch.frames_within(4)
    assert ch.c.request(p.Ping()).stats.sensor_reinits >= 1
    # a stuck I2C bus: named on the link, heals when released
    ch.fault("bus stuck sda")
    ch.until(_log("I2C bus stuck: SDA held low"))
    ch.fault("bus free")
    ch.until(_log("sensor OK"))
    # card pulled: captures refused; inserted: a sample is stored
    ch.fault("card pull")
    ch.until(_log("No SD card"))
    ch.c.send(p.CaptureNow("cat"))
    ch.until(_capture(False))
    ch.fault("card insert")
    ch.until(_log("SD card OK"), timeout_s=6)
    ch.c.send(p.CaptureNow("cat"))
    ch.until(_capture(True))
    assert (ch.sd / "cat.0.jpg").is_file()
    # full card: NOT saved, nothing under the name; room again: the same N is used
    ch.fault("card full")
    ch.c.send(p.CaptureNow("cat"))
    ch.until(_capture(False))
    assert not (ch.sd / "cat.1.jpg").exists()
    ch.fault("card ok")
    ch.c.send(p.CaptureNow("cat"))
    events = ch.until(_capture(True))
    assert [m for m in events if isinstance(m, p.CaptureEvent)][-1].index == 1
    # a USB timeout cuts one FRAME: that frame is lost (one corrupt frame), the next arrives intact
    corrupt0, dropped0 = ch.c.stats.corrupt, ch.c.stats.dropped
    ch.fault("usb cut 200")
    ch.frames_within(8)
    assert ch.c.stats.corrupt == corrupt0 + 1 and ch.c.stats.dropped >= dropped0 + 1
    # slow USB (8 kB/s for 16 frames/s x 1.6 kB): whole FRAMEs dropped (seq gaps), none corrupt
    ch.fault("usb slow 8000")
    t0, f0, d0 = time.monotonic(), ch.frames, ch.c.stats.dropped
    ch.frames_within(6, timeout_s=5)
    fps = (ch.frames - f0) / (time.monotonic() - t0)
    ch.fault("usb slow ok")
    assert ch.c.stats.dropped > d0 and ch.c.stats.corrupt == corrupt0 + 1
    assert fps < 8, fps  # about 5 frames/s fit in 8 kB/s
    ch.frames_within(8)
    print(f"faults: logs {ch.logs}")
