"""The device stream into a session: what ``tinyheat record PORT --out NAME.zarr`` uses.

Frames arrive as (device ms since boot, Ta degC, (24, 32) degC) from
:class:`tinyheat.link.client.DeviceClient`; t_ms is stored relative to the first frame and the
device clock of frame 0 goes into ``meta["device_t0_ms"]``; the uint32 device clock wrapping
(after 49.7 days) is unwrapped.
"""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from .store import SessionWriter

#: MLX90640 refresh-rate code (control register 0x800D bits 7..9) -> subpage rate in Hz
#: (datasheet section 11.2.2.5, table "Refresh rate"): 0 -> 0.5 Hz ... 7 -> 64 Hz.
REFRESH_HZ = {c: 2.0 ** (c - 1) for c in range(8)}


def device_meta(hello, port: str) -> dict:
    """Session meta from the device's HELLO (:class:`tinyheat.link.protocol.Hello`)."""
    return {"sensor": "MLX90640", "firmware": hello.fw_version, "emissivity": float(hello.emissivity),
            "refresh_hz": REFRESH_HZ.get(hello.rate_code), "rate_code": hello.rate_code,
            "reflected_degC": None, "source": f"tinyheat record {port}", "port": port,
            "device_session": f"{hello.session:08x}", "protocol": hello.proto}


class DeviceSessionWriter:
    """Same calls as :class:`tinyheat.link.recording.RecordingWriter` (``add``, ``count``,
    ``close``) writing a session folder instead of an ``.npz``. ``eeprom``: the sensor's (832,)
    uint16 calibration image (``DeviceClient.read_eeprom``) or None. SessionError if ``out`` exists."""

    def __init__(self, out, meta: dict | None = None, sync_every_s: float = 1.0, eeprom=None):
        self.w = SessionWriter(out, meta=meta, start=datetime.now(timezone.utc), sync_every_s=sync_every_s,
                               resolution=(24, 32), eeprom=eeprom)
        self.out = self.w.path
        self._t0: int | None = None
        self._last = None
        self._wraps = 0

    @property
    def count(self) -> int:
        return self.w.count

    def add(self, t_ms: int, ta_degc: float, frame_degc) -> None:
        """Append one frame: device time (ms since boot, uint32), Ta degC (NaN unknown), 768 degC."""
        t = int(t_ms)
        if self._last is not None and t < self._last - (1 << 31):
            self._wraps += 1
        self._last = t
        t += self._wraps << 32
        if self._t0 is None:
            self._t0 = t
            self.w.meta["device_t0_ms"] = t
        self.w.append(np.asarray(frame_degc, np.float32).reshape(24, 32), t - self._t0, ta_degc)

    def set_stats(self, **kw) -> None:
        """Record link counters (e.g. ``dropped_frames``) in meta at close."""
        self.w.meta.update(kw)

    def close(self):
        return self.w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
