"""``tinyheat monitor | capture | record | sim-device``: host tools of the USB serial link.

PORT is a serial port (``/dev/ttyACM0``, ``COM5``), the simulated device's pseudo-terminal
(``/dev/pts/N`` printed by ``tinyheat sim-device``) or any pyserial URL.
Protocol: ``firmware/lib/tinyheat_link/PROTOCOL.md``.
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click



def _connect(port: str, stream: bool = True):
    from .client import DeviceClient, LinkError, open_port

    try:
        client = DeviceClient(open_port(port))
        hello = client.connect(stream=stream)
    except LinkError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{port}: tinyheat fw {hello.fw_version or '?'}, session {hello.session:08x}, "
               f"labels {' '.join(hello.capture_labels) or '-'}, mode {hello.mode_name}", err=True)
    return client


def _summary(client) -> str:
    s = client.stats
    return (f"{s.ok} messages, {s.dropped} dropped (seq gaps), {s.corrupt} corrupt "
            f"(crc {s.crc_errors}, cobs {s.cobs_errors}, oversize {s.oversize}, short {s.short})")


@click.command("monitor")
@click.argument("port")
@click.option("--mirror", is_flag=True, help="Flip left-right (selfie view).")
def monitor_cmd(port, mirror):
    """Live heat map of the device on PORT with min/max/cursor temperatures, the device's
    prediction, frames per second and drop counts. Close the window to stop."""
    from .monitor import run_monitor

    client = _connect(port)
    try:
        run_monitor(client, mirror=mirror)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    click.echo(_summary(client), err=True)


@click.command("capture")
@click.argument("port")
@click.option("--label", "-l", required=True, help="Class label (1-31 of A-Z a-z 0-9 _ -).")
@click.option("--count", "-n", type=click.IntRange(min=1), required=True, help="Number of samples to store.")
@click.option("--dataset", "-d", type=click.Path(file_okay=False), required=True, help="Dataset folder (created).")
@click.option("--every-ms", type=click.IntRange(min=0), default=250, show_default=True,
              help="Minimum device time between samples, ms (consecutive frames are near-duplicates).")
@click.option("--device-save", is_flag=True, help="Also ask the device to save each sample on its SD card.")
def capture_cmd(port, label, count, dataset, every_ms, device_save):
    """Store COUNT frames streamed by the device on PORT as samples of LABEL in DATASET.

    The host grabs frames from the stream (lossless 0.01 K) and writes them exactly like
    `tinyheat ingest` (JPEG + 16-bit PGM sidecar + manifest row; nothing is overwritten).
    Ctrl-C stops early and keeps every sample stored so far.
    """
    from tqdm import tqdm

    from ..dataset import sample_format as sf
    from ..dataset.store import DatasetStore
    from .capture import CaptureResult, capture_samples
    from .client import LinkError

    try:
        sf.check_label(label)
    except sf.SampleError as e:
        raise click.BadParameter(str(e), param_hint="--label") from None
    store = DatasetStore(dataset)
    client = _connect(port)
    res = CaptureResult()
    bar = tqdm(total=count, unit="sample", desc=label)
    try:
        capture_samples(client, store, label, count, source=port, every_ms=every_ms, device_save=device_save,
                        on_sample=lambda row: bar.update(1), result=res)
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
    except LinkError as e:
        bar.close()
        client.close()
        raise click.ClickException(f"{e} (stored samples kept)") from None
    finally:
        bar.close()
        client.close()
        store.close()
    click.echo(f"stored {len(res.rows)} samples of {label} in {dataset} "
               f"({res.duplicates} duplicate frames skipped); {_summary(client)}")


@click.command("record")
@click.argument("port")
@click.option("--out", "-o", type=click.Path(), required=True,
              help="Session folder NAME.zarr (datasets/SESSION.md) or a legacy .npz recording.")
@click.option("--frames", "max_frames", type=click.IntRange(min=1), default=None, help="Stop after this many frames.")
@click.option("--seconds", type=float, default=None, help="Stop after this many seconds.")
def record_cmd(port, out, max_frames, seconds):
    """Record every frame from PORT in degC with timestamps into OUT: a session NAME.zarr
    (datasets/SESSION.md; `tinyheat play`/`people` read it) or a legacy .npz (frames (n,24,32)
    float32 degC, t_ms (n,), ta_degC (n,), meta), streamed to disk. Ctrl-C stops and keeps the
    recording. Read it with numpy.load; `tinyheat import-frames` accepts it."""
    from .client import LinkError
    from .recording import RecordingWriter

    if os.path.lexists(out):  # before the device is touched; record has no --force
        raise click.ClickException(f"{out} already exists; choose another --out (record never replaces a recording)")
    client = _connect(port)
    h = client.hello
    meta = {"port": port, "fw_version": h.fw_version, "session": f"{h.session:08x}", "rate_code": h.rate_code,
            "emissivity": h.emissivity, "protocol": h.proto}
    try:
        if out.endswith(".zarr"):  # a session (datasets/SESSION.md): crash-safe, read by play/people
            from ..session.device import DeviceSessionWriter, device_meta

            smeta = device_meta(h, port)
            try:  # the sensor's calibration travels with the recording (PROTOCOL.md GET_EEPROM)
                eeprom = client.read_eeprom()
                smeta["eeprom"] = "GET_EEPROM at the start of the recording"
            except LinkError as e:
                eeprom = None
                smeta["eeprom"] = f"not available: {e}"
                click.echo(f"no EEPROM image stored in the session: {e}", err=True)
            writer = DeviceSessionWriter(out, smeta, eeprom=eeprom)
        else:
            writer = RecordingWriter(out, meta)
    except (FileExistsError, ValueError) as e:
        client.close()
        raise click.ClickException(str(e)) from None
    t0 = time.monotonic()
    try:
        for f in client.frames(timeout_s=5.0):
            writer.add(f.t_ms, f.ta_degc, f.temps)
            if writer.count % 32 == 0:
                click.echo(f"\r{writer.count} frames", nl=False, err=True)
            if (max_frames and writer.count >= max_frames) or (seconds and time.monotonic() - t0 >= seconds):
                break
        else:
            click.echo("\nno frame for 5 s, stopping", err=True)
    except KeyboardInterrupt:
        pass
    except LinkError as e:
        click.echo(f"\n{e}", err=True)
    finally:
        if hasattr(writer, "set_stats"):
            writer.set_stats(dropped_frames=client.stats.dropped, corrupt_messages=client.stats.corrupt)
        writer.close()
        client.close()
    click.echo(f"\nwrote {writer.count} frames to {out}; {_summary(client)}")


@click.command("eeprom")
@click.argument("port")
@click.option("--out", "-o", type=click.Path(dir_okay=False), required=True,
              help="File for the image: 1664 bytes, the 832 words little-endian (PROTOCOL.md EEPROM).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def eeprom_cmd(port, out, force):
    """Save the MLX90640's EEPROM image (832 words: calibration + device ID) of the device on
    PORT to OUT, in the format of the backup the device keeps on its SD card
    (mlx90640_ee_<ID>.bin). Keep it: a sensor whose EEPROM is lost needs it back."""
    from .client import LinkError

    path = Path(out)
    from ..errors import ensure_new_file

    ensure_new_file(path, force)
    client = _connect(port, stream=False)
    try:
        words = client.read_eeprom()
    except LinkError as e:
        raise click.ClickException(str(e)) from None
    finally:
        client.close()
    data = words.astype("<u2").tobytes()
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    click.echo(f"wrote {len(data)} bytes to {out}: MLX90640 EEPROM, device ID "
               f"{int(words[7]):04x}{int(words[8]):04x}{int(words[9]):04x}")


def rate_code_for_hz(hz: float) -> int:
    """MLX90640 refresh-rate code for a subpage rate in Hz (0.5 * 2**code, code 0..7)."""
    code = round(math.log2(hz / 0.5)) if hz > 0 else -1
    if not 0 <= code <= 7 or abs(0.5 * 2 ** code - hz) > 1e-6:
        raise click.BadParameter(f"{hz} Hz is not an MLX90640 rate (0.5, 1, 2, 4, 8, 16, 32, 64)", param_hint="--rate")
    return code


def build_sim(build_dir: Path | None = None) -> Path:
    """Build the simulated device with make (firmware/host/Makefile) into ``build_dir`` (default:
    :func:`tinyheat.paths.build_dir`), return the binary's path. ClickException if it fails."""
    from ..paths import build_dir as default_build_dir, build_lock, firmware_dir

    try:
        fw = firmware_dir()
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    out = Path(build_dir or default_build_dir("host")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with build_lock(out):
        r = subprocess.run(["make", "-s", "-C", str(fw / "host"), f"BUILD={out}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise click.ClickException(f"building the simulated device failed:\n{r.stdout}{r.stderr}")
    return out / "tinyheat_sim"


@click.command("sim-device")
@click.option("--frames", "frames_csv", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Frames to replay, looped: CSV with 768 degC per line (e.g. a shared dataset), a "
                   "`tinyheat record` .npz, or an .npy float32 (n,24,32). Default: a synthetic warm blob.")
@click.option("--sd", type=click.Path(file_okay=False), default=None,
              help="Folder used as the SD card (created). Default: no card.")
@click.option("--rate", type=float, default=8.0, show_default=True,
              help="MLX90640 subpage rate at boot, Hz (0.5..64; a full frame is two subpages).")
@click.option("--mode", type=click.Choice(["collect", "classify", "stream"]), default="collect", show_default=True)
@click.option("--no-model", is_flag=True, help="Run without the classifier (no TFLM helper process).")
def sim_device_cmd(frames_csv, sd, rate, mode, no_model):
    """Build and run the simulated device: the firmware's one device loop (th_device_step, as
    on the board) on the host, classifying with the exported model (firmware/lib/tinyheat_model)
    in the real TFLM interpreter (a helper process). It prints the pseudo-terminal path to use
    as PORT with monitor/capture/record/eeprom. Ctrl-C stops."""
    import shlex
    import tempfile

    code = rate_code_for_hz(rate)
    exe = build_sim()
    args = [str(exe), "--rate-code", str(code), "--mode", mode]
    if not no_model:
        args += ["--tflm-helper", f"{shlex.quote(sys.executable)} -m tinyheat.link.tflm_helper"]
    tmp = tempfile.TemporaryDirectory(prefix="tinyheat-sim-")
    if frames_csv and frames_csv.endswith(".npz"):
        import numpy as np

        from .recording import read_recording

        npy = Path(tmp.name) / "frames.npy"
        np.save(npy, np.ascontiguousarray(read_recording(frames_csv)["frames"], dtype="<f4"))
        frames_csv = str(npy)
    if frames_csv:
        args += ["--frames", frames_csv]
    if sd:
        os.makedirs(sd, exist_ok=True)
        args += ["--sd", sd]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            click.echo(line.rstrip())
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
    finally:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        tmp.cleanup()
    sys.exit(proc.returncode or 0)
