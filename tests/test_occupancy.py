"""Occupancy core (issue 11): background absorption, activation vs. a known path, coverage with
gaps, ROI re-normalisation and zone statistics, people counts and entered/left events."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinyheat.occupancy import synth
from tinyheat.occupancy.activation import Params, activation
from tinyheat.occupancy.events import debounce
from tinyheat.occupancy.store import HeatStore
from tinyheat.occupancy.zones import Zone, ZoneError, normalise, parse_roi, zone_stats


def test_background_absorbs_static_warm_object_after_absorb_time_and_follows_drift():
    obj = synth.StaticObject(20, 26, 2, 29, 5, 5.0)
    walker = synth.Person(((5, -2, 15), (40, 34, 15)))
    rec, truth = synth.scene(70, fps=4, people=(walker,), objects=(obj,), drift_degC_per_h=12.0, seed=3)
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=15), keep_masks=True)
    t = rec.t_ms / 1000
    on_obj = a.masks[:, truth.object_mask].mean(1)
    assert on_obj[(t >= 21) & (t < 34)].min() == 1.0           # a new warm object is foreground ...
    assert on_obj[t >= 15 + 20 + 3].max() == 0.0                # ... and background ~absorb_s later
    # 12 degC/h of drift over 70 s, noise 0.1 degC: no foreground away from the object and the walker
    assert not (a.masks & ~truth.people_masks & ~truth.object_mask[None]).any()
    # the walker passes below the absorbed object and is still seen
    assert a.masks[truth.people_masks].mean() > 0.95


def test_activation_equals_the_known_path_of_simulated_people():
    people = (synth.Person(((2, -2, 5), (30, 34, 20))),
              synth.Person(((10, 16, 26), (20, 16, 12), (35, 16, 12), (45, 34, 2)), radius_px=2.2))
    rec, truth = synth.scene(50, fps=8, people=people, seed=5)
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=60, min_blob_px=1))
    sec, act = synth.known_activation(truth, rec)
    np.testing.assert_array_equal(a.sec, sec)
    np.testing.assert_allclose(a.act, act, atol=1e-6)
    assert act.sum() > 500  # the comparison is about a real path, not an empty scene


def test_coverage_counts_recorded_seconds_per_pixel_with_gaps(tmp_path):
    rec, _ = synth.scene(200, fps=2, gaps=((30, 75), (120, 121.5)), seed=2)
    rec.frames[rec.t_ms < 10_000, 20, 30] = np.nan                  # one pixel invalid for 10 s
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=1000))
    st = HeatStore(tmp_path / "s", create=True)
    st.add("a", a)
    q = st.query("a")
    recorded = 200 - 45 - 1  # 155 s with frames: gaps of 45 s and one whole second
    assert q.cov[0, 0] == recorded and q.cov.max() == recorded
    assert q.cov[20, 30] == recorded - 10
    assert st.query("a", 1767600000 + 60, 1767600000 + 120).cov.max() == 45  # 75..120 s only


def test_dwell_fraction_is_unbiased_by_gaps(tmp_path):
    # a person who is in view for exactly the recorded seconds of 60..180 s, with a gap inside
    stay = synth.Person(((60, 10, 10), (180, 10, 10)), radius_px=1.0)
    rec, _ = synth.scene(180, fps=2, people=(stay,), gaps=((100, 140),), seed=4)
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=1000))
    st = HeatStore(tmp_path / "s", create=True)
    st.add("a", a)
    q = st.query("a", 1767600000 + 60, 1767600000 + 180)
    assert q.cov[10, 10] == 80 and q.act[10, 10] == pytest.approx(80.0)
    assert q.fraction[10, 10] == pytest.approx(1.0)  # dwell / recorded, not / wall-clock (120 s)


def test_roi_clips_and_renormalises_so_a_busy_area_does_not_wash_out_a_quiet_one():
    h, w = 8, 10
    dwell = np.zeros((h, w))
    dwell[1:3, 1:3] = 3600.0    # busy desk
    dwell[6, 8] = 12.0          # quiet doorway
    door = Zone("door", 7, 5, 9, 7).check((h, w))
    assert normalise(dwell)[6, 8] < 0.01
    clipped = normalise(door.clip(dwell))
    assert clipped.shape == (3, 3) and clipped.max() == 1.0 and clipped[1, 1] == 1.0
    with pytest.raises(ZoneError):
        Zone("out", 8, 0, 10, 2).check((h, w))
    with pytest.raises(ZoneError):
        parse_roi("1,2,3")


def test_zone_stats_dwell_peak_and_visits_known_answer():
    h, w = 6, 6
    sec = np.arange(1000, 1100, dtype=np.int64)
    act = np.zeros((len(sec), h, w), np.float32)
    act[10:20, 1, 1] = 1.0      # visit 1: 10 s
    act[22:25, 1, 2] = 0.75     # 2 s later: same visit (merge gap 5 s), 3 s
    act[60:70, 2, 2] = 0.4      # below occupied_min: activity but not an occupied second
    act[80:84, 0:2, 0:2] = 1.0  # visit 2: 4 s, all 4 zone pixels of a 2x2 corner -> peak 4/9
    z = Zone("z", 0, 0, 2, 2)
    cov = np.full((h, w), 100)
    r = zone_stats(z, act.sum(0), cov, sec, act, occupied_min=0.5, merge_gap_s=5)
    assert r["dwell_s"] == 10 + 3 + 4
    assert r["visits"] == 2
    assert r["peak_occupancy"] == pytest.approx(4 / 9, abs=1e-4)
    assert r["dwell_px_s"] == pytest.approx(10 + 3 * 0.75 + 10 * 0.4 + 16)
    assert r["recorded_s"] == 100 and r["occupied_fraction"] == pytest.approx(r["dwell_px_s"] / 900, abs=1e-6)


def test_people_counts_and_entered_left_events_match_the_script():
    # paths kept >= 8 px apart: people closer than 2 * (radius + merge_px) + 1 count as one blob
    people = (synth.Person(((5, -2, 4), (45, 34, 4))),                           # in ~5 s, out ~44 s
              synth.Person(((12, 12, 26), (20, 12, 13), (50, 12, 13), (62, 12, -2))),  # in ~12 s, out ~61 s (top)
              synth.Person(((30, 34, 21), (40, 20, 21), (66, -2, 21))))          # in ~30 s, out ~65 s
    rec, truth = synth.scene(75, fps=8, people=people, seed=7, noise_degC=0.15)
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=120))
    stable, events = debounce(a.people, a.epoch_ms, debounce_s=1.0)
    kinds = [k for _, k, _ in events]
    assert kinds == ["entered", "entered", "entered", "left", "left", "left"]
    assert [n for *_, n in events] == [1, 2, 3, 2, 1, 0]
    # event times within 1 s of the frames where the true count changed
    change = np.flatnonzero(np.diff(truth.count)) + 1
    true_t = rec.epoch_ms[change]
    assert len(true_t) == 6
    assert np.abs(np.array([t for t, *_ in events]) - true_t).max() <= 1000
    assert (stable == truth.count).mean() > 0.95


def test_debounce_ignores_flicker_shorter_than_the_debounce_time():
    ms = np.arange(0, 12_000, 100, dtype=np.int64)
    raw = np.zeros(len(ms), np.int64)
    raw[20:25] = 1            # 0.5 s blip
    raw[40:90] = 2            # 5 s of two people
    stable, events = debounce(raw, ms, debounce_s=1.0)
    assert [(t, k) for t, k, _ in events] == [(4000, "entered"), (4000, "entered"), (9000, "left"), (9000, "left")]
    assert stable[:40].max() == 0 and (stable[40:90] == 2).all()


def test_wall_clock_of_unknown_zone_is_never_printed_as_utc(shared_datasets, tmp_path):
    """fir-action-ceiling's Time column is a local wall clock with no zone: events, counts and the
    heat-map summary print it without Z / UTC; an explicit --start (UTC) prints UTC."""
    from click.testing import CliRunner

    from tinyheat.cli import main

    rec = shared_datasets / "fir-action-ceiling" / "20200626_160522_mlx90640_01_light_none.csv"
    r = CliRunner().invoke(main, ["occupancy", str(rec), "--counts", str(tmp_path / "c.csv")])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[1] == "time_local,epoch_ms,event,people" and lines[2].startswith("2020-06-26T16:0")
    assert "Z," not in r.output and "UTC" not in r.output
    assert (tmp_path / "c.csv").read_text().startswith("time_local,")
    r = CliRunner().invoke(main, ["heatmap", str(rec)])
    assert "zone is unknown" in r.output and "Z " not in r.output.splitlines()[0]
    assert CliRunner().invoke(main, ["heatmap-add", str(rec), "--store", str(tmp_path / "st")]).exit_code == 0
    r = CliRunner().invoke(main, ["heatmap", str(tmp_path / "st")])   # the store remembers the clock
    assert "zone is unknown" in r.output and "Z " not in r.output.splitlines()[0]
    from tinyheat.occupancy.events import event_payload

    assert json.loads(event_payload("s", (1593187528102, "entered", 1), local=True))["time"] == "2020-06-26T16:05:28.102"
    r = CliRunner().invoke(main, ["occupancy", str(rec), "--start", "2020-06-26T16:05:22Z"])
    assert r.output.splitlines()[0] == "time_utc,epoch_ms,event,people" and "Z," in r.output


def test_person_aware_background_keeps_a_seated_person_and_absorbs_a_heater_and_a_warm_chair():
    """A person walks in and sits still for 100 s (absorb_s 15 s): still counted; a heater that
    appears in place and the warm chair the person leaves behind are absorbed within ~absorb_s."""
    sitter = synth.Person(((5, -2, 12), (10, 8, 12), (110, 8, 12), (116, 34, 12)), radius_px=1.8)
    heater = synth.StaticObject(20, 26, 2, 29, 4, 5.0)
    chair = synth.StaticObject(116, 7, 11, 9, 13, 3.0)   # where he sat, warm after he leaves
    rec, truth = synth.scene(170, fps=4, people=(sitter,), objects=(heater, chair), drift_degC_per_h=0, seed=11)
    t = rec.t_ms / 1000
    a = activation(rec.frames, rec.epoch_ms, Params(absorb_s=15))
    seated = (t >= 12) & (t < 110)
    assert (a.people[seated] >= 1).mean() > 0.98                     # held: never absorbed
    assert a.people[(t >= 20 + 3 * 15) & (t < 110)].max() == 1       # the heater is not a second person
    assert a.people[t >= 116 + 3 * 15].max() == 0                    # the chair is absorbed after he left
    off = activation(rec.frames, rec.epoch_ms, Params(absorb_s=15, hold_travel_px=None))
    assert (off.people[seated] >= 1).mean() < 0.6                    # without holding he is absorbed


def test_real_den_person_seated_still_stays_counted(shared_datasets):
    """mlx90641-den (16x12): empty until frame 2040, walks in, works at the computer from frame
    2102 to the end (~150 s) - defaults: counted in the seated frames, no "left" event."""
    from tinyheat.occupancy.recording import load_recording
    from tinyheat.occupancy.recording import parse_time

    rec = load_recording(shared_datasets / "mlx90641-den" / "frames.csv", start=parse_time("2021-12-14T20:00:00Z"))
    a = activation(rec.frames, rec.epoch_ms, Params())
    stable, events = debounce(a.people, a.epoch_ms, 1.0)
    assert (stable[2102:] >= 1).mean() >= 0.95 and stable[:2000].max() == 0
    assert not [e for e in events if e[1] == "left" and e[0] >= rec.epoch_ms[2102]]
