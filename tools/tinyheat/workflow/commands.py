"""Click commands: ``tinyheat train / quantize / export / evaluate / run``."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import OverwriteError, UserError, ensure_new_dir
from ..training.recipes import RECIPES

FORCE = click.option("--force", is_flag=True, help="Write into an existing output (replacing files of the same name).")


def firmware_target(firmware: str | None) -> Path:
    """Where ``export`` / ``run`` write the model: ``--firmware`` if given, else the ``firmware/`` folder of
    the tinyheat checkout this package runs from (never ``./firmware`` of the current directory).

    Raises UserError for an installed package without ``--firmware``.
    """
    if firmware is not None:
        return Path(firmware)
    from ..paths import checkout_root

    root = checkout_root()
    if root is None:
        raise UserError("no --firmware given and tinyheat does not run from a checkout: pass --firmware "
                        "PATH/TO/firmware (the folder holding lib/tinyheat_model)")
    return root / "firmware"


def _echo_firmware_target(firmware: str | None, target: Path) -> None:
    if firmware is None:
        click.echo(f"exporting to {target / 'lib' / 'tinyheat_model'} (the firmware of the checkout tinyheat runs "
                   f"from; --firmware chooses another)")


def ensure_new_file(path: Path, force: bool) -> None:
    """OverwriteError if ``path`` exists and ``force`` is not set."""
    if Path(path).exists() and not force:
        raise OverwriteError(f"{path} already exists; pass --force to replace it")


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
@FORCE
def train_cmd(dataset, out, recipe, epochs, seed, patience, force):
    """Train a small CNN on DATASET, split by capture order (never by random frame)."""
    ensure_new_dir(out, force)
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
@FORCE
def quantize_cmd(run, qat, allow_lsb, force):
    """int8 full-integer quantization of RUN's model; checks TFLM against TFLite and measures the arena."""
    ensure_new_file(Path(run) / "model_int8.tflite", force)
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
@click.option("--firmware", type=click.Path(file_okay=False), default=None,
              help="Firmware folder; the model goes into its lib/tinyheat_model/ (all files or none). "
                   "Default: the firmware/ folder of the checkout tinyheat runs from.")
def export_cmd(run, firmware):
    """Write RUN's int8 model as C sources + header + model card for the firmware."""
    from ..deploy.export import BudgetError
    from .pipeline import export_run

    target = firmware_target(firmware)
    _echo_firmware_target(firmware, target)
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
@FORCE
def evaluate_cmd(run, dataset, json_path, force):
    """Metrics of RUN's int8 model, run in TFLM, on every sample of DATASET."""
    from .pipeline import default_eval_name, evaluate_run

    ensure_new_file(Path(json_path) if json_path else Path(run) / default_eval_name(dataset), force)

    try:
        out, path = evaluate_run(run, dataset, json_path)
    except (FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(_fmt_metrics("int8", out["int8"]))
    click.echo(_fmt_device(out["device"]))
    click.echo(f"wrote {path}")


@click.command("run")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--firmware", type=click.Path(file_okay=False), default=None,
              help="Firmware folder to export into (its lib/tinyheat_model/). Default: the firmware/ folder of "
                   "the checkout tinyheat runs from, said on screen.")
@click.option("--recipe", type=click.Choice(sorted(RECIPES)), default="default", show_default=True)
@click.option("--epochs", type=int, default=None, help="Override the recipe's maximum epochs.")
@click.option("--qat", is_flag=True, help="Quantization-aware fine-tuning before conversion.")
@click.option("--allow-lsb", type=click.IntRange(0, 2), default=1, show_default=True,
              help="Accept TFLM/TFLite output differences of up to this many int8 steps when top-1 agrees "
                   "(FULLY_CONNECTED rounding ties; reported). 0 = demand bit-identical outputs.")
@FORCE
def run_cmd(dataset, out, firmware, recipe, epochs, qat, allow_lsb, force):
    """Train, quantize, evaluate (TFLM) and export in one go: the main job."""
    ensure_new_dir(out, force)
    target = firmware_target(firmware)
    _echo_firmware_target(firmware, target)
    from ..deploy.export import BudgetError
    from .pipeline import evaluate_run, export_run, quantize_run, train_run
    from ..training.recipes import get_recipe
    from ..deploy.tflm_check import TFLMParityError

    click.echo(f"[1/4] train on {dataset}")
    r = get_recipe(recipe, **({"epochs": epochs} if epochs else {}))
    run = train_run(dataset, out, r)
    _echo_train(run)
    click.echo("[2/4] quantize to int8 and check in TFLM")
    from ..deploy.quantize import QATUnavailableError
    from ..deploy.tflm_support import UnsupportedByDeviceError

    try:
        _echo_quant(quantize_run(run, qat=qat, allow_lsb=allow_lsb))
    except (TFLMParityError, QATUnavailableError, UnsupportedByDeviceError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"[3/4] evaluate int8 in TFLM on all of {dataset}")
    ev, path = evaluate_run(run, dataset)
    click.echo(_fmt_metrics("all", ev["int8"]) + f"  -> {path.name} (includes training samples)")
    click.echo(f"[4/4] export to {target / 'lib' / 'tinyheat_model'}")
    try:
        for f in export_run(run, target):
            click.echo(f"wrote {f}")
    except BudgetError as e:
        raise click.ClickException(str(e)) from None
