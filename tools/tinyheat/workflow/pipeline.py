"""The run folder and the steps on it: train -> quantize -> evaluate -> export.

A run folder ``RUN/`` holds, by the step that writes it (no step modifies another's file):

- train (:func:`steps.train_files`): ``run.json`` (recipe, labels, dataset, the samples the deployed
  model trained on: all), ``selection.json`` (the CV table), ``metrics.json`` (the cross-validated
  estimate, the data check, the model's cost), ``model.keras`` (Keras 3), ``confusion.png``;
- quantize (:func:`steps.quantize_files`): ``model_int8.tflite``, ``quantize.json`` (io quantization,
  TFLM parity, arena, ops);
- ``tinyheat run`` writes both sets at once, with the int8 CV estimate and the device view in
  ``metrics.json`` and ``model_card.json``;
- ``eval-<dataset>.json`` from ``tinyheat evaluate``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..deploy import export as export_mod
from ..deploy.device_view import device_metrics
from ..training.data import Split, load_dataset
from ..training.metrics import classification_metrics
from ..training.preprocess import quantize_input
from ..training.recipes import Recipe
from ..deploy.tflm_check import io_quantization, run_tflm, tflm_version


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


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

    def tflite(self) -> bytes:
        p = self.path / "model_int8.tflite"
        if not p.exists():
            raise FileNotFoundError(f"{p} missing: run `tinyheat quantize {self.path}` first")
        return p.read_bytes()

    def load_model(self):
        from ..training.model import keras

        return keras.models.load_model(self.path / "model.keras")


def quantize_run(run: Run | str | Path, qat: bool = False, progress: bool = True, allow_lsb: int = 1,
                 force: bool = False) -> dict:
    """Load RUN's model and dataset -> :func:`steps.quantize_model` -> write model_int8.tflite + quantize.json.

    Never modifies a file ``train`` wrote. Raises TFLMParityError (see
    :func:`tflm_check.check_parity`), UnsupportedByDeviceError, QATUnavailableError; a run that
    already has an int8 model needs ``force``. Returns quantize.json's content.
    """
    from ..deploy.quantize import qat_finetune
    from .steps import quantize_files, quantize_model, write_run

    run = run if isinstance(run, Run) else Run(run)
    recipe = run.recipe
    data = load_dataset(run.info["dataset"], labels=run.labels)
    model = run.load_model()
    if qat:  # fine-tunes on every sample, like the deployed model; the val curve is on training samples
        everything = np.arange(len(data))
        model = qat_finetune(model, data, Split(everything, everything, everything[:0]), recipe, progress=progress)
    q = quantize_model(model, data, recipe, allow_lsb)
    files = quantize_files(q, qat)
    write_run(run.path, files, force=force, new_folder=False)
    return files["quantize.json"]


def model_card(run: Run) -> dict:
    """The model card of a run folder: run.json + metrics.json (train) + quantize.json (quantize)."""
    from .steps import QuantResult, model_card as card_of

    p = run.path / "quantize.json"
    if not p.exists():
        raise FileNotFoundError(f"{run.path}: no int8 model; run `tinyheat quantize {run.path}` first")
    qj = _read_json(p)
    q = QuantResult(run.tflite(), qj["io"], qj["tflm_parity"], qj["arena_measured_bytes"], qj["ops"])
    m = run.metrics()
    return card_of(run.labels, run.recipe, q, {k: m["model"][k] for k in ("parameters", "macs", "layers")}, m,
                   str(run.path))


def export_run(run: Run | str | Path, firmware: str | Path, budget: dict = export_mod.WIO_TERMINAL_BUDGET) -> list[Path]:
    """Write the C model library into ``firmware`` from the run's files (BudgetError if too big).

    The model card goes to the firmware folder (and is already in RUN when ``run`` wrote it).
    """
    run = run if isinstance(run, Run) else Run(run)
    card = model_card(run)
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
    if Path(dataset).resolve() == Path(run.info["dataset"]).resolve():
        out["split"]["warning"] = ("the run's model trained on these samples: this is not a held-out estimate "
                                   "(metrics.json holds the cross-validated one)")
    path = Path(json_path) if json_path else run.path / default_eval_name(dataset)
    _write_json(path, out)
    return out, path
