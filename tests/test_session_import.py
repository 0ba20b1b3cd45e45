"""Importers into sessions on real files (../shared/datasets) and the device stream."""
from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.session import Session, SessionError, read_session
from tinyheat.session.importers import downsample, from_flir, from_frames_file, from_time_csv, import_any


@pytest.fixture(scope="module")
def fir_csv(shared_datasets):
    return shared_datasets / "fir-action-ceiling" / "20200626_160522_mlx90640_01_light_none.csv"


def test_time_csv_one_frame_per_line(fir_csv):
    s = from_time_csv(fir_csv)
    with open(fir_csv, newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows)
        first, second = next(rows), next(rows)
    assert s.frames.shape == (743, 24, 32)
    # P{r*32+c} is row r, column c (row-major), checked against the file's own header
    assert s.frames[0, 1, 3] == np.float32(first[header.index("P035")])
    assert s.frames[1, 23, 31] == np.float32(second[header.index("P767")])
    assert s.t_ms[0] == 0 and s.t_ms[1] == 64            # 16:05:22.9130 -> 22.9773
    assert np.all(np.diff(s.t_ms) >= 0) and 7.0 < s.meta["refresh_hz"] < 9.0
    assert s.start is None and s.meta["wall_clock_local"].startswith("2020-06-26 16:05:22")  # zone unknown


def test_mlx90641_csv_with_ambient(shared_datasets):
    s = import_any(shared_datasets / "mlx90641-den" / "frames.csv")
    assert s.frames.shape == (4404, 12, 16) and s.meta["sensor"] == "MLX90641"
    assert 283_000 <= s.t_ms[-1] <= 283_200 and 15.0 < s.meta["refresh_hz"] < 16.5
    assert 30.0 <= float(np.nanmin(s.ta_degC)) and float(np.nanmax(s.ta_degC)) <= 30.5


def test_import_frames_formats_through_load_frames(presence_csvs, esp32_samples):
    s = from_frames_file(presence_csvs["person"], period_ms=250)
    assert s.frames.shape == (220, 24, 32) and s.t_ms[-1] == 219 * 250 and s.meta["t_ms_assumed"]
    e = from_frames_file(next((esp32_samples / "human").iterdir()))
    assert e.frames.shape == (1, 24, 32) and e.t_ms[0] == -1 and e.meta["t_ms_unknown"]


def _exif(path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def test_flir_fff_parameters_match_the_exiftool_dump(shared_datasets):
    d = shared_datasets / "flir-radiometric-samples" / "flirpy"
    s = from_flir(d / "frame_000000.fff")
    ex = _exif(d / "frame_000000.txt")
    rad = s.meta["radiometric"]
    assert s.frames.shape == (1, int(ex["Raw Thermal Image Height"]), int(ex["Raw Thermal Image Width"]))
    for key in ("Planck R1", "Planck B", "Planck F", "Planck O", "Planck R2", "Atmospheric Trans Alpha 1",
                "Atmospheric Trans X"):
        assert rad[key] == pytest.approx(float(ex[key]), rel=1e-3), key
    for key in ("Emissivity", "Object Distance", "Reflected Apparent Temperature"):
        assert rad[key] == pytest.approx(float(re.match(r"[-\d.]+", ex[key]).group()), abs=0.01), key
    assert rad["Relative Humidity"] * 100 == pytest.approx(float(ex["Relative Humidity"].split()[0]))  # flirpy: 0..1
    # overriding emissivity changes the temperatures the right way: a lower emissivity means the
    # same radiance came from a warmer object (when the object is warmer than the reflected 20 C)
    lo = from_flir(d / "frame_000000.fff", emissivity=0.5)
    assert lo.meta["emissivity"] == 0.5 and lo.meta["overrides"]["emissivity"] == 0.5
    warm = s.frames[0] < float(rad["Reflected Apparent Temperature"])
    assert np.all((lo.frames[0] < s.frames[0])[warm])   # this scene (9-12 C) is colder than 20 C


def test_flir_seq_jpeg_and_csq(shared_datasets, tmp_path):
    d = shared_datasets / "flir-radiometric-samples" / "thermimage"
    seq = from_flir(d / "SampleSEQ.seq")
    assert seq.frames.shape == (2, 480, 640) and seq.meta["sensor"] == "FLIR SC660"
    assert seq.t_ms.tolist() == [0, 4000] and seq.start.year == 2012       # Datetime (UTC) of each frame
    assert 17 < np.nanmin(seq.frames) and np.nanmax(seq.frames) < 40          # a hummingbird at a feeder
    jpg = from_flir(d / "IR_2412.jpg")
    assert jpg.frames.shape == (1, 480, 640) and 20 < float(np.median(jpg.frames)) < 30
    with pytest.raises(SessionError, match="JPEG-LS"):
        from_flir(d / "SampleCSQ.csq")
    small = downsample(seq, (24, 32))                # 20 x 20 blocks: an exact area mean
    np.testing.assert_allclose(small.frames[0, 3, 5], seq.frames[0, 60:80, 100:120].mean(), rtol=1e-5)
    assert small.meta["downsampled_from"] == [480, 640]
    r = CliRunner().invoke(main, ["import-session", str(d / "SampleCSQ.csq"), "--out", str(tmp_path / "c.zarr")])
    assert r.exit_code == 1 and "JPEG-LS" in r.output and "Traceback" not in r.output


def test_downsample_ignores_invalid_pixels():
    f = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    f[0, 0, 0] = np.nan
    s = downsample(Session(f, [0, 100]), (2, 2))
    assert s.frames[0, 0, 0] == pytest.approx((1 + 4 + 5) / 3)
    assert s.frames[1, 1, 1] == pytest.approx(f[1, 2:, 2:].mean())


def test_16x12_session_to_24x32_repeats_pixels_as_the_device_feeds_its_model(tmp_path):
    """An MLX90641 (12 x 16) recording made 24 x 32 for training: each pixel repeated 2 x 2, the
    firmware's MLX90641 model input (not an interpolation, which differed from it by up to 2 K on
    the den recording), and import-frames then stores those frames as samples."""
    rng = np.random.default_rng(1)
    f = (22 + 6 * rng.random((3, 12, 16))).round(2).astype(np.float32)  # a hot pixel next to a cold one
    src = tmp_path / "frames.csv"  # the layout of the shared mlx90641-den frames.csv
    src.write_text("frame,t_s,delay_s,ambient_degC," + ",".join(f"p{i:03d}" for i in range(192)) + "\n" + "".join(
        f"{k},{k * 0.064:.6f},0.064,30.00," + ",".join(f"{v:.2f}" for v in f[k].ravel()) + "\n" for k in range(3)))
    out = tmp_path / "den.zarr"
    r = CliRunner().invoke(main, ["import-session", str(src), "--out", str(out), "--downsample", "24x32"])
    assert r.exit_code == 0, r.output
    s = read_session(out)
    np.testing.assert_array_equal(s.frames, f.repeat(2, axis=1).repeat(2, axis=2))
    assert s.meta["downsampled_from"] == [12, 16] and s.meta["downsample_method"] == "pixel repeat"
    r = CliRunner().invoke(main, ["import-frames", str(out), "--label", "person", "--dataset", str(tmp_path / "ds")])
    assert r.exit_code == 0 and "added 3" in r.output, r.output


def test_import_session_cli_writes_and_never_overwrites(fir_csv, tmp_path):
    out = tmp_path / "fir.zarr"
    r = CliRunner().invoke(main, ["import-session", str(fir_csv), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert len(read_session(out)) == 743
    r = CliRunner().invoke(main, ["import-session", str(fir_csv), "--out", str(out)])
    assert r.exit_code == 1 and "--force" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("Time,RT,P000\n1,0,2\n")
    r = CliRunner().invoke(main, ["import-session", str(bad), "--out", str(tmp_path / "b.zarr")])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and not (tmp_path / "b.zarr").exists()


def test_device_stream_to_session(presence_csvs, tmp_path):
    from tinyheat.link.client import DeviceClient
    from tinyheat.link.fake_device import FakeDevice
    from tinyheat.session.device import DeviceSessionWriter, device_meta

    person = np.loadtxt(presence_csvs["person"], delimiter=",", dtype=np.float32).reshape(-1, 24, 32)
    c = DeviceClient(FakeDevice(person[:30], max_frames=30))
    hello = c.connect()
    out = tmp_path / "rec.zarr"
    with DeviceSessionWriter(out, device_meta(hello, "fake")) as w:
        for f in c.frames(timeout_s=0.3):
            w.add(f.t_ms, f.ta_degc, f.temps)
    s = read_session(out)
    assert s.frames.shape == (30, 24, 32) and np.max(np.abs(s.frames - person[:30])) <= 0.005 + 1e-4
    assert s.t_ms[0] == 0 and np.all(np.diff(s.t_ms) > 0) and s.start is not None
    assert s.meta["firmware"] == hello.fw_version and s.meta["sensor"] == "MLX90640"
    assert np.allclose(s.ta_degC, 25.0, atol=0.01)


def test_record_command_writes_a_session(presence_csvs, tmp_path, monkeypatch):
    """`tinyheat record PORT --out NAME.zarr` end to end, with the in-process FakeDevice as PORT."""
    from tinyheat.link import commands
    from tinyheat.link.client import DeviceClient
    from tinyheat.link.fake_device import FakeDevice

    person = np.loadtxt(presence_csvs["person"], delimiter=",", dtype=np.float32).reshape(-1, 24, 32)

    eeprom = np.arange(832, dtype=np.uint16) * 37

    def connect(port):
        c = DeviceClient(FakeDevice(person[:40], max_frames=40, eeprom=eeprom))
        c.connect(stream=True)
        return c

    monkeypatch.setattr(commands, "_connect", connect)
    out = tmp_path / "rec.zarr"
    r = CliRunner().invoke(main, ["record", "fake", "--out", str(out), "--frames", "25"])
    assert r.exit_code == 0, r.output
    s = read_session(out)
    assert len(s) == 25 and np.max(np.abs(s.frames - person[:25])) <= 0.0051
    assert s.eeprom is not None and np.array_equal(s.eeprom, eeprom)   # the calibration travels along
    assert s.meta["dropped_frames"] == 0 and s.meta["source"] == "tinyheat record fake"
    assert s.meta["stats"]["n_frames"] == 25
    r = CliRunner().invoke(main, ["record", "fake", "--out", str(out), "--frames", "5"])
    assert r.exit_code == 1 and "exists" in r.output and len(read_session(out)) == 25
