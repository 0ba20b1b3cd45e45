"""``tinyheat check DATASET``: what the data can support, per class, and concrete advice.

Per class: sessions, samples, near-duplicate rate, temperature range; the classes that get
confused on held-out folds (a quick linear probe under the same folds ``run`` uses); and advice.

Definitions:

- near-duplicate: a frame whose mean absolute difference to the previous frame of the same class
  (capture order) is below ``DUPLICATE_K`` = 0.25 K, about the mean |difference| of two
  MLX90640 frames of a static scene (per-pixel noise ~0.1-0.2 K, datasheet section 13);
- temperature range: 1st and 99th percentile of the class's pixels, degC, and the median of the
  frames' maxima;
- confusion: the linear probe (scikit-learn logistic regression on 6 x 8 mean-pooled frames, both
  absolute degC and relative to the frame median) trained and tested on the folds of
  :func:`tinyheat.training.cv.plan_cv`; a pair is reported when more than 20 % of a class's
  held-out frames go to one other class;
- forward-in-time: the same probe trained on the earlier samples of each class and tested on the
  later ones (:func:`tinyheat.training.cv.forward_plan`), beside its blocked-CV balanced accuracy; a
  clearly lower forward figure gets one line with the likely cause
  (:func:`tinyheat.training.selection.forward_note`).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

DUPLICATE_K = 0.25
CONFUSION_REPORT = 0.20
FEW_SAMPLES = 20
IMBALANCE_RATIO = 3.0
DUPLICATE_WARN = 0.5


def duplicate_rate(frames: np.ndarray) -> float:
    """Fraction of frames (n, 24, 32) degC, in capture order, within DUPLICATE_K of their predecessor."""
    if len(frames) < 2:
        return 0.0
    d = np.nanmean(np.abs(np.diff(frames.astype(np.float32), axis=0)), axis=(1, 2))
    return float(np.mean(d < DUPLICATE_K))


def _probe_features(frames: np.ndarray) -> np.ndarray:
    from ..training.preprocess import fill_invalid

    f = fill_invalid(frames)
    pooled = f.reshape(len(f), 6, 4, 8, 4).mean(axis=(2, 4)).reshape(len(f), -1)
    med = np.median(f.reshape(len(f), -1), axis=1, keepdims=True)
    return np.hstack([pooled, pooled - med])


def probe_confusion(data, plan) -> np.ndarray:
    """Confusion matrix (k, k) of the linear probe pooled over ``plan``'s folds (rows = true)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _probe_features(data.frames)
    yt, yp = [], []
    for s in plan.splits:
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, class_weight="balanced"))
        clf.fit(x[s.train], data.y[s.train])
        yt.append(data.y[s.test])
        yp.append(clf.predict(x[s.test]))
    return confusion_matrix(np.concatenate(yt), np.concatenate(yp), labels=list(range(len(data.labels))))


def _recalls(cm) -> np.ndarray:
    cm = np.asarray(cm, dtype=float)
    n = cm.sum(axis=1)
    return np.where(n > 0, np.diag(cm) / np.maximum(n, 1), np.nan)


def probe_forward(data, plan, confusion) -> dict:
    """Linear probe: blocked-CV vs forward-in-time balanced accuracy and the one-line note (or None)."""
    from ..training.cv import forward_plan
    from ..training.selection import forward_note

    rb, rf = _recalls(confusion), _recalls(probe_confusion(data, forward_plan(data)))
    blocked = {"balanced_accuracy": float(np.nanmean(rb)),
               "per_class": {lab: {"recall": float(v)} for lab, v in zip(data.labels, rb)}}
    fwd = {"balanced_accuracy": float(np.nanmean(rf)),
           "per_class_recall": {lab: float(v) for lab, v in zip(data.labels, rf)}}
    return {"blocked_balanced_accuracy": round(blocked["balanced_accuracy"], 4),
            "forward_balanced_accuracy": round(fwd["balanced_accuracy"], 4),
            "note": forward_note(blocked, fwd, data)}


def confused_pairs(cm, labels: list[str], threshold: float = CONFUSION_REPORT) -> list[dict]:
    cm = np.asarray(cm, dtype=float)
    out = []
    for i, a in enumerate(labels):
        n = cm[i].sum()
        for j, b in enumerate(labels):
            if i != j and n and cm[i, j] / n > threshold:
                out.append({"true": a, "predicted": b, "rate": round(float(cm[i, j] / n), 3)})
    return out


def check_dataset(data, plan=None, confusion=None, source: str = "linear probe") -> dict:
    """Per-class statistics, warnings and advice for ``data`` (a LabelledFrames).

    plan: the CV plan (computed if None; a dataset too small for it gets no confusion analysis).
    confusion: a pooled held-out confusion matrix to use instead of the probe (``run`` passes the
    selected model's). Returns ``{"classes": {label: {...}}, "sessions", "confused", "advice": [str],
    "warnings": [str]}``.
    """
    from ..training.cv import DatasetTooSmall, plan_cv

    classes, advice, warns = {}, [], []
    counts = data.counts()
    for c, lab in enumerate(data.labels):
        idx = np.nonzero(data.y == c)[0]
        f = data.frames[idx]
        valid = f[np.isfinite(f) & (f > -40) & (f < 300)]
        sess = sorted(set(data.session[idx].tolist()))
        classes[lab] = {
            "samples": int(len(idx)), "sessions": len(sess),
            "near_duplicate_rate": round(duplicate_rate(f), 3),
            "temperature_p1_p99_degC": [round(float(v), 1) for v in np.percentile(valid, [1, 99])] if valid.size else None,
            "median_frame_max_degC": round(float(np.median(np.nanmax(f.reshape(len(f), -1), axis=1))), 1) if len(f) else None,
        }
    n_sessions = len(set(data.session.tolist()))
    if n_sessions == 1:
        warns.append("single session: the estimate comes from capture-order blocks of one recording; "
                     "accuracy on another day is likely lower")
    for lab, st in classes.items():
        if st["samples"] and st["sessions"] == 1 and n_sessions > 1:
            advice.append(f"{lab} was captured in one session only: record it on another day")
        if 0 < st["samples"] < FEW_SAMPLES:
            advice.append(f"{lab} has only {st['samples']} samples: record at least {FEW_SAMPLES}, in varied positions")
        if st["near_duplicate_rate"] > DUPLICATE_WARN:
            warns.append(f"{lab}: {st['near_duplicate_rate']:.0%} of frames are near-duplicates of the previous one "
                         f"(mean |dT| < {DUPLICATE_K} K)")
            advice.append(f"{lab}: move the subject or the camera between captures; near-duplicates add no information")
    if n_sessions == 1:
        advice.append("all samples come from one session: record every class again on another day")
    present = {k: v for k, v in counts.items() if v}
    if len(present) >= 2:
        big, small = max(present, key=present.get), min(present, key=present.get)
        if present[big] / present[small] > IMBALANCE_RATIO:
            warns.append(f"class imbalance: {big} has {present[big]} samples, {small} {present[small]}")
            advice.append(f"record more {small} (class weights compensate only partly)")
    confused, probe = [], None
    if confusion is None:
        try:
            plan = plan or plan_cv(data)
            confusion = probe_confusion(data, plan)
            probe = probe_forward(data, plan, confusion)
        except DatasetTooSmall as e:
            warns.append(str(e))
            confusion = None
    if probe is not None and probe["note"]:
        warns.append(f"{probe['note']} ({source})")
    if confusion is not None:
        confused = confused_pairs(confusion, data.labels)
        for p in confused:
            where = "across sessions" if plan is not None and plan.kind.startswith("leave-one-session") else "across capture blocks"
            advice.append(f"{p['true']} is taken for {p['predicted']} in {p['rate']:.0%} of held-out frames ({where}, "
                          f"{source}): record more varied {p['true']} and {p['predicted']} samples")
    return {"samples": int(len(data)), "sessions": n_sessions, "classes": classes,
            "folds": plan.describe() if plan is not None else None, "confused": confused,
            "confusion_source": source, "probe": probe, "warnings": warns, "advice": advice}


def format_check(report: dict) -> str:
    p = report.get("probe")
    lines = [f"linear probe: cross-validated {p['blocked_balanced_accuracy']:.3f}, "
             f"forward-in-time {p['forward_balanced_accuracy']:.3f}"] if p else []
    lines += [f"{'class':<16}{'samples':>8}{'sessions':>9}{'near-dup':>9}  {'degC p1..p99':>14}{'max (median)':>13}"]
    for lab, st in report["classes"].items():
        t = st["temperature_p1_p99_degC"]
        tr = f"{t[0]:.1f}..{t[1]:.1f}" if t else "-"
        lines.append(f"{lab:<16}{st['samples']:>8}{st['sessions']:>9}{st['near_duplicate_rate']:>9.0%}  {tr:>14}"
                     f"{st['median_frame_max_degC'] if st['median_frame_max_degC'] is not None else '-':>13}")
    for w in report["warnings"]:
        lines.append(f"WARNING: {w}")
    for a in report["advice"]:
        lines.append(f"advice: {a}")
    if not report["advice"]:
        lines.append("advice: none; the data looks adequate for a first model")
    return "\n".join(lines)


@click.command("check")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON.")
@click.option("--force", is_flag=True, help="Overwrite --json if it exists.")
def check_cmd(dataset, json_path, force):
    """Per class: sessions, samples, near-duplicates, temperatures, confusions; and what to record next."""
    from .steps import load

    if json_path:
        from ..errors import ensure_new_file

        ensure_new_file(json_path, force)
    data = load(dataset)
    report = check_dataset(data)
    click.echo(f"{dataset}: {len(data)} samples, {report['sessions']} session(s)")
    click.echo(format_check(report))
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
        click.echo(f"wrote {json_path}")
