"""Click commands: ``tinyheat train / quantize / export / evaluate / run``."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import UserError, ensure_new_dir, ensure_new_file
from ..training.recipes import DEFAULT_EPOCHS, RECIPES


def firmware_target(firmware: str | None) -> Path | None:
    """Where ``export`` / ``run`` write the model: ``--firmware`` if given, else the ``firmware/`` folder of
    ``TINYHEAT_FIRMWARE`` if set (the folder the simulator builds), else the ``firmware/`` folder of
    the tinyheat checkout this package runs from (never ``./firmware`` of the current directory), else
    None (an installed package without ``--firmware``: nothing to export into).

    A given ``--firmware`` must be an existing folder that looks like firmware (a ``lib/`` folder
    inside, or a ``platformio.ini`` in it or beside it), so a mistyped path is a one-line UserError
    instead of a new folder nobody builds.
    """
    if firmware is not None:
        fw = Path(firmware)
        if not fw.is_dir():
            raise UserError(f"--firmware {fw}: no such folder (give the firmware folder that holds lib/, e.g. "
                            f"a tinyheat checkout's firmware/)")
        if not ((fw / "lib").is_dir() or (fw / "platformio.ini").is_file() or (fw.parent / "platformio.ini").is_file()):
            raise UserError(f"--firmware {fw}: does not look like a firmware folder (no lib/ inside, no platformio.ini "
                            f"in it or beside it)")
        return fw
    import os

    from ..paths import checkout_root, firmware_dir

    if os.environ.get("TINYHEAT_FIRMWARE"):  # the folder sim-device and the TFLM check use (checked there)
        return firmware_dir()
    root = checkout_root()
    return None if root is None else root / "firmware"


def existing_model(target: Path) -> Path | None:
    """``target/lib/tinyheat_model`` if it already holds exported model files (export would replace them)."""
    from ..deploy.export import MODEL_FILES, MODEL_LIB

    lib = target / MODEL_LIB
    return lib if any((lib / name).exists() for name in MODEL_FILES) else None


def _echo_firmware_target(firmware: str | None, target: Path) -> None:
    if firmware is None:
        click.echo(f"exporting to {target / 'lib' / 'tinyheat_model'} (TINYHEAT_FIRMWARE, or the firmware of the "
                   f"checkout tinyheat runs from; --firmware chooses another)")


def _fmt_metrics(name: str, m: dict) -> str:
    per = ", ".join(f"{lab} P{v['precision']:.2f}/R{v['recall']:.2f}" for lab, v in m["per_class"].items())
    return (f"{name:>6}: balanced accuracy {m['balanced_accuracy']:.3f}  accuracy {m['accuracy']:.3f}  "
            f"(n={m['n']}; {per})")


def _fmt_device(d: dict) -> str:
    return (f"device: balanced accuracy per frame {d['per_frame_balanced_accuracy']:.3f}, smoothed over "
            f"{d['smooth_frames']} frames {d['smoothed_balanced_accuracy']:.3f}, as shown "
            f"{d['shown_balanced_accuracy']:.3f} ('uncertain' below {d['uncertain_below']:.2f} on "
            f"{100 * d['uncertain_rate']:.1f} % of frames)")


def _echo_quant(m: dict) -> None:
    """m: quantize.json's content."""
    from ..deploy.tflm_check import format_parity

    p = m["tflm_parity"]
    click.secho(format_parity(p), **({} if p["identical"] else {"fg": "yellow", "err": True}))
    click.echo(f"int8 model: {m['tflite_bytes']} bytes, arena {m['arena_measured_bytes']} bytes measured "
               f"({m['arena_bytes']} exported), ops {', '.join(m['ops'])} [{m['interpreter']}]")


@click.command("train")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--recipe", type=click.Choice(["auto", *sorted(RECIPES)]), default="auto", show_default=True,
              help="auto: select input and architecture by cross-validation; else a fixed recipe.")
@click.option("--epochs", type=click.IntRange(3, 500), default=DEFAULT_EPOCHS, show_default=True,
              help="Most epochs per candidate; the deployed model's epochs are chosen by CV up to this.")
@click.option("--force", is_flag=True, help="Overwrite an existing run folder.")
def train_cmd(dataset, out, recipe, epochs, force):
    """Check DATASET, select a recipe by CV, refit it on every sample (load -> train -> save)."""
    from ..training.cv import DatasetTooSmall
    from .steps import check, load, train, train_files, write_run
    from .check import format_check

    ensure_new_dir(out, force)
    data = load(dataset)
    try:
        report = check(data)
        click.echo(format_check(report))
        t = train(data, recipe, epochs, echo=click.echo, report=report)
    except DatasetTooSmall as e:
        raise click.ClickException(str(e)) from None
    _echo_selection(t.selection)
    click.echo(_fmt_cv("float", t.cv_float))
    _echo_forward(t.cv_float)
    files = train_files(data, dataset, t)
    write_run(Path(out), files, force=force)
    click.echo(f"wrote {out}/: {', '.join(files)} (deployed model: all {len(data)} samples, {t.selection.epochs} epochs)")


@click.command("quantize")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--qat", is_flag=True, help="Quantization-aware fine-tuning first (needs the optional extra: pip install 'tinyheat[qat]').")
@click.option("--allow-lsb", type=click.IntRange(0, 2), default=1, show_default=True,
              help="Accept TFLM/TFLite output differences of up to this many int8 steps (FULLY_CONNECTED "
                   "rounding ties, which may flip the top-1 of a near-tie; counted and reported). "
                   "0 = demand bit-identical outputs.")
@click.option("--force", is_flag=True, help="Overwrite RUN's int8 model if it has one.")
def quantize_cmd(run, qat, allow_lsb, force):
    """int8 full-integer quantization of RUN's model; checks TFLM against TFLite and measures the arena.

    Writes model_int8.tflite and quantize.json; never modifies the files `train` wrote.
    """
    from .pipeline import quantize_run
    from ..deploy.quantize import QATUnavailableError
    from ..deploy.tflm_check import TFLMParityError
    from ..deploy.tflm_support import UnsupportedByDeviceError

    try:
        m = quantize_run(run, qat=qat, allow_lsb=allow_lsb, force=force)
    except (TFLMParityError, QATUnavailableError, UnsupportedByDeviceError, FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    _echo_quant(m)


@click.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--firmware", type=click.Path(file_okay=False), default=None,
              help="Existing firmware folder (holding lib/); the model goes into its lib/tinyheat_model/ (all files "
                   "or none). Default: the firmware/ folder of the checkout tinyheat runs from; required otherwise.")
@click.option("--force", is_flag=True, help="Replace the model already in the firmware's lib/tinyheat_model/.")
def export_cmd(run, firmware, force):
    """Write RUN's int8 model as C sources + header + model card for the firmware."""
    from ..errors import OverwriteError

    target = firmware_target(firmware)
    if target is None:
        raise UserError("no --firmware given and tinyheat does not run from a checkout: pass --firmware "
                        "PATH/TO/firmware (the folder holding lib/)")
    old = existing_model(target)
    if old is not None and not force:
        raise OverwriteError(f"{old} already holds a model; pass --force to replace it")
    _echo_firmware_target(firmware, target)
    from ..deploy.export import BudgetError
    from .pipeline import export_run

    try:
        files = export_run(run, target)
    except (BudgetError, FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    for f in files:
        click.echo(f"wrote {f}")


@click.command("evaluate")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the metrics (default: RUN/eval-<dataset>.json).")
@click.option("--force", is_flag=True, help="Replace the metrics file if it exists.")
def evaluate_cmd(run, dataset, json_path, force):
    """Metrics of RUN's int8 model, run in TFLM, on every sample of DATASET."""
    from .pipeline import default_eval_name, evaluate_run

    ensure_new_file(Path(json_path) if json_path else Path(run) / default_eval_name(dataset), force)

    try:
        out, path = evaluate_run(run, dataset, json_path)
    except (FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    if "warning" in out["split"]:
        click.secho(f"WARNING: {out['split']['warning']}", fg="yellow", err=True)
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


def _echo_forward(cv_float: dict) -> None:
    """Blocked vs forward-in-time, and the one-line note when forward is clearly lower."""
    f = cv_float.get("forward")
    if not f:
        return
    iv, fi = cv_float["interval_90"], f["interval_90"]
    click.echo(f"cross-validated {cv_float['balanced_accuracy']:.3f} [{iv[0]:.2f}, {iv[1]:.2f}]  vs  forward-in-time "
               f"{f['balanced_accuracy']:.3f} [{fi[0]:.2f}, {fi[1]:.2f}] (train on earlier, test on later samples, "
               f"{len(f['folds'])} cut points)")
    if f.get("note"):
        click.secho(f"WARNING: {f['note']}", fg="yellow")


@click.command("tune")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--epochs", type=click.IntRange(3, 500), default=DEFAULT_EPOCHS, show_default=True,
              help="Most epochs per candidate (successive halving stops all but the best third at a third of it).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the table as JSON.")
@click.option("--force", is_flag=True, help="Overwrite --json if it exists.")
def tune_cmd(dataset, epochs, json_path, force):
    """Recipe selection table only: every candidate's cross-validated score and cost on DATASET."""
    import json

    from ..training.cv import DatasetTooSmall
    from .steps import load, select_recipe

    if json_path:
        ensure_new_file(Path(json_path), force)
    data = load(dataset)
    click.echo(f"{dataset}: {len(data)} samples {data.counts()}")
    try:
        sel = select_recipe(data, "auto", epochs, echo=click.echo)
    except DatasetTooSmall as e:
        raise click.ClickException(str(e)) from None
    _echo_selection(sel)
    from ..training.selection import cv_report

    _echo_forward(cv_report(data, sel))
    click.echo(f"selection: {sel.seconds:.0f} s")
    if json_path:
        Path(json_path).write_text(json.dumps({"dataset": str(Path(dataset).resolve()), "protocol": sel.plan.describe(),
                                               "table": sel.table}, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


@click.command("run")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--firmware", type=click.Path(file_okay=False), default=None,
              help="Existing firmware folder to export into (its lib/tinyheat_model/). Default: the firmware/ folder "
                   "of the checkout tinyheat runs from, said on screen; outside a checkout the run is written and "
                   "not exported.")
@click.option("--recipe", type=click.Choice(RECIPE_CHOICES), default="auto", show_default=True,
              help="auto: select input and architecture by cross-validation; else a fixed recipe.")
@click.option("--epochs", type=click.IntRange(3, 500), default=DEFAULT_EPOCHS, show_default=True,
              help="Most epochs per candidate; the deployed model's epochs are chosen by CV up to this.")
@click.option("--allow-lsb", type=click.IntRange(0, 2), default=1, show_default=True,
              help="Accept TFLM/TFLite output differences of up to this many int8 steps (FULLY_CONNECTED "
                   "rounding ties, which may flip the top-1 of a near-tie; counted and reported). "
                   "0 = demand bit-identical outputs.")
@click.option("--force", is_flag=True, help="Overwrite an existing run folder and the firmware's exported model.")
def run_cmd(dataset, out, firmware, recipe, epochs, allow_lsb, force):
    """Check the data, select a recipe by CV, refit on every sample, quantize, check in TFLM, export."""
    import time

    ensure_new_dir(out, force)  # before the heavy imports: a refused run costs nothing
    target = firmware_target(firmware)
    skip_export = None  # why the model is not exported (the run is written all the same)
    if target is None:
        skip_export = (f"not exported: tinyheat does not run from a checkout; to export: tinyheat export {out} "
                       f"--firmware PATH/TO/firmware")
    elif existing_model(target) is not None and not force:
        skip_export = (f"not exported: {existing_model(target)} already holds a model; to replace it: tinyheat "
                       f"export {out}{'' if firmware is None else ' --firmware ' + str(firmware)} --force")
    if skip_export:
        click.echo(skip_export.replace("not exported", "the model will not be exported", 1))
    else:
        _echo_firmware_target(firmware, target)

    from ..deploy.export import BudgetError, export_model
    from ..deploy.tflm_check import TFLMParityError, tflm_version
    from ..deploy.tflm_support import UnsupportedByDeviceError
    from ..training import plots
    from ..training.cv import DatasetTooSmall
    from .check import format_check
    from .steps import check, cv_int8, load, model_card, quantize_files, quantize_model, train, train_files, write_run

    t0 = time.perf_counter()
    out = Path(out)
    data = load(dataset)  # once per run
    click.echo(f"[1/5] check {dataset}: {len(data)} samples {data.counts()}")
    try:
        report = check(data)
        click.echo(format_check(report))
        click.echo(f"[2/5] select a recipe ({'search space' if recipe == 'auto' else recipe}) by cross-validation, "
                   f"up to {epochs} epochs")
        t = train(data, recipe, epochs, echo=click.echo, report=report)
    except DatasetTooSmall as e:
        raise click.ClickException(str(e)) from None
    _echo_selection(t.selection)
    click.echo(f"[3/5] refit {t.selection.winner.candidate.name} on all {len(data)} samples for {t.selection.epochs} "
               f"epochs (epoch count chosen by CV)")
    click.echo("[4/5] quantize to int8, check TFLM against TFLite, int8 CV estimate")
    try:
        q = quantize_model(t.model, data, t.recipe, allow_lsb)
    except (TFLMParityError, UnsupportedByDeviceError) as e:
        raise click.ClickException(str(e)) from None
    from ..deploy.tflm_check import format_parity

    click.echo(format_parity(q.parity))
    c8 = cv_int8(data, t.selection)
    cvi, device = c8["metrics"], c8["device"]
    cvi["interpreter"] = tflm_version()
    click.echo("cross-validated estimate (models that never saw the held-out samples; the deployed model saw all):")
    click.echo(_fmt_cv("float", t.cv_float))
    click.echo(_fmt_cv("int8", cvi))
    click.echo(_fmt_device(device))
    for f in t.cv_float["folds"]:
        click.echo(f"  {f['fold']:>12}: n={f['n']:<4} balanced accuracy {f['balanced_accuracy']:.3f}")
    _echo_forward(t.cv_float)
    files = train_files(data, dataset, t)
    files.update(quantize_files(q))
    metrics = files["metrics.json"]
    metrics.update({"int8": cvi, "device": device, "tflm_parity": q.parity})
    metrics["model"].update({k: files["quantize.json"][k] for k in ("tflite_bytes", "arena_measured_bytes",
                                                                      "arena_bytes", "ops")})
    card = model_card(data.labels, t.recipe, q, {k: metrics["model"][k] for k in ("parameters", "macs", "layers")},
                      metrics, str(out))
    files["model_card.json"] = card
    files["confusion.png"] = lambda p: plots.plot_confusion({"float (CV)": t.cv_float["confusion_matrix"],
                                                              "int8 TFLM (CV)": cvi["confusion_matrix"]}, data.labels, p)
    write_run(out, files, force=True)
    click.echo(f"wrote {out}/: {', '.join(files)}")
    if skip_export:
        click.echo(f"[5/5] {skip_export}")
        click.echo(f"done in {time.perf_counter() - t0:.0f} s")
        return
    click.echo(f"[5/5] export to {target / 'lib' / 'tinyheat_model'}")
    try:
        for f in export_model(q.tflite, card, target):
            click.echo(f"wrote {f}")
    except (BudgetError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"done in {time.perf_counter() - t0:.0f} s")
