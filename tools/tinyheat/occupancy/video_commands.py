"""``tinyheat activation`` and the video half of ``tinyheat heatmap-add``: video files, image folders
and (with ``--plan``) thermal recordings through an activation operation (``--op``) onto the heat-map
grid or a floor plan. Spec: ``datasets/HEATMAP.md`` section 8."""
from __future__ import annotations

from pathlib import Path

import click

from .floorplan import GRID_PX


def video_options(f):
    """``--op``, ``--plan``, ``--homography``, ``--grid`` (shared by heatmap-add and activation)."""
    opts = [
        click.option("--op", "op_name", default=None,
                     help="Activation operation: motion (video default), people, thermal (recording default), "
                          "or one a user registered (datasets/HEATMAP.md 8)."),
        click.option("--plan", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                     help="Floor-plan image: activation and people's foot points are mapped onto it."),
        click.option("--homography", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                     help="JSON of 4+ point pairs image px -> plan px (with --plan)."),
        click.option("--grid", "grid_px", type=click.IntRange(8, 256), default=GRID_PX, show_default=True,
                     help="Heat-map cells along the longer side of the video frame or plan (video and --plan only)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def load_plan(plan, homography):
    """(plan image, H) or None; a one-line error unless both or neither are given."""
    if (plan is None) != (homography is None):
        raise click.UsageError("--plan and --homography go together")
    if plan is None:
        return None
    from .floorplan import load_plan as _load

    return _load(plan, homography)


def uses_video_path(path: Path, op_name: str | None, plan) -> bool:
    """True when ``path`` goes through the operation driver: a video/image folder, a non-thermal op, or a plan."""
    from .video import is_video

    return is_video(path) or (op_name not in (None, "thermal")) or plan is not None


def _source(path: Path, start, fps):
    from . import video_heat as vh
    from .recording import RecordingError, load_recording
    from .video import is_video

    if is_video(path):
        return vh.video_source(path, start)
    try:
        rec = load_recording(path, fps=fps, start=start)
    except RecordingError as e:
        raise click.ClickException(str(e)) from None
    return vh.recording_source(rec, str(path))


def prepare(path: Path, start, fps, op_name, plan, grid_px, params, thermal_params):
    """(source, operation) for ``path``."""
    from . import video_heat as vh

    src = _source(path, start, fps)
    pl, H = plan if plan is not None else (None, None)
    mapper = vh.make_mapper(src, grid_px, pl, H)
    return src, vh.make_op(op_name, src, mapper, params, thermal_params)


def add_video(st, path: Path, sensor: str, *, start, fps, op_name, plan, grid_px, thermal_params,
              params=None) -> dict:
    """Run the operation over ``path`` and add it to the store ``st``; returns a summary
    ``{frames, seconds, id, bytes, sessions}`` (several sessions for inputs longer than ``CHUNK_S``)."""
    from . import ops
    from . import video_heat as vh

    src, op = prepare(path, start, fps, op_name, plan, grid_px, params or ops.VideoParams(), thermal_params)
    entries = vh.add_to_store(src, op, st, sensor)
    return {"frames": sum(e["frames"] for e in entries), "seconds": sum(e["seconds"] for e in entries),
            "id": ",".join(e["id"] for e in entries), "bytes": sum(e["bytes"] for e in entries),
            "sessions": len(entries), "op": op.name}


@click.command("activation")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: one PNG per second, seconds.csv, people.csv (--op people), heatmap.png.")
@click.option("--start", default=None, help="UTC start (ISO 8601) of the first frame; default: the file's creation time.")
@click.option("--fps", type=click.FloatRange(min=0.01), default=None, help="Thermal recordings without time stamps.")
@click.option("--absorb-s", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="A still object or person becomes background after about this many seconds.")
@click.option("--people-fps", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="--op people: frames per second run through the detector (HOG is slow).")
@click.option("--force", is_flag=True, help="Replace an existing --out folder.")
@video_options
def activation_cmd(source, out, start, fps, absorb_s, people_fps, force, op_name, plan, homography, grid_px):
    """One activation image per second of SOURCE (a video file OpenCV reads: MP4, AVI, MKV, GIF, ...; a
    folder of time-stamped images; or a thermal recording with --op thermal), as 8-bit PNGs
    (255 = active for the whole second), plus a heat map over the first frame or the plan."""
    from ..errors import ensure_new_dir
    from . import ops, video_heat as vh
    from .activation import Params
    from .commands import _time

    ensure_new_dir(out, force)
    pl = load_plan(plan, homography)
    params = ops.VideoParams(absorb_s=absorb_s, people_fps=people_fps)
    src, op = prepare(source, _time(start, "--start"), fps, op_name, pl, grid_px, params, Params(absorb_s=absorb_s))
    r = vh.write_activation_dir(src, op, out)
    click.echo(f"{source}: {r['frames']} frames, {r['seconds']} s, --op {op.name}, grid {op.mapper.shape[1]}x"
               f"{op.mapper.shape[0]}{' on the plan' if op.mapper.has_plan else ''} -> {out}")
