"""Scale-out (issues 11, 18): the rollup job on a real dask.distributed cluster (a `dask
scheduler` and two `dask worker` processes started here, as a user would) gives the same store as
the embedded path, over several sensors and days; `tinyheat heatmap-dask --scheduler` too."""
from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from tinyheat.occupancy import synth
from tinyheat.occupancy.activation import Params
from tinyheat.occupancy.distributed import partitions, run, write_partitions
from tinyheat.occupancy.rollup import LEVELS
from tinyheat.occupancy.store import HeatStore

DAY = 86400


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real cluster as a user starts one: `dask scheduler` and two `dask worker` processes
    (one thread each) on 127.0.0.1, connected through a scheduler file. Yields the address."""
    pytest.importorskip("dask.distributed")
    from tinyheat.occupancy.dask_cluster import start_cluster

    with start_cluster(2, tmp_path_factory.mktemp("dask")) as address:
        yield address


@pytest.fixture(scope="module")
def cluster_client(cluster):
    from dask.distributed import Client

    client = Client(cluster, timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def frames_root(tmp_path_factory):
    """2 sensors x 2 UTC days; each recording crosses midnight, so it splits into 2 partitions."""
    root = tmp_path_factory.mktemp("frames")
    for i, sensor in enumerate(("hall", "office")):
        start = synth.DEFAULT_START.replace(hour=23, minute=58) + timedelta(minutes=i)
        walk = synth.Person(((10 + 20 * i, -2, 10), (60 + 20 * i, 34, 10 + i)))
        rec, _ = synth.scene(180, fps=2, people=(walk,), start=start, seed=i)
        write_partitions(rec, root, sensor)
    return root


def test_dask_on_two_workers_equals_the_embedded_path(frames_root, cluster_client, tmp_path):
    parts = partitions(frames_root)
    assert [(s, d) for s, d, _ in parts] == [("hall", "2026-01-05"), ("hall", "2026-01-06"),
                                             ("office", "2026-01-05"), ("office", "2026-01-06")]
    params = Params(absorb_s=30)
    embedded = run(frames_root, tmp_path / "embedded", params)
    dasked = run(frames_root, tmp_path / "dask", params, client=cluster_client)
    assert len(cluster_client.scheduler_info()["workers"]) == 2
    assert sorted(e["id"] for e in dasked) == sorted(e["id"] for e in embedded)
    a, b = HeatStore(tmp_path / "embedded"), HeatStore(tmp_path / "dask")
    assert json.dumps(a.manifest, sort_keys=True) == json.dumps(b.manifest, sort_keys=True)
    for sensor in ("hall", "office"):
        lo, hi = a.span(sensor)
        for t0, t1 in ((lo, hi), (lo + 60, hi - 60), (lo, lo + 120)):
            qa, qb = a.query(sensor, t0, t1), b.query(sensor, t0, t1)
            np.testing.assert_array_equal(qa.act, qb.act)
            np.testing.assert_array_equal(qa.cov, qb.cov)
        assert a.query(sensor).act.sum() > 50  # the walker is in both
        for level in LEVELS:  # every stored rollup, week and month included, row for row
            ra, rb = a.rows(level, sensor, lo - 40 * DAY, hi + 40 * DAY), b.rows(level, sensor, lo - 40 * DAY, hi + 40 * DAY)
            assert len(ra[0]) >= 1 and ra[3] == rb[3]
            for x, y in zip(ra[:3], rb[:3]):
                np.testing.assert_array_equal(x, y)
        # the two day partitions (Mon 5 / Tue 6 January) add up in one ISO-week and one month bucket
        # (compacted: one week row = the sum of the two sessions' own week rows)
        wk = a.rows("week", sensor, lo - 7 * DAY, hi)
        ids = a.manifest["sensors"][sensor]["sessions"]
        own = [a._read_file(f, None, 768) for fs in a._session_files("week", sensor, ids).values() for f in fs]
        assert len(wk[0]) == 1 and len(own) == 2
        np.testing.assert_allclose(wk[1][0], own[0]["act"].sum(0) + own[1]["act"].sum(0), rtol=1e-12)
        np.testing.assert_array_equal(wk[2][0], own[0]["cov"].sum(0) + own[1]["cov"].sum(0))


def test_frames_partitions_are_idempotent(frames_root):
    before = sorted(p.name for p in frames_root.rglob("*.parquet"))
    rec, _ = synth.scene(180, fps=2, people=(synth.Person(((10, -2, 10), (60, 34, 10))),),
                         start=synth.DEFAULT_START.replace(hour=23, minute=58), seed=0)
    write_partitions(rec, frames_root, "hall")
    assert sorted(p.name for p in frames_root.rglob("*.parquet")) == before


def test_heatmap_dask_cli_against_the_scheduler_equals_embedded(frames_root, cluster, tmp_path):
    from click.testing import CliRunner

    from tinyheat.cli import main

    r = CliRunner().invoke(main, ["heatmap-dask", str(frames_root), "--store", str(tmp_path / "cli"),
                                  "--scheduler", cluster, "--absorb-s", "30"])
    assert r.exit_code == 0, r.output
    assert "4 partitions" in r.output
    run(frames_root, tmp_path / "embedded", Params(absorb_s=30))
    a, b = HeatStore(tmp_path / "embedded"), HeatStore(tmp_path / "cli")
    assert a.manifest["sensors"].keys() == b.manifest["sensors"].keys()
    for sensor in a.manifest["sensors"]:
        assert a.manifest["sensors"][sensor]["sessions"] == b.manifest["sensors"][sensor]["sessions"]
        qa, qb = a.query(sensor), b.query(sensor)
        np.testing.assert_array_equal(qa.act, qb.act)
        np.testing.assert_array_equal(qa.cov, qb.cov)
    # a second run into the same store adds nothing twice: it is refused as already stored
    r = CliRunner().invoke(main, ["heatmap-dask", str(frames_root), "--store", str(tmp_path / "cli"),
                                  "--scheduler", cluster, "--absorb-s", "30"])
    assert r.exit_code == 1 and "already in the store" in r.output


def test_heatmap_dask_on_videos_equals_heatmap_add(cluster, tmp_path):
    """Issue 16 item 4: two videos through `heatmap-dask` on the real cluster (one task each, one
    commit) give the store `heatmap-add` builds from them; a corrupt one among them registers none."""
    pytest.importorskip("cv2")
    pytest.importorskip("imageio_ffmpeg")
    from click.testing import CliRunner
    from test_video_heatmap import FPS, scene, write_mp4

    from tinyheat.cli import main

    videos = [write_mp4(tmp_path / f"cam{i}.mp4", scene(seed=i), FPS, "-metadata",
                        f"creation_time=2026-01-05T0{8 + i}:00:00Z") for i in (0, 1)]
    opts = ["--sensor", "cam", "--op", "motion", "--grid", "40"]
    run_ = CliRunner().invoke
    r = run_(main, ["heatmap-add", *map(str, videos), "--store", str(tmp_path / "add"), *opts])
    assert r.exit_code == 0, r.output
    r = run_(main, ["heatmap-dask", *map(str, videos), "--store", str(tmp_path / "dask"), "--scheduler", cluster, *opts])
    assert r.exit_code == 0, r.output
    assert "2 videos: 2 sessions, 160 frames" in r.output
    a, b = HeatStore(tmp_path / "add"), HeatStore(tmp_path / "dask")
    assert a.manifest["sensors"]["cam"]["sessions"] == b.manifest["sensors"]["cam"]["sessions"]
    lo, hi = a.span("cam")
    assert hi - lo > 3600  # one session at 08:00, one at 09:00
    for t0, t1 in ((lo, hi), (lo, lo + 60), (hi - 60, hi)):
        qa, qb = a.query("cam", t0, t1), b.query("cam", t0, t1)
        np.testing.assert_array_equal(qa.act, qb.act)
        np.testing.assert_array_equal(qa.cov, qb.cov)
    assert a.query("cam").act.sum() > 20  # the walker of both videos
    for level in LEVELS:
        ra, rb = a.rows(level, "cam", lo - 40 * DAY, hi + 40 * DAY), b.rows(level, "cam", lo - 40 * DAY, hi + 40 * DAY)
        for x, y in zip(ra[:3], rb[:3]):
            np.testing.assert_array_equal(x, y)
    # a truncated video among good ones: a one-line error and the store as it was
    bad = tmp_path / "bad.mp4"
    data = videos[0].read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    good = write_mp4(tmp_path / "cam2.mp4", scene(seed=2), FPS, "-metadata", "creation_time=2026-01-05T10:00:00Z")
    manifest = (tmp_path / "dask" / "manifest.json").read_text()
    r = run_(main, ["heatmap-dask", str(good), str(bad), "--store", str(tmp_path / "dask"), "--scheduler", cluster,
                    *opts])
    last = r.output.strip().splitlines()[-1]  # after the progress bar (stderr)
    assert r.exit_code == 1 and "Traceback" not in r.output and "bad.mp4: " in last.split("Error: ")[1], r.output
    assert (tmp_path / "dask" / "manifest.json").read_text() == manifest
