"""Host side of the serial link: a client that reads messages from a device and sends commands.

Works on anything with pyserial's ``read(n)`` / ``write(b)`` / ``in_waiting`` interface: a real
Wio Terminal (``/dev/ttyACM0``, ``COM5``), the simulated device's pseudo-terminal
(``/dev/pts/N``, see ``tinyheat sim-device``) or the in-process :class:`~.fake_device.FakeDevice`.
Spec: ``firmware/lib/tinyheat_link/PROTOCOL.md``.
"""
from __future__ import annotations

import collections
import time
from typing import Callable, Iterator

import numpy as np

from . import protocol as p


class LinkError(RuntimeError):
    """The device did not answer, refused a command, or the port could not be opened."""


def open_port(port: str, timeout_s: float = 0.05):
    """Open a serial port (or any pyserial URL, e.g. ``loop://``) for the link.

    The baud rate is irrelevant on native USB CDC. Raises LinkError with the reason.
    """
    import serial  # pyserial

    try:
        s = serial.serial_for_url(port, baudrate=115200, timeout=timeout_s, write_timeout=2.0)
        s.reset_input_buffer()  # drop stale bytes queued before we connected
        return s
    except (serial.SerialException, OSError, ValueError) as e:
        raise LinkError(f"cannot open {port}: {e}") from None


class DeviceClient:
    """Reads and decodes device messages; sends host commands.

    ``noise`` is an optional function applied to every chunk of received bytes before the
    decoder (used by tests to inject line noise between the port and the decoder).
    Counters: ``stats`` (:class:`protocol.RxStats`: ok, corrupt kinds, unknown, bad_payload and
    ``dropped`` = gaps in the device's seq).
    """

    def __init__(self, port, *, noise: Callable[[bytes], bytes] | None = None, read_size: int = 16384):
        self.port = port
        self.noise = noise
        self.read_size = read_size
        self.stats = p.RxStats()
        self.decoder = p.StreamDecoder(self.stats)
        self.seq = p.SeqTracker()
        self.tx_seq = 0
        self.hello: p.Hello | None = None
        self.prediction: p.Prediction | None = None
        self._backlog: collections.deque = collections.deque()
        self.bytes_in = 0

    # ---- receiving ----------------------------------------------------------------------
    def _read_chunk(self) -> bytes:
        n = getattr(self.port, "in_waiting", 0) or 1
        data = self.port.read(min(max(n, 1), self.read_size))
        if data and self.noise is not None:
            data = self.noise(bytes(data))
        self.bytes_in += len(data)
        return data

    def poll(self) -> list:
        """Read what is available (waiting at most the port's timeout) and return parsed messages."""
        out = list(self._backlog)
        self._backlog.clear()
        return out + self._receive()

    def _receive(self) -> list:
        out: list = []
        data = self._read_chunk()
        if not data:
            return out
        for raw in self.decoder.feed(data):
            try:
                msg = p.parse(raw)
            except p.ProtocolError:
                msg = p.ProtocolError
            if isinstance(msg, p.Hello) and msg.status == p.ST_UNSOLICITED and raw.seq == 0:
                self.seq.reset()  # the device (re)booted: its seq restarts at 0
            self.stats.dropped += self.seq.update(raw.seq)
            if msg is p.ProtocolError:
                self.stats.bad_payload += 1
                continue
            if msg is None:
                self.stats.unknown += 1
                continue
            if isinstance(msg, p.Hello):
                self.hello = msg
            elif isinstance(msg, p.Prediction):
                self.prediction = msg
            out.append(msg)
        return out

    def messages(self, timeout_s: float | None = None) -> Iterator:
        """Yield messages until ``timeout_s`` passes without any (forever if None)."""
        last = time.monotonic()
        while True:
            got = self.poll()
            for m in got:
                yield m
            now = time.monotonic()
            if got:
                last = now
            elif timeout_s is not None and now - last > timeout_s:
                return

    def frames(self, timeout_s: float | None = 5.0) -> Iterator[p.Frame]:
        """Yield FRAME messages; stop when none arrives for ``timeout_s`` seconds."""
        for m in self.messages(timeout_s):
            if isinstance(m, p.Frame):
                yield m

    # ---- sending ------------------------------------------------------------------------
    def send(self, msg) -> int:
        """Send a host command (SetMode, CaptureNow, SetLabels, SetRate, Ping); return its seq.

        A leading 0x00 flushes any partial frame in the device's decoder (PROTOCOL.md section 1).
        """
        seq = self.tx_seq
        self.tx_seq = (self.tx_seq + 1) & 0xFFFF
        self.port.write(b"\x00" + p.encode(msg, seq))
        flush = getattr(self.port, "flush", None)
        if flush:
            flush()
        return seq

    def request(self, msg, timeout_s: float = 2.0, retries: int = 2) -> p.Hello:
        """Send a command and wait for the HELLO that acknowledges it (other messages are kept
        for the next poll()). Raises LinkError on timeout or when the device answers status != 0."""
        for _ in range(retries + 1):
            seq = self.send(msg)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                answer = None
                for m in self._receive():
                    if (answer is None and isinstance(m, p.Hello) and m.status != p.ST_UNSOLICITED
                            and m.ack_seq == seq):
                        answer = m
                    else:
                        self._backlog.append(m)  # keep everything else, in order, for poll()
                self._trim_backlog()
                if answer is not None:
                    if answer.status != p.ST_OK:
                        what = {p.ST_BAD_ARG: "bad argument", p.ST_REFUSED: "refused"}.get(answer.status, answer.status)
                        raise LinkError(f"device answered {type(msg).__name__}: {what}")
                    return answer
        raise LinkError(f"no answer to {type(msg).__name__} within {timeout_s} s (is it a tinyheat device?)")

    def read_eeprom(self, timeout_s: float = 2.0) -> np.ndarray:
        """The sensor's EEPROM image from GET_EEPROM: (832,) uint16, words 0x2400..0x273F.

        Raises LinkError if the device has none (no sensor since boot), or if the two EEPROM
        messages do not arrive complete within ``timeout_s``."""
        try:
            self.request(p.GetEeprom(), timeout_s)
        except LinkError as e:
            raise LinkError(f"{e} (the device has no EEPROM image: is the sensor connected?)") from None
        words = np.zeros(p.EEPROM_WORDS, dtype=np.uint16)
        have = np.zeros(p.EEPROM_WORDS, dtype=bool)
        deadline = time.monotonic() + timeout_s
        kept, pending = [], list(self._backlog)  # the EEPROM messages may have come with the HELLO
        self._backlog.clear()
        while not have.all() and (pending or time.monotonic() < deadline):
            got, pending = pending or self._receive(), []
            for m in got:
                if isinstance(m, p.Eeprom):
                    words[m.offset:m.offset + m.words.size] = m.words
                    have[m.offset:m.offset + m.words.size] = True
                else:
                    kept.append(m)
        self._backlog.extend(kept)
        self._trim_backlog()
        if not have.all():
            raise LinkError(f"EEPROM image incomplete: {int(have.sum())} of {p.EEPROM_WORDS} words arrived")
        return words

    def _trim_backlog(self, keep: int = 256) -> None:
        while len(self._backlog) > keep:
            self._backlog.popleft()

    def connect(self, stream: bool = True, timeout_s: float = 2.0) -> p.Hello:
        """Ping the device (learning its version, labels and settings) and, if ``stream``,
        switch it to STREAM mode. Returns the latest HELLO."""
        hello = self.request(p.Ping(), timeout_s)
        if stream and hello.mode != p.MODES["stream"]:
            hello = self.request(p.SetMode(p.MODES["stream"]), timeout_s)
        # count losses from here on, not stale bytes queued before the port was opened
        self.stats = p.RxStats()
        self.decoder.stats = self.stats
        return hello

    def close(self) -> None:
        close = getattr(self.port, "close", None)
        if close:
            close()
