"""The ``tinyheat`` command line. Subcommands are imported lazily so ``tinyheat --help`` and the
light commands do not pay for importing TensorFlow.

Errors are mapped here, once, for every command: a :class:`tinyheat.errors.UserError`, an
``OSError`` (disk full, permission denied, symlink loop, ...) or one of the known error types in
:data:`USER_ERRORS` becomes a one-line ``Error: ...`` message with exit status 1 (a UserError
with ``exit_code = 2``: 2). ``tinyheat --debug COMMAND`` lets the traceback through instead.
"""
from __future__ import annotations

import importlib
import sys

import click

from .errors import UserError, describe_os_error

#: command name -> "module:attribute" of a click command inside the tinyheat package, in workflow
#: order (``tinyheat --help`` lists them in this order): get data, train and deploy, talk to the device.
COMMANDS = {
    "ingest": "tinyheat.ingest.card:ingest_cmd",
    "import-frames": "tinyheat.ingest.commands:import_frames_cmd",
    "capture": "tinyheat.link.commands:capture_cmd",
    "record": "tinyheat.link.commands:record_cmd",
    "demo-data": "tinyheat.sim.simulate:demo_data_cmd",
    "check": "tinyheat.workflow.check:check_cmd",
    "tune": "tinyheat.workflow.commands:tune_cmd",
    "train": "tinyheat.workflow.commands:train_cmd",
    "quantize": "tinyheat.workflow.commands:quantize_cmd",
    "evaluate": "tinyheat.workflow.commands:evaluate_cmd",
    "export": "tinyheat.workflow.commands:export_cmd",
    "run": "tinyheat.workflow.commands:run_cmd",
    "bench": "tinyheat.workflow.bench:bench_cmd",
    "export-ei": "tinyheat.workflow.edge_impulse:export_ei_cmd",
    "monitor": "tinyheat.link.commands:monitor_cmd",
    "sim-device": "tinyheat.link.commands:sim_device_cmd",
    "import-session": "tinyheat.session.commands:import_session_cmd",
    "play": "tinyheat.session.commands:play_cmd",
    "sim-session": "tinyheat.session.commands:sim_session_cmd",
    "people": "tinyheat.people.commands:people_cmd",
    "heatmap": "tinyheat.occupancy.commands:heatmap_cmd",
    "heatmap-add": "tinyheat.occupancy.commands:heatmap_add_cmd",
    "heatmap-partition": "tinyheat.occupancy.commands:heatmap_partition_cmd",
    "heatmap-dask": "tinyheat.occupancy.commands:heatmap_dask_cmd",
    "heatmap-compact": "tinyheat.occupancy.commands:heatmap_compact_cmd",
    "serve": "tinyheat.occupancy.commands:serve_cmd",
    "occupancy": "tinyheat.occupancy.commands:occupancy_cmd",
    "activation": "tinyheat.occupancy.video_commands:activation_cmd",
    "eeprom": "tinyheat.link.commands:eeprom_cmd",
}

#: Known error types ("module:Class") that carry a message meant for the user. They are matched
#: only if their module is already imported, so listing them costs no import time.
USER_ERRORS = (
    "tinyheat.dataset.sample_format:SampleError",
    "tinyheat.ingest.frames:FrameFileError",
    "tinyheat.deploy.export:BudgetError",
    "tinyheat.deploy.tflm_check:TFLMParityError",
    "tinyheat.link.client:LinkError",
)


def _known_user_error(e: BaseException) -> bool:
    for target in USER_ERRORS:
        module, name = target.split(":")
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(e, cls):
            return True
    return False


class UserFacingError(click.ClickException):
    """A ClickException with a chosen exit code (1, or 2 for usage)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def user_message(e: BaseException) -> str | None:
    """The one-line message for a known error, or None for an unexpected one (a bug: traceback)."""
    if isinstance(e, OSError):
        return describe_os_error(e)
    if isinstance(e, UserError) or _known_user_error(e):
        return " ".join(str(e).split()) or type(e).__name__
    return None


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:  # a command whose module is not there yet
            raise click.ClickException(f"command {name!r} is unavailable: {e}") from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if ctx.params.get("debug"):
                raise
            msg = user_message(e)
            if msg is None:
                raise
            raise UserFacingError(msg, getattr(e, "exit_code", 1) if isinstance(e, UserError) else 1) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback of an error instead of a one-line message.")
@click.version_option(package_name="tinyheat")
@click.option("--verbose", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, param, value: _set_verbose(value),
              help="Show TensorFlow's native log lines (hidden by default).")
def main(debug):
    """tinyheat: MLX90640 thermal samples -> int8 TFLite-Micro classifier for the Wio Terminal."""


def _set_verbose(on: bool) -> None:
    from .tfenv import set_verbose

    set_verbose(on)


if __name__ == "__main__":
    main()
