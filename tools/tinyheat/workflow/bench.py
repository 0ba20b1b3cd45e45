"""``tinyheat bench``: k-fold cross-validation over contiguous capture-order blocks, recipe against recipe.

For each recipe and fold: train (early stopping on a val block carved from the training part),
float balanced accuracy on the test block, int8 PTQ, int8 balanced accuracy in TFLM; plus training
seconds, tflite bytes, TFLM arena bytes and MACs. A benchmark prints figures; it asserts nothing.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from ..training.recipes import RECIPES


def bench_recipe(data, recipe, folds: int, progress: bool = True) -> dict:
    from sklearn.metrics import balanced_accuracy_score

    from ..training.data import kfold_splits
    from ..training.model import layer_macs
    from ..training.preprocess import quantize_input
    from ..deploy.quantize import convert_int8, representative_inputs
    from ..deploy.tflm_check import check_parity, io_quantization, measure_arena_bytes
    from ..training.train import fit, predict_proba

    rows, tflite = [], b""
    for split in kfold_splits(data, folds=folds):
        k = split.description["fold"]
        res = fit(data, split, recipe, progress=progress)
        yte = data.y[split.test]
        fba = balanced_accuracy_score(yte, predict_proba(res.model, data.frames[split.test], recipe).argmax(1))
        tflite = convert_int8(res.model, representative_inputs(data, split, recipe))
        card_input = {**recipe.input.to_dict(), **io_quantization(tflite)["input"]}
        # a benchmark reports rounding-tie differences instead of stopping (quantize gates on them)
        q, parity = check_parity(tflite, quantize_input(data.frames[split.test], card_input), allow_lsb=127)
        iba = balanced_accuracy_score(yte, q.argmax(1))
        rows.append({"fold": k, "float_balanced_accuracy": round(float(fba), 4),
                     "int8_balanced_accuracy": round(float(iba), 4), "train_seconds": round(res.seconds, 2),
                     "epochs_run": len(res.history["loss"]), "test": int(len(split.test)),
                     "tflm_vs_tflite": {k: parity[k] for k in ("differing_inputs", "max_abs_diff", "top1_differences")}})
        click.echo(f"  {recipe.name:<9} fold {k}: float {fba:.3f}  int8 {iba:.3f}  ({res.seconds:.1f} s)")
    macs = layer_macs(res.model)
    return {
        "folds": rows,
        "mean_float_balanced_accuracy": round(float(np.mean([r["float_balanced_accuracy"] for r in rows])), 4),
        "mean_int8_balanced_accuracy": round(float(np.mean([r["int8_balanced_accuracy"] for r in rows])), 4),
        "train_seconds": round(float(sum(r["train_seconds"] for r in rows)), 1),
        "tflite_bytes": len(tflite),
        "arena_bytes": measure_arena_bytes(tflite),
        "macs": int(sum(r["macs"] for r in macs)),
        "parameters": int(res.model.count_params()),
        "recipe": recipe.to_dict(),
    }


def format_table(results: dict) -> str:
    names = list(results)
    folds = len(next(iter(results.values()))["folds"])
    lines = ["balanced accuracy, float / int8 (TFLM), per capture-order fold:",
             f"{'':>22}" + "".join(f"{n:>20}" for n in names)]
    for k in range(folds):
        lines.append(f"{'fold ' + str(k):>22}" + "".join(
            f"{results[n]['folds'][k]['float_balanced_accuracy']:>13.3f} / {results[n]['folds'][k]['int8_balanced_accuracy']:.3f}"
            for n in names))
    for key, label, fmt in (("mean", "mean", "{:>13.3f} / {:.3f}"),):
        lines.append(f"{label:>22}" + "".join(
            fmt.format(results[n]["mean_float_balanced_accuracy"], results[n]["mean_int8_balanced_accuracy"]) for n in names))
    for key, label in (("train_seconds", "training seconds"), ("tflite_bytes", "tflite bytes"),
                       ("arena_bytes", "arena bytes (TFLM)"), ("macs", "MACs / inference"), ("parameters", "parameters")):
        lines.append(f"{label:>22}" + "".join(f"{results[n][key]:>20}" for n in names))
    return "\n".join(lines)


def _recipe_list(ctx, param, value: str) -> list[str]:
    """Split ``a,b`` and check each name with click.Choice (usage error, exit 2, listing the choices)."""
    choice = click.Choice(sorted(RECIPES))
    names = [choice.convert(r.strip(), param, ctx) for r in value.split(",") if r.strip()]
    if not names:
        raise click.BadParameter("name at least one recipe", ctx=ctx, param=param)
    return names


@click.command("bench")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--folds", type=int, default=5, show_default=True)
@click.option("--recipes", default="default,baseline", show_default=True, callback=_recipe_list,
              help="Comma-separated recipe names: " + ", ".join(sorted(RECIPES)) + ".")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write results as JSON.")
@click.option("--epochs", type=int, default=None, help="Override every recipe's maximum epochs (quick runs).")
def bench_cmd(dataset, folds, recipes, json_path, epochs):
    """k-fold capture-order cross-validation of recipes on DATASET (float and int8 balanced accuracy, cost)."""
    from ..training.data import load_dataset
    from ..training.recipes import get_recipe

    t0 = time.perf_counter()
    data = load_dataset(dataset)
    click.echo(f"{dataset}: {len(data)} samples {data.counts()}, {folds} folds over contiguous capture-order blocks")
    results = {}
    for name in recipes:
        recipe = get_recipe(name, **({"epochs": epochs} if epochs else {}))
        results[name] = bench_recipe(data, recipe, folds, progress=False)
    click.echo(format_table(results))
    total = time.perf_counter() - t0
    click.echo(f"whole benchmark: {total:.0f} s")
    if json_path:
        out = {"dataset": str(Path(dataset).resolve()), "folds": folds, "seconds": round(total, 1), **results}
        Path(json_path).write_text(json.dumps(out, indent=2) + "\n")
        click.echo(f"wrote {json_path}")
