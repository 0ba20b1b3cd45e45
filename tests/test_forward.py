"""Forward-in-time estimate, its one-line diagnosis, the fallback-to-default selection rule, tiny sets."""
from __future__ import annotations

import numpy as np

from tinyheat.training.cv import forward_plan, is_tiny, plan_cv
from tinyheat.training.data import LabelledFrames
from tinyheat.training.selection import Candidate, CandidateScore, choose_winner, fallback_name, forward_note


def _data(counts: dict[str, int], sessions=None):
    labels = sorted(counts)
    y = np.concatenate([[i] * counts[lab] for i, lab in enumerate(labels)])
    order = np.concatenate([np.arange(counts[lab]) for lab in labels])
    n = len(y)
    sess = np.array(sessions if sessions is not None else ["s"] * n)
    return LabelledFrames(np.zeros((n, 24, 32), np.float32), y, labels, order, sess, np.array([f"f{i}" for i in range(n)]))


def test_forward_folds_train_on_the_past_and_test_on_the_future_of_every_class():
    data = _data({"a": 100, "b": 60})
    plan = forward_plan(data)
    assert len(plan.splits) == 3 and plan.gap == 3
    tested = np.concatenate([s.test for s in plan.splits])
    for c in (0, 1):
        idx = np.nonzero(data.y == c)[0]
        assert sorted(set(tested) & set(idx)) == idx[len(idx) // 2:].tolist()  # the later half, each once
        for s in plan.splits:
            tr, te = s.train[data.y[s.train] == c], s.test[data.y[s.test] == c]
            assert tr.max() + 3 < te.min()  # later than every training sample, a 3-frame gap between
    tiny = forward_plan(_data({"a": 5, "b": 5}))
    assert all(len(s.test) and len(np.unique(_data({"a": 5, "b": 5}).y[s.train])) == 2 for s in tiny.splits)


def _metrics(recalls: dict[str, float]):
    return {"balanced_accuracy": float(np.mean(list(recalls.values()))),
            "per_class": {k: {"recall": v} for k, v in recalls.items()}}


def test_forward_note_names_the_class_that_changes_later_and_what_to_record():
    data = _data({"empty": 20, "person": 20})
    blocked = _metrics({"empty": 0.95, "person": 0.9})
    late = {"balanced_accuracy": 0.6, "per_class_recall": {"empty": 0.95, "person": 0.25}}
    note = forward_note(blocked, late, data)
    assert "person changes later within one session (recall 0.90 -> 0.25)" in note
    assert "record person again in another session" in note and "\n" not in note
    drift = {"balanced_accuracy": 0.7, "per_class_recall": {"empty": 0.7, "person": 0.7}}
    assert "drifts over time" in forward_note(blocked, drift, data)
    assert forward_note(blocked, {"balanced_accuracy": 0.91, "per_class_recall": {"empty": 0.95, "person": 0.87}},
                        data) is None


def _scored(name, blocked_correct, forward_correct, y_folds, y_fw, macs=100):
    """A CandidateScore whose fold predictions are right on the first `*_correct` fraction of each fold."""
    def preds(ys, frac):
        out = []
        for y in ys:
            p = y.copy()
            wrong = np.arange(len(y)) >= int(round(frac * len(y)))
            p[wrong] = 1 - p[wrong]
            out.append(p)
        return out
    cs = CandidateScore(Candidate(name, "relative-clipped", None, name), macs=macs)
    cs.predictions = {10: preds(y_folds, blocked_correct)}
    cs.forward_predictions = preds(y_fw, forward_correct)
    return cs


def test_selection_keeps_the_default_unless_a_candidate_is_clearly_better_and_holds_up_forward():
    y_folds = [np.array([0] * 20 + [1] * 20) for _ in range(5)]
    y_fw = [np.array([0] * 10 + [1] * 10) for _ in range(3)]
    y_folds = [np.r_[y[::2], y[1::2]] for y in y_folds]  # mixed classes within a fold
    y_fw = [np.r_[y[::2], y[1::2]] for y in y_fw]
    fb = _scored("default", 0.80, 0.80, y_folds, y_fw)
    slight = _scored("slightly-better", 0.82, 0.80, y_folds, y_fw, macs=50)
    w, _, rule = choose_winner([fb, slight], fb, y_folds, y_fw)
    assert w is fb and rule.startswith("default")  # within the margin: the default stays, even if cheaper
    clear = _scored("clearly-better", 0.95, 0.90, y_folds, y_fw)
    w, _, rule = choose_winner([fb, slight, clear], fb, y_folds, y_fw)
    assert w is clear and rule == "clearly better than the default"
    blocked_only = _scored("blocked-only", 1.0, 0.70, y_folds, y_fw)  # shines on shuffled blocks, fails later
    w, _, _ = choose_winner([fb, blocked_only], fb, y_folds, y_fw)
    assert w is fb
    w, _, rule = choose_winner([fb, slight], None, y_folds, y_fw)  # no default among the candidates
    assert w is slight and rule.startswith("cheapest")


def test_tiny_single_session_sets_are_flagged_and_keep_the_simplest_model():
    tiny = _data({"a": 12, "b": 30})
    assert is_tiny(tiny) and fallback_name(tiny).endswith("/cnn-s")
    assert any(n.startswith("tiny set (12 samples") and "unreliable" in n for n in plan_cv(tiny).notes)
    two_days = _data({"a": 12, "b": 30}, sessions=["d1"] * 6 + ["d2"] * 6 + ["d1"] * 15 + ["d2"] * 15)
    big = _data({"a": 31, "b": 40})
    assert not is_tiny(two_days) and not is_tiny(big) and fallback_name(big).endswith("/cnn-p")
