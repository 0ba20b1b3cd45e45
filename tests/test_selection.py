"""Recipe selection, CV protocol, refit on every sample, small datasets, `tinyheat check` advice."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.training.cv import DatasetTooSmall, plan_cv
from tinyheat.training.data import LabelledFrames
from tinyheat.workflow.check import check_dataset


def _frames(labels_per_frame, sessions, frames):
    labels = sorted(set(labels_per_frame))
    y = np.array([labels.index(lab) for lab in labels_per_frame])
    order = np.zeros(len(y), int)
    for c in range(len(labels)):
        order[y == c] = np.arange((y == c).sum())
    idx = np.lexsort((order, y))
    return LabelledFrames(np.asarray(frames, np.float32)[idx], y[idx], labels, order[idx],
                          np.asarray(sessions)[idx], np.array([f"f{i}" for i in range(len(y))])[idx])


def _relative_only(n=24, seed=0):
    """Class 'top' has its upper half 1.5 K warmer, 'bottom' its lower half; ambient 0-60 degC per frame.

    Only the frame-relative input sees the pattern at a usable scale: the fixed 23-33 window is
    saturated for most frames, a window over 0-60 degC squeezes 1.5 K into 2.5 % of its range.
    """
    rng = np.random.default_rng(seed)
    frames, labs = [], []
    for lab in ("bottom", "top"):
        for _ in range(n):
            f = rng.uniform(0, 60) + rng.normal(0, 0.1, (24, 32))
            f[slice(0, 12) if lab == "top" else slice(12, 24)] += 1.5
            frames.append(f)
            labs.append(lab)
    return _frames(labs, ["s"] * len(labs), frames)


def _absolute_only(n=24, seed=0):
    """A 'cool' room at 26 degC and a 'warm' one at 29 degC (+-0.5 K), the same random warm blobs in both:
    nothing relative to the frame median tells them apart."""
    rng = np.random.default_rng(seed)
    frames, labs = [], []
    yy, xx = np.mgrid[0:24, 0:32]
    for lab, t in (("cool", 26.0), ("warm", 29.0)):
        for _ in range(n):
            cy, cx = rng.uniform(4, 20), rng.uniform(4, 28)
            blob = 4 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18)
            frames.append(t + rng.normal(0, 0.5) + blob + rng.normal(0, 0.1, (24, 32)))
            labs.append(lab)
    return _frames(labs, ["s"] * len(labs), frames)


def _select(data, inputs=("window-fixed", "window-data", "relative-clipped"), halving=True):
    """Inputs with the small CNN; 2 folds, 6 epochs of batch 8 at a 5x constant learning rate, a hidden
    dense 16, no mixup, dropout or label smoothing: 18 optimizer steps must learn these clean sets; the
    selection logic is the production one."""
    from dataclasses import replace

    from tinyheat.training.selection import search_space, select

    plan = plan_cv(data, max_folds=2)
    cands = [replace(c, recipe=replace(c.recipe, batch_size=8, learning_rate=1e-2, mixup_alpha=0.0, dropout=0.0,
                                       lr_schedule="constant", label_smoothing=0.0, dense=16))
             for c in search_space(6, inputs=inputs, architectures=("cnn-s",))]
    return select(data, plan, cands, epochs=6, halving=halving)


def test_selection_picks_relative_input_when_only_the_pattern_carries_the_class():
    sel = _select(_relative_only())
    scores = {r["input"]: r["balanced_accuracy"] for r in sel.table}
    assert sel.winner.candidate.input_kind == "relative-clipped", scores
    assert scores["relative-clipped"] >= max(scores["window-fixed"], scores["window-data"]) + 0.1, scores


def test_selection_picks_a_window_input_when_only_absolute_temperature_carries_the_class():
    sel = _select(_absolute_only())
    scores = {r["input"]: r["balanced_accuracy"] for r in sel.table}
    assert sel.winner.candidate.input_kind.startswith("window"), scores
    assert max(scores["window-fixed"], scores["window-data"]) >= scores["relative-clipped"] + 0.15, scores


def test_block_folds_predict_every_sample_once_and_shrink_for_small_classes():
    data = _absolute_only(n=5)
    plan = plan_cv(data)
    assert plan.kind.startswith("leave-one-block-out") and len(plan.splits) == 5 and plan.gap == 0
    tested = np.concatenate([s.test for s in plan.splits])
    assert sorted(tested.tolist()) == list(range(len(data)))
    for s in plan.splits:
        assert not set(s.train) & set(s.test) and len(s.val) == 0
    big_data = _absolute_only(n=60)
    big = plan_cv(big_data)
    assert big.gap == 3
    for s in big.splits:  # the 3 frames on each side of a class's test block never train
        for c in range(2):
            te = s.test[big_data.y[s.test] == c]
            near = np.nonzero(big_data.y == c)[0]
            near = near[(near >= te.min() - 3) & (near <= te.max() + 3)]
            assert not set(near) & set(s.train)


def test_sessions_become_folds_only_when_every_class_has_two_sessions():
    labs = ["a"] * 30 + ["b"] * 30
    frames = np.zeros((60, 24, 32))
    three = _frames(labs, ["d1", "d2", "d3"] * 20, frames)
    assert plan_cv(three).kind == "leave-one-session-out" and len(plan_cv(three).splits) == 3
    lopsided = _frames(labs, ["d1"] * 30 + ["d2", "d3"] * 15, frames)  # class a seen on one day only
    p = plan_cv(lopsided)
    assert p.kind.startswith("leave-one-block-out") and any("fewer than 2 sessions" in n for n in p.notes)


@pytest.mark.parametrize("labs, msg", [(["a"] * 10, "one class"), (["a"] * 10 + ["b"] * 4, "b has 4")])
def test_untrainable_datasets_are_refused_with_the_reason(labs, msg):
    with pytest.raises(DatasetTooSmall, match=msg):
        plan_cv(_frames(labs, ["s"] * len(labs), np.zeros((len(labs), 24, 32))))


def test_check_advises_recording_a_single_session_class_on_another_day():
    rng = np.random.default_rng(1)
    labs = ["face0"] * 20 + ["face1"] * 20
    sessions = ["mon"] * 10 + ["tue"] * 10 + ["mon"] * 20  # face1 only on Monday
    r = check_dataset(_frames(labs, sessions, 25 + rng.normal(0, 1, (40, 24, 32))))
    assert r["classes"]["face1"]["sessions"] == 1 and r["classes"]["face0"]["sessions"] == 2
    assert "face1 was captured in one session only: record it on another day" in r["advice"]
    assert not any(a.startswith("face0 was captured") for a in r["advice"])
    single = check_dataset(_frames(labs, ["mon"] * 40, 25 + rng.normal(0, 1, (40, 24, 32))))
    assert any(w.startswith("single session") for w in single["warnings"])
    assert any("another day" in a for a in single["advice"])


def test_check_measures_near_duplicates_and_imbalance():
    rng = np.random.default_rng(2)
    still = 25 + np.repeat(rng.normal(0, 1, (1, 24, 32)), 30, 0) + rng.normal(0, 0.05, (30, 24, 32))
    moving = 25 + rng.normal(0, 1, (6, 24, 32))
    r = check_dataset(_frames(["still"] * 30 + ["moving"] * 6, ["s"] * 36, np.r_[still, moving]))
    assert r["classes"]["still"]["near_duplicate_rate"] == 1.0
    assert r["classes"]["moving"]["near_duplicate_rate"] == 0.0
    assert any("imbalance" in w for w in r["warnings"]) and any("near-duplicates" in w for w in r["warnings"])


def _write_dataset(path, counts: dict[str, int], seed=0):
    from tinyheat.dataset.store import DatasetStore

    rng = np.random.default_rng(seed)
    store = DatasetStore(path)
    for i, (lab, n) in enumerate(counts.items()):
        for _ in range(n):
            f = 24 + rng.normal(0, 0.3, (24, 32))
            f[8:16, 10 + 8 * i: 16 + 8 * i] += 8  # a warm blob whose place is the class
            store.add(lab, frame_degc=f, session="s1", source="test")
    return path


def test_five_per_class_dataset_trains_on_every_sample_reports_an_interval_and_steps_keep_their_files(
        tmp_path, monkeypatch):
    import hashlib

    from tinyheat.training import selection

    seen = []
    init = selection.Trainer.__init__

    def spy(self, frames, y, k, recipe, **kw):
        seen.append(len(frames))
        init(self, frames, y, k, recipe, **kw)

    monkeypatch.setattr(selection.Trainer, "__init__", spy)
    ds = _write_dataset(tmp_path / "ds", {"left": 5, "right": 5})
    run, cli = tmp_path / "run", CliRunner()
    r = cli.invoke(main, ["train", str(ds), "--out", str(run), "--recipe", "default", "--epochs", "3"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert seen[-1] == 10 and max(seen[:-1]) < 10  # folds trained on fewer; the deployed model on all 10
    m = json.loads((run / "metrics.json").read_text())
    assert m["split"]["kind"].startswith("leave-one-block-out") and m["split"]["folds"] == 5
    assert m["float"]["n"] == 10 and np.array(m["float"]["confusion_matrix"]).sum() == 10  # every sample once
    lo, hi = m["float"]["interval_90"]
    assert 0 <= lo <= hi <= 1 and "interval" in r.output and "cross-validated" in m["float"]["estimate"]
    assert "one session" in r.output  # the data check ran and warned
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.iterdir()}
    assert cli.invoke(main, ["quantize", str(run)]).exit_code == 0
    (tmp_path / "fw" / "lib").mkdir(parents=True)   # export writes into an existing firmware folder only
    r = cli.invoke(main, ["export", str(run), "--firmware", str(tmp_path / "fw")])
    assert r.exit_code == 0, r.output
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.iterdir() if p.name in digest} == digest
    assert {p.name for p in run.iterdir()} - set(digest) == {"model_int8.tflite", "quantize.json"}
    card = json.loads((tmp_path / "fw" / "lib" / "tinyheat_model" / "model_card.json").read_text())
    assert card["metrics"]["float_balanced_accuracy"] == m["float"]["balanced_accuracy"]
    again = cli.invoke(main, ["train", str(ds), "--out", str(run)])
    assert again.exit_code == 1 and "--force" in again.output  # the run folder is not overwritten
    assert cli.invoke(main, ["quantize", str(run)]).exit_code == 1  # nor its int8 model


@pytest.mark.parametrize("counts, msg", [({"only": 6}, "one class"), ({"a": 6, "b": 3}, "b has 3")])
def test_run_refuses_untrainable_datasets_in_one_line(tmp_path, counts, msg):
    ds = _write_dataset(tmp_path / "ds", counts)
    (tmp_path / "fw" / "lib").mkdir(parents=True)
    r = CliRunner().invoke(main, ["run", str(ds), "--out", str(tmp_path / "run"), "--firmware", str(tmp_path / "fw")])
    assert r.exit_code == 1 and msg in r.output and "Traceback" not in r.output
    assert r.output.count("Error:") == 1 and not (tmp_path / "run").exists()


def test_check_command_prints_the_table_and_advice_for_a_single_session(tmp_path):
    ds = _write_dataset(tmp_path / "ds", {"left": 6, "right": 6})
    r = CliRunner().invoke(main, ["check", str(ds), "--json", str(tmp_path / "c.json")])
    assert r.exit_code == 0, r.output
    assert "WARNING: single session" in r.output
    assert "advice: all samples come from one session: record every class again on another day" in r.output
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["classes"]["left"]["samples"] == 6 and report["sessions"] == 1
    assert CliRunner().invoke(main, ["check", str(ds), "--json", str(tmp_path / "c.json")]).exit_code == 1  # no --force
