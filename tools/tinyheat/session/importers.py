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
            frames = np.where(np.isinf(frames), np.float32(np.nan), frames)  # invalid pixel = NaN, never inf
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


class _Clock:
    """Frame times (ms since the first frame) from a header-named time column, streamed chunk by chunk.

    Numbers are seconds (milliseconds for ``t_ms``/``millis``/``ms``); otherwise ISO 8601 time
    stamps: with a zone (zones may differ between lines: each is converted to UTC) or all without
    one (a wall clock of unknown zone: the session gets no ``start``, ``meta.wall_clock_local``
    keeps the first). A time before the first frame's is an error naming the line (a local clock
    at a daylight-saving change goes back an hour); ``period_ms`` replaces the file's times.
    """

    def __init__(self, path: Path, column: str | None, period_ms: float | None, meta: dict):
        self.path, self.column, self.period_ms, self.meta = path, column, period_ms, meta
        self.kind: str | None = None   # "num" | "aware" | "naive"
        self.t0 = None
        self.start: datetime | None = None
        self.n = 0
        self.empty = 0
        if period_ms:
            meta["refresh_hz"] = round(1000.0 / period_ms, 3)
            meta["t_ms_assumed"] = True
            if column:
                meta["t_ms_replaced"] = f"column {column} ignored: --period-ms {period_ms:g}"
        elif not column:
            meta["t_ms_unknown"] = True

    def _parse(self, text: str, no: int):
        if self.kind in (None, "num"):
            try:
                v = float(text)
            except ValueError:
                if self.kind == "num":
                    raise SessionError(f"{self.path}: line {no}: time {text[:40]!r} is not a number like the "
                                       f"lines before") from None
            else:
                if not math.isfinite(v):
                    return None
                self.kind = "num"
                return v * (1.0 if self.column in ("t_ms", "millis", "ms") else 1000.0)
        try:
            d = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SessionError(f"{self.path}: line {no}: time {text[:40]!r} is neither seconds nor an ISO 8601 "
                               f"time stamp (e.g. 2026-01-31 08:00:00.250, years 1-9999)") from None
        kind = "aware" if d.tzinfo else "naive"
        if self.kind is None:
            self.kind = kind
        elif kind != self.kind:
            raise SessionError(f"{self.path}: line {no}: time {text[:40]!r} "
                               f"{'has a time zone' if d.tzinfo else 'has no time zone'} but the first "
                               f"{'does not' if d.tzinfo else 'does'}: times of unknown zone cannot be placed "
                               f"next to UTC ones; give every time a zone (e.g. +01:00) or none")
        return d

    def convert(self, texts: list[str | None] | None, where: list[int]) -> np.ndarray:
        k = len(where)
        if self.period_ms:
            t = np.round((self.n + np.arange(k)) * self.period_ms).astype(np.int64)
            self.n += k
            return t
        self.n += k
        if texts is None:
            return np.full(k, -1, np.int64)
        out = np.full(k, -1, np.int64)
        for i, (text, no) in enumerate(zip(texts, where)):
            if not text:
                self.empty += 1
                continue
            v = self._parse(text, no)
            if v is None:
                self.empty += 1
                continue
            if self.t0 is None:
                self.t0 = v
                if isinstance(v, datetime):
                    if v.tzinfo:
                        self.start = v.astimezone(timezone.utc)
                    else:
                        self.meta["wall_clock_local"] = text  # time zone not recorded by the tool
            dt = (v - self.t0).total_seconds() * 1000.0 if isinstance(v, datetime) else v - self.t0
            if dt < 0:
                hint = (" (a local clock without a zone going back at a daylight-saving change?)"
                        if self.kind == "naive" else "")
                raise SessionError(f"{self.path}: line {no}: time {text[:40]!r} is {-dt / 1000:.3f} s before the "
                                   f"first frame's{hint}; fix the times, or replace them with --period-ms")
            out[i] = round(dt)
        if self.empty:
            self.meta["t_ms_missing_frames"] = self.empty
        return out


class TextImport:
    """A frame text file (anything ``tinyheat import-frames`` reads, plus header-named time, Ta and
    MLX90641 ``p000..p191`` columns) streamed into a session: iterate it for ``(frames (k, H, W)
    float32 degC, t_ms (k,) int64, ta_degC (k,) float32)`` chunks; afterwards ``meta``, ``start``,
    ``skipped`` ((line, reason) of every line not imported) and ``notes`` describe the file.

    The reader is :func:`tinyheat.ingest.frames.iter_frames` (one reader for every importer: the
    same separator, decimal comma, BOM, unit, geometry, NaN/inf and cut-line rules). Memory is
    bounded by one chunk. Raises SessionError (one line) while iterating.
    """

    def __init__(self, path: str | Path, *, unit: str | None = None, period_ms: float | None = None,
                 columns: tuple[int, int] | None = None):
        self.path = Path(path)
        self.unit, self.period_ms, self.columns = unit, period_ms, columns
        self.meta: dict = {"sensor": None, "source": f"text {self.path.name}"}
        self.start: datetime | None = None
        self.skipped: list[tuple[int, str]] = []
        self.notes: list[str] = []

    def __iter__(self):
        from ..ingest.frames import SHAPES, FrameFileError, iter_frames

        clock = None
        diffs: list[np.ndarray] = []
        try:
            for fr in iter_frames(self.path, unit=self.unit, columns=self.columns, shapes=tuple(SHAPES.values())):
                self.skipped += fr.skipped
                self.notes += fr.notes
                if clock is None:
                    clock = _Clock(self.path, fr.time_column, self.period_ms, self.meta)
                if not len(fr.frames):
                    continue
                if self.meta["sensor"] is None:
                    self.meta["sensor"] = "MLX90640" if fr.frames.shape[1:] == (24, 32) else "MLX90641"
                t = clock.convert(fr.t_text, fr.where) if fr.t_ms is None else np.asarray(fr.t_ms, np.int64)
                if sum(len(d) for d in diffs) < 4096:
                    diffs.append(np.diff(t[t >= 0]))
                ta = fr.ta_degC if fr.ta_degC is not None else np.full(len(fr.frames), np.nan, np.float32)
                yield np.where(np.isfinite(fr.frames), fr.frames, np.nan).astype(np.float32), t, ta
        except FrameFileError as e:
            raise SessionError(str(e)) from None
        if clock is not None:
            self.start = clock.start
        d = np.concatenate(diffs) if diffs else np.zeros(0)
        if d.size and np.median(d) > 0 and not self.period_ms:
            self.meta["refresh_hz"] = round(1000.0 / float(np.median(d)), 3)
        self.meta["skipped_lines"] = [[int(no), why] for no, why in self.skipped[:1000]]
        if len(self.skipped) > 1000:
            self.meta["skipped_lines_total"] = len(self.skipped)
        if self.notes:
            self.meta["read_notes"] = list(dict.fromkeys(self.notes))

    def session(self) -> Session:
        """Every chunk in memory as one :class:`Session`."""
        parts = list(self)
        if not parts:
            raise SessionError(f"{self.path}: no valid frames"
                               + (f" ({len(self.skipped)} lines skipped, first: line {self.skipped[0][0]}: "
                                  f"{self.skipped[0][1]})" if self.skipped else ""))
        f, t, ta = (np.concatenate(x) for x in zip(*parts))
        return Session(f, t, start=self.start, ta_degC=ta, meta=self.meta)


def from_time_csv(path: str | Path, *, unit: str | None = None) -> Session:
    """A CSV with a header naming a time column (``Time``, ``t_s``, ``timestamp``...), optional
    ``ambient_degC``/``Ta`` column and pixel columns ``P000..`` / ``p000..`` (768 -> 24x32,
    192 -> 12x16, row-major), read by :class:`TextImport` (the import-frames reader)."""
    return TextImport(path, unit=unit).session()


def from_frames_file(path: str | Path, period_ms: float | None = None, *, unit: str | None = None) -> Session:
    """Any file ``tinyheat import-frames`` reads; t_ms from the file's time column or ``t_ms``,
    else frame index x ``period_ms``, else -1 (unknown). ``.npz``: see :func:`from_npz`."""
    if Path(path).suffix.lower() == ".npz":
        return from_npz(path)
    return TextImport(path, unit=unit, period_ms=period_ms).session()


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

def downsample_frames(frames: np.ndarray, shape: tuple[int, int] = (24, 32)) -> tuple[np.ndarray, str]:
    """Resample frames (k, h, w) degC to ``shape`` (H, W): (float32 (k, H, W), method name).
    Smaller by an integer factor: a box mean (skimage ``downscale_local_mean``); larger by an
    integer factor (an MLX90641's 12 x 16 to 24 x 32): every pixel repeated (``numpy.repeat``),
    exactly the model input the firmware builds from an MLX90641 frame (``th_device``,
    firmware/README.md "MLX90641"), so a model trained on the result sees what the device feeds it;
    other factors use
    :func:`skimage.transform.resize` with anti-aliasing. NaN pixels are left out of each mean."""
    from skimage.transform import downscale_local_mean, resize

    h, w = frames.shape[1:]
    H, W = shape
    f = frames
    if H >= h and W >= w and H % h == 0 and W % w == 0:
        return np.ascontiguousarray(f.repeat(H // h, axis=1).repeat(W // w, axis=2), dtype=np.float32), "pixel repeat"
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
    return out, "area mean" if (h % H == 0 and w % W == 0) else "skimage resize, anti-aliased"


def downsample(s: Session, shape: tuple[int, int] = (24, 32)) -> Session:
    """Every frame of ``s`` resampled to ``shape`` (H, W) degC (:func:`downsample_frames`: area mean, or pixel repeat when larger)."""
    h, w = s.frames.shape[1:]
    out, method = downsample_frames(s.frames, shape)
    meta = dict(s.meta)
    meta["downsampled_from"] = [int(h), int(w)]
    meta["downsample_method"] = method
    return Session(out, s.t_ms, start=s.start, ta_degC=s.ta_degC, meta=meta)


# --------------------------------------------------------------------------- dispatch

KINDS = ("auto", "npz", "text", "csv", "frames", "flir")


def detect_kind(path: Path) -> str:
    """``npz``, ``flir`` (by suffix) or ``text`` (everything the frame reader reads)."""
    suf = path.suffix.lower()
    if suf == ".npz":
        return "npz"
    if suf in (".seq", ".csq", ".fff", ".jpg", ".jpeg"):
        return "flir"
    return "text"


def open_import(path: str | Path, kind: str = "auto", **kw):
    """A streaming import of ``path``: a :class:`TextImport` for text files, else the whole
    :class:`Session` (``.npz`` and FLIR files are read at once). ``kw``: ``period_ms``, ``unit``,
    ``emissivity``, ``reflected_degC``, ``distance_m``."""
    path = Path(path)
    if not path.is_file():
        hint = (" (it is a session folder already: `tinyheat play`/`people`/`heatmap` read it)"
                if path.is_dir() and (path / "zarr.json").exists() else "")
        raise SessionError(f"{path}: no such file{hint}")
    kind = detect_kind(path) if kind == "auto" else kind
    if kind == "npz":
        return from_npz(path)
    if kind in ("csv", "frames", "text"):
        return TextImport(path, unit=kw.get("unit"), period_ms=kw.get("period_ms"))
    if kind == "flir":
        return from_flir(path, emissivity=kw.get("emissivity"), reflected_degC=kw.get("reflected_degC"),
                         distance_m=kw.get("distance_m"))
    raise SessionError(f"unknown import kind {kind!r} (one of {', '.join(KINDS)})")


def import_any(path: str | Path, kind: str = "auto", **kw) -> Session:
    """Import ``path`` with the importer for ``kind`` (``auto``: by suffix), all in memory."""
    src = open_import(path, kind, **kw)
    return src.session() if isinstance(src, TextImport) else src
