"""``tinyheat heatmap``, ``heatmap-add``, ``heatmap-partition``, ``heatmap-dask`` and
``occupancy``: thin load -> step -> save wrappers. Spec: ``datasets/HEATMAP.md``."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import click
import numpy as np

from .activation import Params, activation
from .recording import RecordingError, load_recording, parse_time
from .video_commands import video_options


def _params(f):
    opts = [
        click.option("--absorb-s", type=click.FloatRange(min=1), default=60.0, show_default=True,
                     help="Background absorbs a static warm object after about this many seconds."),
        click.option("--k-sigma", type=click.FloatRange(min=0.1), default=3.0, show_default=True,
                     help="Foreground: above background by k robust sigmas ..."),
        click.option("--min-delta", type=click.FloatRange(min=0), default=1.0, show_default=True,
                     help="... and by at least this many degC."),
        click.option("--min-blob", type=click.IntRange(min=1), default=3, show_default=True,
                     help="Smallest blob (pixels) that counts."),
        click.option("--person-px", type=click.IntRange(min=1), default=None,
                     help="Blob area of one person (pixels); default: one person per blob."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _mk_params(absorb_s, k_sigma, min_delta, min_blob, person_px) -> Params:
    return Params(absorb_s=absorb_s, k_sigma=k_sigma, min_delta_degC=min_delta, min_blob_px=min_blob,
                  person_px=person_px)


def _time(text, name):
    if text is None:
        return None
    try:
        return parse_time(text)
    except RecordingError as e:
        raise click.BadParameter(str(e), param_hint=name) from None


def _load(path, fps, start):
    from .video import is_video

    if is_video(path):
        raise click.ClickException(f"{path} is video: `tinyheat heatmap-add {path} --store S` (or `tinyheat "
                                   f"activation {path} --out DIR`), then `tinyheat heatmap S`")
    try:
        return load_recording(path, fps=fps, start=_time(start, "--start"))
    except RecordingError as e:
        raise click.ClickException(str(e)) from None


def _outputs_free(force, *paths):
    from ..errors import ensure_new_file

    for p in paths:
        if p is not None:
            ensure_new_file(p, force)


_rec_opts = [
    click.option("--fps", type=click.FloatRange(min=0.01), default=None, help="Frame rate when the file has no time stamps."),
    click.option("--start", default=None, help="UTC start time (ISO 8601) when the file has none."),
]


def _rec(f):
    for o in reversed(_rec_opts):
        f = o(f)
    return f


def _emit_csv(rows: list[dict], path) -> None:
    """Write ``rows`` (dicts with the same keys) to the CSV ``path``, or print them when ``path`` is None."""
    from .zones import write_csv

    if path:
        write_csv(rows, path)
        click.echo(f"wrote {path}")
    else:
        click.echo(",".join(rows[0]))
        for r in rows:
            click.echo(",".join(str(v) for v in r.values()))


@click.command("heatmap-add")
@click.argument("recordings", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Heat-map store folder (created if missing).")
@click.option("--sensor", default="sensor0", show_default=True, help="Sensor name in the store.")
@_rec
@_params
@video_options
def heatmap_add_cmd(recordings, store, sensor, fps, start, op_name, plan, homography, grid_px, **kw):
    """Add recordings to a heat-map store: per-second activation maps rolled up per minute, hour,
    day, ISO week and calendar month (UTC) in Parquet. A recording already in the store, or
    overlapping one of the same sensor, is refused (and nothing of it written). Video files
    (MP4, AVI, MKV, GIF, ...) and folders of time-stamped images go through --op (motion by default);
    --plan/--homography map activation onto a floor plan (datasets/HEATMAP.md 8)."""
    from ..errors import UserError
    from .store import HeatStore, StoreError
    from .video_commands import add_video, load_plan, uses_video_path

    from tqdm import tqdm

    params = _mk_params(**kw)
    pl = load_plan(plan, homography)
    try:
        st = HeatStore(store, create=True)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    st.on_wait = lambda msg: click.echo(msg, err=True)
    failed = 0
    for path in tqdm(recordings, desc="heatmap-add", unit="recording", disable=len(recordings) < 2):
        try:
            if uses_video_path(path, op_name, pl):
                e = add_video(st, path, sensor, start=_time(start, "--start"), fps=fps, op_name=op_name, plan=pl,
                              grid_px=grid_px, thermal_params=params)
            else:
                rec = _load(path, fps, start)
                a = activation(rec.frames, rec.epoch_ms, params)
                e = st.add(sensor, a, str(path), clock_zone_unknown=rec.zone_unknown)
        except (click.ClickException, StoreError, UserError) as e:
            click.echo(f"error: {getattr(e, 'message', e)}", err=True)
            failed += 1
            continue
        click.echo(f"{path}: {e['frames']} frames, {e['seconds']} s -> {store} sensor {sensor} "
                   f"(session {e['id']}, {e['bytes']} bytes)")
    if failed:
        raise click.ClickException(f"{failed} of {len(recordings)} recordings not added")


def _range(st, sensor, t_from, t_to):
    lo, hi = st.span(sensor)
    t0 = _time(t_from, "--from")
    t1 = _time(t_to, "--to")
    a = lo if t0 is None else int(t0.timestamp()) // 60 * 60
    b = hi if t1 is None else -(-int(np.ceil(t1.timestamp())) // 60) * 60
    if b <= a:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    return a, b


def _describe(q, local: bool = False) -> str:
    """Summary of query ``q``; ``local``: the recording's clock zone is unknown (times printed without a zone)."""
    from .rollup import run_size
    from .store import iso
    parts = {}
    for lvl, a, b in q.runs:
        parts[lvl] = parts.get(lvl, 0) + run_size(lvl, a, b)
    how = ", ".join(f"{n} {lvl}{'s' if n > 1 else ''}" for lvl, n in parts.items())
    peak = np.unravel_index(int(np.argmax(q.act)), q.act.shape)
    zone = " (local time of the recording; its zone is unknown)" if local else ""
    return (f"sensor {q.sensor}, {iso(q.t0, local)} .. {iso(q.t1, local)}{zone}: {q.aggregates} aggregates ({how}), "
            f"{q.rows} rows read\n"
            f"recorded up to {int(q.cov.max())} s per pixel; dwell {q.act.sum():.1f} pixel-s, "
            f"peak {q.act.max():.1f} s at x={peak[1]}, y={peak[0]}")


@click.command("heatmap")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("--from", "t_from", default=None, help="Range start, UTC ISO 8601 (rounded down to the minute).")
@click.option("--to", "t_to", default=None, help="Range end, exclusive (rounded up to the minute).")
@click.option("--sensor", default=None, help="Sensor in the store (needed when it has several).")
@_rec
@click.option("--unit", type=click.Choice(["dwell", "fraction"]), default="dwell", show_default=True,
              help="Map values: dwell seconds, or occupied fraction of the recorded seconds.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Heat map PNG.")
@click.option("--scale", type=click.Choice(["linear", "sqrt"]), default="linear", show_default=True,
              help="Colour scale of the PNG (sqrt keeps short visits visible beside long ones).")
@click.option("--hour-grid", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG grid of maps per hour of day (UTC), from the whole hours touching the range.")
@click.option("--timeseries", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG time series of occupied pixels per minute.")
@click.option("--roi", default=None, help="x0,y0,x1,y1 (inclusive pixels): clip and re-normalise in this region.")
@click.option("--zones", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Zones CSV (name,x0,y0,x1,y1).")
@click.option("--zones-csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Per-zone dwell, peak occupancy and visits CSV (default: printed).")
@click.option("--tracks", "tracks_csv", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="tracks.csv of `tinyheat people` for this recording: dwell per track and zone.")
@click.option("--people", "run_people", is_flag=True, help="Run the people tracker on the recording: dwell per track and zone.")
@click.option("--track-zones-csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Per track x zone dwell s, visits, first/last seen CSV (default: printed).")
@click.option("--live", "live_port", default=None, help="Accumulate from the device on this port instead.")
@click.option("--seconds", type=click.FloatRange(min=1), default=None, help="--live: stop after this many seconds.")
@click.option("--frames", "max_frames", type=click.IntRange(min=1), default=None, help="--live: stop after this many frames.")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also add the recording / live session to this store.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@_params
def heatmap_cmd(source, t_from, t_to, sensor, fps, start, unit, png, scale, hour_grid, timeseries, roi, zones, zones_csv,
                tracks_csv, run_people, track_zones_csv, live_port, seconds, max_frames, store, force, **kw):
    """Occupancy heat map of SOURCE over --from .. --to: SOURCE is a heat-map store (folder made
    by heatmap-add) or a recording (a session .zarr, .npz, degC CSV/text; processed on the fly). The range is answered from the
    fewest stored aggregates: whole months, weeks and days, then hours and minutes at the edges."""
    from .store import HeatStore, StoreError
    from .zones import ZoneError, parse_roi, read_zones

    _outputs_free(force, png, hour_grid, timeseries, zones_csv, track_zones_csv)
    if (source is None) == (live_port is None):
        raise click.UsageError("give SOURCE (a store or a recording) or --live PORT")
    per_track = tracks_csv is not None or run_people
    if tracks_csv is not None and run_people:
        raise click.UsageError("give --tracks FILE or --people, not both")
    if per_track and not (zones or roi):
        raise click.UsageError("--tracks / --people count dwell per zone: give --zones FILE or --roi")
    rec = tracks = None
    params = _mk_params(**kw)
    with contextlib.ExitStack() as stack:
        is_store = source is not None and (source / "manifest.json").is_file()
        if source is not None and source.is_dir() and not is_store and not (source / "zarr.json").is_file():
            raise click.ClickException(f"{source}: neither a heat-map store (no manifest.json) "
                                       "nor a session (no zarr.json)")
        if per_track and (live_port is not None or is_store):
            raise click.UsageError("--tracks / --people need a recording SOURCE (its frames), not a store or --live")
        if live_port is not None or (source is not None and source.exists() and not is_store):
            if live_port is not None:
                a, label = _live(live_port, params, seconds, max_frames), f"live {live_port}"
            else:
                rec = _load(source, fps, start)
                tracks = _tracks(rec, tracks_csv) if per_track else None  # bad tracks: fail before any output
                a, label = activation(rec.frames, rec.epoch_ms, params), str(source)
            name = sensor or ("live" if live_port else "sensor0")
            try:
                if store is not None:
                    st = HeatStore(store, create=True)
                    st.on_wait = lambda msg: click.echo(msg, err=True)
                else:
                    st = HeatStore(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "store", create=True)
                st.add(name, a, label, clock_zone_unknown=rec is not None and rec.zone_unknown)
            except StoreError as e:
                raise click.ClickException(str(e)) from None
            sensor = name
        elif is_store:
            try:
                st = HeatStore(source)
            except StoreError as e:
                raise click.ClickException(str(e)) from None
        else:
            raise click.ClickException(f"{source}: no such file or folder")
        try:
            sensor = st.sensor(sensor)
            t0, t1 = _range(st, sensor, t_from, t_to)
            q = st.query(sensor, t0, t1)
            shape = st.shape(sensor)
            zs = [parse_roi(roi).check(shape)] if roi else []
            if zones:
                zs += [z.check(shape) for z in read_zones(zones)]
        except (StoreError, ZoneError) as e:
            raise click.ClickException(str(e)) from None
        click.echo(_describe(q, local=st.clock_zone_unknown(sensor)))
        _pictures(st, q, unit, png, scale, hour_grid, timeseries, parse_roi(roi).check(shape) if roi else None,
                  [z for z in zs if z.name != "roi" or not roi])
        if zs:
            _zone_report(st, q, zs, zones_csv)
        if per_track:
            _track_report(rec, tracks, zs, q, track_zones_csv)


def _tracks(rec, tracks_csv):
    """The recording's tracks: tracks.csv (checked against the recording) or the people tracker."""
    from .track_dwell import TrackError, check_tracks, from_table, read_tracks

    try:
        if tracks_csv is not None:
            tracks = read_tracks(tracks_csv)
            check_tracks(tracks, rec.t_ms, str(tracks_csv))
        else:
            from tinyheat.people.analyze import find_people

            res = find_people(rec.frames, rec.t_ms)
            tracks = from_table(res.table)
            click.echo(f"people tracker: {len(res.tracks)} tracks in {len(rec.frames)} frames")
    except TrackError as e:
        raise click.ClickException(str(e)) from None
    return tracks


def _track_report(rec, tracks, zs, q, out):
    """Dwell per track x zone over the query's range."""
    from .track_dwell import track_zone_dwell

    rows = track_zone_dwell(tracks, rec.epoch_ms, zs, t0_ms=q.t0 * 1000, t1_ms=q.t1 * 1000)
    if not rows:
        click.echo("no tracks: no per-track dwell")
    else:
        _emit_csv(rows, out)


def _live(port, params, seconds, max_frames):
    from tinyheat.link.client import DeviceClient, LinkError, open_port

    from .live import accumulate

    try:
        client = DeviceClient(open_port(port))
        client.connect(stream=True)
    except LinkError as e:
        raise click.ClickException(str(e)) from None
    try:
        n = [0]

        def tick(res):
            n[0] += 1
            if n[0] % 10 == 0:
                click.echo(f"\r{n[0]} s, {int(res.people[-1])} people", nl=False, err=True)

        a = accumulate(client.frames(timeout_s=5.0), params, max_frames=max_frames, seconds=seconds, on_second=tick)
    except LinkError as e:
        raise click.ClickException(str(e)) from None
    finally:
        client.close()
    click.echo("", err=True)
    if a is None:
        raise click.ClickException(f"no frame from {port} within 5 s")
    return a


def _pictures(st, q, unit, png, scale, hour_grid, timeseries, roi, zones):
    from . import pictures
    from .store import iso

    thermal = st.mean_thermal(q.sensor)
    value = q.act if unit == "dwell" else q.fraction
    span = f"{iso(q.t0)} .. {iso(q.t1)}"
    if png:
        if roi is not None:
            pictures.heatmap_png(png, roi.clip(value), roi.clip(thermal), unit=unit, scale=scale,
                                 title=f"{q.sensor} ROI {roi.x0},{roi.y0},{roi.x1},{roi.y1}, {span}\n"
                                       f"colour scale re-normalised to the region's maximum")
        else:
            pictures.heatmap_png(png, value, thermal, unit=unit, title=f"{q.sensor}, {span}", zones=zones, scale=scale)
        click.echo(f"wrote {png}")
    if hour_grid:
        start, act, cov, _ = st.rows("hour", q.sensor, q.t0 // 3600 * 3600, q.t1)
        h, w = st.shape(q.sensor)
        maps = {}
        for hour in np.unique((start // 3600) % 24):
            m = (start // 3600) % 24 == hour
            a, c = act[m].sum(0), cov[m].sum(0)
            v = a if unit == "dwell" else np.where(c > 0, a / np.maximum(c, 1), 0.0)
            maps[int(hour)] = v.reshape(h, w)
        pictures.hour_grid_png(hour_grid, maps, thermal, unit=unit, title=f"{q.sensor} by hour of day, {span}")
        click.echo(f"wrote {hour_grid}")
    if timeseries:
        start, act, cov, _ = st.rows("minute", q.sensor, q.t0, q.t1)
        rec_s = np.maximum(cov.max(1), 1)
        pictures.timeseries_png(timeseries, start, act.sum(1) / rec_s, title=f"{q.sensor}, {span}")
        click.echo(f"wrote {timeseries}")


def _zone_report(st, q, zs, zones_csv):
    from .zones import zone_stats

    sec, act = st.seconds(q.sensor, q.t0, q.t1)
    rows = [zone_stats(z, q.act, q.cov, sec, act) for z in zs]
    _emit_csv(rows, zones_csv)


@click.command("occupancy")
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--counts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Per-frame people count CSV.")
@click.option("--events", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Entered/left events CSV (default: printed).")
@click.option("--debounce-s", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="A new count must hold this long before it is reported.")
@click.option("--mqtt", "broker", default=None, help="Publish events to this MQTT broker, host[:port].")
@click.option("--topic", default=None, help="MQTT topic prefix (default tinyheat/SENSOR).")
@click.option("--sensor", default="sensor0", show_default=True, help="Sensor name in messages.")
@click.option("--zones", "zones_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Zones CSV (name,x0,y0,x1,y1): people per zone too (blob centroids), published under TOPIC/zone/NAME.")
@click.option("--home-assistant", "home_assistant", is_flag=True,
              help="--mqtt: also publish Home Assistant MQTT discovery configs (retained) and availability.")
@click.option("--discovery-prefix", default="homeassistant", show_default=True,
              help="Home Assistant's MQTT discovery prefix.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@_rec
@_params
def occupancy_cmd(recording, counts, events, debounce_s, broker, topic, sensor, zones_file, home_assistant,
                  discovery_prefix, force, fps, start, **kw):
    """People count per frame and entered/left events of RECORDING (blobs of the foreground
    masks, debounced), as CSV and optionally over MQTT."""
    from . import events as ev

    from .zones import ZoneError, read_zones

    _outputs_free(force, counts, events)
    if home_assistant and not broker:
        raise click.UsageError("--home-assistant publishes over MQTT: give --mqtt HOST[:PORT]")
    rec = _load(recording, fps, start)
    try:
        zs = [z.check(rec.shape) for z in read_zones(zones_file)] if zones_file else []
    except ZoneError as e:
        raise click.ClickException(str(e)) from None
    params = _mk_params(**kw)
    a = activation(rec.frames, rec.epoch_ms, params, keep_masks=bool(zs))
    stable, evs = ev.debounce(a.people, a.epoch_ms, debounce_s)
    local = rec.zone_unknown  # a wall clock of unknown zone: printed as such, never labelled UTC
    zone_events = {}
    for name, raw in (ev.zone_counts(a.masks, zs, params.min_blob_px).items() if zs else ()):
        zone_events[name] = ev.debounce(raw, a.epoch_ms, debounce_s)[1]
        click.echo(f"zone {name}: {len(zone_events[name])} events, "
                   f"final {zone_events[name][-1][2] if zone_events[name] else 0} people")
    if counts:
        ev.write_counts_csv(counts, a.epoch_ms, a.blobs, a.people, stable, local=local)
        click.echo(f"wrote {counts} ({len(stable)} frames, max {int(stable.max())} people)")
    if events:
        ev.write_events_csv(events, evs, local=local)
        click.echo(f"wrote {events} ({len(evs)} events)")
    else:
        click.echo(f"{ev.time_column(local)},epoch_ms,event,people")
        for t, k, n in evs:
            click.echo(f"{ev.time_text(t, local)},{t},{k},{n}")
    if broker:
        try:
            n = ev.publish(evs, broker=broker, sensor=sensor, topic=topic, home_assistant=home_assistant,
                           zone_events=zone_events, prefix=discovery_prefix, local=local)
        except ev.MqttError as e:
            raise click.ClickException(f"{e} (CSV output kept)") from None
        click.echo(f"published {n} messages to {broker}")


@click.command("heatmap-partition")
@click.argument("recordings", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Partitioned frames folder (sensor=S/day=YYYY-MM-DD/*.parquet).")
@click.option("--sensor", required=True, help="Sensor name.")
@_rec
def heatmap_partition_cmd(recordings, root, sensor, fps, start):
    """Store recordings' frames as Parquet partitioned by sensor and UTC day (input of heatmap-dask)."""
    from .distributed import write_partitions

    for path in recordings:
        rec = _load(path, fps, start)
        files = write_partitions(rec, root, sensor, on_wait=_say)
        click.echo(f"{path}: {len(rec.frames)} frames -> {len(files)} partition file(s) under {root}")


def _say(msg: str) -> None:
    click.echo(msg, err=True)


@click.command("heatmap-dask")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Heat-map store folder (on a filesystem the workers share).")
@click.option("--scheduler", default=None, help="dask.distributed scheduler address, e.g. tcp://10.0.0.5:8786.")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True,
              help="Without --scheduler: local worker processes (0 = embedded, no Dask).")
@click.option("--sensor", default=None, help="Videos: sensor name in the store [default: sensor0].")
@click.option("--start", default=None, help="Videos: UTC start (ISO 8601) of the first frame; default: the file's creation time.")
@_params
@video_options
def heatmap_dask_cmd(inputs, store, scheduler, workers, sensor, start, op_name, plan, homography, grid_px, **kw):
    """Roll up INPUTS into STORE, one Dask task per (sensor, day) partition of a heatmap-partition
    folder and per video file or image folder (as heatmap-add does it: --op, --plan, --grid, --start,
    --sensor apply to the videos); all sessions are registered in one commit, or none."""
    from ..errors import UserError
    from .distributed import VideoJob, partitions, run
    from .store import StoreError
    from .video import is_video
    from .video_commands import load_plan

    roots, videos = [], []
    for p in inputs:
        if p.is_dir() and partitions(p):
            roots.append(p)
        elif is_video(p):
            videos.append(p)
        else:
            raise click.BadParameter(f"{p} is neither a heatmap-partition folder (sensor=S/day=D/*.parquet) nor a "
                                     "video file or image folder", param_hint="INPUTS")
    if not videos and (sensor or start or op_name or plan or homography):
        raise click.UsageError("--sensor, --start, --op, --plan and --homography are for video inputs; "
                               "partitions carry their sensor and times")
    job = VideoJob(sensor=sensor or "sensor0", op_name=op_name, start=_time(start, "--start"),
                   plan=load_plan(plan, homography), grid_px=grid_px)
    params = _mk_params(**kw)
    try:
        if scheduler is None and workers == 0:
            entries = run(roots, store, params, progress=True, on_wait=_say, videos=videos, job=job)
        else:
            from ..errors import require

            dd = require("dask.distributed", "cluster", "heatmap-dask with --workers or --scheduler")
            Client, LocalCluster = dd.Client, dd.LocalCluster
            with contextlib.ExitStack() as stack:
                if scheduler:
                    client = stack.enter_context(Client(scheduler))
                else:
                    cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1,
                                                               dashboard_address=None))
                    client = stack.enter_context(Client(cluster))
                entries = run(roots, store, params, client, progress=True, on_wait=_say, videos=videos, job=job)
    except (UserError, OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    n_parts = sum(len(partitions(r)) for r in roots)
    click.echo(f"{n_parts} partitions, {len(videos)} videos: {len(entries)} sessions, "
               f"{sum(e['frames'] for e in entries)} frames -> {store}")


@click.command("heatmap-compact")
@click.argument("store", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--repair", is_flag=True,
              help="Drop sessions whose own files are damaged (named; add their recordings again) instead of refusing.")
def heatmap_compact_cmd(store, repair):
    """Rebuild STORE's compacted files (one per sensor, rollup level and day/month/year) from its
    per-session files: upgrades a store written by an older tinyheat and repairs a damaged or
    deleted compacted file. Every session file is read and checked first."""
    from .store import HeatStore, StoreError

    try:
        st = HeatStore(store)
        st.on_wait = lambda msg: click.echo(msg, err=True)
        dropped = st.compact(repair=repair, progress=True)
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    for line in dropped:
        click.echo(line, err=True)
    n = sum(len(s["sessions"]) for s in st.manifest["sensors"].values())
    click.echo(f"{store}: {n} sessions compacted" + (f", {len(dropped)} dropped" if dropped else ""))


@click.command("serve")
@click.argument("store", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (localhost by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--zones", "zones_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Zones CSV (name,x0,y0,x1,y1) shown with their dwell.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (uvicorn workers; e.g. the number of cores).")
def serve_cmd(store, host, port, zones_file, workers):
    """Serve the heat-map STORE as a web page with a JSON API, read-only: any range, the heat map
    over the mean thermal image, coverage, zones with dwell, people over time, clip a region.
    API: datasets/HEATMAP.md, section 9."""
    from ..errors import require
    from .zones import ZoneError, read_zones

    require("fastapi", "web", "tinyheat serve")
    require("uvicorn", "web", "tinyheat serve")
    from .serve import serve
    from .store import StoreError

    try:
        zones = read_zones(zones_file) if zones_file else []
        serve(store, host, port, zones, workers=workers, zones_file=zones_file)
    except (StoreError, ZoneError) as e:
        raise click.ClickException(str(e)) from None
