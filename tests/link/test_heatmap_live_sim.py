"""`tinyheat heatmap --live PORT` against the real simulated device (firmware device loop + C
link library on a pseudo-terminal), issue 11 item 4: the heat map accumulated live equals the
offline activation of the frames the device sent, and the walker the frames show."""
from __future__ import annotations

import functools
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.occupancy import live, synth
from tinyheat.occupancy.activation import Params, activation
from tinyheat.occupancy.store import HeatStore

FPS = 32  # rate code 7: 64 Hz subpages
CLOCK = 1_767_600_000.0  # the host clock at the first frame (the live anchor), fixed for the test


def test_live_heatmap_from_the_simulated_device(sim_exe, tmp_path, monkeypatch):
    walk = synth.Person(((0.3, -2, 11), (3.3, 34, 11)))  # crosses row 11 at 12 px/s, then 0.7 s empty
    rec, truth = synth.scene(4, fps=FPS, people=(walk,), drift_degC_per_h=0, seed=3)
    npy = tmp_path / "walk.npy"
    np.save(npy, np.ascontiguousarray(rec.frames, "<f4"))
    proc = subprocess.Popen([str(sim_exe), "--frames", str(npy), "--rate-code", "7", "--max-seconds", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("pty "), line
        got = []
        from tinyheat.link.client import DeviceClient

        frames = DeviceClient.frames

        def tee(self, timeout_s=5.0):
            for f in frames(self, timeout_s):
                got.append(f)
                yield f

        monkeypatch.setattr(DeviceClient, "frames", tee)
        monkeypatch.setattr(live, "accumulate", functools.partial(live.accumulate, clock=lambda: CLOCK))
        r = CliRunner().invoke(main, ["heatmap", "--live", line.split()[1], "--frames", "56", "--absorb-s", "30",
                                      "--store", str(tmp_path / "st"), "--sensor", "hall"])
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert r.exit_code == 0, r.output
    assert len(got) == 56
    # every frame is one of the file's, to the link's 0.01 degC, in the device's order
    temps = np.stack([np.asarray(f.temps, np.float32) for f in got])
    err = np.abs(temps[:, None] - rec.frames[None]).max(axis=(2, 3))
    idx = err.argmin(1)
    assert err.min(1).max() <= 0.006 and np.all(np.diff(idx) % len(rec.frames) >= 1)
    # the store holds exactly the offline activation of those frames at the anchored times
    t_ms = np.array([f.t_ms for f in got], np.int64)
    offline = activation(temps, int(CLOCK * 1000) + t_ms - t_ms[0], Params(absorb_s=30))
    q = HeatStore(tmp_path / "st").query("hall")
    np.testing.assert_allclose(q.act, offline.act.sum(0), rtol=1e-6)
    # ... and it is the walker: dwell close to the true disc coverage of those frames, on its row
    # (any 56 frames = 1.75 s of the 4 s loop hold >= 1 s of the walk, whatever the device's loop position)
    true_dwell = truth.people_masks[idx].sum() / FPS
    print(f"live dwell {q.act.sum():.2f} pixel-s, true {true_dwell:.2f}, first frame {idx[0]}")
    assert true_dwell > 5 and q.act.sum() == pytest.approx(true_dwell, rel=0.25)
    assert 9 <= int(np.argmax(q.act.sum(1))) <= 13
