"""The main job as steps with explicit inputs and outputs, chained in memory by :func:`run_job`.

    load(dataset) -> LabelledFrames                      (once per run)
    check_dataset(data) -> report                          (workflow.check)
    select_recipe(data, ...) -> Selection                  (CV over candidates; training.selection)
    refit_model(data, selection) -> Trainer                (every sample, epochs fixed by CV)
    quantize_model(model, data, recipe) -> QuantResult     (int8, TFLM vs TFLite parity, arena)
    cv_int8(data, selection) -> metrics                    (int8 in TFLM on each fold's held-out samples)
    write_run(out, ...) -> [Path]                          (the run folder, written once, at the end)
    export (deploy.export.export_model)                    (firmware files)

Nothing is read back from files between steps and no step modifies a file another one wrote.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from ..errors import OverwriteError, ensure_new_dir
from ..training.recipes import DEFAULT_EPOCHS
import numpy as np


def load(dataset: str | Path):
    """Load a dataset folder; any problem becomes a one-line click.ClickException."""
    from ..dataset import sample_format as sf
    from ..training.data import load_dataset

    try:
        return load_dataset(dataset)
    except (FileNotFoundError, ValueError, sf.SampleError, OSError) as e:
        raise click.ClickException(str(e)) from None


@dataclass
class QuantResult:
    """int8 model and what was measured on it: tflite bytes, io quantization, parity, arena, ops."""

    tflite: bytes
    io: dict
    parity: dict
    arena_measured_bytes: int
    ops: list[str]

    @property
    def card_input(self) -> dict:
        return self.io["input"]


def representative(data, recipe, idx=None, limit: int | None = None) -> np.ndarray:
    from ..deploy.quantize import REPRESENTATIVE_FRAMES
    from ..training.preprocess import normalize

    limit = REPRESENTATIVE_FRAMES if limit is None else limit

    idx = np.arange(len(data)) if idx is None else np.asarray(idx)
    if len(idx) > limit:
        idx = idx[np.linspace(0, len(idx) - 1, limit).round().astype(int)]
    return normalize(data.frames[idx], recipe.input)


def quantize_model(model, data, recipe, allow_lsb: int = 1) -> QuantResult:
    """PTQ int8 of ``model`` calibrated on ``data``'s frames; TFLM and TFLite compared on every frame.

    The comparison is an interpreter-agreement check, not a metric. Raises TFLMParityError.
    """
    from ..deploy.quantize import convert_int8
    from ..deploy.tflm_check import check_parity, io_quantization, measure_arena_bytes, model_ops
    from ..deploy.tflm_support import check_tflm_support
    from ..training.preprocess import quantize_input

    tflite = convert_int8(model, representative(data, recipe))
    check_tflm_support(tflite)  # the device's TFLM must compute what is checked below (UnsupportedByDeviceError)
    io = io_quantization(tflite)
    x = quantize_input(data.frames, {**recipe.input.to_dict(), **io["input"]})
    _, parity = check_parity(tflite, x, allow_lsb)
    return QuantResult(tflite, io, parity, measure_arena_bytes(tflite), model_ops(tflite))


def cv_int8(data, sel) -> dict:
    """int8 (PTQ, run in TFLM) predictions of the winner's fold models on their held-out samples.

    Returns ``{"metrics": classification_metrics + interval, "device": what the device shows
    (:func:`tinyheat.deploy.device_view.device_metrics`: its smoothing and "uncertain" threshold,
    along capture order within each fold's (label, session) runs), "tflite_bytes": of fold 0}``.
    """
    from ..deploy.device_view import device_metrics, probabilities_from
    from ..deploy.quantize import convert_int8
    from ..deploy.tflm_check import io_quantization, run_tflm
    from ..training.cv import bootstrap_interval
    from ..training.metrics import classification_metrics
    from ..training.model import build_model
    from ..training.preprocess import quantize_input

    w, e = sel.winner, sel.epochs
    preds, probs, groups, size = [], [], [], 0
    for k, split in enumerate(sel.plan.splits):
        recipe = w.recipes[k]
        model = build_model(recipe, len(data.labels))
        model.set_weights(w.weights[e][k])
        tfl = convert_int8(model, representative(data, recipe, split.train))
        size = size or len(tfl)
        io = io_quantization(tfl)
        x = quantize_input(data.frames[split.test], {**recipe.input.to_dict(), **io["input"]})
        q = run_tflm(tfl, x)
        preds.append(q.argmax(1))
        probs.append(probabilities_from(q, io["output"]["scale"], io["output"]["zero_point"]))
        groups += [f"{k}/{data.y[i]}/{data.session[i]}" for i in split.test]  # test indices are in capture order
    y = np.concatenate(sel.y_folds)
    m = classification_metrics(y, np.concatenate(preds), data.labels)
    device = device_metrics(y, np.concatenate(probs), np.array(groups), labels=data.labels)
    lo, hi = bootstrap_interval(sel.y_folds, preds)
    m.update({"estimate": "cross-validated, int8 in TFLM (each fold's model quantized on its own training frames)",
              "interval_90": [round(lo, 4), round(hi, 4)]})
    return {"metrics": m, "device": device, "tflite_bytes": size}


def select_recipe(data, recipe: str = "auto", epochs: int = DEFAULT_EPOCHS, echo=None):
    """CV plan + forward-in-time plan + selection. ``recipe``: ``auto`` (the search space, falling back
    to the default candidate unless another is clearly better) or a fixed recipe name."""
    from ..training.cv import forward_plan, plan_cv
    from ..training.selection import fallback_name, fixed_candidate, search_space, select

    plan = plan_cv(data)
    fplan = forward_plan(data)
    if recipe == "auto":
        cands, fb = search_space(epochs), fallback_name(data)
    else:
        cands, fb = [fixed_candidate(recipe, epochs)], None
    sel = select(data, plan, cands, epochs=epochs, echo=echo, forward=fplan, fallback=fb)
    add_model_bytes(data, sel)
    return sel


def add_model_bytes(data, sel) -> None:
    """Add ``tflite_bytes`` (int8 flatbuffer size, bytes) to every row of ``sel.table``.

    The size depends on the architecture and the input channels only, so one fold-0 model per
    (architecture, channels) is converted.
    """
    from ..deploy.quantize import convert_int8
    from ..training.model import build_model

    size, key_of = {}, {}
    for cs in sel.scores:
        if not cs.weights:
            continue
        recipe = cs.recipes[0]
        key = key_of[cs.candidate.name] = (cs.candidate.architecture, recipe.input.channels)
        if key in size:
            continue
        model = build_model(recipe, len(data.labels))
        model.set_weights(cs.weights[min(cs.weights)][0])
        size[key] = len(convert_int8(model, representative(data, recipe, sel.plan.splits[0].train, limit=50)))
    for row in sel.table:
        row["tflite_bytes"] = size.get(key_of.get(row["candidate"]))


@dataclass
class TrainResult:
    """Output of :func:`train`: the data check, the selection (CV), its float CV estimate, the refit model."""

    check: dict
    selection: object  # training.selection.Selection
    cv_float: dict
    trainer: object  # training.selection.Trainer of the deployed model (trained on every sample)

    @property
    def model(self):
        return self.trainer.model

    @property
    def recipe(self):
        return self.trainer.recipe


def check(data) -> dict:
    """validate (DatasetTooSmall, one line) -> the data check report (:func:`workflow.check.check_dataset`)."""
    from ..training.cv import validate_dataset
    from .check import check_dataset

    validate_dataset(data)
    return check_dataset(data)


def train(data, recipe: str = "auto", epochs: int = DEFAULT_EPOCHS, echo=None, report: dict | None = None) -> TrainResult:
    """(check ->) select by CV -> refit on every sample. Raises DatasetTooSmall (one line) first.

    report: the data check if the caller already ran :func:`check` (it is not recomputed).
    """
    from ..training.selection import cv_report, refit

    report = report if report is not None else check(data)
    sel = select_recipe(data, recipe, epochs, echo=echo)
    return TrainResult(report, sel, cv_report(data, sel), refit(data, sel.winner.candidate, sel.epochs))


def train_files(data, dataset: str | Path, t: TrainResult) -> dict:
    """The files the train step contributes to a run folder (see :func:`write_run`)."""
    from ..training import plots
    from ..training.model import layer_macs

    layers = layer_macs(t.model)
    sel = t.selection
    split = {**sel.plan.describe(), "test": int(len(data)), "train": int(len(data)), "val": 0,
             "deployed_model": f"refit on all {len(data)} samples for {sel.epochs} epochs"}
    metrics = {"labels": data.labels, "dataset": str(Path(dataset).resolve()), "recipe": t.recipe.name,
               "split": split, "float": t.cv_float,
               "model": {"parameters": int(t.model.count_params()), "macs": int(sum(r["macs"] for r in layers)),
                         "layers": layers},
               "training": {"epochs": sel.epochs, "refit_seconds": round(t.trainer.seconds, 2),
                            "selection_seconds": round(sel.seconds, 1)},
               "check": t.check}
    return {
        "run.json": {"dataset": str(Path(dataset).resolve()), "labels": data.labels, "recipe": t.recipe.to_dict(),
                     "split_files": {"train": data.files.tolist(), "val": [], "test": []},
                     "protocol": sel.plan.describe()},
        "selection.json": {"protocol": sel.plan.describe(), "table": sel.table},
        "metrics.json": metrics,
        "model.keras": lambda p: t.model.save(p),
        "confusion.png": lambda p: plots.plot_confusion({"float (CV)": t.cv_float["confusion_matrix"]}, data.labels, p),
    }


def quantize_files(q: QuantResult, qat: bool = False) -> dict:
    """The files the quantize step contributes: the int8 model and ``quantize.json`` (its measurements)."""
    from ..deploy.export import exported_arena_bytes
    from ..deploy.tflm_check import tflm_version

    return {"model_int8.tflite": q.tflite,
            "quantize.json": {"io": q.io, "tflm_parity": q.parity, "tflite_bytes": len(q.tflite),
                              "arena_measured_bytes": q.arena_measured_bytes,
                              "arena_bytes": exported_arena_bytes(q.arena_measured_bytes), "ops": q.ops,
                              "interpreter": tflm_version(), "quantization": "qat" if qat else "ptq"}}


def model_card(labels, recipe, q: QuantResult, model_info: dict, metrics: dict, run_path: str) -> dict:
    from ..deploy.export import exported_arena_bytes
    from ..deploy.tflm_check import tflm_version
    from ..training.model import device_instructions

    return {
        "format": "tinyheat-model-card/1", "run": run_path, "labels": labels,
        "input": {**q.io["input"], **recipe.input.to_dict()}, "output": q.io["output"], "ops": q.ops,
        "arena_bytes": exported_arena_bytes(q.arena_measured_bytes), "arena_measured_bytes": q.arena_measured_bytes,
        "tflite_bytes": len(q.tflite), "interpreter": tflm_version(), "model": model_info,
        "device_cost": device_instructions(recipe),
        "recipe": recipe.to_dict(), "split": metrics["split"],
        "metrics": {"estimate": "cross-validated (the deployed model trained on every sample)",
                    "float_balanced_accuracy": metrics["float"]["balanced_accuracy"],
                    "float_interval_90": metrics["float"].get("interval_90"),
                    "forward_balanced_accuracy": (metrics["float"].get("forward") or {}).get("balanced_accuracy"),
                    "forward_interval_90": (metrics["float"].get("forward") or {}).get("interval_90"),
                    # int8 CV needs the fold models: only `tinyheat run` has them
                    "int8_balanced_accuracy": metrics.get("int8", {}).get("balanced_accuracy"),
                    "int8_accuracy": metrics.get("int8", {}).get("accuracy"),
                    "int8_interval_90": metrics.get("int8", {}).get("interval_90"),
                    "int8_per_class": metrics.get("int8", {}).get("per_class")},
    }


def write_run(out: Path, files: dict[str, object], force: bool = False, new_folder: bool = True) -> list[Path]:
    """Write files of a run folder in one go: ``{name: bytes | str | dict (JSON) | callable(path)}``.

    new_folder: refuse a non-empty folder (a new run); else refuse only files that exist. Either
    refusal is lifted by ``force``. Raises OverwriteError (a UserError: one line on the CLI).
    """
    out = Path(out)
    if new_folder:
        ensure_new_dir(out, force)
    elif not force:
        clash = [n for n in files if (out / n).exists()]
        if clash:
            raise OverwriteError(f"{out} already holds {', '.join(clash)}: pass --force to overwrite")
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, obj in files.items():
            p = out / name
            if isinstance(obj, bytes):
                p.write_bytes(obj)
            elif isinstance(obj, str):
                p.write_text(obj)
            elif callable(obj):
                obj(p)
            else:
                p.write_text(json.dumps(obj, indent=2) + "\n")
            written.append(p)
    except OSError as e:
        raise click.ClickException(f"cannot write the run folder {out}: {e}") from None
    return written
