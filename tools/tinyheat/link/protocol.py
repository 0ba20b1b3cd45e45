"""tinyheat USB serial link protocol, Python side.

Spec: ``firmware/lib/tinyheat_link/PROTOCOL.md`` (the C side is ``firmware/lib/tinyheat_link``);
both are checked against ``tests/link/vectors.json``.

Wire format: ``COBS(type:u8 | seq:u16 | payload | crc32:u32) 0x00``, little-endian, CRC-32 as
``zlib.crc32``, COBS as the ``cobs`` package. Frames carry 768 temperatures as int16
centi-degC; decoded frames are ``numpy`` float32 arrays of shape (24, 32) in degC (NaN where
the device sent the invalid marker).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from cobs import cobs

from ..dataset import sample_format as sf

PROTO_VERSION = 1
MAX_MSG = 1600                      #: bytes of type + seq + payload
HEADER_LEN = 3
CRC_LEN = 4
MAX_PAYLOAD = MAX_MSG - HEADER_LEN
MAX_RAW = MAX_MSG + CRC_LEN         #: decoded bytes of one frame
MAX_WIRE = MAX_RAW + (MAX_RAW + 253) // 254 + 1  #: encoded bytes incl. delimiter
PIXELS = 768
GEOMETRIES = {(24, 32): "MLX90640", (12, 16): "MLX90641"}  #: FRAME (rows, cols) a device may send
CDEGC_INVALID = -32768
MAX_LABELS = 8
MAX_LOG_TEXT = 240

# message types (PROTOCOL.md sections 2, 3)
T_HELLO, T_FRAME, T_PREDICTION, T_CAPTURE, T_LOG, T_EEPROM = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
T_SET_MODE, T_CAPTURE_NOW, T_SET_LABELS, T_SET_RATE, T_PING, T_GET_EEPROM = 0x81, 0x82, 0x83, 0x84, 0x85, 0x86
EEPROM_WORDS = 832       #: MLX90640 EEPROM image, words 0x2400..0x273F
EEPROM_CHUNK = 416       #: words per EEPROM message
STAT_UNKNOWN = 0xFFFFFFFF  #: a HELLO stats counter the device does not know

ST_OK, ST_BAD_ARG, ST_REFUSED, ST_UNSOLICITED = 0, 1, 2, 0xFF
#: device modes = th_mode_t of firmware/lib/tinyheat_core/th_app.h
MODES = {"collect": 0, "classify": 1, "stream": 2}
MODE_NAMES = {v: k for k, v in MODES.items()}
#: MLX90640 refresh-rate code (control register 0x800D bits 9..7) -> subpage rate in Hz.
RATE_HZ = {0: 0.5, 1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0, 5: 16.0, 6: 32.0, 7: 64.0}


class ProtocolError(ValueError):
    """A malformed message or an argument that cannot be encoded; the message says why."""


# ---- framing ----------------------------------------------------------------------------

def frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Encode one message as wire bytes ``COBS(type|seq|payload|crc32) 0x00``.

    Raises ProtocolError if the payload exceeds MAX_PAYLOAD (1597) bytes.
    """
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack("<BH", msg_type & 0xFF, seq & 0xFFFF) + bytes(payload)
    return cobs.encode(body + struct.pack("<I", zlib.crc32(body))) + b"\x00"


@dataclass(frozen=True)
class RawMessage:
    type: int
    seq: int
    payload: bytes


@dataclass
class RxStats:
    """Receiver counters (PROTOCOL.md "Receiver rules") plus seq-gap drops."""
    ok: int = 0
    crc_errors: int = 0
    cobs_errors: int = 0
    oversize: int = 0
    short: int = 0
    unknown: int = 0
    bad_payload: int = 0
    dropped: int = 0   #: messages missing according to the peer's seq

    @property
    def corrupt(self) -> int:
        """Frames dropped because they were damaged on the line."""
        return self.crc_errors + self.cobs_errors + self.oversize + self.short


def _cobs_decoded_len(data: bytes) -> int:
    """Bytes a byte-at-a-time COBS decoder (the C one) holds at the delimiter, even for broken input."""
    pos, dec, last, n = 0, 0, 0, len(data)
    while pos < n:
        code = data[pos]
        if last not in (0, 0xFF):
            dec += 1
        pos += 1
        take = min(code - 1, n - pos)
        dec += take
        pos += take
        last = code
    return dec


def decode_frame(data: bytes, stats: RxStats) -> RawMessage | None:
    """Decode the bytes of one delimited frame (without the 0x00); count and return None if bad.

    Classification matches the C decoder: oversize (> MAX_RAW decoded bytes), else COBS error,
    else short (< 7 bytes), else CRC error.
    """
    if not data:
        return None
    try:
        raw = cobs.decode(data)
    except cobs.DecodeError:
        if _cobs_decoded_len(data) > MAX_RAW:
            stats.oversize += 1
        else:
            stats.cobs_errors += 1
        return None
    if len(raw) > MAX_RAW:
        stats.oversize += 1
        return None
    if len(raw) < HEADER_LEN + CRC_LEN:
        stats.short += 1
        return None
    body, crc = raw[:-CRC_LEN], struct.unpack("<I", raw[-CRC_LEN:])[0]
    if zlib.crc32(body) != crc:
        stats.crc_errors += 1
        return None
    stats.ok += 1
    t, seq = struct.unpack_from("<BH", body)
    return RawMessage(t, seq, bytes(body[HEADER_LEN:]))


class StreamDecoder:
    """Incremental decoder: feed any chunks of the byte stream, get complete messages.

    The buffer is bounded: a frame longer than MAX_WIRE - 1 encoded bytes (which always decodes
    to more than MAX_RAW) is discarded up to the next 0x00 and counted as ``oversize``.
    Never raises on stream content.
    """

    def __init__(self, stats: RxStats | None = None):
        self.stats = stats if stats is not None else RxStats()
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[RawMessage]:
        data = bytes(data)
        out: list[RawMessage] = []
        start, n = 0, len(data)
        while start < n:
            end = data.find(b"\x00", start)
            stop = n if end < 0 else end
            if not self._discarding:
                if len(self._buf) + (stop - start) > MAX_WIRE - 1:
                    self._discarding = True
                    self._buf.clear()
                else:
                    self._buf += data[start:stop]
            if end < 0:
                break
            if self._discarding:
                self.stats.oversize += 1
                self._discarding = False
            else:
                m = decode_frame(bytes(self._buf), self.stats)
                if m is not None:
                    out.append(m)
            self._buf.clear()
            start = end + 1
        return out


# ---- fields -----------------------------------------------------------------------------

def _str8(s: str, max_len: int = 255) -> bytes:
    b = s.encode("utf-8")
    if len(b) > max_len:
        raise ProtocolError(f"string {s!r} is longer than {max_len} bytes")
    return bytes([len(b)]) + b


class _Reader:
    def __init__(self, payload: bytes):
        self.p, self.pos = payload, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.p):
            raise ProtocolError(f"payload too short ({len(self.p)} bytes)")
        v = struct.unpack_from(fmt, self.p, self.pos)
        self.pos += size
        return v if len(v) > 1 else v[0]

    def str8(self) -> str:
        n = self.take("<B")
        if self.pos + n > len(self.p):
            raise ProtocolError("string runs past the end of the payload")
        s = self.p[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8", errors="replace")


def to_cdegc(temps) -> np.ndarray:
    """degC -> int16 centi-degC, PROTOCOL.md FRAME: ``floor(T*100f + 0.5f)`` in float32,
    -32768 for NaN/inf or a result outside -32767..32767."""
    t = np.asarray(temps, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        c = np.floor(t * np.float32(100.0) + np.float32(0.5))
        bad = ~np.isfinite(c) | (c < -32767) | (c > 32767)
    c = np.where(bad, CDEGC_INVALID, np.nan_to_num(c, nan=0.0, posinf=0.0, neginf=0.0))
    return c.astype(np.int16)


def from_cdegc(c) -> np.ndarray:
    """int16 centi-degC -> float32 degC, NaN for -32768."""
    a = np.asarray(c, dtype=np.int16)
    t = a.astype(np.float32) / np.float32(100.0)
    return np.where(a == CDEGC_INVALID, np.float32(np.nan), t).astype(np.float32)


# ---- messages ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceStats:
    """The optional run-statistics trailer of HELLO (PROTOCOL.md): full frames/s x 100 over the
    last 5 s, counters since boot; ``STAT_UNKNOWN`` where the device does not count."""
    fps_x100: int
    frames: int
    dropped_subpages: int
    i2c_errors: int
    sensor_errors: int
    sensor_reinits: int
    tx_dropped: int

    FORMAT = "<HIIIIHI"

    @property
    def fps(self) -> float:
        return self.fps_x100 / 100.0


@dataclass(frozen=True)
class Hello:
    """HELLO (0x01): device version, settings and labels; ``status``/``ack_seq`` answer a command;
    ``stats`` the optional run-statistics trailer (None from devices that do not send it)."""
    status: int = ST_UNSOLICITED
    ack_seq: int = 0
    mode: int = 0
    rate_code: int = 7
    emissivity: float = 0.95
    session: int = 0
    fw_version: str = ""
    model_labels: tuple[str, ...] = ()
    capture_labels: tuple[str, ...] = ()
    current: int = 0xFF
    proto: int = PROTO_VERSION
    stats: DeviceStats | None = None
    #: identity trailer (after ``stats``; None from devices that do not send it): the model the
    #: device runs, ``"<name> crc32:<8 hex>"`` (CRC-32 = zlib.crc32 of its .tflite), "" = none
    model_id: str | None = None
    #: sensor frame geometry (rows, cols): (24, 32) MLX90640, (12, 16) MLX90641
    geometry: tuple[int, int] = (24, 32)

    TYPE = T_HELLO

    def payload(self) -> bytes:
        for labels in (self.model_labels, self.capture_labels):
            if len(labels) > MAX_LABELS:
                raise ProtocolError(f"at most {MAX_LABELS} labels")
        out = struct.pack("<BBHBBfI", self.proto, self.status, self.ack_seq, self.mode, self.rate_code,
                          self.emissivity, self.session) + _str8(self.fw_version, 31)
        out += bytes([len(self.model_labels)]) + b"".join(_str8(s, 31) for s in self.model_labels)
        out += bytes([len(self.capture_labels)]) + b"".join(_str8(s, 31) for s in self.capture_labels)
        out += bytes([self.current])
        if self.stats is not None:
            st = self.stats
            out += struct.pack(DeviceStats.FORMAT, st.fps_x100, st.frames, st.dropped_subpages, st.i2c_errors,
                               st.sensor_errors, st.sensor_reinits, st.tx_dropped)
            if self.model_id is not None:
                out += bytes(self.geometry) + _str8(self.model_id, 63)
        return out

    @classmethod
    def parse(cls, p: bytes) -> "Hello":
        r = _Reader(p)
        proto, status, ack, mode, rate, emis, session = r.take("<BBHBBfI")
        fw = r.str8()
        model = tuple(r.str8() for _ in range(r.take("<B")))
        capture = tuple(r.str8() for _ in range(r.take("<B")))
        current = r.take("<B")
        stats, model_id, geometry = None, None, (24, 32)
        if len(p) - r.pos >= struct.calcsize(DeviceStats.FORMAT):
            stats = DeviceStats(*r.take(DeviceStats.FORMAT))
            if len(p) - r.pos >= 3:
                geometry = tuple(r.take("<BB"))
                if geometry not in GEOMETRIES:
                    raise ProtocolError(f"HELLO frame geometry {geometry} is not one of {sorted(GEOMETRIES)}")
                model_id = r.str8()
        return cls(status, ack, mode, rate, emis, session, fw, model, capture, current, proto, stats, model_id,
                   geometry)

    @property
    def mode_name(self) -> str:
        return MODE_NAMES.get(self.mode, str(self.mode))

    @property
    def device_text(self) -> str:
        """``"MLX90640 32x24, model demo crc32:1a2b3c4d"``: the sensor and the model the device runs."""
        rows, cols = self.geometry
        sensor = f"{GEOMETRIES.get((rows, cols), 'sensor')} {cols}x{rows}"
        if self.model_id is None:
            return f"{sensor}, model not reported"
        return f"{sensor}, model {self.model_id or 'none'}"


@dataclass(frozen=True)
class Frame:
    """FRAME (0x02): ``t_ms`` ms since boot, ``ta_degc`` ambient Ta, ``temps`` float32 degC of shape
    (24, 32) (MLX90640, 768 values) or (12, 16) (MLX90641, a payload of exactly 6 + 384 bytes)."""
    t_ms: int
    ta_degc: float
    temps: np.ndarray = field(repr=False)

    TYPE = T_FRAME

    def payload(self) -> bytes:
        t = np.asarray(self.temps, dtype=np.float32)
        if t.shape != (12, 16):
            t = sf.as_frame(t)
        return (struct.pack("<I", self.t_ms & 0xFFFFFFFF) + to_cdegc(self.ta_degc).astype("<i2").tobytes()
                + to_cdegc(t).astype("<i2").tobytes())

    @classmethod
    def parse(cls, p: bytes) -> "Frame":
        if len(p) == 6 + 2 * 192:
            shape = (12, 16)
        elif len(p) >= 6 + 2 * PIXELS:
            shape = (sf.ROWS, sf.COLS)
        else:
            raise ProtocolError(f"FRAME payload is {len(p)} bytes, expected {6 + 2 * PIXELS} (or {6 + 2 * 192})")
        t_ms, ta = struct.unpack_from("<Ih", p)
        n = shape[0] * shape[1]
        temps = from_cdegc(np.frombuffer(p, dtype="<i2", count=n, offset=6)).reshape(shape)
        return cls(t_ms, float(from_cdegc(np.int16(ta))), temps)


@dataclass(frozen=True)
class Prediction:
    """PREDICTION (0x03): label index (-1 none), softmax confidence 0..1, Invoke() time in us."""
    t_ms: int
    label_index: int
    confidence: float
    inference_us: int

    TYPE = T_PREDICTION

    def payload(self) -> bytes:
        return struct.pack("<IhfI", self.t_ms, self.label_index, self.confidence, self.inference_us)

    @classmethod
    def parse(cls, p: bytes) -> "Prediction":
        return cls(*_Reader(p).take("<IhfI"))


@dataclass(frozen=True)
class CaptureEvent:
    """CAPTURE (0x04): the device saved (ok) or failed to save ``<label>.<index>.jpg``."""
    ok: bool
    index: int
    label: str

    TYPE = T_CAPTURE

    def payload(self) -> bytes:
        return struct.pack("<Bi", 1 if self.ok else 0, self.index) + _str8(self.label, 31)

    @classmethod
    def parse(cls, p: bytes) -> "CaptureEvent":
        r = _Reader(p)
        ok, index = r.take("<Bi")
        return cls(bool(ok), index, r.str8())


@dataclass(frozen=True)
class Log:
    """LOG (0x05): level 0 debug, 1 info, 2 warn, 3 error; UTF-8 text (<= 240 bytes)."""
    level: int
    text: str

    TYPE = T_LOG

    def payload(self) -> bytes:
        return bytes([self.level & 0xFF]) + self.text.encode("utf-8")[:MAX_LOG_TEXT]

    @classmethod
    def parse(cls, p: bytes) -> "Log":
        if not p:
            raise ProtocolError("empty LOG payload")
        return cls(p[0], p[1:].decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class Eeprom:
    """EEPROM (0x06): ``words`` (uint16) of the sensor's EEPROM image starting at word ``offset``
    (address 0x2400 + offset); GET_EEPROM is answered with two of them (offsets 0 and 416)."""
    offset: int
    words: np.ndarray = field(repr=False)

    TYPE = T_EEPROM

    def payload(self) -> bytes:
        w = np.asarray(self.words, dtype="<u2")
        if not 1 <= w.size <= EEPROM_CHUNK or self.offset + w.size > EEPROM_WORDS:
            raise ProtocolError(f"EEPROM message of {w.size} words at {self.offset}")
        return struct.pack("<H", self.offset) + w.tobytes()

    @classmethod
    def parse(cls, p: bytes) -> "Eeprom":
        offset = _Reader(p).take("<H")
        n = (len(p) - 2) // 2
        if n < 1 or n > EEPROM_CHUNK or (len(p) - 2) % 2 or offset + n > EEPROM_WORDS:
            raise ProtocolError(f"EEPROM payload of {len(p)} bytes at word {offset}")
        return cls(offset, np.frombuffer(p, dtype="<u2", count=n, offset=2).astype(np.uint16))


# host -> device commands

@dataclass(frozen=True)
class SetMode:
    mode: int
    TYPE = T_SET_MODE

    def payload(self) -> bytes:
        return bytes([self.mode])

    @classmethod
    def parse(cls, p: bytes) -> "SetMode":
        m = _Reader(p).take("<B")
        if m not in MODE_NAMES:
            raise ProtocolError(f"unknown mode {m}")
        return cls(m)


@dataclass(frozen=True)
class CaptureNow:
    label: str = ""   #: "" = the device's current capture label
    TYPE = T_CAPTURE_NOW

    def payload(self) -> bytes:
        if self.label:
            sf.check_label(self.label)
        return _str8(self.label, 31)

    @classmethod
    def parse(cls, p: bytes) -> "CaptureNow":
        label = _Reader(p).str8()
        if label:
            _check_label(label)
        return cls(label)


@dataclass(frozen=True)
class SetLabels:
    labels: tuple[str, ...]
    TYPE = T_SET_LABELS

    def payload(self) -> bytes:
        if not 1 <= len(self.labels) <= MAX_LABELS:
            raise ProtocolError(f"1 to {MAX_LABELS} labels, got {len(self.labels)}")
        for s in self.labels:
            sf.check_label(s)
        return bytes([len(self.labels)]) + b"".join(_str8(s, 31) for s in self.labels)

    @classmethod
    def parse(cls, p: bytes) -> "SetLabels":
        r = _Reader(p)
        n = r.take("<B")
        if not 1 <= n <= MAX_LABELS:
            raise ProtocolError(f"1 to {MAX_LABELS} labels, got {n}")
        labels = tuple(_check_label(r.str8()) for _ in range(n))
        return cls(labels)


@dataclass(frozen=True)
class SetRate:
    rate_code: int
    TYPE = T_SET_RATE

    def payload(self) -> bytes:
        if self.rate_code not in RATE_HZ:
            raise ProtocolError(f"rate code must be 0..7, got {self.rate_code}")
        return bytes([self.rate_code])

    @classmethod
    def parse(cls, p: bytes) -> "SetRate":
        c = _Reader(p).take("<B")
        if c not in RATE_HZ:
            raise ProtocolError(f"rate code must be 0..7, got {c}")
        return cls(c)


@dataclass(frozen=True)
class Ping:
    TYPE = T_PING

    def payload(self) -> bytes:
        return b""

    @classmethod
    def parse(cls, p: bytes) -> "Ping":
        return cls()


@dataclass(frozen=True)
class GetEeprom:
    """GET_EEPROM (0x86): ask for the sensor's 832-word EEPROM image (HELLO status 2 if none)."""
    TYPE = T_GET_EEPROM

    def payload(self) -> bytes:
        return b""

    @classmethod
    def parse(cls, p: bytes) -> "GetEeprom":
        return cls()


def _check_label(s: str) -> str:
    try:
        return sf.check_label(s)
    except sf.SampleError as e:
        raise ProtocolError(str(e)) from None


MESSAGE_TYPES = {cls.TYPE: cls for cls in (Hello, Frame, Prediction, CaptureEvent, Log, Eeprom,
                                           SetMode, CaptureNow, SetLabels, SetRate, Ping, GetEeprom)}


def encode(msg, seq: int) -> bytes:
    """Wire bytes of a message object (Hello, Frame, ..., Ping) with sequence number ``seq``."""
    return frame(msg.TYPE, seq, msg.payload())


def parse(raw: RawMessage):
    """Message object for a RawMessage; None for an unknown type. Raises ProtocolError on a bad payload."""
    cls = MESSAGE_TYPES.get(raw.type)
    return None if cls is None else cls.parse(raw.payload)


@dataclass
class SeqTracker:
    """Counts messages missing from the peer's seq sequence: PROTOCOL.md section 1,
    ``gap = (seq - last - 1) mod 65536`` for every message after the first. A device reboot
    restarts its seq; the client calls :meth:`reset` on the boot HELLO (status 0xFF, seq 0)."""
    last: int | None = None

    def update(self, seq: int) -> int:
        gap = 0 if self.last is None else (seq - self.last - 1) & 0xFFFF
        self.last = seq & 0xFFFF
        return gap

    def reset(self) -> None:
        self.last = None
