"""TFLM interpreter for the simulated device (``firmware/host/sim_tflm.c``), as a helper process.

The C simulator runs the firmware's core (pre- and post-processing included); TensorFlow Lite
Micro exists on the host only as the ``tflite-micro`` Python package, so the model's ``Invoke()``
runs here, in the real TFLM C++ interpreter, on the exact model bytes the board compiles in
(``th_model_tflite`` of ``firmware/lib/tinyheat_model``, sent by the simulator).

Pipe protocol on stdin/stdout (binary, little-endian):

- in:  ``b"THM1"`` ``u32 n`` then ``n`` bytes of the .tflite flatbuffer (once);
- out: ``b"THOK"`` ``u8 n_out`` ``u8 channels`` when the interpreter is ready (``channels`` = C of the
  model's input tensor [1, 24, 32, C]), or ``b"THER"`` ``u8 len`` + UTF-8 text;
- then per inference, in: 768 * C bytes int8 (the input tensor [1, 24, 32, C]);
  out: ``n_out`` bytes int8 (the output tensor) + ``u32`` Invoke() time in microseconds
  (``time.perf_counter_ns`` around ``invoke()``, host time).

Ends at EOF on stdin. Run as ``python -m tinyheat.link.tflm_helper``.
"""
from __future__ import annotations

import os
import struct
import sys
import time

import numpy as np


def _read(f, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve(fin, fout, arena_size: int = 64 * 1024) -> int:
    """Serve one simulator; returns the number of inferences."""
    hdr = _read(fin, 8)
    if hdr is None or hdr[:4] != b"THM1":
        return 0
    model = _read(fin, struct.unpack("<I", hdr[4:])[0])
    try:
        from tflite_micro import runtime

        interp = runtime.Interpreter.from_bytes(bytes(model), arena_size=arena_size)
        shape = tuple(int(d) for d in interp.get_input_details(0)["shape"])
        if len(shape) != 4 or shape[:3] != (1, 24, 32) or not 1 <= shape[3] <= 255:
            raise ValueError(f"model input shape {list(shape)} is not [1, 24, 32, C]")
        interp.set_input(np.zeros(shape, np.int8), 0)
        interp.invoke()
        n_out = int(np.asarray(interp.get_output(0)).size)
    except Exception as e:  # report to the simulator, which prints it
        text = f"{type(e).__name__}: {e}".encode()[:255]
        fout.write(b"THER" + bytes([len(text)]) + text)
        fout.flush()
        return 0
    fout.write(b"THOK" + bytes([n_out, shape[3]]))
    fout.flush()
    n = 0
    while True:
        x = _read(fin, 768 * shape[3])
        if x is None:
            return n
        interp.set_input(np.frombuffer(x, np.int8).reshape(shape), 0)
        t0 = time.perf_counter_ns()
        interp.invoke()
        us = (time.perf_counter_ns() - t0) // 1000
        y = np.asarray(interp.get_output(0), dtype=np.int8).reshape(-1)
        fout.write(y.tobytes() + struct.pack("<I", min(us, 0xFFFFFFFF)))
        fout.flush()
        n += 1


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # stdout carries the binary protocol: anything a library prints goes to stderr instead
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
