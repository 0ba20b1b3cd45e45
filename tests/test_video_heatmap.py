"""Heat maps from ordinary video (issue 16): video files and image folders in, one activation map per
second, the motion / people / thermal operations, a floor plan through a homography, and bad input
(truncated, corrupt, empty, gaps, bad homography) as one-line errors that leave the store untouched.
Synthetic videos are written in tmp_path; the real sample is ../shared/datasets/video-samples."""
from __future__ import annotations

import csv
import json
import subprocess
from datetime import datetime, timezone

import numpy as np
import pytest
from click.testing import CliRunner

cv2 = pytest.importorskip("cv2")
imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

from tinyheat.cli import main  # noqa: E402
from tinyheat.occupancy import ops, synth  # noqa: E402
from tinyheat.occupancy import video_heat as vh  # noqa: E402
from tinyheat.occupancy.activation import Params, activation  # noqa: E402
from tinyheat.occupancy.floorplan import Mapper, PlanError, homography  # noqa: E402
from tinyheat.occupancy.store import HeatStore  # noqa: E402

W, H, FPS = 160, 120, 10
START = "2026-01-05T08:00:00Z"
#: the "person": a dark 12 x 28 box walking along y = 60..88 from x = 10 to x = 100 in 1..3 s, then
#: standing (1 px sway) until 6 s, then gone
BOX = (12, 28)


def person_at(t: float):
    if t < 1 or t >= 6:
        return None
    x = 10 + 45 * (t - 1) if t < 3 else 100 + (int(t * 10) % 2)
    return int(x), 60


def scene(n=80, gain_at=None, seed=0):
    """uint8 RGB frames (n, H, W, 3) of a textured static room and the person; from ``gain_at`` s the
    whole picture is brighter (x 1.35 + 8: exposure and offset, clipped as a camera would)."""
    rng = np.random.default_rng(seed)
    room = cv2.GaussianBlur(rng.uniform(40, 200, (H, W, 3)).astype(np.float32), (0, 0), 2.0)
    out = []
    for i in range(n):
        t = i / FPS
        f = room + rng.normal(0, 1.5, room.shape)
        p = person_at(t)
        if p is not None:
            x, y = p
            f[y:y + BOX[1], x:x + BOX[0]] = (30, 35, 60)
        if gain_at is not None and t >= gain_at:
            f = f * 1.35 + 8
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return np.stack(out)


def write_mp4(path, frames, fps=FPS, *extra):
    w = imageio_ffmpeg.write_frames(str(path), (frames.shape[2], frames.shape[1]), fps=fps, codec="libx264",
                                    macro_block_size=8, quality=9, output_params=list(extra))
    w.send(None)
    for f in frames:
        w.send(np.ascontiguousarray(f))
    w.close()
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def seconds_csv(out):
    with open(out / "seconds.csv") as f:
        return list(csv.DictReader(f))


def store_files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    d = tmp_path_factory.mktemp("video")
    return write_mp4(d / "walk.mp4", scene(), FPS, "-metadata", f"creation_time={START}")


def test_one_activation_per_second_and_the_path_is_hot(mp4, tmp_path):
    out = tmp_path / "act"
    r = run("activation", mp4, "--out", out, "--grid", 80)
    assert r.exit_code == 0, r.output
    rows = seconds_csv(out)
    assert [int(x["frames"]) for x in rows] == [10] * 8  # 80 frames at 10 frames/s: 8 seconds, 8 maps
    assert rows[0]["time_utc"] == START  # the container's creation_time
    pngs = sorted(out.glob("2026*.png"))
    assert [p.name for p in pngs] == [x["png"] for x in rows] and (out / "heatmap.png").is_file()
    act = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in pngs]).astype(float) / 255
    assert act.shape == (8, 60, 80)
    assert act[0].max() == 0 and act[7].max() == 0  # empty room before 1 s and after 6 s
    dwell = act.sum(0)
    standing = dwell[30:44, 50:56]  # grid = frame / 2: the box at x 100..112, y 60..88
    assert standing.mean() > 1.5
    walked = dwell[32:42, 15:40]
    assert (walked > 0.1).mean() > 0.9
    assert dwell[:25].max() < 0.05 and dwell[:, 65:].max() < 0.05  # walls cold


def test_global_brightness_change_is_not_activation(tmp_path):
    path = write_mp4(tmp_path / "gain.mp4", scene(gain_at=4.5))
    src = vh.video_source(path, datetime(2026, 1, 5, tzinfo=timezone.utc))
    op = vh.make_op("motion", src, vh.make_mapper(src, 80))
    secs = list(vh.seconds(src, op))
    assert len(secs) == 8
    person = np.zeros((60, 80), bool)
    person[28:46, 3:58] = True
    for s in secs:
        assert s.act[~person].mean() < 0.003, (s.sec, s.act[~person].mean())
    assert secs[5].act[30:44, 50:56].mean() > 0.5  # the standing person is still seen after the change


def test_image_folder_variable_rate_and_gaps(tmp_path):
    frames = scene(40)
    d = tmp_path / "frames"
    d.mkdir()
    t_ms = np.r_[np.arange(0, 2000, 250), 2000 + np.arange(0, 2000, 50)][:40]  # 4 then 20 frames/s
    base = datetime(2026, 1, 5, 8, 0, 0, tzinfo=timezone.utc).timestamp()
    for t, f in zip(t_ms, frames):
        name = datetime.fromtimestamp(base + t / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3] + "Z.png"
        cv2.imwrite(str(d / name), f)
    out = tmp_path / "act"
    r = run("activation", d, "--out", out)
    assert r.exit_code == 0, r.output
    assert [int(x["frames"]) for x in seconds_csv(out)] == [4, 4, 20, 12]
    assert seconds_csv(out)[0]["time_utc"] == START
    # a second with no frame cannot have an activation map: refused, nothing written
    (d / sorted(p.name for p in d.iterdir())[-1]).rename(d / "2026-01-05T08-00-09.000Z.png")
    r = run("activation", d, "--out", tmp_path / "gap")
    assert r.exit_code == 1 and "gap" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "gap").exists() and not list(tmp_path.glob(".gap*"))
    (d / "notime.png").write_bytes((d / "2026-01-05T08-00-09.000Z.png").read_bytes())
    r = run("activation", d, "--out", tmp_path / "x")
    assert r.exit_code == 1 and "no time in the file name" in r.output


def test_variable_frame_rate_mkv_gif_and_avi(tmp_path, mp4):
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    vfr = tmp_path / "vfr.mkv"  # frames 0..29 at 5 frames/s, then 20 frames/s (container time stamps)
    subprocess.run([exe, "-y", "-loglevel", "error", "-i", str(mp4), "-vf",
                    "setpts='if(lt(N,30),N*0.2,6+(N-30)*0.05)/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
                    str(vfr)], check=True)
    src = vh.video_source(vfr, datetime(2026, 1, 5, tzinfo=timezone.utc))
    t = np.array([t for t, _ in src.frames()])
    assert (np.diff(t[:30]) == 200).all() and np.median(np.diff(t[30:])) < 110
    secs = list(vh.seconds(src, vh.make_op("motion", src, vh.make_mapper(src))))
    assert [s.n_frames for s in secs] == list(np.bincount(t // 1000))  # one map per second, every frame once
    import imageio.v3 as iio

    gif = tmp_path / "a.gif"
    iio.imwrite(gif, scene(25)[..., ::-1], duration=100, loop=0)
    avi = tmp_path / "a.avi"
    w = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    for f in scene(25):
        w.write(f)
    w.release()
    for p in (gif, avi):
        src = vh.video_source(p, datetime(2026, 1, 5, tzinfo=timezone.utc))
        secs = list(vh.seconds(src, vh.make_op("motion", src, vh.make_mapper(src))))
        assert [s.n_frames for s in secs] == [10, 10, 5], p
        assert secs[2].act.max() > 0.3  # the walker at 2.0 .. 2.5 s


def test_store_gets_the_video_and_bad_input_leaves_it_untouched(mp4, tmp_path):
    st = tmp_path / "store"
    r = run("heatmap-add", mp4, "--store", st, "--sensor", "cam", "--grid", 80)
    assert r.exit_code == 0, r.output
    before = store_files(st)
    manifest = (st / "manifest.json").read_text()
    data = mp4.read_bytes()
    bad = {"trunc.mp4": data[: len(data) // 2], "empty.mp4": b"", "noise.mkv": np.random.default_rng(1).bytes(4000)}
    fast = write_mp4(tmp_path / "fs.mp4", scene(80, seed=3), FPS, "-movflags", "+faststart").read_bytes()
    bad["trunc_faststart.mp4"] = fast[: len(fast) * 6 // 10]  # header intact, frames cut: decodes part of it
    for name, b in bad.items():
        (tmp_path / name).write_bytes(b)
        r = run("heatmap-add", tmp_path / name, "--store", st, "--sensor", "cam", "--start", "2026-02-01T00:00:00Z",
                "--grid", 80)
        assert r.exit_code == 1, (name, r.output)
        assert len(r.output.strip().splitlines()) == 2 and "Traceback" not in r.output  # error line + summary
        assert store_files(st) == before and (st / "manifest.json").read_text() == manifest, name
    assert "truncated" in run("activation", tmp_path / "trunc_faststart.mp4", "--out", tmp_path / "o",
                              "--start", START).output
    r = run("heatmap", mp4, "--png", tmp_path / "v.png")  # a video is not read as a thermal recording
    assert r.exit_code == 1 and "heatmap-add" in r.output and not (tmp_path / "v.png").exists()
    nostart = write_mp4(tmp_path / "nostart.mp4", scene(20))
    r = run("activation", nostart, "--out", tmp_path / "o2")
    assert r.exit_code == 1 and "--start" in r.output
    # what the store answers is the video's activation: range, ROI and zones as for thermal sensors
    zones = tmp_path / "zones.csv"
    zones.write_text("name,x0,y0,x1,y1\ntable,50,30,55,43\nwall,0,0,79,20\n")
    r = run("heatmap", st, "--zones", zones, "--zones-csv", tmp_path / "z.csv", "--png", tmp_path / "h.png")
    assert r.exit_code == 0, r.output
    z = {row["zone"]: row for row in csv.DictReader(open(tmp_path / "z.csv"))}
    assert float(z["table"]["dwell_s"]) == 3 and float(z["wall"]["dwell_px_s"]) < 1


def test_long_input_is_stored_in_chunks_with_the_same_totals(mp4, tmp_path):
    def query(chunk_s):
        st = HeatStore(tmp_path / f"s{chunk_s}", create=True)
        src = vh.video_source(mp4)
        op = vh.make_op("motion", src, vh.make_mapper(src, 40))
        entries = vh.add_to_store(src, op, st, "cam", chunk_s=chunk_s)
        return len(entries), st.query("cam")

    n1, q1 = query(600)
    n3, q3 = query(3)
    assert (n1, n3) == (1, 3)
    np.testing.assert_allclose(q3.act, q1.act, atol=1e-6)
    assert (q3.cov == q1.cov).all() and q1.cov.max() == 8


def test_homography_errors_are_one_line_and_write_nothing(mp4, tmp_path):
    plan = tmp_path / "plan.png"
    cv2.imwrite(str(plan), np.full((100, 200, 3), 255, np.uint8))
    cases = {
        "three.json": {"image": [[0, 0], [10, 0], [0, 10]], "plan": [[0, 0], [10, 0], [0, 10]]},
        "line.json": {"image": [[0, 0], [10, 10], [20, 20], [30, 30]], "plan": [[0, 0], [5, 0], [0, 5], [5, 5]]},
        "repeat.json": [[[0, 0], [0, 0]], [[0, 0], [0, 0]], [[5, 5], [5, 5]], [[9, 1], [9, 1]]],
        "notjson.json": "{",
    }
    st = tmp_path / "store"
    for name, pts in cases.items():
        (tmp_path / name).write_text(pts if isinstance(pts, str) else json.dumps(pts))
        r = run("heatmap-add", mp4, "--store", st, "--plan", plan, "--homography", tmp_path / name)
        assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1, (name, r.output)
        assert not st.exists()
    with pytest.raises(PlanError, match="at least 4"):
        homography(np.zeros((3, 2)), np.zeros((3, 2)))
    r = run("heatmap-add", mp4, "--store", st, "--plan", plan)
    assert r.exit_code == 2 and "--homography" in r.output


def test_floor_plan_mapping_of_activation_and_foot_points(mp4, tmp_path):
    # plan = the camera image mirrored left-right at half size (a homography we know)
    img = np.array([[0, 0], [160, 0], [160, 120], [0, 120], [80, 60]], float)
    plan_pts = np.c_[(160 - img[:, 0]) / 2, img[:, 1] / 2]
    Hm = homography(img, plan_pts)
    m = Mapper((W, H), 80, plan=np.zeros((60, 80, 3), np.uint8), H=Hm)
    assert m.shape == (60, 80)
    g, ok = m.points(np.array([[110.0, 88.0], [-50, 10]]))
    np.testing.assert_allclose(g[0], [(160 - 110) / 2, 44], atol=1e-6)
    assert ok.tolist() == [True, False]
    src = vh.video_source(mp4)
    plain = list(vh.seconds(src, vh.make_op("motion", src, vh.make_mapper(src, 80))))
    mapped = list(vh.seconds(src, vh.make_op("motion", src, m)))
    a, b = plain[4].act, mapped[4].act
    assert a.sum() > 10 and abs(b.sum() - a.sum() / 4 * 4) / a.sum() < 0.15  # same grid size, mirrored
    np.testing.assert_allclose(b[30:44, 24:30].mean(), a[30:44, 50:56].mean(), atol=0.1)
    # heatmap-add on the plan: the store's mean image is the plan
    plan = tmp_path / "plan.png"
    cv2.imwrite(str(plan), np.tile(np.linspace(0, 255, 80, dtype=np.uint8), (60, 1)))
    pts = tmp_path / "pts.json"
    pts.write_text(json.dumps({"image": img.tolist(), "plan": plan_pts.tolist()}))
    st = tmp_path / "store"
    r = run("heatmap-add", mp4, "--store", st, "--plan", plan, "--homography", pts)
    assert r.exit_code == 0, r.output
    s = HeatStore(st)
    assert s.shape("sensor0") == (60, 80) and abs(s.mean_thermal("sensor0")[0, -1] - 255) < 3


def test_thermal_op_is_the_radiometric_activation():
    walk = synth.Person(((2, -2, 10), (14, 34, 10)))
    rec, _ = synth.scene(16, fps=8, people=(walk,), seed=4)
    ref = activation(rec.frames, rec.epoch_ms, Params(absorb_s=30))
    src = vh.recording_source(rec, "synth")
    op = vh.make_op(None, src, vh.make_mapper(src), thermal_params=Params(absorb_s=30))
    assert op.name == "thermal"
    secs = list(vh.seconds(src, op))
    assert [s.sec for s in secs] == ref.sec.tolist()
    np.testing.assert_array_equal(np.stack([s.act for s in secs]), ref.act)
    with pytest.raises(Exception, match="needs video"):
        vh.make_op("motion", src, vh.make_mapper(src))


def test_a_user_operation_plugs_in(mp4):
    @ops.register
    class Brightness(ops.Operation):
        name = "test-bright"

        def frame_map(self, t_ms, frame, dt_ms):
            return (frame.mean(2) > 128).astype(np.float32), 0, []

    src = vh.video_source(mp4)
    secs = list(vh.seconds(src, vh.make_op("test-bright", src, vh.make_mapper(src, 40))))
    assert len(secs) == 8 and secs[0].act.shape == (30, 40) and 0 < secs[0].act.mean() < 1


# ---- the real sample ------------------------------------------------------------------------------
def real_video(shared_datasets):
    return shared_datasets / "video-samples" / "one-by-one-person-detection.mp4"


def test_real_video_table_and_path_hot_walls_cold(shared_datasets):
    """First 45 s (two visits to the table). 768 x 432 -> grid 160 x 90 (4.8 px a cell)."""
    import itertools

    src = vh.video_source(real_video(shared_datasets))
    assert src.size == (768, 432) and vh.iso(int(src.start_s)) == "2017-09-26T16:57:49Z"
    frames = src._frames
    src._frames = lambda: itertools.islice(frames(), 450)
    op = vh.make_op("motion", src, vh.make_mapper(src))
    secs = list(vh.seconds(src, op))
    assert len(secs) == 45
    dwell = np.stack([s.act for s in secs]).sum(0)
    cell = 768 / 160
    table = dwell[int(20 / cell):int(150 / cell), int(400 / cell):int(520 / cell)]
    floor_path = dwell[int(250 / cell):int(400 / cell), int(390 / cell):int(500 / cell)]
    walls = dwell[int(10 / cell):int(200 / cell), int(120 / cell):int(300 / cell)]
    window = dwell[:int(150 / cell), :int(90 / cell)]
    assert table.mean() > 10 and floor_path.mean() > 5
    assert walls.mean() < 0.5 and window.mean() < 0.5
    empty = [s.act.mean() for s in secs[:5]]  # the room is empty for the first 5 s
    assert max(empty) < 0.001


def test_real_video_people_detector_finds_the_visitor(shared_datasets):
    """HOG on frames where one person stands at the table (frames 250..330): a detection on most,
    its foot point below the table top, near the table's foot (x ~ 450, y ~ 300..380 px)."""
    src = vh.video_source(real_video(shared_datasets))
    op = vh.make_op("people", src, vh.make_mapper(src))
    found, feet = 0, []
    for i, (t, f) in enumerate(src.frames()):
        if i > 330:
            break
        if i >= 250 and i % 10 == 0:
            boxes, _ = op.detect(f)
            found += len(boxes) > 0
            feet += [(x + w / 2, y + h * (1 - op.FOOT_MARGIN)) for x, y, w, h in boxes]
    assert found >= 5
    feet = np.array(feet)
    assert (np.abs(feet[:, 0] - 450) < 80).mean() > 0.7 and (np.abs(feet[:, 1] - 340) < 70).mean() > 0.7


def test_people_op_puts_a_foot_disc_at_the_mapped_foot_point(mp4, tmp_path):
    """The detector is replaced by a fixed box (HOG finds no one in synthetic boxes): the op's own
    part, foot point -> plan -> disc, and people.csv are what is tested here."""
    img = np.array([[0, 0], [160, 0], [160, 120], [0, 120]], float)
    plan_pts = np.c_[(160 - img[:, 0]) / 2, img[:, 1] / 2]  # mirrored, half size
    m = Mapper((W, H), 80, plan=np.zeros((60, 80, 3), np.uint8), H=homography(img, plan_pts))
    src = vh.video_source(mp4)
    op = vh.make_op("people", src, m, ops.VideoParams(people_fps=2))
    box = np.array([[90.0, 40.0, 32.0, 64.0]])  # foot point: x 106, y 40 + 64 * 7/8 = 96
    op.detect = lambda frame: (box, np.array([1.5]))
    secs = list(vh.seconds(src, op))
    assert [s.n_evaluated for s in secs] == [2] * 8 and all(s.counts.tolist() == [1] * 10 for s in secs)
    a = secs[0].act
    yy, xx = np.nonzero(a)
    assert abs(xx.mean() + 0.5 - (160 - 106) / 2) < 0.6 and abs(yy.mean() + 0.5 - 48) < 0.6
    # disc diameter = person width = box width / 2 = 16 image px = 8 plan cells
    assert 30 < a.sum() < 70 and a.max() == 1.0
    t, xi, yi, xg, yg, score = secs[0].points[0]
    assert (xi, yi) == (106.0, 96.0) and (xg, yg) == pytest.approx((27.0, 48.0)) and score == 1.5
