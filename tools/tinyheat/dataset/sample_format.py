"""The tinyheat sample format (spec: ``datasets/FORMAT.md``), Python side.

Frames are ``numpy.ndarray`` of shape (24, 32), dtype float32, in degC, row 0 at the top.
The firmware's C core implements the same mapping; ``tests/test_parity_c.py`` runs both on the
same vectors.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROWS, COLS = 24, 32
PIXELS = ROWS * COLS
#: Default greyscale window (degC) of the original Wio Terminal data-collection sketch.
WINDOW_LO_DEGC = 22.0
WINDOW_HI_DEGC = 37.0
#: Valid object temperature range (degC), MLX90640 datasheet section 1.
VALID_MIN_DEGC = -40.0
VALID_MAX_DEGC = 300.0
#: 0 degC in kelvin, for the centikelvin sidecar.
ZERO_DEGC_IN_K = 273.15
PGM_HEADER = b"P5\n32 24\n65535\n"

LABEL_RE = re.compile(r"^[A-Za-z0-9_-]{1,31}$")
#: Largest sample index N (9 decimal digits, FORMAT.md section 3; the firmware's ``TH_MAX_INDEX``).
MAX_INDEX = 999_999_999
SAMPLE_NAME_RE = re.compile(r"^(?P<label>[A-Za-z0-9_-]{1,31})\.(?P<index>0|[1-9][0-9]{0,8})\.jpg$")


class SampleError(ValueError):
    """A file that is not a valid tinyheat sample; the message says why."""


@dataclass(frozen=True)
class SampleName:
    label: str
    index: int

    @property
    def jpg(self) -> str:
        return f"{self.label}.{self.index}.jpg"

    @property
    def pgm(self) -> str:
        return f"{self.label}.{self.index}.pgm"


def parse_sample_name(name: str) -> SampleName | None:
    """``"face0.12.jpg"`` -> SampleName("face0", 12); None if the name is not ``<label>.<N>.jpg``."""
    m = SAMPLE_NAME_RE.match(name)
    if not m:
        return None
    return SampleName(m["label"], int(m["index"]))


def check_label(label: str) -> str:
    """Return ``label`` if it is a valid label (1-31 chars of ``[A-Za-z0-9_-]``), else raise SampleError."""
    if not LABEL_RE.match(label or ""):
        raise SampleError(f"invalid label {label!r}: use 1-31 characters from A-Z a-z 0-9 _ -")
    return label


def as_frame(temps) -> np.ndarray:
    """Coerce 768 temperatures (any shape with 768 elements) to a (24, 32) float32 frame."""
    a = np.asarray(temps, dtype=np.float32)
    if a.size != PIXELS:
        raise SampleError(f"a frame has {PIXELS} pixels (32x24), got {a.size} values")
    return a.reshape(ROWS, COLS)


def invalid_mask(frame: np.ndarray) -> np.ndarray:
    """True where a pixel is NaN/inf or outside -40..300 degC."""
    f = np.asarray(frame, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(f) | (f < VALID_MIN_DEGC) | (f > VALID_MAX_DEGC)


def to_grey(frame, lo: float = WINDOW_LO_DEGC, hi: float = WINDOW_HI_DEGC) -> np.ndarray:
    """Greyscale mapping, FORMAT.md section 2: degC (24, 32) -> uint8 (24, 32), in float32."""
    f = as_frame(frame)
    bad = invalid_mask(f)
    lo32, hi32 = np.float32(lo), np.float32(hi)
    with np.errstate(invalid="ignore", over="ignore"):
        x = (f - lo32) * np.float32(255.0) / (hi32 - lo32)
        g = np.floor(x + np.float32(0.5))
    g[bad] = 0  # NaN only occurs at invalid pixels
    g = np.clip(g, 0, 255)
    return g.astype(np.uint8)


def from_grey(grey, lo: float = WINDOW_LO_DEGC, hi: float = WINDOW_HI_DEGC) -> np.ndarray:
    """Inverse greyscale mapping: uint8 (24, 32) -> degC float32 (clipped to the window)."""
    g = np.asarray(grey, dtype=np.float32)
    return (np.float32(lo) + g * (np.float32(hi) - np.float32(lo)) / np.float32(255.0)).astype(np.float32)


def to_centikelvin(frame) -> np.ndarray:
    """Sidecar encoding, FORMAT.md section 3: degC -> uint16 centikelvin, 0 for invalid pixels."""
    f = as_frame(frame)
    bad = invalid_mask(f)
    with np.errstate(invalid="ignore", over="ignore"):
        ck = np.floor((f + np.float32(ZERO_DEGC_IN_K)) * np.float32(100.0) + np.float32(0.5))
    ck[bad] = 1  # NaN only occurs at invalid pixels; they are stored as 0 below
    ck = np.clip(ck, 1, 65535)
    ck[bad] = 0
    return ck.astype(np.uint16)


def from_centikelvin(ck) -> np.ndarray:
    """uint16 centikelvin -> degC float32; 0 (invalid) becomes NaN."""
    c = np.asarray(ck, dtype=np.float32).reshape(ROWS, COLS)
    t = c / np.float32(100.0) - np.float32(ZERO_DEGC_IN_K)
    t[c == 0] = np.nan
    return t.astype(np.float32)


def encode_pgm(frame) -> bytes:
    """Frame in degC -> bytes of the 16-bit PGM sidecar (header ``P5\\n32 24\\n65535\\n``, big-endian)."""
    return PGM_HEADER + to_centikelvin(frame).astype(">u2").tobytes()


def _pgm_tokens(data: bytes, count: int) -> tuple[list[bytes], int]:
    """Read ``count`` whitespace-separated header tokens (skipping ``#`` comments); return them and the offset after the single whitespace that ends the last."""
    tokens, i, n = [], 0, len(data)
    while len(tokens) < count:
        while i < n and data[i : i + 1].isspace():
            i += 1
        if i < n and data[i : i + 1] == b"#":
            while i < n and data[i : i + 1] not in (b"\n", b"\r"):
                i += 1
            continue
        start = i
        while i < n and not data[i : i + 1].isspace() and data[i : i + 1] != b"#":
            i += 1
        if start == i:
            raise SampleError("truncated PGM header")
        tokens.append(data[start:i])
    if i >= n or not data[i : i + 1].isspace():
        raise SampleError("truncated PGM header")
    return tokens, i + 1


def decode_pgm(data: bytes) -> np.ndarray:
    """Bytes of a 16-bit 32x24 PGM sidecar -> frame in degC (float32 (24, 32), NaN where invalid).

    Raises SampleError for another magic number, size, maxval or a short pixel block.
    """
    if not data.startswith(b"P5"):
        raise SampleError("sidecar is not a binary PGM (P5)")
    tokens, off = _pgm_tokens(data, 4)
    if tokens[0] != b"P5":  # e.g. "P55": startswith() alone accepted it
        raise SampleError("sidecar is not a binary PGM (P5)")
    try:
        w, h, maxval = int(tokens[1]), int(tokens[2]), int(tokens[3])
    except ValueError as e:
        raise SampleError(f"bad PGM header: {e}") from None
    if (w, h) != (COLS, ROWS):
        raise SampleError(f"sidecar is {w}x{h}, expected 32x24")
    if maxval != 65535:
        raise SampleError(f"sidecar maxval is {maxval}, expected 65535 (16-bit)")
    body = data[off : off + PIXELS * 2]
    if len(body) != PIXELS * 2:
        raise SampleError(f"sidecar pixel data is {len(body)} bytes, expected {PIXELS * 2}")
    return from_centikelvin(np.frombuffer(body, dtype=">u2"))


def encode_jpeg(grey, quality: int = 95) -> bytes:
    """uint8 (24, 32) greyscale -> bytes of a 1-channel baseline JPEG (Pillow)."""
    g = np.asarray(grey, dtype=np.uint8)
    if g.shape != (ROWS, COLS):
        raise SampleError(f"greyscale image must be 24x32, got {g.shape}")
    buf = io.BytesIO()
    Image.fromarray(g, mode="L").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """Bytes of a sample JPEG -> uint8 (24, 32) greyscale.

    Accepts 1-channel and 3-channel (R=G=B) JPEGs. Raises SampleError if the bytes do not
    decode or the image is not 32 wide x 24 high.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "JPEG":
                raise SampleError(f"not a JPEG (looks like {im.format})")
            im.load()
            if im.size != (COLS, ROWS):
                raise SampleError(f"image is {im.size[0]}x{im.size[1]}, expected 32x24")
            if im.mode not in ("L", "RGB"):
                raise SampleError(f"unsupported JPEG colour mode {im.mode}")
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except SampleError:
        raise
    except Exception as e:  # Pillow raises several types for corrupt data
        raise SampleError(f"JPEG does not decode: {e}") from None


@dataclass(frozen=True)
class Sample:
    """A decoded sample: greyscale (24, 32) uint8 and, if a sidecar exists, degC (24, 32) float32."""

    grey: np.ndarray
    degc: np.ndarray | None

    def temperatures(self, lo: float = WINDOW_LO_DEGC, hi: float = WINDOW_HI_DEGC) -> np.ndarray:
        """Best available degC frame: the lossless sidecar, else the JPEG's inverse mapping."""
        return self.degc if self.degc is not None else from_grey(self.grey, lo, hi)


def read_sample(jpg_path: str | Path) -> Sample:
    """Read ``<label>.<N>.jpg`` and its ``.pgm`` sidecar if present. Raises SampleError."""
    jpg_path = Path(jpg_path)
    grey = decode_jpeg(jpg_path.read_bytes())
    pgm = jpg_path.with_suffix(".pgm")
    degc = decode_pgm(pgm.read_bytes()) if pgm.exists() else None
    return Sample(grey, degc)


def next_free_index(folder: str | Path, label: str) -> int:
    """``max(N) + 1`` over ``<label>.<N>.jpg`` / ``.pgm`` in ``folder``, or 0.

    May return ``MAX_INDEX + 1`` (a full index space): writers must check (``DatasetStore`` does).
    """
    best = -1
    folder = Path(folder)
    if folder.is_dir():
        for p in folder.iterdir():
            stem = p.name[: -4] + ".jpg" if p.name.endswith(".pgm") else p.name
            sn = parse_sample_name(stem)
            if sn and sn.label == label:
                best = max(best, sn.index)
    return best + 1
