"""``tinyheat export-ei DATASET --out DIR``: a dataset as a folder Edge Impulse's uploader takes
(Studio: Data acquisition -> Upload data -> the folder; CLI: ``edge-impulse-uploader --info-file
DIR/info.labels``), with the train/test split made here by session, never by random frame.

Layout written::

    DIR/info.labels                 labels and split of every file (JSON, no .json suffix)
    DIR/training/<label>.<N>.json   (or .png) one file per sample, N as in the dataset
    DIR/testing/<label>.<N>.json

Formats, as Edge Impulse documents them (checked by tests/test_export_ei.py, field by field):

- **Data acquisition JSON** (``--format json``, default), from "Data acquisition format"
  (docs.edgeimpulse.com/reference/data-ingestion/data-acquisition-format): top level
  ``protected`` (``ver`` "v1" required; ``alg`` "HS256" or "none" required; ``iat`` optional, "only
  set this when the device creating the file has an accurate clock": not set), ``signature``
  (required; with ``alg`` "none" nothing checks it: we write 64 zeros, our choice, the page does not
  say what an unsigned file carries) and ``payload``: ``device_type`` (required, "the exact model of
  the device": "MLX90640"), ``device_name`` (optional, only for a globally unique id: not set),
  ``interval_ms`` (required, the period of the rows), ``sensors`` (one ``{"name", "units"}`` per
  axis: 768 axes ``p000`` .. ``p767``, row-major 24 x 32 as FORMAT.md section 1, units "Cel", the
  SenML symbol for degC, RFC 8428 section 12.1) and ``values`` (one row per time step, one value per
  axis: here one row, the frame's 768 degC from the lossless PGM sidecar, 0.01 K). The uploader
  "will not resign these files, only upload them" (Studio uploader page).
- **PNG images** (``--format png``): the sample's 32 x 24 greyscale picture as the device stored
  it (the JPEG decoded, 22-37 degC window, FORMAT.md section 2), lossless; the uploader takes
  ".jpg and .png - Image files".
- **info.labels**, from "Edge Impulse exporter format" (docs.edgeimpulse.com/tools/specifications/
  data-annotation/ei-labels) and the uploader's parser (edge-impulse-cli,
  shared/bounding-box-file-types.ts ``ExportUploaderInfoFileV1``): ``version`` 1, ``files``: a list of
  ``{"path", "name", "category", "label", "metadata"}`` with ``path`` relative to the info.labels
  folder, ``category`` "training" or "testing", ``label`` ``{"type": "label", "label": ...}`` and
  ``metadata`` a map of strings (session, capture order, source file, millis, Ta, invalid pixels).

Split (:func:`split_by_session`): per class, whole sessions in capture order, the last ones to
testing until about ``test_fraction`` of the class is there (the first session always trains);
a class captured in one session is cut into capture-order blocks instead: the last block tests and
the ``gap`` samples before it are left out (near-duplicates of the first test frames). Never random.
Invalid pixels (NaN) of a JSON sample are filled with the frame median (the model-input rule,
FORMAT.md section 5) and counted in its metadata; a sample without a sidecar has no exact degC
values and is left out of a JSON export (listed), a PNG export takes it.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from ..dataset import sample_format as sf
from ..dataset import store as ds
from ..errors import UserError, ensure_new_dir

INFO_LABELS = "info.labels"
CATEGORIES = ("training", "testing")
#: the sensor every dataset sample comes from (FORMAT.md: MLX90640 32 x 24 frames)
DEVICE_TYPE = "MLX90640"
#: SenML unit symbol of degrees Celsius (RFC 8428 section 12.1)
UNITS_DEGC = "Cel"
#: data acquisition "signature" for ``alg: none`` (unchecked; see the module docstring)
UNSIGNED = "0" * 64
#: default row period: 8 full frames/s, the device's refresh (firmware/include/tinyheat_config.h
#: TH_MLX_DEFAULT_REFRESH 0x05 = 16 Hz subpages); a one-frame sample only labels its rate with it
DEFAULT_INTERVAL_MS = 125


@dataclass
class EIExportReport:
    """What :func:`export_edge_impulse` wrote: files per (category, label), how each class was
    split, and the samples left out with the reason."""

    counts: Counter = field(default_factory=Counter)
    how: dict = field(default_factory=dict)
    left_out: list[tuple[str, str]] = field(default_factory=list)


def split_by_session(rows: list[ds.ManifestRow], test_fraction: float = 0.2,
                     gap: int = 3) -> tuple[list[str | None], dict[str, str]]:
    """Category ("training", "testing", or None = left out) of each manifest row, and per label how
    it was split. Per label: sessions in capture order (``order``); the last sessions go to testing
    until they hold >= ``test_fraction`` of the label's samples, the first session always trains.
    One session only: the last ``round(test_fraction * n)`` samples (at least 1) test, the ``gap``
    before them are left out, the rest trains (fewer than 2 + gap samples: all train)."""
    cats: list[str | None] = ["training"] * len(rows)
    how: dict[str, str] = {}
    by_label: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_label.setdefault(r.label, []).append(i)
    for label, idx in sorted(by_label.items()):
        idx.sort(key=lambda i: rows[i].order)
        n = len(idx)
        want = max(1, int(round(test_fraction * n)))
        sessions = list(dict.fromkeys(rows[i].session for i in idx))  # first-seen = capture order
        if len(sessions) >= 2:
            size = Counter(rows[i].session for i in idx)
            test, count = [], 0
            for s in reversed(sessions[1:]):
                if count >= want:
                    break
                test.append(s)
                count += size[s]
            for i in idx:
                cats[i] = "testing" if rows[i].session in test else "training"
            how[label] = f"by session: testing {', '.join(reversed(test))} ({count} of {n})"
        elif n >= want + gap + 1:
            for k, i in enumerate(idx):
                cats[i] = "testing" if k >= n - want else (None if k >= n - want - gap else "training")
            how[label] = (f"one session: capture-order blocks, last {want} of {n} testing, {gap} before them "
                          f"left out")
        else:
            how[label] = f"one session, {n} samples: all training (too few to hold any out)"
    return cats, how


def acquisition_json(frame_degC: np.ndarray, interval_ms: float) -> dict:
    """The data-acquisition document of one frame: float32 (24, 32) degC, finite -> dict (module
    docstring lists the fields and where Edge Impulse documents them)."""
    values = [round(float(v), 2) for v in np.asarray(frame_degC, dtype=np.float64).reshape(-1)]
    return {
        "protected": {"ver": "v1", "alg": "none"},
        "signature": UNSIGNED,
        "payload": {
            "device_type": DEVICE_TYPE,
            "interval_ms": int(interval_ms) if float(interval_ms).is_integer() else float(interval_ms),
            "sensors": [{"name": f"p{k:03d}", "units": UNITS_DEGC} for k in range(sf.PIXELS)],
            "values": [values],
        },
    }


def export_edge_impulse(dataset: str | Path, out: str | Path, *, fmt: str = "json", test_fraction: float = 0.2,
                        gap: int = 3, interval_ms: float = DEFAULT_INTERVAL_MS, force: bool = False) -> EIExportReport:
    """Write ``dataset`` (FORMAT.md) as an Edge Impulse upload folder ``out`` (module docstring).

    ``fmt``: "json" or "png". Raises OverwriteError for a non-empty ``out`` without ``force``,
    DatasetError for a bad manifest, UserError for an empty dataset or bad options. info.labels is
    written last, so a folder without it is an interrupted export."""
    if fmt not in ("json", "png"):
        raise UserError(f"format must be json or png, got {fmt!r}")
    if not 0 < test_fraction < 1:
        raise UserError(f"--test-fraction must be between 0 and 1, got {test_fraction}")
    dataset, out = Path(dataset), ensure_new_dir(out, force)
    rows = ds.read_manifest(dataset)
    if not rows:
        raise UserError(f"{dataset}: no samples (no {ds.MANIFEST} or an empty one)")
    cats, how = split_by_session(rows, test_fraction, gap)
    report = EIExportReport(how=how)
    files = []
    for c in CATEGORIES:
        (out / c).mkdir(parents=True, exist_ok=True)
    for r, cat in zip(rows, cats):
        if cat is None:
            report.left_out.append((r.file, "gap before the test block"))
            continue
        try:
            sample = sf.read_sample(dataset / r.file)
        except (sf.SampleError, OSError) as e:  # one damaged sample is reported, not fatal
            report.left_out.append((r.file, f"unreadable sample ({e})"))
            continue
        stem = Path(r.file).stem
        meta = {"session": r.session, "order": str(r.order), "source": r.source or r.file, "dataset_file": r.file}
        meta.update({k: v for k, v in (("millis", r.millis), ("ta_degC", r.ta_degC)) if v})
        if fmt == "json":
            if sample.degc is None:
                report.left_out.append((r.file, "no PGM sidecar: no exact degC values (use --format png)"))
                continue
            frame = sample.degc.copy()
            bad = ~np.isfinite(frame)
            if bad.all():
                report.left_out.append((r.file, "no valid pixel"))
                continue
            if bad.any():
                frame[bad] = np.median(frame[~bad])
                meta["invalid_pixels_filled_with_median"] = str(int(bad.sum()))
            rel = f"{cat}/{stem}.json"
            (out / rel).write_text(json.dumps(acquisition_json(frame, interval_ms), separators=(",", ":")) + "\n")
        else:
            from PIL import Image

            rel = f"{cat}/{stem}.png"
            Image.fromarray(np.asarray(sample.grey, dtype=np.uint8), "L").save(out / rel, format="PNG")
        files.append({"path": rel, "name": stem, "category": cat, "label": {"type": "label", "label": r.label},
                      "metadata": meta})
        report.counts[(cat, r.label)] += 1
    (out / INFO_LABELS).write_text(json.dumps({"version": 1, "files": files}, indent=1) + "\n")
    return report


@click.command("export-ei")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write (info.labels, training/, testing/); upload it in Edge Impulse Studio.")
@click.option("--format", "fmt", type=click.Choice(["json", "png"]), default="json", show_default=True,
              help="json: data-acquisition files with the 768 degC values; png: the 32x24 greyscale pictures.")
@click.option("--test-fraction", type=float, default=0.2, show_default=True,
              help="About this share of each class goes to testing: whole sessions (or the last capture-order block).")
@click.option("--gap", type=click.IntRange(min=0), default=3, show_default=True,
              help="One-session classes: samples left out before the test block (near-duplicates).")
@click.option("--interval-ms", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_INTERVAL_MS,
              show_default=True, help="json: the frame period written as interval_ms.")
@click.option("--force", is_flag=True, help="Write into a non-empty --out folder.")
def export_ei_cmd(dataset, out, fmt, test_fraction, gap, interval_ms, force):
    """Export DATASET for Edge Impulse: one file per sample plus info.labels with the labels and a
    train/test split by session (or capture-order block), never by random frame."""
    rep = export_edge_impulse(dataset, out, fmt=fmt, test_fraction=test_fraction, gap=gap,
                              interval_ms=interval_ms, force=force)
    for label, how in rep.how.items():
        tr, te = rep.counts[("training", label)], rep.counts[("testing", label)]
        click.echo(f"{label}: training {tr}, testing {te} ({how})")
    reasons = Counter(why for _, why in rep.left_out)
    for why, n in reasons.items():
        click.echo(f"left out {n}: {why}")
    click.echo(f"wrote {sum(rep.counts.values())} {fmt} files and {out / INFO_LABELS}; upload the folder in "
               f"Edge Impulse Studio (Data acquisition -> Upload data) or: edge-impulse-uploader --info-file "
               f"{out / INFO_LABELS}")
