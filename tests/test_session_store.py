"""Session format (datasets/SESSION.md): round trip, appending, a recording killed mid-way, .npz import."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np
import pytest

from tinyheat.session import SessionError, SessionWriter, read_session
from tinyheat.session.importers import from_npz


def _frames(n, h=24, w=32, seed=0):
    return (20 + 15 * np.random.default_rng(seed).random((n, h, w))).astype(np.float32)


def test_round_trip_keeps_values_times_ta_meta_and_nan(tmp_path):
    f = _frames(70)
    f[3, 4, 5] = np.nan
    start = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    p = tmp_path / "a.zarr"
    with SessionWriter(p, meta={"sensor": "MLX90640", "emissivity": 0.95}, start=start,
                       eeprom=np.arange(832, dtype=np.uint16)) as w:
        w.append(f[:40], np.arange(40) * 125)            # Ta unknown
        w.append(f[40], 40 * 125, 31.5)                  # one frame
        w.append(f[41:], np.arange(41, 70) * 125, np.full(29, 32.0))
    s = read_session(p)
    assert len(s) == 70 and s.frames.dtype == np.float32
    np.testing.assert_array_equal(s.frames, f)           # bit-exact, NaN in place
    assert s.t_ms.dtype == np.int64 and s.t_ms[-1] == 69 * 125
    assert np.isnan(s.ta_degC[:40]).all() and s.ta_degC[40] == 31.5 and s.ta_degC[69] == 32.0
    assert s.start == start and s.start.tzinfo is not None
    assert s.meta["sensor"] == "MLX90640" and s.meta["resolution"] == [24, 32] and s.meta["emissivity"] == 0.95
    assert s.meta["stats"]["period_ms"] == 125 and s.meta["stats"]["n_gaps"] == 0
    assert s.meta["stats"]["invalid_pixels"] == 1 and s.meta["stats"]["invalid_frames"] == 0
    np.testing.assert_array_equal(s.eeprom, np.arange(832))


def test_append_mode_gaps_and_refusals(tmp_path):
    p = tmp_path / "b.zarr"
    with SessionWriter(p, start=None) as w:
        w.append(_frames(5), [0, 100, 200, 300, 900])     # a 600 ms gap = ~5 missing frames
    with SessionWriter(p, append=True) as w:
        w.append(np.full((2, 24, 32), np.nan, np.float32), [1000, 1100])   # two wholly invalid frames
    s = read_session(p)
    assert len(s) == 7 and s.start is None
    assert s.meta["stats"]["n_gaps"] == 1 and s.meta["stats"]["gaps"][0] == {"after_frame": 3, "dt_ms": 600}
    assert s.meta["stats"]["invalid_frames"] == 2 and np.isnan(s.frames[5:]).all()
    with pytest.raises(SessionError, match="exists"):
        SessionWriter(p)
    with pytest.raises(SessionError, match="does not match"):
        with SessionWriter(p, append=True) as w:
            w.append(_frames(1, 12, 16), 2000)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SessionError):
        read_session(tmp_path / "notes.txt")
    with pytest.raises(SessionError, match="not a tinyheat session|not a readable"):
        read_session(tmp_path)


_WRITER = r"""
import sys, time, numpy as np
from tinyheat.session import SessionWriter
w = SessionWriter(sys.argv[1], meta={"sensor": "MLX90640"}, sync_every_s=0.2)
i = 0
while True:
    w.append(np.full((24, 32), 20 + i * 0.01, np.float32), i * 50, 30.0)
    if w.n and i % 5 == 0:
        print(w.n, flush=True)          # frames committed so far
    i += 1
    time.sleep(0.01)
"""


def test_killed_writer_keeps_everything_committed(tmp_path):
    p = tmp_path / "crash.zarr"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(p)], stdout=subprocess.PIPE, text=True)
    committed = 0
    t0 = time.monotonic()
    while committed < 60 and time.monotonic() - t0 < 30:
        line = proc.stdout.readline()
        if line:
            committed = int(line)
    os.kill(proc.pid, signal.SIGKILL)                   # like an unplugged cable / crash: no close()
    proc.wait()
    assert committed >= 60
    s = read_session(p)
    assert len(s) >= committed                          # nothing committed is lost
    i = np.arange(len(s))
    np.testing.assert_allclose(s.frames[:, 0, 0], 20 + i * 0.01, atol=1e-5)   # and every frame is intact
    np.testing.assert_array_equal(s.t_ms, i * 50)


def test_npz_recording_imports_losslessly(tmp_path):
    from tinyheat.link.recording import RecordingWriter

    rec = tmp_path / "rec.npz"
    f = _frames(12)
    f[2] = np.nan                                       # a wholly invalid frame is kept, not dropped
    with RecordingWriter(rec, {"fw_version": "1.2.3", "emissivity": 0.95}) as w:
        for i in range(12):
            w.add(500_000 + i * 250, 30.0 + i, f[i])
    s = from_npz(rec)
    np.testing.assert_array_equal(s.frames, f)
    np.testing.assert_array_equal(s.t_ms + s.meta["device_t0_ms"], 500_000 + np.arange(12) * 250)
    np.testing.assert_array_equal(s.ta_degC, 30.0 + np.arange(12))
    assert s.meta["firmware"] == "1.2.3" and s.meta["refresh_hz"] == 4.0 and s.start is not None
    out = s.write(tmp_path / "rec.zarr")
    back = read_session(out)
    np.testing.assert_array_equal(back.frames, f)
    assert json.dumps(back.meta["recording_meta"]) == json.dumps(s.meta["recording_meta"])


def test_xarray_opens_a_session_as_the_spec_says(repo):
    """SESSION.md: other tools read the format; xarray through its Zarr backend, cut at n_frames."""
    import warnings

    xr = pytest.importorskip("xarray")
    from tinyheat.session import read_session

    path = repo / "datasets" / "sessions" / "demo.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # zarr notes the ground_truth.csv beside the arrays
        ds = xr.open_zarr(path, consolidated=False)
    n = ds.attrs["n_frames"]
    s = read_session(path)
    assert ds["frames"].dims == ("time", "y", "x") and n == len(s)
    np.testing.assert_array_equal(ds["frames"].values[:n], s.frames)
    np.testing.assert_array_equal(ds["t_ms"].values[:n], s.t_ms)
