"""Python link decoder on tests/link/vectors.json (the bytes the C codec must produce, see
test_c_link.py), plus behaviour the vectors do not pin. The vectors are made by the Python encoder
(make_vectors.py), so the encoder is not checked against them here: the C side is."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from tinyheat.link import protocol as p


def f32(h: str) -> float:
    return struct.unpack("<f", bytes.fromhex(h))[0]


def unhex(h: str) -> bytes:
    return b"" if h == "-" else bytes.fromhex(h)


def build(m: dict):
    f, t = m["fields"], m["type"]
    if t == p.T_HELLO:
        return p.Hello(status=f["status"], ack_seq=f["ack_seq"], mode=f["mode"], rate_code=f["rate_code"],
                       emissivity=f32(f["emissivity"]), session=f["session"], fw_version=f["fw_version"],
                       model_labels=tuple(f["model_labels"]), capture_labels=tuple(f["capture_labels"]),
                       current=f["current"])
    if t == p.T_FRAME:
        temps = np.frombuffer(bytes.fromhex(f["temps"]), "<f4")
        return p.Frame(f["t_ms"], f32(f["ta"]), temps)
    if t == p.T_PREDICTION:
        return p.Prediction(f["t_ms"], f["label_index"], f32(f["confidence"]), f["inference_us"])
    if t == p.T_CAPTURE:
        return p.CaptureEvent(bool(f["ok"]), f["index"], f["label"])
    if t == p.T_LOG:
        return p.Log(f["level"], f["text"])
    cls = p.MESSAGE_TYPES[t]
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in f.items()})


def test_messages_decode_to_their_fields(vectors):
    for m in vectors["messages"]:
        (raw,) = p.StreamDecoder().feed(bytes.fromhex(m["wire"]))
        assert (raw.type, raw.seq, raw.payload.hex() or "-") == (m["type"], m["seq"], m["payload"])
        got, want = p.parse(raw), build(m)
        if isinstance(want, p.Frame):
            assert got.t_ms == want.t_ms
            t = np.asarray(want.temps, np.float32).ravel()
            c = p.to_cdegc(t)
            ok = c != p.CDEGC_INVALID
            assert np.array_equal(np.isnan(got.temps.ravel()), ~ok)
            assert np.all(np.abs(got.temps.ravel()[ok] - t[ok]) <= 0.0051)
        else:
            assert got == want, m["name"]


def test_bad_commands_are_rejected(vectors):
    for b in vectors["bad_commands"]:
        (raw,) = p.StreamDecoder().feed(bytes.fromhex(b["wire"]))
        with pytest.raises(p.ProtocolError):
            p.parse(raw)


def test_noisy_streams(vectors):
    for s in vectors["streams"]:
        d = p.StreamDecoder()
        data = bytes.fromhex(s["data"])
        out = []
        for i in range(0, len(data), 97):  # chunking must not matter
            out += d.feed(data[i:i + 97])
        assert [[m.type, m.seq, m.payload.hex() or "-"] for m in out] == s["messages"]
        st = s["stats"]
        assert (d.stats.ok, d.stats.crc_errors, d.stats.cobs_errors, d.stats.oversize, d.stats.short) == (
            st["ok"], st["crc_errors"], st["cobs_errors"], st["oversize"], st["short"])


def test_oversize_payload_is_refused_and_largest_fits():
    w = p.frame(1, 0, b"\xab" * p.MAX_PAYLOAD)
    assert len(w) <= p.MAX_WIRE
    with pytest.raises(p.ProtocolError):
        p.frame(1, 0, b"\xab" * (p.MAX_PAYLOAD + 1))


def test_frame_temperatures_round_trip_within_5_millikelvin():
    rng = np.random.default_rng(1)
    t = rng.uniform(-40, 300, 768).astype(np.float32)
    (raw,) = p.StreamDecoder().feed(p.encode(p.Frame(1, 25.0, t), 0))
    got = p.parse(raw).temps
    assert got.shape == (24, 32) and got.dtype == np.float32
    assert np.max(np.abs(got.ravel() - t)) <= 0.005 + 1e-4


def test_seq_tracker_counts_gaps_with_wraparound():
    s = p.SeqTracker()
    assert [s.update(x) for x in (65534, 65535, 1, 2, 2)] == [0, 0, 1, 0, 65535]


def test_seq_tracker_follows_the_spec_gap_arithmetic_above_0x8000():
    """PROTOCOL.md section 1: gap = (seq - last - 1) mod 65536, also for jumps above 0x8000."""
    s = p.SeqTracker()
    assert [s.update(x) for x in (10, 10 + 0x9000, 5)] == [0, 0x8FFF, (5 - 10 - 0x9000 - 1) % 65536]
    s.reset()
    assert s.update(0) == 0


def test_hello_stats_trailer_and_eeprom_messages_round_trip():
    st = p.DeviceStats(398, 1234, p.STAT_UNKNOWN, 7, 9, 2, 0)
    h = p.Hello(status=0, ack_seq=5, emissivity=0.5, stats=st)
    (raw,) = p.StreamDecoder().feed(p.encode(h, 3))
    assert p.parse(raw) == h and p.parse(raw).stats.fps == 3.98
    assert p.Hello.parse(p.Hello().payload()).stats is None  # older devices: no trailer
    w = np.arange(416, dtype=np.uint16) * 157
    (raw,) = p.StreamDecoder().feed(p.encode(p.Eeprom(416, w), 0))
    got = p.parse(raw)
    assert got.offset == 416 and np.array_equal(got.words, w) and got.words.dtype == np.uint16
    with pytest.raises(p.ProtocolError):
        p.Eeprom.parse(b"\x00\x02" + bytes(834))  # past word 832


def test_commands_validate_arguments():
    with pytest.raises(Exception):
        p.SetLabels(("a.b",)).payload()
    with pytest.raises(p.ProtocolError):
        p.SetRate(8).payload()
    with pytest.raises(p.ProtocolError):
        p.SetLabels(tuple(f"l{i}" for i in range(9))).payload()
