"""Click commands: ``tinyheat train / quantize / export / evaluate / run``."""
from __future__ import annotations

from pathlib import Path

import click

from ..training.recipes import RECIPES


def _fmt_metrics(name: str, m: dict) -> str:
    per = ", ".join(f"{lab} P{v['precision']:.2f}/R{v['recall']:.2f}" for lab, v in m["per_class"].items())
    return (f"{name:>6}: balanced accuracy {m['balanced_accuracy']:.3f}  accuracy {m['accuracy']:.3f}  "
            f"(n={m['n']}; {per})")


def _fmt_device(d: dict) -> str:
    return (f"device: balanced accuracy per frame {d['per_frame_balanced_accuracy']:.3f}, smoothed over "
            f"{d['smooth_frames']} frames {d['smoothed_balanced_accuracy']:.3f}, as shown "
            f"{d['shown_balanced_accuracy']:.3f} ('uncertain' below {d['uncertain_below']:.2f} on "
            f"{100 * d['uncertain_rate']:.1f} % of frames)")


def _echo_train(run) -> None:
    m = run.metrics()
    s = m["split"]
    click.echo(f"split: {s['kind']}: train {s['train']}, val {s['val']}, test {s['test']} "
               f"(gap {s.get('gap_frames')} frames at each cut)")
    click.echo(_fmt_metrics("float", m["float"]))
    click.echo(f"model: {m['model']['parameters']} parameters, {m['model']['macs']} MACs per inference")


def _echo_quant(m: dict) -> None:
    click.echo(_fmt_metrics("int8", m["int8"]) + f"  [{m['int8']['interpreter']}]")
    p = m["tflm_parity"]
    if p["identical"]:
        click.echo(f"TFLM vs LiteRT reference kernels: identical on {p['inputs']} inputs")
    else:
        click.secho(f"WARNING: TFLM vs LiteRT reference kernels differ on {p['differing_inputs']} of {p['inputs']} "
                    f"inputs by at most {p['max_abs_diff']} step (a requantization rounding tie; top-1 identical; "
                    f"--allow-lsb 0 refuses this)",
                    fg="yellow", err=True)
    mm = m["model"]
    click.echo(f"int8 model: {mm['tflite_bytes']} bytes, arena {mm['arena_measured_bytes']} bytes measured "
               f"({mm['arena_bytes']} exported), ops {', '.join(mm['ops'])}")


@click.command("train")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--recipe", type=click.Choice(sorted(RECIPES)), default="default", show_default=True)
@click.option("--epochs", type=int, default=None, help="Override the recipe's maximum epochs.")
@click.option("--seed", type=int, default=None, help="Override the recipe's seed.")
@click.option("--patience", type=int, default=None,
              help="Early stopping on the val block after this many epochs without improvement (0 = off).")
def train_cmd(dataset, out, recipe, epochs, seed, patience):
    """Train a small CNN on DATASET, split by capture order (never by random frame)."""
    from .pipeline import train_run
    from ..training.recipes import get_recipe

    overrides = {k: v for k, v in (("epochs", epochs), ("seed", seed), ("patience", patience)) if v is not None}
    run = train_run(dataset, out, get_recipe(recipe, **overrides))
    _echo_train(run)
    click.echo(f"wrote {run.path}/model.keras, metrics.json, confusion.png, curves.png")


@click.command("quantize")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--qat", is_flag=True, help="Quantization-aware fine-tuning first (needs the optional extra: pip install 'tinyheat[qat]').")
@click.option("--allow-lsb", type=click.IntRange(0, 2), default=1, show_default=True,
              help="Accept TFLM/TFLite output differences of up to this many int8 steps when top-1 agrees "
                   "(FULLY_CONNECTED rounding ties; reported). 0 = demand bit-identical outputs.")
def quantize_cmd(run, qat, allow_lsb):
    """int8 full-integer quantization of RUN's model; checks TFLM against TFLite and measures the arena."""
    from .pipeline import quantize_run
    from ..deploy.quantize import QATUnavailableError
    from ..deploy.tflm_check import TFLMParityError
    from ..deploy.tflm_support import UnsupportedByDeviceError

    try:
        m = quantize_run(run, qat=qat, allow_lsb=allow_lsb)
    except (TFLMParityError, QATUnavailableError, UnsupportedByDeviceError) as e:
        raise click.ClickException(str(e)) from None
    _echo_quant(m)


@click.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--firmware", type=click.Path(file_okay=False), default="firmware", show_default=True,
              help="Firmware folder; the model goes into its lib/tinyheat_model/.")
def export_cmd(run, firmware):
    """Write RUN's int8 model as C sources + header + model card for the firmware."""
    from ..deploy.export import BudgetError
    from .pipeline import export_run

    try:
        files = export_run(run, firmware)
    except (BudgetError, FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    for f in files:
        click.echo(f"wrote {f}")


@click.command("evaluate")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the metrics (default: RUN/eval-<dataset>.json).")
def evaluate_cmd(run, dataset, json_path):
    """Metrics of RUN's int8 model, run in TFLM, on every sample of DATASET."""
    from .pipeline import evaluate_run

    try:
        out, path = evaluate_run(run, dataset, json_path)
    except (FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(_fmt_metrics("int8", out["int8"]))
    click.echo(_fmt_device(out["device"]))
    click.echo(f"wrote {path}")


RECIPE_CHOICES = ["auto", *sorted(RECIPES)]


def _echo_selection(sel) -> None:
    from ..training.selection import format_table

    d = sel.plan.describe()
    click.echo(f"protocol: {d['kind']}, {d['folds']} folds (test sizes {d['test_sizes']}), gap {d['gap_frames']} frames")
    for note in d["notes"]:
        click.echo(f"note: {note}")
    click.echo(format_table(sel))


def _fmt_cv(name: str, m: dict) -> str:
    iv = m.get("interval_90") or [float("nan")] * 2
    return _fmt_metrics(name, m) + f"  90% interval [{iv[0]:.2f}, {iv[1]:.2f}]"


@click.command("tune")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--epochs", type=click.IntRange(3, 500), default=24, show_default=True,
              help="Most epochs per candidate (successive halving stops all but the best third at a third of it).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the table as JSON.")
@click.option("--force", is_flag=True, help="Overwrite --json if it exists.")
def tune_cmd(dataset, epochs, json_path, force):
    """Recipe selection table only: every candidate's cross-validated score and cost on DATASET."""
    import json

    from ..training.cv import DatasetTooSmall
    from .steps import load, select_recipe

    if json_path and Path(json_path).exists() and not force:
        raise click.ClickException(f"{json_path} exists: pass --force to overwrite it")
    data = load(dataset)
    click.echo(f"{dataset}: {len(data)} samples {data.counts()}")
    try:
        sel = select_recipe(data, "auto", epochs, echo=click.echo)
    except DatasetTooSmall as e:
        raise click.ClickException(str(e)) from None
    _echo_selection(sel)
    click.echo(f"selection: {sel.seconds:.0f} s")
    if json_path:
        Path(json_path).write_text(json.dumps({"dataset": str(Path(dataset).resolve()), "protocol": sel.plan.describe(),
                                               "table": sel.table}, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


@click.command("run")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--firmware", type=click.Path(file_okay=False), default="firmware", show_default=True)
@click.option("--recipe", type=click.Choice(RECIPE_CHOICES), default="auto", show_default=True,
              help="auto: select input and architecture by cross-validation; else a fixed recipe.")
@click.option("--epochs", type=click.IntRange(3, 500), default=24, show_default=True,
              help="Most epochs per candidate; the deployed model's epochs are chosen by CV up to this.")
@click.option("--allow-lsb", type=click.IntRange(0, 2), default=1, show_default=True,
              help="Accept TFLM/TFLite output differences of up to this many int8 steps when top-1 agrees "
                   "(FULLY_CONNECTED rounding ties; reported). 0 = demand bit-identical outputs.")
@click.option("--force", is_flag=True, help="Overwrite an existing run folder.")
def run_cmd(dataset, out, firmware, recipe, epochs, allow_lsb, force):
    """Check the data, select a recipe by CV, refit on every sample, quantize, check in TFLM, export."""
    import time

    from ..deploy.export import BudgetError, export_model
    from ..deploy.tflm_check import TFLMParityError, tflm_version
    from ..deploy.tflm_support import UnsupportedByDeviceError
    from ..training import plots
    from ..training.cv import DatasetTooSmall, validate_dataset
    from ..training.model import layer_macs
    from ..training.selection import cv_report, refit
    from .check import check_dataset, format_check
    from .steps import cv_int8, load, model_card, quantize_model, select_recipe, write_run

    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise click.ClickException(f"{out} exists and is not empty: pass --force to overwrite it")
    data = load(dataset)
    click.echo(f"[1/5] check {dataset}: {len(data)} samples {data.counts()}")
    try:
        validate_dataset(data)
        report = check_dataset(data)
        click.echo(format_check(report))
        click.echo(f"[2/5] select a recipe ({'search space' if recipe == 'auto' else recipe}), up to {epochs} epochs")
        sel = select_recipe(data, recipe, epochs, echo=click.echo)
    except DatasetTooSmall as e:
        raise click.ClickException(str(e)) from None
    _echo_selection(sel)
    cvf = cv_report(data, sel)
    click.echo(f"[3/5] refit {sel.winner.candidate.name} on all {len(data)} samples for {sel.epochs} epochs "
               f"(epoch count chosen by CV)")
    tr = refit(data, sel.winner.candidate, sel.epochs)
    click.echo("[4/5] quantize to int8, check TFLM against TFLite, int8 CV estimate")
    try:
        q = quantize_model(tr.model, data, tr.recipe, allow_lsb)
    except (TFLMParityError, UnsupportedByDeviceError) as e:
        raise click.ClickException(str(e)) from None
    c8 = cv_int8(data, sel)
    cvi, device = c8["metrics"], c8["device"]
    cvi["interpreter"] = tflm_version()
    click.echo("cross-validated estimate (models that never saw the held-out samples; the deployed model saw all):")
    click.echo(_fmt_cv("float", cvf))
    click.echo(_fmt_cv("int8", cvi))
    click.echo(_fmt_device(device))
    for f in cvf["folds"]:
        click.echo(f"  {f['fold']:>12}: n={f['n']:<4} balanced accuracy {f['balanced_accuracy']:.3f}")
    layers = layer_macs(tr.model)
    from ..deploy.export import exported_arena_bytes

    model_info = {"parameters": int(tr.model.count_params()), "macs": int(sum(r["macs"] for r in layers)),
                  "layers": layers, "tflite_bytes": len(q.tflite), "arena_measured_bytes": q.arena_measured_bytes,
                  "arena_bytes": exported_arena_bytes(q.arena_measured_bytes), "ops": q.ops}
    split = {**sel.plan.describe(), "test": int(len(data)), "train": int(len(data)), "val": 0,
             "deployed_model": f"refit on all {len(data)} samples for {sel.epochs} epochs"}
    metrics = {"labels": data.labels, "dataset": str(Path(dataset).resolve()), "recipe": tr.recipe.name,
               "split": split, "float": cvf, "int8": cvi, "device": device, "tflm_parity": q.parity,
               "model": model_info,
               "training": {"epochs": sel.epochs, "refit_seconds": round(tr.seconds, 2),
                            "selection_seconds": round(sel.seconds, 1)},
               "check": report}
    card = model_card(data.labels, tr.recipe, q, {k: model_info[k] for k in ("parameters", "macs", "layers")},
                      metrics, str(out))
    files = {
        "run.json": {"dataset": str(Path(dataset).resolve()), "labels": data.labels, "recipe": tr.recipe.to_dict(),
                     "split_files": {"train": data.files.tolist(), "val": [], "test": []},
                     "protocol": sel.plan.describe()},
        "selection.json": {"protocol": sel.plan.describe(), "table": sel.table},
        "metrics.json": metrics,
        "model.keras": lambda p: tr.model.save(p),
        "model_int8.tflite": q.tflite,
        "model_card.json": card,
        "confusion.png": lambda p: plots.plot_confusion({"float (CV)": cvf["confusion_matrix"],
                                                          "int8 TFLM (CV)": cvi["confusion_matrix"]}, data.labels, p),
    }
    write_run(out, files, force=True)
    click.echo(f"wrote {out}/: {', '.join(files)}")
    click.echo(f"[5/5] export to {Path(firmware) / 'lib' / 'tinyheat_model'}")
    try:
        for f in export_model(q.tflite, card, firmware):
            click.echo(f"wrote {f}")
    except (BudgetError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"done in {time.perf_counter() - t0:.0f} s")
