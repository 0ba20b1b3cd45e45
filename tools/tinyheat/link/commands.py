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
    click.echo(f"{port}: tinyheat fw {hello.fw_version or '?'}, {hello.device_text}, session "
               f"{hello.session:08x}, labels {' '.join(hello.capture_labels) or '-'}, mode {hello.mode_name}", err=True)
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
    from ..errors import require_display
    from .monitor import run_monitor

    require_display(f"record instead: tinyheat record {port} --out rec.zarr, then tinyheat play rec.zarr --out rec.gif")
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
    recording. `tinyheat import-frames` reads either (an .npz also with numpy.load)."""
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


#: Files of the simulated device's build (firmware/host/Makefile), relative to the firmware folder.
SIM_SOURCES = ("host/*.c", "host/*.h", "host/Makefile", "lib/tinyheat_core/*.c", "lib/tinyheat_core/*.h",
               "lib/tinyheat_link/*.c", "lib/tinyheat_link/*.h", "lib/tinyheat_model/tinyheat_model.c",
               "lib/tinyheat_model/tinyheat_model.h", "src/model_params.c", "src/model_params.h", "include/*.h")
SIM_CACHE_KEEP = 8  #: simulator builds kept in the cache (least recently used removed)


def model_name(fw: Path) -> str:
    """The exported model's name: the last part of ``run`` in its model_card.json (e.g. ``demo``
    for ``runs/demo``), reduced to ``[A-Za-z0-9_.-]``; ``tinyheat_model`` if unknown."""
    import json
    import re

    try:
        run = json.loads((fw / "lib" / "tinyheat_model" / "model_card.json").read_text()).get("run") or ""
    except (OSError, ValueError, AttributeError):
        run = ""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(str(run)).name)[:40]
    return name or "tinyheat_model"


def sim_build_key(fw: Path) -> str:
    """16 hex digits of SHA-256 over the simulator's sources and the exported model (names and
    bytes, :data:`SIM_SOURCES`), the model name and the C compiler: the cache key of its binary.
    A :class:`~tinyheat.errors.UserError` if the folder has no exported model."""
    import hashlib
    import os as _os

    from ..errors import UserError

    missing = [p for p in SIM_SOURCES if "*" not in p and not (fw / p).is_file()]
    if missing:
        raise UserError(f"{fw} cannot build the simulated device: missing {', '.join(missing)} "
                        "(an exported model: `tinyheat export`)")
    h = hashlib.sha256()
    for pattern in SIM_SOURCES:
        for f in sorted(fw.glob(pattern)):
            h.update(f.relative_to(fw).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    from .. import __version__

    h.update(f"MODEL_NAME={model_name(fw)} CC={_os.environ.get('CC', 'cc')} VERSION={__version__}".encode())
    return h.hexdigest()[:16]


def build_sim(build_dir: Path | None = None) -> Path:
    """Build the simulated device with make (firmware/host/Makefile) into
    ``build_dir/<key>/tinyheat_sim`` (default folder: :func:`tinyheat.paths.build_dir`), where
    ``key`` = :func:`sim_build_key` (a hash of the sources and the model, not file dates: another
    ``TINYHEAT_FIRMWARE`` or model gets its own binary; an unchanged one is reused without make).
    Keeps the :data:`SIM_CACHE_KEEP` most recently used builds. Returns the binary's path;
    ClickException if the build fails, a UserError for a missing/incomplete firmware folder."""
    import shutil

    from .. import __version__
    from ..paths import build_dir as default_build_dir, build_lock, firmware_dir

    fw = firmware_dir()
    key = sim_build_key(fw)
    root = Path(build_dir or default_build_dir("host")).resolve()
    out = root / key
    exe = out / "tinyheat_sim"
    with build_lock(root):
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            out.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(["make", "-s", "-B", "-C", str(fw / "host"), f"BUILD={out}",
                                f"MODEL_NAME={model_name(fw)}", f"TINYHEAT_VERSION={__version__}"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                shutil.rmtree(out, ignore_errors=True)
                raise click.ClickException(f"building the simulated device failed:\n{r.stdout}{r.stderr}")
        os.utime(out)  # most recently used
        builds = sorted((d for d in root.iterdir() if d.is_dir() and (d / "tinyheat_sim").exists()),
                        key=lambda d: d.stat().st_mtime, reverse=True)
        for old in builds[SIM_CACHE_KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
    return exe


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
@click.option("--sensor", type=click.Choice(["mlx90640", "mlx90641"]), default="mlx90640", show_default=True,
              help="Simulated sensor: MLX90640 32x24, or MLX90641 16x12 (frames from a 16x12 CSV with the last 192 "
                   "columns = degC, e.g. the shared mlx90641-den frames.csv, or an .npy (n, 12, 16); the model gets each "
                   "frame with every pixel repeated 2 x 2, as the laptop trains on 16x12 recordings).")
@click.option("--faults", "faults_script", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Fault script (firmware/host/sim_faults.h: lines like '@2.5 sensor unplug'). Without it, a "
                   "FIFO is created and printed as 'faults PATH': write fault lines to it at run time.")
def sim_device_cmd(frames_csv, sd, rate, mode, no_model, faults_script, sensor):
    """Build and run the simulated device: the firmware's one device loop (th_device_step, as
    on the board) on the host, classifying with the exported model (firmware/lib/tinyheat_model)
    in the real TFLM interpreter (a helper process). It prints the pseudo-terminal path to use
    as PORT with monitor/capture/record/eeprom, then 'faults PATH': the control FIFO that injects
    faults at run time (sensor NACK, unplug, stuck bus, card pull/full/slow, USB cut/slow; the
    commands are listed in firmware/host/sim_faults.h). Ctrl-C, SIGTERM or SIGHUP stop it."""
    import shlex
    import tempfile

    code = rate_code_for_hz(rate)
    exe = build_sim()
    args = [str(exe), "--rate-code", str(code), "--mode", mode, "--sensor", sensor]
    if not no_model:
        args += ["--tflm-helper", f"{shlex.quote(sys.executable)} -m tinyheat.link.tflm_helper"]
    tmp = tempfile.TemporaryDirectory(prefix="tinyheat-sim-")
    if frames_csv and frames_csv.endswith(".npz"):
        import numpy as np

        from .recording import read_recording

        npy = Path(tmp.name) / "frames.npy"
        np.save(npy, np.ascontiguousarray(read_recording(frames_csv)["frames"], dtype="<f4"))
        frames_csv = str(npy)
    if frames_csv and sensor == "mlx90641" and not frames_csv.endswith(".npy"):
        frames_csv = str(frames_16x12_npy(frames_csv, Path(tmp.name)))
    if frames_csv:
        args += ["--frames", frames_csv]
    if sd:
        os.makedirs(sd, exist_ok=True)
        args += ["--sd", sd]
    # its own session (process group): the simulator, the helper's shell and the helper end
    # together whatever stops us (Ctrl-C, SIGTERM, SIGHUP of a closed terminal)
    faults = faults_script
    if faults is None:  # a control FIFO: `echo "card pull" > PATH` injects a fault at run time
        faults = str(Path(tmp.name) / "faults")
        os.mkfifo(faults)
    args += ["--faults", faults]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True)
    got = []

    def on_signal(signum, _frame):
        got.append(signum)
        raise KeyboardInterrupt

    old = {}
    for s in (signal.SIGTERM, signal.SIGHUP):
        try:
            old[s] = signal.signal(s, on_signal)
        except ValueError:  # not the main thread (embedded use): the caller stops us
            pass
    try:
        for line in proc.stdout:
            try:
                click.echo(line.rstrip())
                if line.startswith("pty "):
                    click.echo(f"faults {faults}")
            except OSError:  # our terminal went away: keep serving the pty until a signal
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        stop_process_group(proc)
        tmp.cleanup()
    sys.exit(128 + got[0] if got else (proc.returncode if proc.returncode and proc.returncode > 0 else 0))


def frames_16x12_npy(csv: str, folder: Path) -> Path:
    """A 16x12 CSV (a header line allowed; the last 192 columns of each row = degC row-major, as
    datasets/mlx90641-den/frames.csv) as ``folder/frames16x12.npy`` float32 (n, 12, 16)."""
    import numpy as np

    from ..errors import UserError

    with open(csv) as f:
        first = f.readline()
    skip = 0 if first.strip() and first.split(",")[0].strip().lstrip("-").replace(".", "", 1).isdigit() else 1
    data = np.loadtxt(csv, delimiter=",", skiprows=skip, dtype=np.float32, ndmin=2)
    if data.shape[1] < 192:
        raise UserError(f"{csv}: {data.shape[1]} columns, need the 192 values of a 16x12 frame per row")
    out = folder / "frames16x12.npy"
    np.save(out, np.ascontiguousarray(data[:, -192:].reshape(-1, 12, 16), dtype="<f4"))
    return out


def stop_process_group(proc: subprocess.Popen, timeout_s: float = 5.0) -> None:
    """End ``proc`` (started with ``start_new_session=True``) and every process of its group:
    SIGTERM (the simulator stops its model helper and prints its statistics), then SIGKILL to
    whatever is left after ``timeout_s`` seconds. Never raises for processes already gone."""
    def killpg(sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    if proc.poll() is None:
        killpg(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
    killpg(signal.SIGKILL)  # stragglers (a helper that ignored the simulator's EOF)
    proc.wait()
