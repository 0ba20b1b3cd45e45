"""Radiometric recordings: every frame in degC with its device timestamp, streamed to disk.

Container (readable with NumPy alone, ``numpy.load(path)``): an uncompressed ``.npz`` (a zip of
``.npy`` members, NumPy's documented format, NEP 1 / ``numpy.lib.format``) with

=============  =====================  ===================================================
member         shape, dtype           meaning
=============  =====================  ===================================================
``frames``     (n, 24, 32) float32    temperatures in degC, row 0 at the top (FORMAT.md §1),
                                       NaN where the device flagged an invalid pixel
``t_ms``       (n,) int64             device time of each frame, ms since boot
``ta_degC``    (n,) float32           ambient temperature Ta, degC (NaN if unknown)
``meta``       () unicode             JSON: device firmware version, session, refresh-rate
                                       code, emissivity, port, host start time
=============  =====================  ===================================================

This is what ``tinyheat import-frames`` reads (``frames`` and ``t_ms``).

Streaming: while recording, each member is a raw ``.npy`` file in ``<out>.part/`` whose header
has a fixed size (128 bytes) and is rewritten with the current frame count every second and at
close, so memory stays constant and a killed recording leaves readable ``.npy`` files. ``close()``
packs them into the ``.npz`` (zip STORED, copied in chunks) and removes the folder.
"""
from __future__ import annotations

import json
import shutil
import struct
import time
import zipfile
from pathlib import Path

import numpy as np

from ..dataset import sample_format as sf

NPY_HEADER_BYTES = 128  #: fixed header size of the streamed .npy members (multiple of 64)


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """A NumPy format 1.0 header padded to NPY_HEADER_BYTES (spec: numpy.lib.format docstring)."""
    d = "{'descr': %r, 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    body_len = NPY_HEADER_BYTES - 10
    if len(d) + 1 > body_len:
        raise ValueError("shape too long for the fixed-size .npy header")
    d = d.ljust(body_len - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", body_len) + d.encode("latin1")


class _NpyStream:
    """An .npy file appended row by row; the header is patched with the row count."""

    def __init__(self, path: Path, dtype: str, row_shape: tuple[int, ...]):
        self.path, self.dtype, self.row_shape, self.n = path, np.dtype(dtype), row_shape, 0
        self.f = open(path, "wb")
        self.f.write(npy_header(self.dtype.str, (0, *row_shape)))

    def append(self, row) -> None:
        a = np.asarray(row, dtype=self.dtype)
        if a.shape != self.row_shape:
            raise ValueError(f"{self.path.name}: row shape {a.shape}, expected {self.row_shape}")
        self.f.write(a.tobytes())
        self.n += 1

    def sync_header(self) -> None:
        pos = self.f.tell()
        self.f.seek(0)
        self.f.write(npy_header(self.dtype.str, (self.n, *self.row_shape)))
        self.f.seek(pos)
        self.f.flush()

    def close(self) -> None:
        self.sync_header()
        self.f.close()


class RecordingWriter:
    """Write a recording to ``out`` (``.npz``), streaming; use as a context manager.

    Refuses to overwrite an existing ``out`` or ``out.part`` (FileExistsError).
    """

    MEMBERS = {"frames": ("<f4", (sf.ROWS, sf.COLS)), "t_ms": ("<i8", ()), "ta_degC": ("<f4", ())}

    def __init__(self, out: str | Path, meta: dict | None = None, sync_every_s: float = 1.0):
        self.out = Path(out)
        if self.out.suffix != ".npz":
            raise ValueError(f"recording must be a .npz file, got {self.out.name}")
        self.part = self.out.with_name(self.out.name + ".part")
        if self.out.exists():
            raise FileExistsError(f"{self.out} exists; choose another name (recordings are never overwritten)")
        self.part.mkdir(parents=True, exist_ok=False)
        self.meta = dict(meta or {})
        self.meta.setdefault("started_utc", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (self.part / "meta.json").write_text(json.dumps(self.meta))
        self.streams = {k: _NpyStream(self.part / f"{k}.npy", d, s) for k, (d, s) in self.MEMBERS.items()}
        self.sync_every_s = sync_every_s
        self._last_sync = time.monotonic()
        self.closed = False

    @property
    def count(self) -> int:
        return self.streams["frames"].n

    def add(self, t_ms: int, ta_degc: float, frame_degc) -> None:
        """Append one frame: device time (ms), ambient Ta (degC, NaN if unknown), 768 degC."""
        frame = sf.as_frame(frame_degc)
        self.streams["frames"].append(frame)
        self.streams["t_ms"].append(np.int64(t_ms))
        self.streams["ta_degC"].append(np.float32(ta_degc))
        if time.monotonic() - self._last_sync >= self.sync_every_s:
            for s in self.streams.values():
                s.sync_header()
            self._last_sync = time.monotonic()

    def close(self) -> Path:
        """Finish the .npy members, pack them into ``out`` and remove ``out.part``. Returns ``out``."""
        if self.closed:
            return self.out
        self.closed = True
        for s in self.streams.values():
            s.close()
        tmp = self.out.with_name(self.out.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
            for k in self.streams:
                z.write(self.part / f"{k}.npy", arcname=f"{k}.npy")
            with z.open("meta.npy", "w") as f:
                np.lib.format.write_array(f, np.array(json.dumps(self.meta)), allow_pickle=False)
        if self.out.exists():  # appeared meanwhile: keep both, never overwrite
            raise FileExistsError(f"{self.out} appeared during recording; data kept in {tmp}")
        tmp.rename(self.out)
        shutil.rmtree(self.part)
        return self.out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def read_recording(path: str | Path) -> dict:
    """Load a recording: {"frames": (n,24,32) float32, "t_ms": (n,) int64, "ta_degC": (n,), "meta": dict}."""
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in ("frames", "t_ms", "ta_degC") if k in z.files}
        out["meta"] = json.loads(str(z["meta"])) if "meta" in z.files else {}
    if out["frames"].ndim != 3 or out["frames"].shape[1:] != (sf.ROWS, sf.COLS):
        raise ValueError(f"{path}: frames has shape {out['frames'].shape}, expected (n, 24, 32)")
    return out
