"""`tinyheat heatmap` end to end (issue 11): the shipped demo session, a store with zones and
ranges, the --live path against the in-process fake device, refusals; a real recording."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tinyheat.cli import main
from tinyheat.occupancy import synth
from tinyheat.occupancy.activation import Params, activation
from tinyheat.occupancy.recording import load_recording


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def demo(repo):
    return repo / "datasets" / "heatmap-demo" / "demo.zarr"


def test_shipped_demo_session_is_what_the_generator_makes(demo):
    """tools/make_heatmap_demo.py regenerates it; the README's figures describe this scene."""
    rec = load_recording(demo)
    fresh, _ = synth.demo_scene()
    assert rec.start == fresh.start and np.array_equal(rec.t_ms, fresh.t_ms)
    np.testing.assert_array_equal(rec.frames, fresh.frames.astype(np.float32))


def test_heatmap_of_a_recording_writes_pictures_and_refuses_to_overwrite(demo, tmp_path):
    png, grid, ts = tmp_path / "map.png", tmp_path / "grid.png", tmp_path / "ts.png"
    r = run("heatmap", demo, "--png", png, "--hour-grid", grid, "--timeseries", ts, "--unit", "fraction")
    assert r.exit_code == 0, r.output
    assert "3 aggregates (3 minutes)" in r.output
    for p in (png, grid, ts):
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 300
    before = png.read_bytes()
    r = run("heatmap", demo, "--png", png)
    assert r.exit_code == 1 and "--force" in r.output and png.read_bytes() == before


def test_store_range_roi_and_zones_csv(demo, tmp_path):
    store = tmp_path / "store"
    r = run("heatmap-add", demo, "--store", store, "--sensor", "demo")
    assert r.exit_code == 0, r.output
    r = run("heatmap-add", demo, "--store", store, "--sensor", "demo")
    assert r.exit_code == 1 and "already in the store" in r.output
    zones = tmp_path / "zones.csv"
    zones.write_text("name,x0,y0,x1,y1\ndesk,6,4,10,8\nheater,26,1,30,5\ncorridor,0,10,31,14\n")
    out = tmp_path / "z.csv"
    r = run("heatmap", store, "--from", "2026-01-05T08:01:00Z", "--to", "2026-01-05T08:03:00Z",
            "--zones", zones, "--zones-csv", out)
    assert r.exit_code == 0, r.output
    rows = {z["zone"]: z for z in csv.DictReader(out.open())}
    # the sitter is in the desk zone from before 08:01 until ~93 s (stands up at 90 s, walks out)
    assert 30 <= int(rows["desk"]["dwell_s"]) <= 36 and int(rows["desk"]["visits"]) >= 1
    assert 48 <= int(rows["heater"]["dwell_s"]) <= 56   # on since 50 s, absorbed ~60 s later (+ one 4 s sample)
    assert int(rows["corridor"]["visits"]) >= 1
    r = run("heatmap", store, "--roi", "6,4,10,8", "--png", tmp_path / "roi.png")
    assert r.exit_code == 0 and (tmp_path / "roi.png").is_file()
    r = run("heatmap", store, "--roi", "6,4,40,8")
    assert r.exit_code == 1 and "not inside" in r.output and "Traceback" not in r.output


def test_live_accumulates_from_the_fake_device_like_the_offline_path(monkeypatch, tmp_path):
    from tinyheat.link import client as link_client
    from tinyheat.link.client import DeviceClient
    from tinyheat.link.fake_device import FakeDevice
    from tinyheat.occupancy.live import accumulate

    walk = synth.Person(((2, -2, 10), (14, 34, 10)))
    rec, truth = synth.scene(16, fps=8, people=(walk,), seed=4)
    dev = FakeDevice(rec.frames, rate_code=5, max_frames=len(rec.frames))  # 16 Hz subpages = 8 frames/s
    c = DeviceClient(dev)
    c.connect(stream=True)
    a = accumulate(c.frames(timeout_s=0.2), Params(absorb_s=30), max_frames=len(rec.frames), clock=lambda: 1_767_600_000.0)
    assert len(a.epoch_ms) == len(rec.frames) and np.all(np.diff(a.epoch_ms) == 125)
    quantized = np.round(rec.frames * 100) / 100  # the link carries centi-degC
    off = activation(quantized, a.epoch_ms, Params(absorb_s=30))
    np.testing.assert_array_equal(a.act, off.act)
    assert a.act.sum() == pytest.approx(truth.people_masks.sum() / 8, rel=0.05)
    # the command: --live PORT with the port opened as the fake device
    monkeypatch.setattr(link_client, "open_port", lambda port, timeout_s=0.05: FakeDevice(rec.frames, rate_code=5))
    r = run("heatmap", "--live", "fake", "--frames", len(rec.frames), "--png", tmp_path / "live.png",
            "--store", tmp_path / "live-store")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "live.png").is_file() and (tmp_path / "live-store" / "manifest.json").is_file()


def test_bad_inputs_are_one_line_errors(tmp_path):
    txt = tmp_path / "f.txt"
    txt.write_text("\n".join(",".join([f"{25 + (i % 7) / 10:.1f}" for i in range(768)]) for _ in range(4)))  # no times
    r = run("heatmap", txt)
    assert r.exit_code == 1 and "--fps" in r.output
    r = run("heatmap", txt, "--fps", "4")
    assert r.exit_code == 1 and "--start" in r.output
    r = run("heatmap", txt, "--fps", "4", "--start", "yesterday")
    assert r.exit_code == 2 and "ISO-8601" in r.output
    r = run("heatmap", tmp_path)
    assert r.exit_code == 1 and "neither a heat-map store" in r.output
    r = run("heatmap")
    assert r.exit_code == 2


def test_real_ceiling_recording_walk_is_detected(shared_datasets):
    path = shared_datasets / "fir-action-ceiling" / "20200626_160522_mlx90640_01_light_none.csv"
    rec = load_recording(path)
    assert rec.frames.shape == (743, 24, 32) and 7 < len(rec.t_ms) / (rec.t_ms[-1] / 1000) < 9
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=30))
    # labels.csv: walking from frame 47 to 725; before it the room is empty
    assert (a.people[47:725] >= 1).mean() > 0.8
    assert (a.people[5:40] == 0).mean() > 0.8


def test_heatmap_reads_a_session_zarr(tmp_path):
    from tinyheat.session import SessionWriter

    walk = synth.Person(((2, -2, 10), (14, 34, 10)))
    rec, truth = synth.scene(16, fps=8, people=(walk,), seed=4)
    path = tmp_path / "walk.zarr"
    with SessionWriter(path, meta={"sensor": "MLX90640"}, start=rec.start) as w:
        w.append(rec.frames, rec.t_ms)
    got = load_recording(path)
    assert got.start == rec.start and np.array_equal(got.t_ms, rec.t_ms)
    r = run("heatmap", path, "--min-blob", "1")
    assert r.exit_code == 0, r.output
    assert f"dwell {truth.people_masks.sum() / 8:.1f} pixel-s" in r.output  # every occupied pixel-frame, in seconds
