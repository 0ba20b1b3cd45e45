"""The ``tinyheat`` command line. Subcommands are imported lazily so ``tinyheat --help`` and the
light commands do not pay for importing TensorFlow."""
from __future__ import annotations

import importlib

import click

#: command name -> "module:attribute" of a click command inside the tinyheat package.
COMMANDS = {
    "ingest": "tinyheat.ingest.card:ingest_cmd",
    "import-frames": "tinyheat.ingest.frames:import_frames_cmd",
    "demo-data": "tinyheat.sim.simulate:demo_data_cmd",
    "train": "tinyheat.workflow.commands:train_cmd",
    "quantize": "tinyheat.workflow.commands:quantize_cmd",
    "export": "tinyheat.workflow.commands:export_cmd",
    "evaluate": "tinyheat.workflow.commands:evaluate_cmd",
    "check": "tinyheat.workflow.check:check_cmd",
    "tune": "tinyheat.workflow.commands:tune_cmd",
    "run": "tinyheat.workflow.commands:run_cmd",
    "bench": "tinyheat.workflow.bench:bench_cmd",
    "monitor": "tinyheat.link.commands:monitor_cmd",
    "capture": "tinyheat.link.commands:capture_cmd",
    "record": "tinyheat.link.commands:record_cmd",
    "sim-device": "tinyheat.link.commands:sim_device_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:  # a command whose module is not there yet
            raise click.ClickException(f"command {name!r} is unavailable: {e}") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyheat")
@click.option("--verbose", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, param, value: _set_verbose(value),
              help="Show TensorFlow's native log lines (hidden by default).")
def main():
    """tinyheat: MLX90640 thermal samples -> int8 TFLite-Micro classifier for the Wio Terminal."""


def _set_verbose(on: bool) -> None:
    from .tfenv import set_verbose

    set_verbose(on)


if __name__ == "__main__":
    main()
