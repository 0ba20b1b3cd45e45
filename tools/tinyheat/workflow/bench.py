"""``tinyheat bench``: the selection protocol on every labelled real set and the simulator's demo set.

For each dataset, under the same cross-validation folds (:func:`tinyheat.training.cv.plan_cv`):

- ``selected``: the recipe ``tinyheat run`` would choose from the search space
  (:mod:`tinyheat.training.selection`); its score is the winner's CV score, so it carries the
  selection's optimism (no nested CV: that would multiply the cost by the number of folds);
- ``default``: the fixed default recipe (23-33 degC window, the 131 k-MAC CNN);
- ``baseline``: the seed-style recipe (22-37 degC window, two convs, no augmentation);

each as pooled balanced accuracy, float and int8 (each fold's model quantized and run in TFLM),
with a 90 % bootstrap interval over folds. A benchmark prints figures; it asserts nothing.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click


def bench_dataset(name: str, data, epochs: int, echo=click.echo) -> dict:
    from ..training.cv import plan_cv
    from ..training.selection import cv_report, fixed_candidate, format_table, search_space, select
    from .steps import add_model_bytes, cv_int8

    t0 = time.perf_counter()
    plan = plan_cv(data)
    echo(f"== {name}: {len(data)} samples {data.counts()}; {plan.kind}, {len(plan.splits)} folds, gap {plan.gap}")
    out = {"samples": len(data), "counts": data.counts(), "protocol": plan.describe(), "epochs": epochs}
    for key, cands in (("selected", search_space(epochs)), ("default", [fixed_candidate("default", epochs)]),
                       ("baseline", [fixed_candidate("baseline", epochs)])):
        sel = select(data, plan, cands, epochs=epochs)
        f = cv_report(data, sel)
        i = cv_int8(data, sel)
        row = {"recipe": sel.winner.candidate.name, "epochs": sel.epochs,
               "float": round(f["balanced_accuracy"], 4), "float_interval_90": f["interval_90"],
               "int8": round(i["metrics"]["balanced_accuracy"], 4), "int8_interval_90": i["metrics"]["interval_90"],
               "macs": sel.winner.macs, "tflite_bytes": i["tflite_bytes"], "seconds": round(sel.seconds, 1)}
        if key == "selected":
            add_model_bytes(data, sel)
            row["table"] = sel.table
            echo(format_table(sel))
        out[key] = row
        echo(f"  {key:<9} {row['recipe']:<22} float {row['float']:.3f} [{f['interval_90'][0]:.2f}, "
             f"{f['interval_90'][1]:.2f}]  int8 {row['int8']:.3f}  ({row['seconds']:.0f} s)")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def format_summary(results: dict) -> str:
    lines = ["pooled CV balanced accuracy, float / int8 (TFLM):",
             f"{'dataset':<12}{'protocol':<26}{'selected':>16} {'(recipe)':<22}{'default':>16}{'baseline':>16}"]
    for name, r in results.items():
        proto = f"{r['protocol']['kind'].split(' (')[0]} x{r['protocol']['folds']}"
        cell = lambda k: f"{r[k]['float']:.3f} / {r[k]['int8']:.3f}"  # noqa: E731
        lines.append(f"{name:<12}{proto:<26}{cell('selected'):>16} {r['selected']['recipe']:<22}"
                     f"{cell('default'):>16}{cell('baseline'):>16}")
    return "\n".join(lines)


@click.command("bench")
@click.argument("datasets", nargs=-1, type=click.Path(exists=True, file_okay=False))
@click.option("--shared", type=click.Path(file_okay=False), default="../shared/datasets", show_default=True,
              help="Folder of the real recordings (used when no DATASETS are given).")
@click.option("--demo", type=click.Path(file_okay=False), default="datasets/demo", show_default=True,
              help="The simulator's demo dataset (used when no DATASETS are given).")
@click.option("--epochs", type=click.IntRange(3, 500), default=24, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write results as JSON.")
@click.option("--force", is_flag=True, help="Overwrite --json if it exists.")
def bench_cmd(datasets, shared, demo, epochs, json_path, force):
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
        results[name] = bench_dataset(name, get(), epochs)
    click.echo(format_summary(results))
    total = time.perf_counter() - t0
    click.echo(f"whole benchmark: {total:.0f} s")
    if json_path:
        Path(json_path).write_text(json.dumps({"seconds": round(total, 1), "epochs": epochs, "results": results},
                                              indent=2) + "\n")
        click.echo(f"wrote {json_path}")
