"""``tinyheat import-frames``: the click command over :func:`tinyheat.ingest.frames.import_frames`.

A command module (top layer) so that it may also read sessions (``rec.zarr``, what ``tinyheat
record`` writes) through :mod:`tinyheat.session.as_frames`; the frame rules live in
:mod:`tinyheat.ingest.frames`.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..dataset import sample_format as sf
from ..session.as_frames import open_frames
from .frames import UNITS, _parse_columns, format_report, import_frames


@click.command("import-frames")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--label", "-l", required=True, help="Class label for every frame (1-31 of A-Z a-z 0-9 _ -).")
@click.option("--dataset", "-d", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dataset folder to add the frames to (created if missing).")
@click.option("--unit", type=click.Choice(UNITS, case_sensitive=False), default=None,
              help="Unit of the values: C (degC), K (kelvin), F (Fahrenheit). Default: degC, and a file whose "
                   "frames are no plausible degC scene is refused.")
@click.option("--columns", callback=_parse_columns, metavar="FIRST-LAST",
              help="1-based fields holding the 768 pixels in a one-frame-per-line file (e.g. 3-770); needed "
                   "when lines have other columns and no header names the pixels.")
def import_frames_cmd(files: tuple[Path, ...], label: str, dataset: Path, unit: str | None, columns):
    """Import frames (CSV/text: 768 values per line or 24 lines x 32; .npz; or a session NAME.zarr
    as `tinyheat record` writes it) as samples.

    Bad lines are skipped and reported; the good frames of the file are kept. Exit code 0 if
    at least one valid frame was found (added or already present), 1 otherwise.
    """
    try:
        sf.check_label(label)
    except sf.SampleError as e:
        raise click.BadParameter(str(e), param_hint="--label") from None
    report = import_frames(files, label, dataset, progress=True, unit=unit.upper() if unit else None,
                           columns=columns, open_frames=open_frames)
    click.echo(format_report(report, label, dataset))
    if report.processed == 0:
        raise click.ClickException("no valid frames imported")
