"""An in-process fake tinyheat device with pyserial's port interface (``read``, ``write``,
``in_waiting``, ``close``), for tests and demos without hardware.

It implements the device side of PROTOCOL.md in Python: it answers host commands with HELLO,
keeps mode / capture labels / refresh-rate code, and in STREAM mode emits one FRAME (and, if
``predict`` is given, one PREDICTION) per ``read`` that finds its output empty, cycling through
the given frames. Time advances by one frame period of the current refresh rate per frame, so
runs are deterministic. The real device logic in C is exercised by the simulated device
(``firmware/host``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..dataset import sample_format as sf
from . import protocol as p


class FakeDevice:
    def __init__(self, frames: Sequence, *, ta_degc: float = 25.0, mode: int = p.MODES["collect"],
                 labels=("face0", "face1", "env"), model_labels=("empty", "person"), rate_code: int = 7,
                 session: int = 0x2A, predict: Callable[[np.ndarray], tuple[int, float]] | None = None,
                 max_frames: int | None = None, eeprom: np.ndarray | None = None):
        self.frames = [sf.as_frame(f) for f in frames]
        if not self.frames:
            raise ValueError("FakeDevice needs at least one frame")
        self.ta_degc = ta_degc
        self.mode = mode
        self.labels = list(labels)
        self.model_labels = tuple(model_labels)
        self.rate_code = rate_code
        self.session = session
        self.predict = predict
        self.max_frames = max_frames
        self.eeprom = None if eeprom is None else np.asarray(eeprom, dtype=np.uint16).reshape(p.EEPROM_WORDS)
        self.t_ms = 1000.0
        self.sent_frames = 0
        self.captures: list[str] = []
        self.index = {}
        self._out = bytearray()
        self._seq = 0
        self._rx = p.StreamDecoder()
        self.timeout = 0.0
        self.closed = False
        self._emit(self._hello(p.ST_UNSOLICITED, 0))

    # ---- pyserial-like interface --------------------------------------------------------
    @property
    def in_waiting(self) -> int:
        if not self._out:
            self._produce()
        return len(self._out)

    def read(self, n: int = 1) -> bytes:
        if not self._out:
            self._produce()
        data = bytes(self._out[:n])
        del self._out[:n]
        return data

    def write(self, data: bytes) -> int:
        for raw in self._rx.feed(data):
            self._handle(raw)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    # ---- device behaviour ---------------------------------------------------------------
    def _emit(self, msg) -> None:
        self._out += p.encode(msg, self._seq)
        self._seq = (self._seq + 1) & 0xFFFF

    def _hello(self, status: int, ack: int) -> p.Hello:
        return p.Hello(status=status, ack_seq=ack, mode=self.mode, rate_code=self.rate_code, emissivity=0.95,
                       session=self.session, fw_version="fake-0.1", model_labels=self.model_labels,
                       capture_labels=tuple(self.labels), current=0)

    def _produce(self) -> None:
        if self.mode != p.MODES["stream"]:
            return
        if self.max_frames is not None and self.sent_frames >= self.max_frames:
            return
        f = self.frames[self.sent_frames % len(self.frames)]
        self.sent_frames += 1
        self.t_ms += 1000.0 / (p.RATE_HZ[self.rate_code] / 2)  # a full frame = two subpages
        self._emit(p.Frame(int(self.t_ms), self.ta_degc, f))
        if self.predict is not None:
            idx, conf = self.predict(f)
            self._emit(p.Prediction(int(self.t_ms), idx, conf, 40000))

    def _handle(self, raw: p.RawMessage) -> None:
        try:
            cmd = p.parse(raw)
        except p.ProtocolError:
            self._emit(self._hello(p.ST_BAD_ARG, raw.seq))
            return
        if cmd is None or raw.type < 0x80:
            return
        status = p.ST_OK
        if isinstance(cmd, p.SetMode):
            self.mode = cmd.mode
        elif isinstance(cmd, p.SetLabels):
            if len(cmd.labels) > 3:
                status = p.ST_REFUSED
            else:
                self.labels[:len(cmd.labels)] = cmd.labels
        elif isinstance(cmd, p.SetRate):
            self.rate_code = cmd.rate_code
        elif isinstance(cmd, p.CaptureNow):
            label = cmd.label or self.labels[0]
            self.captures.append(label)
            i = self.index.get(label, 0)
            self.index[label] = i + 1
            self._emit(self._hello(status, raw.seq))
            self._emit(p.CaptureEvent(True, i, label))
            return
        elif isinstance(cmd, p.GetEeprom):
            if self.eeprom is None:
                self._emit(self._hello(p.ST_REFUSED, raw.seq))
                return
            self._emit(self._hello(status, raw.seq))
            for off in range(0, p.EEPROM_WORDS, p.EEPROM_CHUNK):
                self._emit(p.Eeprom(off, self.eeprom[off:off + p.EEPROM_CHUNK]))
            return
        self._emit(self._hello(status, raw.seq))
