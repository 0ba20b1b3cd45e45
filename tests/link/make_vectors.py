"""Generate ``tests/link/vectors.json``: shared test vectors of the serial-link protocol.

Run once from the repo root (``python tests/link/make_vectors.py``) after a deliberate protocol
change; both the Python codec (test_protocol_vectors.py) and the C codec (test_c_link.py via
firmware/test/link/vector_tool.c) are checked against the stored file.

Floats are stored as the hex of their IEEE-754 binary32 bits so NaN/inf survive JSON.
"""
from __future__ import annotations

import json
import random
import struct
import zlib
from pathlib import Path

import numpy as np
from cobs import cobs

from tinyheat.link import protocol as p

OUT = Path(__file__).with_name("vectors.json")


def f32bits(x: float) -> str:
    return struct.pack("<f", np.float32(x)).hex()


def hx(b: bytes) -> str:
    return b.hex() if b else "-"


def main() -> None:
    rng = random.Random(20261121)
    v: dict = {"proto": p.PROTO_VERSION}

    v["crc"] = [{"data": hx(b), "crc": zlib.crc32(b)} for b in
                [b"", b"123456789", bytes(range(256)), bytes(rng.randrange(256) for _ in range(1000))]]

    cobs_inputs = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x11\x22\x00\x33", b"\x01" * 253, b"\x01" * 254,
                   b"\x01" * 255, b"\x01" * 254 + b"\x00", b"\x01" * 508, b"\x00" + b"\x02" * 300,
                   bytes(rng.randrange(256) for _ in range(1604))]
    cobs_inputs += [bytes(rng.choice([0, 0, rng.randrange(1, 256)]) for _ in range(rng.randrange(1, 700)))
                    for _ in range(8)]
    v["cobs"] = [{"raw": hx(b), "enc": hx(cobs.encode(b))} for b in cobs_inputs]

    cd = [0.0, 0.004, 0.005, -0.005, 0.015, 24.995, 25.125, -40.0, 300.0, 327.67, 327.675, 327.68,
          -327.67, -327.675, -327.68, 1e9, float("nan"), float("inf"), float("-inf"), 36.6, -0.0049]
    cd += [rng.uniform(-50, 350) for _ in range(40)]
    v["cdegc"] = [{"f32": f32bits(x), "c": int(p.to_cdegc(np.float32(x)))} for x in cd]

    temps = np.array([rng.uniform(15, 40) for _ in range(p.PIXELS)], dtype=np.float32)
    temps[:len(cd)] = np.array(cd, dtype=np.float32)
    msgs = [
        ("hello_boot", p.Hello(fw_version="0.1.0", session=0x2A, mode=0, rate_code=7, emissivity=0.95,
                               model_labels=("empty", "person"), capture_labels=("face0", "face1", "env"),
                               current=0), 0),
        ("hello_ack", p.Hello(status=p.ST_BAD_ARG, ack_seq=65535, mode=3, rate_code=0, emissivity=1.0,
                              session=0xDEADBEEF, fw_version="", current=0xFF), 65535),
        ("frame", p.Frame(183422, 24.61, temps), 1234),
        ("frame_zero", p.Frame(0xFFFFFFFF, float("nan"), np.zeros(p.PIXELS, np.float32)), 2),
        ("prediction", p.Prediction(5000, 1, 0.8125, 41234), 3),
        ("prediction_none", p.Prediction(1, -1, 0.0, 0), 4),
        ("capture_ok", p.CaptureEvent(True, 12, "face0"), 5),
        ("capture_fail", p.CaptureEvent(False, -1, "env"), 6),
        ("log", p.Log(3, "SD card not found"), 7),
        ("log_empty", p.Log(1, ""), 8),
        ("set_mode", p.SetMode(2), 0),
        ("capture_now", p.CaptureNow("face1"), 1),
        ("capture_now_current", p.CaptureNow(""), 2),
        ("set_labels", p.SetLabels(("cat", "dog", "human_1")), 3),
        ("set_rate", p.SetRate(7), 4),
        ("ping", p.Ping(), 5),
    ]
    v["messages"] = []
    for name, m, seq in msgs:
        e = {"name": name, "type": m.TYPE, "seq": seq, "payload": hx(m.payload()), "wire": hx(p.encode(m, seq))}
        if isinstance(m, p.Hello):
            e["fields"] = {"status": m.status, "ack_seq": m.ack_seq, "mode": m.mode, "rate_code": m.rate_code,
                           "emissivity": f32bits(m.emissivity), "session": m.session, "fw_version": m.fw_version,
                           "model_labels": list(m.model_labels), "capture_labels": list(m.capture_labels),
                           "current": m.current}
        elif isinstance(m, p.Frame):
            e["fields"] = {"t_ms": m.t_ms, "ta": f32bits(m.ta_degc),
                           "temps": "".join(f32bits(x) for x in np.asarray(m.temps, np.float32).ravel())}
        elif isinstance(m, p.Prediction):
            e["fields"] = {"t_ms": m.t_ms, "label_index": m.label_index, "confidence": f32bits(m.confidence),
                           "inference_us": m.inference_us}
        elif isinstance(m, p.CaptureEvent):
            e["fields"] = {"ok": int(m.ok), "index": m.index, "label": m.label}
        elif isinstance(m, p.Log):
            e["fields"] = {"level": m.level, "text": m.text}
        else:
            e["fields"] = {k: (list(x) if isinstance(x, tuple) else x) for k, x in vars(m).items()}
        v["messages"].append(e)

    # Malformed host commands: C parse result 1 (bad), Python parse raises ProtocolError.
    bad = [(p.T_SET_MODE, b""), (p.T_SET_MODE, b"\x03"), (p.T_SET_RATE, b"\x08"), (p.T_SET_LABELS, b"\x00"),
           (p.T_SET_LABELS, b"\x09" + b"\x01a" * 9), (p.T_SET_LABELS, b"\x02\x01a\x03a.b"),
           (p.T_SET_LABELS, b"\x01\x05ab"), (p.T_CAPTURE_NOW, b""), (p.T_CAPTURE_NOW, b"\x20" + b"a" * 32),
           (p.T_CAPTURE_NOW, b"\x03a b")]
    v["bad_commands"] = [{"type": t, "seq": i, "payload": hx(pl), "wire": hx(p.frame(t, i, pl))}
                         for i, (t, pl) in enumerate(bad)]

    # Streams with line noise: expected messages and counters from the Python decoder.
    good = [bytes.fromhex(m["wire"]) for m in v["messages"]]
    streams = []
    for k in range(12):
        parts = []
        for _ in range(rng.randrange(3, 9)):
            w = bytearray(rng.choice(good))
            kind = rng.choice(["ok", "ok", "flip", "truncate", "garbage", "oversize", "zeros", "short", "unknown"])
            if kind == "flip":
                i = rng.randrange(len(w) - 1)
                w[i] ^= 1 << rng.randrange(8)
            elif kind == "truncate":
                w = w[:rng.randrange(1, len(w) - 1)]
            elif kind == "garbage":
                w = bytearray(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + w
            elif kind == "oversize":
                w = bytearray(rng.randrange(1, 256) for _ in range(rng.randrange(1612, 4000))) + b"\x00" + w
            elif kind == "zeros":
                w = b"\x00" * rng.randrange(1, 4) + w
            elif kind == "short":
                w = bytearray(cobs.encode(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 7))))) + b"\x00" + w
            elif kind == "unknown":
                w = bytearray(p.frame(0x42, 9, b"future")) + w
            parts.append(bytes(w))
        data = b"".join(parts)
        dec = p.StreamDecoder()
        out = dec.feed(data)
        s = dec.stats
        streams.append({"data": hx(data), "messages": [[m.type, m.seq, hx(m.payload)] for m in out],
                        "stats": {"ok": s.ok, "crc_errors": s.crc_errors, "cobs_errors": s.cobs_errors,
                                  "oversize": s.oversize, "short": s.short}})
    v["streams"] = streams
    OUT.write_text(json.dumps(v, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
