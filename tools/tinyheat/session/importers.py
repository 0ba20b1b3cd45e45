"""Importers of other tools' thermal recordings into sessions (spec: ``datasets/SESSION.md`` section 4).

Every importer returns an in-memory :class:`~tinyheat.session.Session` (frames float32 (N, H, W)
degC) and raises :class:`~tinyheat.session.SessionError` with a one-line message on a file it
cannot read. :func:`import_any` picks the importer from the file's suffix and first line.

* ``tinyheat record`` ``.npz`` (:func:`from_npz`): lossless, every frame kept (invalid ones too),
  device clock offset kept in ``meta["device_t0_ms"]``.
* CSV with a wall-clock ``Time`` column and ``P000..P767`` pixels (:func:`from_time_csv`, e.g. the
  FIR-Image-Action-Dataset files ``Time,RT,P000..P767``): t_ms from the Time column.
* The MLX90641 ``frames.csv`` layout ``frame,t_s,delay_s,ambient_degC,p000..`` (:func:`from_time_csv`).
* Anything ``tinyheat import-frames`` reads (:func:`from_frames_file`, via
  :func:`tinyheat.ingest.frames.load_frames`): t_ms from the file when it has one, else unknown
  (frame index x ``period_ms`` when given).
* FLIR radiometric ``.seq`` / ``.fff`` / radiometric JPEG (:func:`from_flir`) through flirpy, which
  applies the full radiometric model (Planck R1, R2, B, F, O, emissivity, reflected apparent
  temperature, object distance, atmospheric transmission); the parameters of every frame are
  stored in ``meta["radiometric"]``.
"""
from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .store import Session, SessionError

#: MLX90640 / MLX90641 frame shapes by pixel count
SHAPES = {768: (24, 32), 192: (12, 16)}


def _utc(s: str | None) -> datetime | None:
    if not s:
        return None
    try:
        d = datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def from_npz(path: str | Path) -> Session:
    """A ``tinyheat record`` ``.npz`` (frames (n,24,32) float32 degC, t_ms device ms since boot,
    ta_degC, meta JSON) as a session, losslessly: t_ms - t_ms[0], device t0 in ``meta``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "frames" not in z.files:
                raise SessionError(f"{path}: no 'frames' array (has {sorted(z.files)})")
            frames = np.asarray(z["frames"], dtype=np.float32)
            if frames.ndim == 2 and frames.shape[1] in SHAPES:
                frames = frames.reshape(-1, *SHAPES[frames.shape[1]])
            n = len(frames)
            t = np.asarray(z["t_ms"], dtype=np.int64) if "t_ms" in z.files else None
            ta = np.asarray(z["ta_degC"], dtype=np.float32) if "ta_degC" in z.files else None
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    except SessionError:
        raise
    except Exception as e:
        raise SessionError(f"{path}: not a readable .npz recording ({type(e).__name__}: {e})") from None
    if frames.ndim != 3:
        raise SessionError(f"{path}: frames has shape {frames.shape}, expected (n, H, W)")
    out_meta = {"sensor": "MLX90640" if frames.shape[1:] == (24, 32) else None,
                "firmware": meta.get("fw_version"), "emissivity": meta.get("emissivity"),
                "source": f"tinyheat record {path.name}", "recording_meta": meta}
    if t is None:
        t_rel = np.full(n, -1, np.int64)
        out_meta["t_ms_unknown"] = True
    else:
        if t.shape != (n,):
            raise SessionError(f"{path}: t_ms has shape {t.shape}, expected ({n},)")
        t0 = int(t[0]) if n else 0
        t_rel = t - t0
        out_meta["device_t0_ms"] = t0
        if n >= 2 and np.median(np.diff(t)) > 0:
            out_meta["refresh_hz"] = round(1000.0 / float(np.median(np.diff(t))), 3)
    return Session(frames, t_rel, start=_utc(meta.get("started_utc")), ta_degC=ta, meta=out_meta)


def _time_column(values: list[str]) -> tuple[np.ndarray, datetime | None]:
    """Parse a time column: wall-clock timestamps (ISO-like) or seconds. Returns (t_ms from the
    first, start datetime or None)."""
    try:
        secs = np.array([float(v) for v in values])
        return np.round((secs - secs[0]) * 1000).astype(np.int64), None
    except ValueError:
        pass
    stamps = []
    for v in values:
        try:
            stamps.append(datetime.fromisoformat(v.strip()))
        except ValueError:
            raise SessionError(f"time value {v!r} is neither seconds nor a timestamp") from None
    t0 = stamps[0]
    t = np.array([round((s - t0).total_seconds() * 1000) for s in stamps], dtype=np.int64)
    start = t0 if t0.tzinfo else None  # naive local time: wall clock of an unknown zone
    return t, (start.astimezone(timezone.utc) if start else None)


def from_time_csv(path: str | Path) -> Session:
    """A CSV with a header naming a time column (``Time``, ``t_s``, ``timestamp``...), optional
    ``ambient_degC``/``Ta`` column and pixel columns ``P000..`` / ``p000..`` (768 -> 24x32,
    192 -> 12x16, row-major). Raises SessionError if the header has no pixel columns."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as e:
        raise SessionError(f"{path}: cannot read ({e})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise SessionError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    pix = [i for i, h in enumerate(lower) if len(h) > 1 and h[0] == "p" and h[1:].isdigit()]
    if len(pix) not in SHAPES:
        raise SessionError(f"{path}: header has {len(pix)} pixel columns P000..; expected 768 or 192")
    tcol = next((i for i, h in enumerate(lower) if h in ("time", "t_s", "timestamp", "t", "time_s")), None)
    tacol = next((i for i, h in enumerate(lower) if h in ("ambient_degc", "ta", "ta_degc", "ambient")), None)
    body, skipped = [], []
    for ln, r in enumerate(rows[1:], start=2):
        if len(r) < len(header) or not any(x.strip() for x in r):
            if any(x.strip() for x in r):
                skipped.append(ln)
            continue
        body.append(r)
    if not body:
        raise SessionError(f"{path}: no data rows")
    try:
        frames = np.array([[float(r[i]) if r[i].strip() else np.nan for i in pix] for r in body], np.float32)
    except ValueError as e:
        raise SessionError(f"{path}: non-numeric pixel value ({e})") from None
    frames = frames.reshape(len(body), *SHAPES[len(pix)])
    meta = {"sensor": "MLX90640" if len(pix) == 768 else "MLX90641", "source": f"csv {path.name}",
            "skipped_lines": skipped}
    start = None
    if tcol is not None:
        t, start = _time_column([r[tcol] for r in body])
        if tcol == 0 and lower[tcol] == "time" and start is None:
            meta["wall_clock_local"] = body[0][tcol].strip()  # time zone not recorded by the tool
    else:
        t = np.full(len(body), -1, np.int64)
        meta["t_ms_unknown"] = True
    ta = np.array([float(r[tacol]) for r in body], np.float32) if tacol is not None else None
    if len(t) >= 2 and np.median(np.diff(t)) > 0:
        meta["refresh_hz"] = round(1000.0 / float(np.median(np.diff(t))), 3)
    return Session(frames, t, start=start, ta_degC=ta, meta=meta)


def from_frames_file(path: str | Path, period_ms: float | None = None) -> Session:
    """Any file ``tinyheat import-frames`` reads (via :func:`tinyheat.ingest.frames.load_frames`);
    t_ms from the file's t_ms, else frame index x ``period_ms``, else -1 (unknown)."""
    from ..ingest.frames import FrameFileError, load_frames

    try:
        fr = load_frames(path)
    except FrameFileError as e:
        raise SessionError(str(e)) from None
    n = len(fr.frames)
    meta = {"sensor": "MLX90640", "source": f"import-frames {Path(path).name}",
            "skipped": [list(s) for s in fr.skipped]}
    if fr.t_ms is not None:
        t = np.asarray(fr.t_ms, np.int64) - (int(fr.t_ms[0]) if n else 0)
    elif period_ms:
        t = np.round(np.arange(n) * period_ms).astype(np.int64)
        meta["refresh_hz"] = round(1000.0 / period_ms, 3)
        meta["t_ms_assumed"] = True
    else:
        t = np.full(n, -1, np.int64)
        meta["t_ms_unknown"] = True
    return Session(fr.frames, t, ta_degC=fr.ta_degC, meta=meta)


# --------------------------------------------------------------------------- FLIR

RADIOMETRIC_KEYS = ("Emissivity", "Object Distance", "Reflected Apparent Temperature", "Atmospheric Temperature",
                    "IR Window Temperature", "IR Window Transmission", "Relative Humidity", "Planck R1",
                    "Planck R2", "Planck B", "Planck F", "Planck O", "Atmospheric Trans Alpha 1",
                    "Atmospheric Trans Alpha 2", "Atmospheric Trans Beta 1", "Atmospheric Trans Beta 2",
                    "Atmospheric Trans X")


def flir_jpeg_fff(path: Path) -> bytes:
    """The FFF record embedded in a FLIR radiometric JPEG: the payloads of its APP1 ``FLIR\\0``
    segments in chunk order (each segment: ``FLIR\\0``, 0x01, chunk index, last index, 8-byte
    header; layout as documented by ExifTool's FLIR tags page). Raises SessionError if absent."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            apps = [d for m, d in getattr(im, "applist", []) if m == "APP1" and d.startswith(b"FLIR\x00")]
    except Exception as e:
        raise SessionError(f"{path}: not a readable JPEG ({e})") from None
    if not apps:
        raise SessionError(f"{path}: JPEG has no FLIR APP1 segments (not radiometric)")
    chunks = sorted(apps, key=lambda d: d[6])
    return b"".join(d[8:] for d in chunks)


def _flir_frames(path: Path):
    from ..errors import require

    Fff = require("flirpy.io.fff", "flir", "FLIR radiometric import").Fff
    Seq = require("flirpy.io.seq", "flir", "FLIR radiometric import").Seq

    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return [Fff(flir_jpeg_fff(path))]
    if suffix == ".fff":
        return [Fff(str(path))]
    seq = Seq(str(path))
    if len(seq) == 0:
        raise SessionError(f"{path}: no FFF frame found (not a FLIR .seq/.csq)")
    return [seq[i] for i in range(len(seq))]


def from_flir(path: str | Path, *, emissivity: float | None = None, reflected_degC: float | None = None,
              distance_m: float | None = None) -> Session:
    """FLIR radiometric ``.seq``/``.csq``/``.fff``/JPEG -> session in degC via flirpy's raw2temp
    (Planck constants and atmosphere from each frame's camera record). ``emissivity``,
    ``reflected_degC`` and ``distance_m`` override the camera's values. Frame times come from the
    camera record's ``Datetime (UTC)`` when present, else -1. Compressed (JPEG-LS) ``.csq`` frames
    are not decoded by flirpy: SessionError says so."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"{path}: no such file")
    try:
        fffs = _flir_frames(path)
    except SessionError:
        raise
    except Exception as e:
        raise SessionError(f"{path}: flirpy cannot parse it ({type(e).__name__}: {e})") from None
    frames, params, stamps = [], [], []
    for i, f in enumerate(fffs):
        m = dict(f.meta)
        if emissivity is not None:
            m["Emissivity"] = emissivity
        if reflected_degC is not None:
            m["Reflected Apparent Temperature"] = reflected_degC
        if distance_m is not None:
            m["Object Distance"] = distance_m
        try:
            img = np.asarray(f.get_radiometric_image(meta=m), dtype=np.float32)
        except Exception as e:
            hint = " (compressed JPEG-LS frames, e.g. most .csq files, are not supported by flirpy)" \
                if path.suffix.lower() == ".csq" else ""
            raise SessionError(f"{path}: frame {i}: raw data cannot be read ({e}){hint}") from None
        frames.append(img)
        params.append({k: _num(m.get(k)) for k in RADIOMETRIC_KEYS})
        stamps.append(m.get("Datetime (UTC)"))
    shapes = {fr.shape for fr in frames}
    if len(shapes) != 1:
        raise SessionError(f"{path}: frames of different sizes {sorted(shapes)}")
    first = fffs[0].meta
    t, start = _flir_times(stamps)
    same = all(p == params[0] for p in params)
    model = first.get("CameraModel") or first.get("Camera Model")
    if isinstance(model, bytes):
        model = model.split(b"\x00")[0].decode("latin-1")
    meta = {"sensor": model, "source": f"flir {path.name}",
            "emissivity": params[0]["Emissivity"], "reflected_degC": params[0]["Reflected Apparent Temperature"],
            "distance_m": params[0]["Object Distance"], "refresh_hz": _num(first.get("FrameRate")),
            "radiometric": params[0] if same else params, "radiometric_model": "flirpy.util.raw.raw2temp",
            "overrides": {"emissivity": emissivity, "reflected_degC": reflected_degC, "distance_m": distance_m}}
    if (t < 0).any():
        meta["t_ms_unknown"] = True
    else:
        meta["t_ms_resolution_ms"] = 1000  # the camera record's Datetime (UTC) has whole seconds
    return Session(np.stack(frames), t, start=start, meta=meta)


def _num(v):
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        try:
            x = float(str(v).split()[0])
        except (ValueError, IndexError):
            return str(v)
    return x if math.isfinite(x) else None


def _flir_times(stamps) -> tuple[np.ndarray, datetime | None]:
    ds = []
    for s in stamps:
        d = s if isinstance(s, datetime) else _utc(s) if isinstance(s, str) else None
        if d is not None and d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        ds.append(d)
    if not ds or any(d is None for d in ds):
        return np.full(len(stamps), -1, np.int64), None
    t = np.array([round((d - ds[0]).total_seconds() * 1000) for d in ds], np.int64)
    return t, ds[0]


# --------------------------------------------------------------------------- resampling

def downsample(s: Session, shape: tuple[int, int] = (24, 32)) -> Session:
    """Resample every frame to ``shape`` (H, W) degC. Smaller by an integer factor: area mean
    (:func:`skimage.transform.downscale_local_mean`); larger by an integer factor (an MLX90641's
    12 x 16 to 24 x 32): every pixel repeated (``numpy.repeat``), exactly the model input the
    firmware builds from an MLX90641 frame (``th_device``, firmware/README.md "MLX90641"), so a model
    trained on the result sees what the device feeds it; otherwise
    :func:`skimage.transform.resize` with anti-aliasing. NaN pixels are left out of each mean."""
    from skimage.transform import downscale_local_mean, resize

    h, w = s.frames.shape[1:]
    H, W = shape
    f = s.frames
    if H >= h and W >= w and H % h == 0 and W % w == 0:
        meta = dict(s.meta)
        meta["downsampled_from"] = [int(h), int(w)]
        meta["downsample_method"] = "pixel repeat"
        out = np.ascontiguousarray(f.repeat(H // h, axis=1).repeat(W // w, axis=2), dtype=np.float32)
        return Session(out, s.t_ms, start=s.start, ta_degC=s.ta_degC, meta=meta)
    valid = np.isfinite(f).astype(np.float32)
    f0 = np.where(valid > 0, f, 0).astype(np.float32)
    if h % H == 0 and w % W == 0:
        num = downscale_local_mean(f0, (1, h // H, w // W))
        den = downscale_local_mean(valid, (1, h // H, w // W))
    else:
        num = np.stack([resize(x, (H, W), order=1, anti_aliasing=True, preserve_range=True) for x in f0])
        den = np.stack([resize(x, (H, W), order=1, anti_aliasing=True, preserve_range=True) for x in valid])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0.5, num / np.maximum(den, 1e-9), np.nan).astype(np.float32)
    meta = dict(s.meta)
    meta["downsampled_from"] = [int(h), int(w)]
    meta["downsample_method"] = "area mean" if (h % H == 0 and w % W == 0) else "skimage resize, anti-aliased"
    return Session(out, s.t_ms, start=s.start, ta_degC=s.ta_degC, meta=meta)


# --------------------------------------------------------------------------- dispatch

KINDS = ("auto", "npz", "csv", "frames", "flir")


def detect_kind(path: Path) -> str:
    suf = path.suffix.lower()
    if suf == ".npz":
        return "npz"
    if suf in (".seq", ".csq", ".fff", ".jpg", ".jpeg"):
        return "flir"
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline(100_000)
    except OSError as e:
        raise SessionError(f"{path}: cannot read ({e})") from None
    cols = [c.strip().lower() for c in first.split(",")]
    if any(c in ("p000", "p0000") for c in cols):
        return "csv"
    return "frames"


def import_any(path: str | Path, kind: str = "auto", **kw) -> Session:
    """Import ``path`` with the importer for ``kind`` (``auto``: by suffix and header)."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"{path}: no such file")
    kind = detect_kind(path) if kind == "auto" else kind
    if kind == "npz":
        return from_npz(path)
    if kind == "csv":
        return from_time_csv(path)
    if kind == "frames":
        return from_frames_file(path, period_ms=kw.get("period_ms"))
    if kind == "flir":
        return from_flir(path, emissivity=kw.get("emissivity"), reflected_degC=kw.get("reflected_degC"),
                         distance_m=kw.get("distance_m"))
    raise SessionError(f"unknown import kind {kind!r} (one of {', '.join(KINDS)})")
