"""People finding and tracking: known answers from the simulator, drift correction, outlier
marking, full-resolution frames, and a real ceiling recording of one person."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.people.analyze import find_people
from tinyheat.people.detect import detect
from tinyheat.people.evaluate import evaluate
from tinyheat.people.series import auto_reference, hampel, parse_region
from tinyheat.session import read_session
from tinyheat.sim.moving import default_scene, render_apparent, simulate_session


@pytest.fixture(scope="module")
def demo(repo):
    p = repo / "datasets" / "sessions" / "demo.zarr"
    return read_session(p), pd.read_csv(p / "ground_truth.csv").to_dict("records")


def test_drift_correction_removes_an_injected_ramp():
    sim = simulate_session(default_scene(1, duration_s=50, n_people=2, camera_drift_k=3.0), seed=1)
    res = find_people(sim.frames, sim.t_ms)
    m = evaluate(res.table, sim.truth, len(sim.frames), (24, 32))
    x0, y0, x1, y1 = res.reference
    assert res.reference_source == "auto" and not res.static[y0:y1, x0:x1].any()
    assert m["p95_abs_err_filtered_median_k"] > 0.8      # the ramp (0 -> 3 K) is in the raw series
    assert m["p95_abs_err_corrected_median_k"] < 0.3     # and gone after subtracting the reference
    slope = np.polyfit(sim.t_ms / 1000, res.ref, 1)[0] * 50
    assert 2.5 < slope < 3.5                              # the reference saw the 3 K ramp


def test_hampel_marks_outliers_and_keeps_them():
    x = 34 + 0.05 * np.sin(np.arange(40))
    x[17] = 30.0
    filt, flag = hampel(x)
    assert flag.tolist().count(True) == 1 and flag[17] and abs(filt[17] - 34) < 0.1
    assert len(filt) == 40 and filt[16] == x[16]


def test_reference_region_parsing_and_auto_choice():
    assert parse_region("1,2,5,6", (24, 32)) == (1, 2, 5, 6)
    for bad in ("1,2,5", "5,2,1,6", "0,0,33,4", "a,b,c,d"):
        with pytest.raises(ValueError):
            parse_region(bad, (24, 32))
    rng = np.random.default_rng(0)
    f = 22 + rng.normal(0, 0.2, (50, 24, 32)).astype(np.float32)
    f[:, 20:, :] += rng.normal(0, 1.0, (50, 4, 32))     # a noisy band (e.g. moving air)
    occ = np.zeros((24, 32), bool)
    occ[:, :16] = True                                   # left half: people walked there
    x0, y0, x1, y1 = auto_reference(f, occ)
    assert x0 >= 16 and y1 <= 20


def test_full_resolution_faces():
    scene = default_scene(0, hot_object=None)             # one frame: no session to mask a static object
    t = 30.0                                              # people 1 and 2 seated, 3 not yet in
    img = render_apparent(scene, t, ss=20).astype(np.float32)   # 480 x 640
    img += np.random.default_rng(0).normal(0, 0.05, img.shape).astype(np.float32)
    dets = detect(img)
    truth = [(w.position(t), w.head_r_px * 20) for w in scene.walkers if w.position(t)]
    truth = [(p, r) for p, r in truth if 0 <= p[0] < 32 and 0 <= p[1] < 24]
    assert len(dets) == len(truth) >= 2
    for (px, py), r in truth:
        d = min(dets, key=lambda d: np.hypot(d.head_x / 20 - px, d.head_y / 20 - py))
        assert np.hypot(d.head_x - 20 * px, d.head_y - 20 * py) < 0.25 * r   # within a quarter of the head radius
        assert 0.5 * r < d.major / 2 < 1.5 * r and d.t_max > 33.5


def test_real_ceiling_recording_one_person(shared_datasets):
    from tinyheat.session.importers import from_time_csv

    d = shared_datasets / "fir-action-ceiling"
    s = from_time_csv(d / "20200626_160522_mlx90640_01_light_none.csv")
    labels = next(r for r in (l.split(",") for l in (d / "labels.csv").read_text().splitlines())
                  if r[0].startswith("20200626"))
    first, last = int(labels[1]), int(labels[-3])       # the person is in view and labelled here
    res = find_people(s.frames, s.t_ms)
    n_det = np.array([len(x) for x in res.detections])
    inside = n_det[first:last]
    assert np.mean(inside >= 1) > 0.85                   # found in most labelled frames
    assert np.mean(n_det >= 2) < 0.1                     # one person: rarely two heads at once
    per_frame = res.table.groupby("frame").size()
    assert (per_frame > 1).mean() < 0.1
    longest = res.table.groupby("track").size().max()
    assert longest >= 0.8 * (last - first)               # one person, one track for most of the time in view
    assert res.table.track.nunique() <= 3
    assert 28 < res.table.t_p95.median() < 36


def test_people_on_the_demo_session_known_answers_and_outputs(demo, repo, tmp_path):
    """`tinyheat people` on the shipped simulated session: 3 people enter, sit, leave; a warm
    static box (30 C) sits at the top right; ground truth in demo.zarr/ground_truth.csv."""
    s, truth = demo
    assert {r["pid"] for r in truth} == {1, 2, 3}
    src = repo / "datasets" / "sessions" / "demo.zarr"
    out = tmp_path / "p"
    r = CliRunner().invoke(main, ["people", str(src), "--out", str(out), "--overlay-frames", "6"])
    assert r.exit_code == 0, r.output
    assert "precision" in r.output
    m = json.loads((out / "accuracy.json").read_text())
    assert m["precision"] >= 0.95 and m["recall"] >= 0.95
    assert m["num_switches"] <= 2 and m["mota"] >= 0.9 and m["idf1"] >= 0.9
    assert 3 <= m["num_tracks"] <= 5
    assert m["p95_abs_err_filtered_median_k"] < 0.3      # head p95 vs the noise-free truth
    tab = pd.read_csv(out / "tracks.csv")
    assert {"track", "frame", "t_ms", "t_max", "t_p95", "t_mean", "p95_outlier", "p95_corrected"} <= set(tab.columns)
    assert not ((tab.x > 25) & (tab.y < 5)).any()        # the static warm box is never a person
    assert (out / "series.png").stat().st_size > 10_000
    import imageio.v3 as iio
    assert iio.imread(out / "overlay.gif").shape[0] == 6
    r = CliRunner().invoke(main, ["people", str(src), "--out", str(out)])
    assert r.exit_code == 1 and "--force" in r.output
    r = CliRunner().invoke(main, ["people", str(src), "--out", str(tmp_path / "q"), "--reference", "0,0,40,2"])
    assert r.exit_code == 1 and "must satisfy" in r.output and not (tmp_path / "q").exists()


def test_real_den_recording_person_walks_in_and_stays(shared_datasets):
    """MLX90641 (16x12) den recording: empty until frame 2040, the person walks in and works at
    the computer from frame 2102 to the end (the author's notes). Every 8th frame, for speed."""
    from tinyheat.session.importers import from_time_csv

    s = from_time_csv(shared_datasets / "mlx90641-den" / "frames.csv")
    idx = np.arange(0, len(s), 8)
    res = find_people(s.frames[idx], s.t_ms[idx])
    n_det = np.array([len(d) for d in res.detections])
    before, after = n_det[idx < 2040], n_det[idx >= 2110]
    assert np.mean(before > 0) < 0.02 and np.mean(after == 1) > 0.95
    spans = res.table.groupby("track").frame.agg(["min", "max"])
    assert len(spans) <= 3                               # one person, at most a couple of restarts
    assert 2030 <= idx[spans["min"].min()] <= 2110 and idx[spans["max"].max()] >= 4390


def test_drift_reference_is_refused_when_unstable_and_a_noisier_correction_is_not_applied():
    from tinyheat.people.analyze import choose_reference

    rng = np.random.default_rng(3)
    f = (22 + rng.normal(0, 0.1, (60, 24, 32))).astype(np.float32)
    occ = np.ones((24, 32), bool)
    assert choose_reference(f, occ) == (None, "none: every candidate region was covered by a person at some time")
    g = f.copy()
    g[1::2, :4, :4] += 3.0                                # a flickering corner given by the user
    region, why = choose_reference(g, np.zeros((24, 32), bool), (0, 0, 4, 4))
    assert region is None and "not stable" in why
    # a reference that warms while the person does not: the correction would add error -> not applied
    from tinyheat.people.analyze import _noisier

    tab = pd.DataFrame({"track": 1, "p95_filtered": 34 + rng.normal(0, 0.1, 50)})
    tab["p95_corrected"] = tab.p95_filtered - np.linspace(0, 2, 50)
    assert _noisier(tab) and not _noisier(tab.assign(p95_corrected=tab.p95_filtered + 0.5))


def test_one_track_for_a_lying_body_and_for_a_person_at_the_edge_of_a_warm_room():
    """The shared scene model (tinyheat.sim.people_scene) through the sensor simulator: a person
    walks in, lies on the floor for 30 s (a long warm body: never two people), gets up, leaves;
    in a warm room (28 degC) a person stands half out of view at the left edge."""
    from tinyheat.sim.moving import MovingScene
    from tinyheat.sim.people_scene import Person

    lie = Person(((0, -2, 12), (5, 9, 12), (40, 9, 12), (46, 34, 14)), radius_px=1.8, lying=((7, 37, 0.3),), pid=1)
    sim = simulate_session(MovingScene(duration_s=46, people=[lie], hot_object=None), seed=1)
    res = find_people(sim.frames, sim.t_ms)
    m = evaluate(res.table, sim.truth, len(sim.frames), (24, 32))
    assert m["num_tracks"] == 1 and m["num_switches"] == 0 and m["mota"] > 0.9
    assert (res.table.groupby("frame").size() > 1).mean() <= 0.02
    still = res.table[(res.table.t_ms >= 9000) & (res.table.t_ms < 36000)]
    assert np.subtract(*np.percentile(still.p95_filtered, [75, 25])) <= 0.5   # stable skin temperature
    edge = Person(((0, 8, -2), (4, 0.4, 9), (24, 0.4, 9), (28, 8, 26)), radius_px=2.0, jitter_px=0.2,
                  face_degC=33.5, pid=1)
    sim = simulate_session(MovingScene(duration_s=28, room_degC=28.0, ta_above_room_k=4.0, people=[edge],
                                       hot_object=None), seed=2)
    res = find_people(sim.frames, sim.t_ms)
    m = evaluate(res.table, sim.truth, len(sim.frames), (24, 32))
    assert m["num_tracks"] <= 2 and m["recall"] > 0.9 and m["num_switches"] == 0


def test_bad_input_right_result_or_one_line_error(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(40) * 125
    empty = (22 + rng.normal(0, 0.2, (40, 24, 32))).astype(np.float32)
    res = find_people(empty, t)
    assert len(res.tracks) == 0 and len(res.table) == 0            # no people
    assert len(find_people(empty[:1], t[:1]).tracks) == 0            # one frame
    f = empty.copy()
    f[:, 5:8, 5:8] = np.nan                                          # dead pixels
    f[3] = np.nan                                                    # a whole invalid frame
    small = (22 + rng.normal(0, 0.2, (40, 12, 16))).astype(np.float32)
    for i in range(40):                                              # a walker, at 32x24 and 16x12
        f[i, 12:16, 2 + i // 2: 6 + i // 2] += 6
        small[i, 5:8, 1 + i // 4: 4 + i // 4] += 4
    for frames in (f, small):
        res = find_people(frames, t)
        assert len(res.tracks) == 1 and res.table.t_p95.notna().all()
    bad = tmp_path / "bad.csv"
    bad.write_text("Time,P000\n1,2\n")
    r = CliRunner().invoke(main, ["people", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1 and "bad.csv" in r.output and "values" in r.output


def test_a_heater_switched_on_is_not_a_person():
    from tinyheat.sim.moving import MovingScene
    from tinyheat.sim.people_scene import Person, StaticObject

    walk = Person(((2, -2, 18), (26, 34, 18)), radius_px=1.8, pid=1)
    heater = StaticObject(8, 24, 4, 27, 7, 6.0)              # on from 8 s to the end (22 s = 73 %)
    sim = simulate_session(MovingScene(duration_s=30, people=[walk], objects=[heater], hot_object=None), seed=4)
    res = find_people(sim.frames, sim.t_ms)
    assert len(res.tracks) == 1
    assert not ((res.table.x > 23) & (res.table.x < 29) & (res.table.y < 9)).any()
