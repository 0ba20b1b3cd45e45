"""The run folder and the steps on it: train -> quantize -> evaluate -> export.

A run folder ``RUN/`` holds:

- ``run.json``: recipe, labels, dataset path and the exact split (files per block);
- ``model.keras``: the float Keras 3 model; ``model_int8.tflite``: the int8 model;
- ``metrics.json``: float and int8 metrics on the held-out block, the split, the model's cost;
- ``confusion.png``, ``curves.png``; ``model_card.json`` after export;
- ``eval-<dataset>.json`` from ``tinyheat evaluate``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..deploy import export as export_mod
from ..deploy.device_view import device_metrics
from ..training import plots
from ..training.data import LabelledFrames, Split, holdout_split, load_dataset
from ..training.metrics import classification_metrics
from ..training.preprocess import quantize_input
from ..training.recipes import Recipe, get_recipe
from ..deploy.tflm_check import check_parity, io_quantization, measure_arena_bytes, model_ops, run_tflm, tflm_version


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def _split_from_files(data: LabelledFrames, files: dict[str, list[str]]) -> Split:
    pos = {f: i for i, f in enumerate(data.files)}
    try:
        return Split(*(np.array([pos[f] for f in files[k]], dtype=int) for k in ("train", "val", "test")))
    except KeyError as e:
        raise ValueError(f"the run's split names {e} which is no longer in the dataset") from None


class Run:
    """A run folder (see module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def info(self) -> dict:
        p = self.path / "run.json"
        if not p.exists():
            raise FileNotFoundError(f"{self.path} is not a run folder (no run.json): run `tinyheat train` first")
        return _read_json(p)

    @property
    def recipe(self) -> Recipe:
        return Recipe.from_dict(self.info["recipe"])

    @property
    def labels(self) -> list[str]:
        return self.info["labels"]

    def metrics(self) -> dict:
        p = self.path / "metrics.json"
        return _read_json(p) if p.exists() else {}

    def save_metrics(self, m: dict) -> None:
        _write_json(self.path / "metrics.json", m)

    def tflite(self) -> bytes:
        p = self.path / "model_int8.tflite"
        if not p.exists():
            raise FileNotFoundError(f"{p} missing: run `tinyheat quantize {self.path}` first")
        return p.read_bytes()

    def load_data_and_split(self) -> tuple[LabelledFrames, Split]:
        info = self.info
        data = load_dataset(info["dataset"], labels=info["labels"])
        return data, _split_from_files(data, info["split_files"])

    def load_model(self):
        from ..training.model import keras

        return keras.models.load_model(self.path / "model.keras")


def train_run(dataset: str | Path, out: str | Path, recipe: Recipe | None = None, progress: bool = True,
              split: Split | None = None) -> Run:
    """Train ``recipe`` (default: ``default``) on a capture-order holdout split of ``dataset``."""
    from ..training.model import layer_macs
    from ..training.train import fit, predict_proba

    recipe = recipe or get_recipe("default")
    data = load_dataset(dataset)
    split = split or holdout_split(data)
    run = Run(out)
    run.path.mkdir(parents=True, exist_ok=True)
    result = fit(data, split, recipe, progress=progress)
    result.model.save(run.path / "model.keras")
    proba = predict_proba(result.model, data.frames[split.test], recipe)
    fmetrics = classification_metrics(data.y[split.test], proba.argmax(1), data.labels)
    layers = layer_macs(result.model)
    _write_json(run.path / "run.json", {
        "dataset": str(Path(dataset).resolve()), "labels": data.labels, "recipe": recipe.to_dict(),
        "split_files": {k: data.files[getattr(split, k)].tolist() for k in ("train", "val", "test")},
    })
    metrics = {
        "labels": data.labels,
        "dataset": str(Path(dataset).resolve()),
        "recipe": recipe.name,
        "split": {**split.description, "train": int(len(split.train)), "val": int(len(split.val)),
                  "test": int(len(split.test)),
                  "test_per_class": {lab: int((data.y[split.test] == i).sum()) for i, lab in enumerate(data.labels)}},
        "float": fmetrics,
        "model": {"parameters": int(result.model.count_params()), "macs": int(sum(r["macs"] for r in layers)),
                  "layers": layers},
        "training": {"seconds": round(result.seconds, 2), "best_epoch": result.best_epoch,
                     "epochs_run": len(result.history["loss"])},
    }
    run.save_metrics(metrics)
    plots.plot_curves(result.history, run.path / "curves.png", result.best_epoch)
    plots.plot_confusion({"float": fmetrics["confusion_matrix"]}, data.labels, run.path / "confusion.png")
    return run


def quantize_run(run: Run | str | Path, qat: bool = False, progress: bool = True, allow_lsb: int = 1) -> dict:
    """int8-quantize the run's model, check TFLM against TFLite reference kernels, measure the arena.

    Raises TFLMParityError if the two interpreters disagree on any test input by more than
    ``allow_lsb`` steps, or on any top-1. Default 1: the two builds round a FULLY_CONNECTED
    requantization tie differently on rare inputs (see :func:`tflm_check.check_parity`); 0 demands
    bit-identical outputs.
    """
    from ..deploy.quantize import convert_int8, qat_finetune, representative_inputs
    from ..deploy.tflm_support import check_tflm_support

    run = run if isinstance(run, Run) else Run(run)
    recipe = run.recipe
    data, split = run.load_data_and_split()
    model = run.load_model()
    if qat:
        model = qat_finetune(model, data, split, recipe, progress=progress)
    tflite = convert_int8(model, representative_inputs(data, split, recipe))
    check_tflm_support(tflite)  # the device's TFLM must compute what is checked below
    io = io_quantization(tflite)
    card_input = {**recipe.input.to_dict(), **io["input"]}
    x = quantize_input(data.frames[split.test], card_input)
    q_out, parity = check_parity(tflite, x, allow_lsb)  # raises before anything is written
    (run.path / "model_int8.tflite").write_bytes(tflite)
    imetrics = classification_metrics(data.y[split.test], q_out.argmax(1), data.labels)
    imetrics.update({"interpreter": tflm_version(), "quantization": "qat" if qat else "ptq"})
    measured = measure_arena_bytes(tflite)
    m = run.metrics()
    m["int8"] = imetrics
    m["tflm_parity"] = parity
    m["model"].update({"tflite_bytes": len(tflite), "arena_measured_bytes": measured,
                       "arena_bytes": export_mod.exported_arena_bytes(measured), "ops": model_ops(tflite)})
    run.save_metrics(m)
    plots.plot_confusion({"float": m["float"]["confusion_matrix"], "int8 (TFLM)": imetrics["confusion_matrix"]},
                         data.labels, run.path / "confusion.png")
    return m


def model_card(run: Run) -> dict:
    """Everything needed to run the int8 model: input spec, labels, quantization, ops, cost, metrics."""
    tflite = run.tflite()
    m = run.metrics()
    if "int8" not in m:
        raise ValueError(f"{run.path}: no int8 metrics; run `tinyheat quantize {run.path}` first")
    io = io_quantization(tflite)
    recipe = run.recipe
    return {
        "format": "tinyheat-model-card/1",
        "run": str(run.path),
        "labels": run.labels,
        "input": {**io["input"], **recipe.input.to_dict()},
        "output": io["output"],
        "ops": m["model"]["ops"],
        "arena_bytes": m["model"]["arena_bytes"],
        "arena_measured_bytes": m["model"]["arena_measured_bytes"],
        "tflite_bytes": len(tflite),
        "interpreter": tflm_version(),
        "model": {k: m["model"][k] for k in ("parameters", "macs", "layers")},
        "recipe": recipe.to_dict(),
        "split": m["split"],
        "metrics": {"float_balanced_accuracy": m["float"]["balanced_accuracy"],
                    "int8_balanced_accuracy": m["int8"]["balanced_accuracy"],
                    "int8_accuracy": m["int8"]["accuracy"],
                    "int8_per_class": m["int8"]["per_class"]},
    }


def export_run(run: Run | str | Path, firmware: str | Path, budget: dict = export_mod.WIO_TERMINAL_BUDGET) -> list[Path]:
    """Write the model card into the run and the C model library into ``firmware`` (BudgetError if too big)."""
    run = run if isinstance(run, Run) else Run(run)
    card = model_card(run)
    export_mod.check_budget(card["tflite_bytes"], card["arena_bytes"], budget)
    _write_json(run.path / "model_card.json", card)
    return export_mod.export_model(run.tflite(), card, firmware, budget)


def default_eval_name(dataset: str | Path) -> str:
    """``eval-<dataset folder name>.json``, the file name saying which dataset was measured."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(dataset).resolve().name) or "dataset"
    return f"eval-{name}.json"


def evaluate_run(run: Run | str | Path, dataset: str | Path, json_path: str | Path | None = None) -> tuple[dict, Path]:
    """Metrics of the run's int8 model, run in TFLM, on every sample of ``dataset`` (metrics.json schema)."""
    run = run if isinstance(run, Run) else Run(run)
    tflite = run.tflite()
    data = load_dataset(dataset, labels=run.labels)
    card_input = {**run.recipe.input.to_dict(), **io_quantization(tflite)["input"]}
    q = run_tflm(tflite, quantize_input(data.frames, card_input))
    m = classification_metrics(data.y, q.argmax(1), data.labels)
    m["interpreter"] = tflm_version()
    out_q = io_quantization(tflite)["output"]
    # what the device shows: its smoothing + "uncertain" threshold, along capture order per (label, session)
    device = device_metrics(data.y, q, np.stack([data.y.astype(str), data.session.astype(str)], axis=1),
                            output_scale=out_q["scale"], output_zero_point=out_q["zero_point"], labels=data.labels)
    out = {"labels": run.labels, "dataset": str(Path(dataset).resolve()), "run": str(run.path),
           "split": {"kind": "all samples of the dataset", "test": int(len(data))}, "int8": m, "device": device}
    path = Path(json_path) if json_path else run.path / default_eval_name(dataset)
    _write_json(path, out)
    return out, path
