"""Host tools (client, capture, recording, monitor) against the in-process FakeDevice, fed with
real MLX90640 frames from the shared datasets."""
from __future__ import annotations

import numpy as np
import pytest

from tinyheat.dataset import sample_format as sf
from tinyheat.dataset.store import DatasetStore, read_manifest
from tinyheat.link import protocol as p
from tinyheat.link.capture import CaptureResult, capture_samples
from tinyheat.link.client import DeviceClient, LinkError
from tinyheat.link.fake_device import FakeDevice
from tinyheat.link.recording import RecordingWriter, read_recording


@pytest.fixture(scope="module")
def person(presence_csvs) -> np.ndarray:
    return np.loadtxt(presence_csvs["person"], delimiter=",", dtype=np.float32).reshape(-1, 24, 32)


def test_connect_switches_to_stream_and_commands_change_the_device(person):
    dev = FakeDevice(person[:3])
    c = DeviceClient(dev)
    hello = c.connect()
    assert hello.mode == p.MODES["stream"] and dev.mode == p.MODES["stream"]
    h = c.request(p.SetLabels(("cat", "dog", "human")))
    assert h.capture_labels == ("cat", "dog", "human") and dev.labels == ["cat", "dog", "human"]
    assert c.request(p.SetRate(7)).rate_code == 7
    with pytest.raises(LinkError, match="refused"):
        c.request(p.SetLabels(("a", "b", "c", "d")))


def test_capture_lands_in_the_dataset_format(person, tmp_path):
    dev = FakeDevice(person[:10])
    c = DeviceClient(dev)
    c.connect()
    res = capture_samples(c, DatasetStore(tmp_path), "person", 4, source="fake0", every_ms=0)
    rows = read_manifest(tmp_path)
    assert [r.file for r in rows] == [f"person/person.{i}.jpg" for i in range(4)]
    assert [r.order for r in rows] == [0, 1, 2, 3]
    assert {r.session for r in rows} == {"0000002a"} and {r.source for r in rows} == {"fake0"}
    assert float(rows[0].ta_degC) == 25.0
    assert int(rows[1].millis) > int(rows[0].millis)
    for i, r in enumerate(rows):
        s = sf.read_sample(tmp_path / r.file)
        # device int16 centi-degC then PGM centikelvin: two roundings of <= 0.005 K
        assert np.max(np.abs(s.degc - person[i])) <= 0.0101
        jpeg_error = np.abs(s.grey.astype(int) - sf.to_grey(person[i]).astype(int))
        assert jpeg_error.mean() < 2.0
    assert len(res.rows) == 4


def test_capture_every_ms_spaces_samples_and_keeps_existing(person, tmp_path):
    store = DatasetStore(tmp_path)
    store.add("person", frame_degc=person[100], session="x", source="before")
    dev = FakeDevice(person[:20], rate_code=3)  # 4 Hz subpages: a frame every 500 ms
    c = DeviceClient(dev)
    c.connect()
    capture_samples(c, DatasetStore(tmp_path), "person", 3, source="fake", every_ms=1000)
    rows = read_manifest(tmp_path)
    assert rows[0].source == "before" and len(rows) == 4
    assert [r.file for r in rows[1:]] == [f"person/person.{i}.jpg" for i in (1, 2, 3)]
    t = [int(r.millis) for r in rows[1:]]
    assert all(b - a >= 1000 for a, b in zip(t, t[1:]))


def test_interrupted_capture_keeps_what_was_stored(person, tmp_path):
    c = DeviceClient(FakeDevice(person[:10]))
    c.connect()
    res = CaptureResult()

    def stop_after_two(row):
        if len(res.rows) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        capture_samples(c, DatasetStore(tmp_path), "person", 5, source="fake", on_sample=stop_after_two, result=res)
    assert len(read_manifest(tmp_path)) == 2 and len(res.rows) == 2


def test_capture_without_frames_raises_and_keeps_samples(person, tmp_path):
    c = DeviceClient(FakeDevice(person[:2], max_frames=2))
    c.connect()
    with pytest.raises(LinkError, match="2 of 5"):
        capture_samples(c, DatasetStore(tmp_path), "person", 5, source="fake", frame_timeout_s=0.2)
    assert len(read_manifest(tmp_path)) == 2


def test_recording_round_trips_real_frames(person, tmp_path):
    c = DeviceClient(FakeDevice(person[:50], max_frames=50))
    c.connect()
    out = tmp_path / "rec.npz"
    with RecordingWriter(out, {"port": "fake"}) as w:
        for f in c.frames(timeout_s=0.3):
            w.add(f.t_ms, f.ta_degc, f.temps)
    assert not (tmp_path / "rec.npz.part").exists()
    z = np.load(out)  # NumPy alone
    assert z["frames"].shape == (50, 24, 32) and z["frames"].dtype == np.float32
    assert np.max(np.abs(z["frames"] - person[:50])) <= 0.005 + 1e-4
    assert z["t_ms"].shape == (50,) and np.all(np.diff(z["t_ms"]) > 0)
    assert read_recording(out)["meta"]["port"] == "fake"
    with pytest.raises(FileExistsError):
        RecordingWriter(out)


def test_partial_recording_is_readable_before_close(tmp_path):
    w = RecordingWriter(tmp_path / "r.npz", sync_every_s=0.0)
    for i in range(3):
        w.add(i, 20.0, np.full((24, 32), i, np.float32))
    part = np.load(tmp_path / "r.npz.part" / "frames.npy")
    assert part.shape == (3, 24, 32) and part[2, 0, 0] == 2
    w.close()


def test_line_noise_costs_only_damaged_frames_and_is_counted(person):
    rng = np.random.default_rng(7)
    damaged = {"n": 0}

    def noise(chunk: bytes) -> bytes:
        b = bytearray(chunk)
        if len(b) > 100 and rng.random() < 0.3:
            damaged["n"] += 1
            b[rng.integers(0, len(b))] ^= 0x5A
        return bytes(b)

    dev = FakeDevice(person[:10], max_frames=200)
    c = DeviceClient(dev)
    c.connect()
    c.noise = noise
    c.read_size = 1557  # about one frame per read
    got = sum(1 for _ in c.frames(timeout_s=0.3))
    assert damaged["n"] > 10
    assert got < 200 and got >= 200 - 2 * damaged["n"]
    assert c.stats.corrupt >= 1 and c.stats.dropped == 200 - got


def test_monitor_renders_a_frame_to_png(person, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from tinyheat.link.monitor import MonitorView

    fig = Figure(figsize=(6, 5))
    FigureCanvasAgg(fig)
    view = MonitorView(fig)
    view.set_cursor(12, 16)
    frame = p.Frame(12345, 24.5, person[0])
    hello = p.Hello(model_labels=("empty", "person"), fw_version="x", stats=p.DeviceStats(0, 0, 0, 0, 0, 0, 0),
                    model_id="demo crc32:0e849e55")
    hello = p.Hello.parse(hello.payload())  # the identity trailer round-trips
    stats = p.RxStats(dropped=3)
    text = view.update(frame, p.Prediction(12345, 1, 0.87, 41000), fps=31.5, stats=stats, hello=hello)
    assert "MLX90640 32x24, model demo crc32:0e849e55" in text  # the model the device runs
    assert f"max {person[0].max():6.2f}" in text and f"min {person[0].min():6.2f}" in text
    assert f"{person[0][12, 16]:6.2f}" in text
    assert "person 87%" in text and "31.5 fps" in text and "dropped 3" in text
    png = tmp_path / "monitor.png"
    fig.savefig(png)
    from PIL import Image
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[0] > 100 and img.std() > 20


def test_recording_is_accepted_by_import_frames(person, tmp_path):
    import tinyheat.ingest.frames as imp   # our own module: imported plainly, never skipped
    out = tmp_path / "rec.npz"
    with RecordingWriter(out) as w:
        for i in range(5):
            w.add(1000 + 125 * i, 24.0, person[i])
    got = imp.load_frames(out)
    assert got.frames.shape == (5, 24, 32)
    assert np.max(np.abs(got.frames - person[:5])) == 0.0
    assert list(got.t_ms) == [1000, 1125, 1250, 1375, 1500]


def test_run_monitor_loop_draws_device_frames_headless(person):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinyheat.link.monitor import run_monitor

    c = DeviceClient(FakeDevice(person[:5], predict=lambda f: (1, 0.9)))
    c.connect()
    view = run_monitor(c, max_frames=3)
    try:
        assert view.temps is not None and np.max(np.abs(view.temps - person[:5]).reshape(5, -1).max(1).min()) <= 0.005
        assert "person 90%" in view.title.get_text()
    finally:
        plt.close(view.fig)


def test_cli_rejects_bad_label_and_missing_port_cleanly(tmp_path):
    from click.testing import CliRunner

    from tinyheat.cli import main as cli

    r = CliRunner().invoke(cli, ["capture", "/dev/nonexistent-tty", "--label", "a.b", "--count", "1",
                                 "--dataset", str(tmp_path / "ds")])
    assert r.exit_code == 2 and "invalid label" in r.output
    r = CliRunner().invoke(cli, ["capture", "/dev/nonexistent-tty", "--label", "ok", "--count", "1",
                                 "--dataset", str(tmp_path / "ds")])
    assert r.exit_code == 1 and "cannot open /dev/nonexistent-tty" in r.output
    assert not (tmp_path / "ds" / "manifest.csv").exists()


def test_read_eeprom_assembles_the_image_while_streaming_and_refuses_without_one(person):
    ee = (np.arange(832, dtype=np.uint32) * 2654435761 % 65536).astype(np.uint16)
    c = DeviceClient(FakeDevice(person[:4], eeprom=ee))
    c.connect(stream=True)  # frames keep arriving around the answer
    assert np.array_equal(c.read_eeprom(), ee)
    assert any(isinstance(m, p.Frame) for m in c.poll() + c.poll())  # frames were kept, not eaten
    with pytest.raises(LinkError, match="no EEPROM image"):
        DeviceClient(FakeDevice(person[:4])).read_eeprom(timeout_s=0.2)


class _Bytes:
    """A read-only port holding fixed bytes."""

    def __init__(self, data: bytes):
        self.data = bytearray(data)

    @property
    def in_waiting(self) -> int:
        return len(self.data)

    def read(self, n: int = 1) -> bytes:
        out = bytes(self.data[:n])
        del self.data[:n]
        return out


def test_client_counts_seq_gaps_by_the_spec_and_restarts_at_a_device_boot():
    hello = p.Hello(status=0, ack_seq=0)
    log = p.Log(1, "x")
    wire = b"".join(p.encode(log, s) for s in (100, 101, 0x9000))     # a jump above 0x8000 is a loss
    wire += p.encode(p.Hello(), 0) + p.encode(log, 1) + p.encode(hello, 3)  # reboot: boot HELLO (0xFF, seq 0)
    c = DeviceClient(_Bytes(wire))
    while c.poll():
        pass
    assert c.stats.dropped == (0x9000 - 101 - 1) + 1  # the boot restarts the count; seq 2 is missing
