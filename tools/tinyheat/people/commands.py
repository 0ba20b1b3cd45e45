"""``tinyheat people SESSION --out DIR``: people (bodies and heads), tracks and per-track temperature series."""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

OUTPUTS = ("tracks.csv", "series.png", "summary.json", "overlay.gif", "accuracy.json")


@click.command("people")
@click.argument("session", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for tracks.csv, series.png, summary.json, overlay.gif (and accuracy.json).")
@click.option("--reference", default=None, help="Drift-control region x0,y0,x1,y1 (pixels; default: the most stable patch no person ever covered; refused when none is stable).")
@click.option("--delta", "delta_k", type=click.FloatRange(min=0.1), default=None,
              help="Warm threshold of the smoothed image above the background, K (default: from the frame's noise, >= 0.4 K).")
@click.option("--gate", "gate_px", type=click.FloatRange(min=0.5), default=4.0, show_default=True,
              help="Tracking gate, pixels at 32 px width (scaled with the frame width).")
@click.option("--overlay/--no-overlay", default=True, show_default=True, help="Render overlay.gif of the tracks.")
@click.option("--overlay-frames", type=click.IntRange(min=1), default=400, show_default=True,
              help="Render at most this many frames into overlay.gif (evenly spaced).")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Ground-truth CSV (frame,pid,x,y,truth_p95_degC); default SESSION/ground_truth.csv if present.")
@click.option("--force", is_flag=True, help="Replace existing outputs in --out.")
def people_cmd(session, out, reference, delta_k, gate_px, overlay, overlay_frames, truth, force):
    """Find people (one detection per body, head marked) in every frame of SESSION (a session, or
    any file `import-session` reads), track them, and write one temperature series per track
    (skin temperature, max, mean; Hampel-filtered outliers marked; drift-corrected by a reference
    region when one is usable)."""
    import numpy as np
    from tqdm import tqdm

    from ..session import SessionError, read_session
    from .analyze import find_people
    from .detect import DetectorConfig
    from .plots import plot_series
    from .series import parse_region
    from .track import TrackerConfig

    clash = [n for n in OUTPUTS if (out / n).exists()]
    if clash and not force:
        raise click.ClickException(f"{out} already has {', '.join(clash)}; use --force to replace")
    try:
        if session.is_file() and session.suffix.lower() != ".npz":  # a CSV / FLIR file: import in memory
            from ..session.importers import import_any

            s = import_any(session)
        else:
            s = read_session(session)
        frames = s.frames
        region = parse_region(reference, frames.shape[1:]) if reference else None
    except (SessionError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    if len(frames) == 0:
        raise click.ClickException(f"{session}: no frames")
    t0 = time.perf_counter()
    res = find_people(frames, s.t_ms, region, DetectorConfig(delta_k=delta_k), TrackerConfig(gate_px=gate_px),
                      progress=lambda it: tqdm(it, unit="frame", leave=False, desc="people"))
    t_find = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    # Outputs go to a hidden folder inside --out and are moved into place at the end: an interrupted
    # run leaves no partial set that would make the re-run refuse (the re-run removes the folder).
    import os
    import shutil

    from ..atomic import remove_stale, temp_sibling

    remove_stale(out / "people")
    tmp = temp_sibling(out / "people")
    tmp.mkdir()
    try:
        res.table.to_csv(tmp / "tracks.csv", index=False, float_format="%.3f")
        plot_series(res.table, s.t_ms, res.ref, res.reference, tmp / "series.png", title=str(session.name))
        summary = {"session": str(session), "frames": int(len(frames)), "resolution": list(frames.shape[1:]),
                   "tracks": int(len(res.tracks)), "reference": list(res.reference) if res.reference else None,
                   "reference_source": res.reference_source, "static_pixels": int(res.static.sum()),
                   "detections": int(sum(len(d) for d in res.detections)), "seconds_find": round(t_find, 3),
                   "outliers_marked": int(res.table["p95_outlier"].sum()) if len(res.table) else 0,
                   "per_track": [{"track": int(k), "frames": int(len(g)), "first_frame": int(g.frame.min()),
                                  "last_frame": int(g.frame.max()), "p95_median_degC": round(float(g.t_p95.median()), 3),
                                  "p95_corrected_median_degC": round(float(g.p95_corrected.median()), 3)}
                                 for k, g in res.table.groupby("track")]}
        truth_path = truth or (session / "ground_truth.csv" if session.is_dir() else None)
        if truth_path is not None and truth_path.is_file():
            import pandas as pd

            from .evaluate import evaluate

            gt = pd.read_csv(truth_path).to_dict("records")
            acc = evaluate(res.table, gt, len(frames), frames.shape[1:])
            (tmp / "accuracy.json").write_text(json.dumps(acc, indent=1))
            summary["accuracy"] = acc
            click.echo("accuracy: " + ", ".join(f"{k} {acc[k]:.3f}" for k in ("precision", "recall", "mota", "idf1"))
                       + f", id switches {int(acc['num_switches'])}")
        if overlay:
            from ..session.replay import render

            step = max(1, int(np.ceil(len(frames) / overlay_frames)))
            t1 = time.perf_counter()
            render(s, tmp / "overlay.gif", tracks=res.table, step=step,
                   progress=lambda it: tqdm(it, unit="frame", leave=False, desc="overlay"))
            summary["seconds_overlay"] = round(time.perf_counter() - t1, 3)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
        for name in os.listdir(tmp):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    where = ",".join(map(str, res.reference)) if res.reference else ""
    click.echo(f"{len(res.tracks)} tracks in {len(frames)} frames ({t_find:.1f} s); drift reference "
               f"x0,y0,x1,y1 {where} ({res.reference_source})" if where else
               f"{len(res.tracks)} tracks in {len(frames)} frames ({t_find:.1f} s); drift reference "
               f"{res.reference_source}: series not drift-corrected (give --reference x0,y0,x1,y1 of a patch no one crosses)")
    click.echo(f"wrote {out}/tracks.csv, series.png" + (", overlay.gif" if overlay else ""))
