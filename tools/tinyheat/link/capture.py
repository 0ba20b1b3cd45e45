"""Capture labelled samples from a streaming device into a dataset folder.

Design: the host grabs frames from the FRAME stream (lossless int16 centi-degC, so the PGM
sidecar is exact to 0.01 K) and stores them with :class:`tinyheat.dataset.store.DatasetStore`,
exactly like ``tinyheat ingest`` (JPEG + PGM + manifest row; never overwriting). The device
does not need an SD card. With ``device_save=True`` the host also sends CAPTURE_NOW so the
device saves the same moment on its own card (its copy is independent of the dataset).

Every sample is written as soon as it is taken, so an interrupted capture (Ctrl-C) keeps all
samples taken so far.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..dataset.store import DatasetStore, ManifestRow
from . import protocol as p
from .client import DeviceClient, LinkError


@dataclass
class CaptureResult:
    rows: list[ManifestRow] = field(default_factory=list)
    duplicates: int = 0     #: frames identical to a sample already in the dataset (not stored)
    frames_seen: int = 0
    device_events: list[p.CaptureEvent] = field(default_factory=list)


def capture_samples(client: DeviceClient, store: DatasetStore, label: str, count: int, *, source: str,
                    session: str | None = None, every_ms: int = 0, device_save: bool = False,
                    frame_timeout_s: float = 5.0, on_sample: Callable[[ManifestRow], None] | None = None,
                    result: CaptureResult | None = None) -> CaptureResult:
    """Store ``count`` frames as samples of ``label``.

    - ``every_ms``: minimum device time between two samples (0 = consecutive frames);
    - ``session``: manifest session, default the device boot id as 8 hex digits
      (FORMAT.md section 3) or ``"host"`` when the device reports none;
    - ``result``: pass an object to keep partial results if the caller is interrupted.
    Raises LinkError if no frame arrives for ``frame_timeout_s``; samples stored so far stay.
    """
    from ..dataset import sample_format as sf

    sf.check_label(label)
    res = result if result is not None else CaptureResult()
    if session is None:
        hello = client.hello
        session = f"{hello.session:08x}" if hello is not None and hello.session else "host"
    last_t: int | None = None
    for msg in client.messages(frame_timeout_s):
        if isinstance(msg, p.CaptureEvent):
            res.device_events.append(msg)
            continue
        if not isinstance(msg, p.Frame):
            continue
        res.frames_seen += 1
        if last_t is not None and every_ms > 0 and (msg.t_ms - last_t) % 2**32 < every_ms:
            continue
        last_t = msg.t_ms
        if device_save:
            client.send(p.CaptureNow(label))
        ta = "" if msg.ta_degc != msg.ta_degc else round(float(msg.ta_degc), 2)
        row = store.add(label, frame_degc=msg.temps, session=session, source=source, millis=msg.t_ms, ta_degC=ta)
        if row is None:
            res.duplicates += 1
            continue
        res.rows.append(row)
        if on_sample is not None:
            on_sample(row)
        if len(res.rows) >= count:
            return res
    raise LinkError(f"no frame from the device for {frame_timeout_s} s; {len(res.rows)} of {count} samples stored")
