"""``tinyheat bench``: the selection protocol on every labelled real set and the simulator's demo set.

For each dataset, under the same cross-validation folds (:func:`tinyheat.training.cv.plan_cv`):

- ``selected``: the recipe ``tinyheat run`` would choose from the search space
  (:mod:`tinyheat.training.selection`); its score is the winner's CV score, so it carries the
  selection's optimism (no nested CV: that would multiply the cost by the number of folds);
- ``default``: the fixed default recipe (README "Model");
- ``baseline``: the seed-style recipe (22-37 degC window, two convs, no augmentation);

each as pooled balanced accuracy, float and int8 (each fold's model quantized and run in TFLM),
with a 90 % bootstrap interval over folds, and the float forward-in-time estimate (train on the
earlier samples of each class, test on the later ones: :func:`tinyheat.training.cv.forward_plan`).
``--seeds N`` repeats everything with recipe seeds 0..N-1 and reports mean and spread.
A benchmark prints figures; it asserts nothing.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..training.recipes import DEFAULT_EPOCHS


def _seeded(cands, seed: int):
    from dataclasses import replace

    return [replace(c, recipe=replace(c.recipe, seed=seed)) for c in cands]


def bench_dataset(name: str, data, epochs: int, echo=click.echo, seed: int = 0) -> dict:
    from ..training.cv import forward_plan, plan_cv
    from ..training.selection import cv_report, fallback_name, fixed_candidate, format_table, search_space, select
    from .steps import add_model_bytes, cv_int8

    t0 = time.perf_counter()
    plan, fplan = plan_cv(data), forward_plan(data)
    echo(f"== {name} (seed {seed}): {len(data)} samples {data.counts()}; {plan.kind}, {len(plan.splits)} folds, "
         f"gap {plan.gap}")
    out = {"samples": len(data), "counts": data.counts(), "protocol": plan.describe(), "epochs": epochs, "seed": seed}
    for key, cands, fb in (("selected", search_space(epochs), fallback_name(data)),
                           ("default", [fixed_candidate("default", epochs)], None),
                           ("baseline", [fixed_candidate("baseline", epochs)], None)):
        sel = select(data, plan, _seeded(cands, seed), epochs=epochs, forward=fplan, fallback=fb)
        f = cv_report(data, sel)
        i = cv_int8(data, sel)
        fw = f.get("forward") or {}
        row = {"recipe": sel.winner.candidate.name, "epochs": sel.epochs,
               "float": round(f["balanced_accuracy"], 4), "float_interval_90": f["interval_90"],
               "int8": round(i["metrics"]["balanced_accuracy"], 4), "int8_interval_90": i["metrics"]["interval_90"],
               "forward": fw.get("balanced_accuracy"), "forward_interval_90": fw.get("interval_90"),
               "forward_note": fw.get("note"),
               "macs": sel.winner.macs, "tflite_bytes": i["tflite_bytes"], "seconds": round(sel.seconds, 1)}
        if key == "selected":
            add_model_bytes(data, sel)
            row["table"] = sel.table
            echo(format_table(sel))
        out[key] = row
        echo(f"  {key:<9} {row['recipe']:<22} float {row['float']:.3f} [{f['interval_90'][0]:.2f}, "
             f"{f['interval_90'][1]:.2f}]  int8 {row['int8']:.3f} {row['int8_interval_90']}  forward "
             f"{row['forward'] or float('nan'):.3f} {row['forward_interval_90']}"
             f"  ({row['seconds']:.0f} s)")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _mean_sd(vals, interval=None) -> str:
    """Mean +- SD over seeds; one seed: the figure and its 90 % interval (``interval``)."""
    import numpy as np

    v = np.array([x for x in vals if x is not None], float)
    if not len(v):
        return "-"
    if len(v) > 1:
        return f"{v.mean():.3f}+-{v.std():.3f}"
    return f"{v[0]:.3f}" + (f" [{interval[0]:.2f},{interval[1]:.2f}]" if interval else "")


def format_summary(results: dict) -> str:
    """results: {dataset: [per-seed bench_dataset result]} -> the table (mean +- SD over seeds)."""
    lines = ["pooled CV balanced accuracy float / int8 (TFLM), and float forward-in-time; mean +- SD over "
             "seeds (one seed: [90 % interval]):",
             f"{'dataset':<12}{'protocol':<26}{'key':<10}{'CV float':>20}{'int8':>20}{'forward':>20}"
             f"  recipe(s)"]
    for name, runs in results.items():
        r0 = runs[0]
        proto = f"{r0['protocol']['kind'].split(' (')[0]} x{r0['protocol']['folds']}"
        for k in ("selected", "default", "baseline"):
            recipes = ", ".join(sorted({r[k]["recipe"] for r in runs}))
            lines.append(f"{name:<12}{proto:<26}{k:<10}"
                         f"{_mean_sd([r[k]['float'] for r in runs], r0[k]['float_interval_90']):>20}"
                         f"{_mean_sd([r[k]['int8'] for r in runs], r0[k]['int8_interval_90']):>20}"
                         f"{_mean_sd([r[k]['forward'] for r in runs], r0[k]['forward_interval_90']):>20}  {recipes}")
            proto = ""
    return "\n".join(lines)


@click.command("bench")
@click.argument("datasets", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--shared", type=click.Path(file_okay=False), default="../shared/datasets", show_default=True,
              help="Folder of the real recordings (used when no DATASETS are given).")
@click.option("--demo", type=click.Path(file_okay=False), default="datasets/demo", show_default=True,
              help="The simulator's demo dataset (used when no DATASETS are given).")
@click.option("--epochs", type=click.IntRange(3, 500), default=DEFAULT_EPOCHS, show_default=True)
@click.option("--seeds", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Repeat with recipe seeds 0..N-1 (N times the time) and report mean +- SD.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write results as JSON.")
@click.option("--force", is_flag=True, help="Overwrite --json if it exists.")
def bench_cmd(datasets, shared, demo, epochs, seeds, json_path, force):
    """Selected vs default vs seed-style recipe under CV on DATASETS (default: every real set + demo)."""
    from .realsets import REAL_SETS
    from .steps import load

    if json_path:
        from ..errors import ensure_new_file

        ensure_new_file(Path(json_path), force)
    t0 = time.perf_counter()
    sources = {}
    if datasets:
        for d in datasets:
            sources[Path(d).name] = lambda d=d: load(d)
    else:
        if not Path(shared).is_dir():
            raise click.ClickException(f"{shared} not found: pass --shared or DATASET folders")
        for name, loader in REAL_SETS.items():
            sources[name] = lambda loader=loader: loader(Path(shared))
        if Path(demo).is_dir():
            sources["demo (sim)"] = lambda: load(demo)
    results = {}
    for name, get in sources.items():
        data = get()
        results[name] = [bench_dataset(name, data, epochs, seed=seed) for seed in range(seeds)]
    click.echo(format_summary(results))
    total = time.perf_counter() - t0
    click.echo(f"whole benchmark: {total:.0f} s")
    if json_path:
        Path(json_path).write_text(json.dumps({"seconds": round(total, 1), "epochs": epochs, "seeds": seeds, "results": results},
                                              indent=2) + "\n")
        click.echo(f"wrote {json_path}")
