"""End to end: the simulated device (firmware core + C link library on a pseudo-terminal) and
the unchanged host tools (pyserial on the pty path), with real MLX90640 frames."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

import tinyheat
from click.testing import CliRunner

from tinyheat.dataset import sample_format as sf
from tinyheat.cli import main as cli
from tinyheat.dataset.store import read_manifest
from tinyheat.link import protocol as p
from tinyheat.link.client import DeviceClient, LinkError, open_port

from .conftest import FIRMWARE



@pytest.fixture(scope="module")
def person(presence_csvs) -> np.ndarray:
    return np.loadtxt(presence_csvs["person"], delimiter=",", dtype=np.float32).reshape(-1, 24, 32)


class Sim:
    def __init__(self, exe: Path, csv: Path, sd: Path, rate_code: int = 7, model: bool = False):
        self.sd = sd
        sd.mkdir(exist_ok=True)
        helper = ["--tflm-helper", f"{sys.executable} -m tinyheat.link.tflm_helper"] if model else []
        self.proc = subprocess.Popen([str(exe), "--frames", str(csv), "--sd", str(sd), "--rate-code", str(rate_code),
                                      "--max-seconds", "90", *helper], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("pty "), line + self.proc.stderr.read()
        self.pty = line.split()[1]

    def stop(self) -> str:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture
def sim(sim_exe, presence_csvs, tmp_path):
    s = Sim(sim_exe, presence_csvs["person"], tmp_path / "sd")
    yield s
    s.stop()


def nearest_row_error(frame: np.ndarray, person: np.ndarray) -> tuple[int, float]:
    err = np.nanmax(np.abs(person - frame[None]), axis=(1, 2))
    i = int(np.argmin(err))
    return i, float(err[i])


def test_capture_command_stores_samples_in_the_dataset(sim, person, tmp_path):
    ds = tmp_path / "ds"
    r = CliRunner().invoke(cli, ["capture", sim.pty, "--label", "person", "--count", "6", "--dataset", str(ds),
                                 "--every-ms", "0"])
    assert r.exit_code == 0, r.output
    assert "stored 6 samples of person" in r.output
    rows = read_manifest(ds)
    assert [r_.file for r_ in rows] == [f"person/person.{i}.jpg" for i in range(6)]
    assert {r_.session for r_ in rows} == {"00000001"} and {r_.source for r_ in rows} == {sim.pty}
    assert all(r_.ta_degC == "25.00" for r_ in rows)
    idx = []
    for r_ in rows:
        s = sf.read_sample(ds / r_.file)
        i, err = nearest_row_error(s.degc, person)
        assert err <= 0.0101, (r_.file, err)
        idx.append(i)
    assert len(set(idx)) == 6  # six different real frames


def test_record_round_trips_real_frames_within_10_millikelvin(sim, person, tmp_path):
    out = tmp_path / "rec.npz"
    r = CliRunner().invoke(cli, ["record", sim.pty, "--out", str(out), "--frames", "48"])
    assert r.exit_code == 0, r.output
    z = np.load(out)
    frames, t = z["frames"], z["t_ms"]
    assert frames.shape == (48, 24, 32) and frames.dtype == np.float32 and t.shape == (48,)
    assert np.all(np.diff(t) > 0)
    idx = []
    for f in frames:
        i, err = nearest_row_error(f, person)
        assert err <= 0.01
        idx.append(i)
    steps = np.diff(idx) % len(person)
    assert np.mean(steps == 1) > 0.9  # consecutive frames of the file, in order


def test_commands_change_mode_labels_rate_and_capture_on_the_device(sim):
    c = DeviceClient(open_port(sim.pty))
    try:
        h = c.connect(stream=False)
        assert h.fw_version == f"sim-{tinyheat.__version__}" and h.mode == p.MODES["collect"]
        assert h.capture_labels == ("face0", "face1", "env") and h.model_labels == ()  # started without the model
        assert h.session == 1 and h.stats is not None and h.stats.frames >= 0
        assert h.model_id == "" and h.geometry == (24, 32)  # identity trailer: MLX90640, no model running
        assert c.request(p.SetMode(p.MODES["classify"])).mode == p.MODES["classify"]
        assert c.request(p.SetLabels(("cat", "dog", "human"))).capture_labels == ("cat", "dog", "human")
        assert c.request(p.SetRate(5)).rate_code == 5
        # a malformed command (invalid mode) is answered with status 1 by the C device
        seq = c.tx_seq
        c.port.write(b"\x00" + p.frame(p.T_SET_MODE, seq, b"\x09"))
        c.tx_seq += 1
        hellos = [m for m in c.messages(0.5) if isinstance(m, p.Hello) and m.ack_seq == seq]
        assert hellos and hellos[0].status == p.ST_BAD_ARG
        # device-side capture through the firmware core's storage policy onto the "SD card"
        c.request(p.CaptureNow("human"))
        events = [m for m in c.messages(1.0) if isinstance(m, p.CaptureEvent)]
        assert events == [p.CaptureEvent(True, 0, "human")]
        s = sf.read_sample(sim.sd / "human.0.jpg")
        assert s.degc is not None and np.nanmax(np.abs(sf.from_grey(s.grey) - np.clip(s.degc, 22, 37))) < 1.0
        assert "human.0.jpg,human,0,00000001," in (sim.sd / "captures.csv").read_text()
        with pytest.raises(LinkError, match="bad argument"):
            c.request(_raw(p.T_SET_RATE, b"\x09"))
    finally:
        c.close()


class _raw:
    """A hand-made command with an arbitrary payload (bypasses the encoder's validation)."""

    def __init__(self, t: int, payload: bytes):
        self.TYPE, self._p = t, payload

    def payload(self) -> bytes:
        return self._p


@pytest.fixture
def sim_model(sim_exe, presence_csvs, tmp_path):
    """The simulated device with the exported model (PREDICTION after every FRAME)."""
    s = Sim(sim_exe, presence_csvs["person"], tmp_path / "sd", model=True)
    yield s
    s.stop()


def test_line_noise_costs_only_damaged_frames_and_is_counted(sim_model):
    sim = sim_model
    rng = np.random.default_rng(3)
    hits = {"flip": 0, "garbage": 0, "truncate": 0, "oversize": 0}

    def noise(chunk: bytes) -> bytes:
        b = bytearray(chunk)
        u = rng.random()
        if len(b) < 64 or u > 0.4:
            return bytes(b)
        if u < 0.1:
            b[rng.integers(0, len(b))] ^= 1 << int(rng.integers(0, 8))
            hits["flip"] += 1
        elif u < 0.2:
            pos = int(rng.integers(0, len(b)))
            b[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 200)), dtype=np.uint8).tobytes()
            hits["garbage"] += 1
        elif u < 0.3:
            del b[int(rng.integers(0, len(b))):]
            hits["truncate"] += 1
        else:
            pos = int(rng.integers(0, len(b)))
            b[pos:pos] = rng.integers(1, 256, 2500, dtype=np.uint8).tobytes()
            hits["oversize"] += 1
        return bytes(b)

    c = DeviceClient(open_port(sim.pty))
    try:
        c.connect()
        c.read_size = 2048
        c.noise = noise
        got, t0 = 0, time.monotonic()
        for _ in c.frames(timeout_s=2.0):
            got += 1
            elapsed = time.monotonic() - t0
            if (got >= 30 and min(hits.values()) >= 2) or elapsed > 10:  # a count, not a time: load-proof
                break
    finally:
        c.close()
    s = c.stats
    print(f"noise: {hits}, frames received {got}, stats {s}")
    assert all(v > 0 for v in hits.values()), hits
    assert got > 20 and s.ok > s.dropped  # most messages survive although ~40 % of reads are damaged
    assert s.corrupt > 0 and s.oversize > 0 and s.dropped > 0
    # only damaged frames are lost: at most a few frames per injected fault
    assert s.dropped <= 3 * sum(hits.values())
    assert s.dropped >= 1


def test_eeprom_command_saves_the_image_the_device_backed_up_on_its_card(sim, tmp_path):
    out = tmp_path / "ee.bin"
    r = CliRunner().invoke(cli, ["eeprom", sim.pty, "--out", str(out)])
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert len(data) == 1664 and "device ID 53494d000001" in r.output
    # the simulated device saved the same image on its card at boot, under the sensor's ID
    assert (sim.sd / "mlx90640_ee_53494d000001.bin").read_bytes() == data
    from tinyheat.ingest.card import ingest     # ingest knows the device's file: not "rejected"

    rep = ingest(sim.sd, tmp_path / "ds")
    assert rep.device_files == [sim.sd / "mlx90640_ee_53494d000001.bin"] and rep.rejected == []
    r = CliRunner().invoke(cli, ["eeprom", sim.pty, "--out", str(out)])
    assert r.exit_code == 1 and "exists" in r.output and out.read_bytes() == data


def test_thousand_ping_burst_gets_every_reply(sim):
    """1000 PINGs written as fast as the pty takes them while the device streams 32 frames/s:
    every command is answered (flow control, PROTOCOL.md section 3); streamed FRAMEs that do
    not fit are dropped whole and show up as seq gaps, never replies."""
    c = DeviceClient(open_port(sim.pty))
    try:
        c.connect(stream=True)
        first = c.tx_seq
        sent = threading.Event()

        def writer():
            for _ in range(1000):
                c.send(p.Ping())
            sent.set()

        t = threading.Thread(target=writer)
        t.start()
        acked, deadline = set(), time.monotonic() + 30
        while len(acked) < 1000 and time.monotonic() < deadline:
            for m in c.poll():
                if isinstance(m, p.Hello) and m.status == p.ST_OK:
                    acked.add(m.ack_seq)
        t.join(10)
    finally:
        c.close()
    assert sent.is_set()
    assert acked == set(range(first, first + 1000)), f"{1000 - len(acked)} replies missing"


def test_sim_device_streams_predictions_of_the_exported_model(presence_csvs, person):
    """`tinyheat sim-device` runs the board's loop and classifies with the exported model in
    the real TFLM interpreter: each PREDICTION equals the host pipeline (quantize_input ->
    TFLM -> softmax -> mean of the last 4) on the same rows of the replayed file."""
    from tinyheat.deploy.tflm_check import run_tflm
    from tinyheat.training.preprocess import probabilities, quantize_input

    model_dir = FIRMWARE / "lib" / "tinyheat_model"
    card = json.loads((model_dir / "model_card.json").read_text())
    proc = subprocess.Popen([sys.executable, "-m", "tinyheat.cli", "sim-device", "--frames", str(presence_csvs["person"]),
                             "--mode", "stream", "--rate", "32"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("pty "), line + proc.stderr.read()
        c = DeviceClient(open_port(line.split()[1]))
        h = c.connect(stream=True)
        assert h.model_labels == tuple(card["labels"])
        # the model it runs, by name and CRC-32 of the .tflite (PROTOCOL.md HELLO identity trailer)
        crc = zlib.crc32((model_dir / "tinyheat_model.tflite").read_bytes())
        assert h.model_id == f"{Path(card['run']).name} crc32:{crc:08x}", h.model_id
        pairs, pending, t0 = [], None, time.monotonic()
        for m in c.messages(timeout_s=3.0):
            if isinstance(m, p.Prediction):
                pending = m
            elif isinstance(m, p.Frame) and pending is not None and pending.t_ms == m.t_ms:
                pairs.append((pending, m.temps))
                pending = None
            if len(pairs) >= 16 or time.monotonic() - t0 > 15:
                break
        c.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert len(pairs) >= 12, err
    tflite = (model_dir / "tinyheat_model.tflite").read_bytes()
    q = quantize_input(person, card["input"])
    probs = probabilities(np.asarray(run_tflm(tflite, q)).astype(np.int8), card["output"]["scale"],
                          card["output"]["zero_point"])
    n, same = len(person), 0
    for pred, temps in pairs:
        i, err_k = nearest_row_error(temps, person)
        assert err_k <= 0.0101
        # the device starts at row 0: its smoothing history is the last 4 rows (fewer at the start)
        mean = probs[[(i - k) % n for k in range(4) if i - k >= 0 or i >= 3]].mean(axis=0)
        top = int(np.argmax(mean))
        label = top if mean[top] >= 0.6 else -1
        same += label == pred.label_index and abs(mean[top] - pred.confidence) < 1e-5
    us = [pred.inference_us for pred, _ in pairs]
    print(f"{same}/{len(pairs)} predictions equal to the host pipeline; Invoke() host time {min(us)}..{max(us)} us")
    # a subpage dropped under load changes the smoothing history of the next 3 predictions
    assert same >= 0.8 * len(pairs)
    assert min(us) > 0 and len(set(us)) > 1  # measured, not a constant


def _first_messages(pty: str, n: int, timeout_s: float = 3.0) -> list:
    """Open the pty like a host that does not flush, return the first n (seq, message)."""
    import os
    import select

    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    try:
        dec, out, t0 = p.StreamDecoder(), [], time.monotonic()
        while len(out) < n and time.monotonic() - t0 < timeout_s:
            if select.select([fd], [], [], 0.2)[0]:
                out += [(raw.seq, p.parse(raw)) for raw in dec.feed(os.read(fd, 4096))]
        return out[:n]
    finally:
        os.close(fd)


def test_every_connection_starts_with_hello_ff_seq_0(sim_exe, tmp_path):
    """PROTOCOL.md section 1: on a first boot with a new card (EEPROM backup LOG at boot) the
    host's first message is HELLO status 0xFF, seq 0, then the LOG; nothing is sent while no
    host has the port open, and a re-opened port starts again at HELLO 0xFF seq 0."""
    (tmp_path / "sd").mkdir()
    proc = subprocess.Popen([str(sim_exe), "--sd", str(tmp_path / "sd"), "--mode", "stream", "--rate-code", "7",
                             "--max-seconds", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pty = proc.stdout.readline().split()[1]
        time.sleep(0.4)  # frames are produced meanwhile, with no host: dropped, not queued
        first = _first_messages(pty, 3)
        assert [(s_, type(m).__name__) for s_, m in first[:2]] == [(0, "Hello"), (1, "Log")], first
        assert first[0][1].status == p.ST_UNSOLICITED and first[0][1].session == 1
        assert first[1][1].text.startswith("EEPROM backup saved") and isinstance(first[2][1], p.Frame)
        time.sleep(0.3)
        again = _first_messages(pty, 2)
        assert again[0][0] == 0 and isinstance(again[0][1], p.Hello) and again[0][1].status == p.ST_UNSOLICITED
        assert again[1][0] == 1 and isinstance(again[1][1], p.Frame)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _descendants(pid: int) -> set[int]:
    """Every process whose parent chain reaches pid (Linux /proc)."""
    import os

    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            parent[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, todo = set(), [pid]
    while todo:
        q = todo.pop()
        kids = [c for c, pp in parent.items() if pp == q]
        out.update(kids)
        todo += kids
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sim_device_signal_ends_the_whole_process_tree(sig, presence_csvs, tmp_path):
    """SIGTERM / SIGHUP to `tinyheat sim-device` (with the model: simulator, the helper's shell
    and the TFLM helper): every process of the tree ends and the temp folder is removed."""
    import os

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    rec = tmp_path / "rec.npz"  # an .npz is converted into the temp folder: it must go too
    frames = np.loadtxt(presence_csvs["person"], delimiter=",", dtype=np.float32).reshape(-1, 24, 32)[:8]
    np.savez(rec, frames=frames, t_ms=np.arange(8) * 125, ta_degC=np.full(8, 25, np.float32), meta="{}")
    proc = subprocess.Popen([sys.executable, "-m", "tinyheat.cli", "sim-device", "--frames", str(rec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmpdir)})
    try:
        line = proc.stdout.readline()
        assert line.startswith("pty "), line + proc.stderr.read()
        tree = set()
        for _ in range(50):  # the helper process starts before the pty is printed
            tree = _descendants(proc.pid)
            if len(tree) >= 2:
                break
            time.sleep(0.1)
        assert len(tree) >= 2, tree  # the simulator and the helper (and its shell)
        assert any(d.name.startswith("tinyheat-sim-") for d in tmpdir.iterdir())
        proc.send_signal(sig)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig
    deadline = time.monotonic() + 5
    while any(_alive(q) for q in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [q for q in tree if _alive(q)]
    assert list(tmpdir.iterdir()) == []


def test_mlx90641_sensor_streams_16x12_frames_of_the_den_recording(sim_exe, shared_datasets, tmp_path):
    """The simulated device with an MLX90641 (16x12): HELLO says so (identity trailer), each
    FRAME carries 192 values (a 390-byte payload) equal to the recording's frames within the
    link's 0.01 K and in order; device captures are refused (samples are 32x24); the exported
    model runs on each frame repeated 2 x 2 (the laptop's 16x12 -> 24x32 mapping) and its
    PREDICTIONs equal the host pipeline (quantize_input -> TFLM -> mean of the last 4)."""
    from tinyheat.deploy.tflm_check import run_tflm
    from tinyheat.link.commands import frames_16x12_npy
    from tinyheat.training.preprocess import probabilities, quantize_input

    den = np.loadtxt(shared_datasets / "mlx90641-den" / "frames.csv", delimiter=",", skiprows=1,
                     dtype=np.float32, max_rows=300)[:, -192:].reshape(-1, 12, 16)
    csv = tmp_path / "den.csv"
    np.savetxt(csv, np.c_[np.arange(len(den)), den.reshape(len(den), -1)], delimiter=",", fmt="%.2f",
               header="frame," + ",".join(f"p{i:03d}" for i in range(192)), comments="")
    npy = frames_16x12_npy(str(csv), tmp_path)
    (tmp_path / "sd").mkdir()
    proc = subprocess.Popen([str(sim_exe), "--sensor", "mlx90641", "--frames", str(npy), "--sd",
                             str(tmp_path / "sd"), "--rate-code", "5", "--mode", "stream", "--max-seconds", "30",
                             "--tflm-helper", f"{sys.executable} -m tinyheat.link.tflm_helper"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("pty "), line + proc.stderr.read()
        c = DeviceClient(open_port(line.split()[1]))
        h = c.connect(stream=True)
        assert h.geometry == (12, 16) and h.device_text.startswith("MLX90641 16x12")
        frames, preds, pending = [], [], None
        for m in c.messages(timeout_s=3.0):
            if isinstance(m, p.Prediction):
                pending = m
            elif isinstance(m, p.Frame):
                frames.append(m.temps)
                preds.append(pending if pending is not None and pending.t_ms == m.t_ms else None)
                if len(frames) >= 24:
                    break
        c.request(p.CaptureNow("person"))
        events, t0 = [], time.monotonic()
        while not events and time.monotonic() - t0 < 3:
            events = [m for m in c.poll() if isinstance(m, p.CaptureEvent)]
        c.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert len(frames) == 24 and all(f.shape == (12, 16) for f in frames)
    idx = []
    for f in frames:
        err = np.nanmax(np.abs(den - f[None]), axis=(1, 2))
        idx.append(int(np.argmin(err)))
        assert err.min() <= 0.0051
    assert np.mean(np.diff(idx) % len(den) == 1) > 0.8  # consecutive frames of the recording
    assert events and not events[0].ok and not list((tmp_path / "sd").glob("person.*"))
    model_dir = FIRMWARE / "lib" / "tinyheat_model"
    card = json.loads((model_dir / "model_card.json").read_text())
    up = den.repeat(2, axis=1).repeat(2, axis=2)  # what the laptop trains 16x12 recordings on
    q = quantize_input(up, card["input"])
    probs = probabilities(np.asarray(run_tflm((model_dir / "tinyheat_model.tflite").read_bytes(), q)).astype(np.int8),
                          card["output"]["scale"], card["output"]["zero_point"])
    same = n = 0
    for i, pred in zip(idx, preds):
        if pred is None or i < 3:
            continue
        mean = probs[i - 3:i + 1].mean(axis=0)
        top = int(np.argmax(mean))
        n += 1
        same += (top if mean[top] >= 0.6 else -1) == pred.label_index and abs(mean[top] - pred.confidence) < 1e-5
    assert n >= 12 and same >= 0.8 * n, (same, n)  # a dropped subpage changes the next 3 smoothing windows
