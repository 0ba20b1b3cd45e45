"""``tinyheat import-session | play | sim-session``: thin load -> step -> save wrappers."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import ensure_new_file

from .store import SessionError


def _is_session(path: Path) -> bool:
    """True for a session folder (``zarr.json`` inside): the only thing ``--force`` may replace."""
    return path.is_dir() and (path / "zarr.json").is_file()


def _shape(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected HxW, e.g. 24x32") from None
    if h < 1 or w < 1:
        raise click.BadParameter(f"{text!r}: sizes must be positive")
    return h, w


@click.command("import-session")
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Session folder to write (NAME.zarr).")
@click.option("--kind", type=click.Choice(["auto", "npz", "text", "csv", "frames", "flir"]), default="auto",
              show_default=True, help="Input format (auto: by suffix; text, csv and frames are one reader).")
@click.option("--period-ms", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Frame period, ms: for files without times, or replacing the file's times.")
@click.option("--unit", type=click.Choice(["C", "K", "F"], case_sensitive=False), default=None,
              help="Unit of text values: C, K or F. Default degC; implausible or ambiguous files are refused.")
@click.option("--emissivity", type=click.FloatRange(0.01, 1.0), default=None, help="FLIR: override the camera's emissivity.")
@click.option("--reflected", "reflected_degC", type=float, default=None, help="FLIR: reflected apparent temperature, degC.")
@click.option("--distance", "distance_m", type=click.FloatRange(min=0), default=None, help="FLIR: object distance, m.")
@click.option("--downsample", default=None, help="Resample frames to HxW, e.g. 24x32 (MLX90640 size): area mean when smaller, every pixel "
                   "repeated when an integer multiple (MLX90641 12x16, as the device feeds its model).")
@click.option("--force", is_flag=True, help="Replace an existing session at --out.")
def import_session_cmd(src, out, kind, period_ms, unit, emissivity, reflected_degC, distance_m, downsample, force):
    """Import SRC (a tinyheat .npz recording, a Time/P000.. CSV, any import-frames file, or a FLIR
    .seq/.fff/radiometric JPEG) into a session folder (datasets/SESSION.md).

    Text files are streamed (memory does not grow with the file) through the import-frames reader.
    The session is written into a hidden sibling of OUT and renamed at the end: an interrupted
    import leaves nothing under OUT, and its re-run starts again."""
    from ..atomic import atomic_output
    from .importers import TextImport, downsample_frames, open_import
    from .store import Session, SessionWriter, _jsonable

    shape = _shape(downsample)
    ensure_new_file(out, force)
    try:
        source = open_import(src, kind, period_ms=period_ms, unit=unit.upper() if unit else None,
                             emissivity=emissivity, reflected_degC=reflected_degC, distance_m=distance_m)
        if isinstance(source, Session):
            chunks, meta, start, eeprom = [(source.frames, source.t_ms, source.ta_degC)], source.meta, source.start, \
                source.eeprom
        else:
            chunks, meta, start, eeprom = source, source.meta, None, None
        with atomic_output(out, force=force, replaceable=_is_session) as tmp:
            w = SessionWriter(tmp, meta=meta, start=start, eeprom=eeprom)
            size = None
            for f, t, ta in chunks:
                size = f.shape[1:]
                if shape:
                    f, method = downsample_frames(f, shape)
                    w.meta.update({"downsampled_from": list(size), "downsample_method": method})
                w.append(f, t, ta)
            if w.count == 0:
                why = (f" ({len(source.skipped)} lines skipped, first: line {source.skipped[0][0]}: "
                       f"{source.skipped[0][1]})" if isinstance(source, TextImport) and source.skipped else "")
                raise SessionError(f"{src}: no valid frames{why}; nothing written")
            if isinstance(source, TextImport):
                w.meta.update(_jsonable(source.meta))
                w.set_start(source.start)
            w.close()
            n, (h, wd) = w.count, w.resolution
    except SessionError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {n} frames ({h}x{wd}) from {src} to {out}")
    if isinstance(source, TextImport):
        for note in dict.fromkeys(source.notes):
            click.echo(f"  note: {note}")
        for no, why in source.skipped[:20]:
            click.echo(f"  skipped {src}:{no}: {why}")
        if len(source.skipped) > 20:
            click.echo(f"  ... and {len(source.skipped) - 20} more skipped")


@click.command("play")
@click.argument("session", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Render to FILE.gif or FILE.mp4 instead of opening a window.")
@click.option("--fps", type=click.FloatRange(min=0.1, max=60), default=None, help="Frames per second (default: real time).")
@click.option("--start", type=click.IntRange(min=0), default=0, help="First frame (0-based).")
@click.option("--stop", type=click.IntRange(min=1), default=None, help="Stop before this frame.")
@click.option("--step", type=click.IntRange(min=1), default=1, help="Show every STEP-th frame.")
@click.option("--tracks", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="tracks.csv from `tinyheat people` to overlay.")
@click.option("--vmin", type=float, default=None, help="Colour scale minimum, degC.")
@click.option("--vmax", type=float, default=None, help="Colour scale maximum, degC.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def play_cmd(session, out, fps, start, stop, step, tracks, vmin, vmax, force):
    """Replay SESSION (a .zarr session or a tinyheat .npz recording) with a degC colour bar, time,
    frame index and Ta. Window keys: space pause, left/right step, up/down 10 frames, q quit."""
    from .replay import play_window, render
    from .store import read_session

    try:
        s = read_session(session)
        tab = _read_tracks(tracks) if tracks else None
        if out is None:
            from ..errors import require_display

            require_display(f"render to a file instead: tinyheat play {session} --out {Path(session).stem}.gif")
            play_window(s, tracks=tab, fps=fps, vmin=vmin, vmax=vmax)
            return
        ensure_new_file(out, force)
        from tqdm import tqdm

        from ..atomic import atomic_output

        with atomic_output(out, force=force, replaceable=Path.is_file) as tmp:  # an interrupted render leaves no half file at --out
            n = render(s, tmp, fps=fps, tracks=tab, start=start, stop=stop, step=step, vmin=vmin, vmax=vmax,
                       progress=lambda it: tqdm(it, unit="frame", leave=False))
    except (SessionError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {n} frames to {out}")


def _read_tracks(path: Path):
    import pandas as pd

    try:
        t = pd.read_csv(path)
    except Exception as e:
        raise ValueError(f"{path}: not a readable CSV ({e})") from None
    need = {"track", "frame", "x", "y", "major"}
    if not need <= set(t.columns):
        raise ValueError(f"{path}: missing columns {sorted(need - set(t.columns))} (expected tinyheat people tracks.csv)")
    return t


@click.command("sim-session")
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="Session folder to write (NAME.zarr).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seconds", type=click.FloatRange(min=1), default=75.0, show_default=True)
@click.option("--people", type=click.IntRange(0, 5), default=3, show_default=True)
@click.option("--camera-drift", type=float, default=0.0, show_default=True, help="Camera offset ramp over the session, K.")
@click.option("--room-drift", type=float, default=0.0, show_default=True, help="Room (and Ta) ramp over the session, K.")
@click.option("--force", is_flag=True, help="Replace an existing session at --out.")
def sim_session_cmd(out, seed, seconds, people, camera_drift, room_drift, force):
    """Simulated MLX90640 session of people entering, sitting and leaving (4 frames/s), with
    ground truth in OUT/ground_truth.csv (tinyheat people evaluates against it)."""
    from datetime import datetime, timezone

    import pandas as pd

    from ..sim.moving import default_scene, simulate_session
    from .store import SessionWriter

    ensure_new_file(out, force)
    sim = simulate_session(default_scene(seed, seconds, people, camera_drift_k=camera_drift,
                                         room_drift_k=room_drift), seed=seed)
    from ..atomic import atomic_output

    try:
        with atomic_output(out, force=force, replaceable=_is_session) as tmp:  # written whole or not at all
            w = SessionWriter(tmp, meta=sim.meta, start=datetime(2026, 1, 1, tzinfo=timezone.utc))
            w.append(sim.frames, sim.t_ms, sim.ta_degC)
            w.close()
            pd.DataFrame(sim.truth).to_csv(tmp / "ground_truth.csv", index=False, float_format="%.4f")
    except SessionError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {len(sim.frames)} frames with {people} people to {out}")
