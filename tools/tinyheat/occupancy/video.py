"""Read ordinary video (any file OpenCV's FFmpeg back end opens: MP4, AVI, MKV, MOV, animated GIF, ...)
or a folder of time-stamped images as a stream of time-stamped frames, one at a time (memory does not
grow with the video's length). Spec: ``datasets/HEATMAP.md`` section 8.

Frame times are the container's presentation times (``cv2.CAP_PROP_POS_MSEC``), so a variable frame
rate is followed frame by frame. The absolute start is ``start`` if given, else the container's
``creation_time`` tag (read with the FFmpeg binary of ``imageio-ffmpeg``), taken as the time of the
first frame; otherwise :class:`VideoError` (nothing is guessed).

Image folders: every file with an image suffix must carry its UTC time in its name, either
``YYYY-MM-DD[T_ ]HH[:-]MM[:-]SS[.fff]``, ``YYYYMMDD[T_-]HHMMSS[fff]`` (optionally ending in ``Z``) or
10-digit epoch seconds / 13-digit epoch milliseconds; a name without a time is an error.
"""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import UserError, require

#: image suffixes of a frame folder
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
#: suffixes treated as video files (anything else that is not a folder is left to the thermal importers)
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".gif", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
#: a frame later than the container's duration by more than this is fine; a video that stops earlier is truncated
TRUNCATION_TOLERANCE_S = 1.0


class VideoError(UserError):
    """A video or image folder that cannot be used (one-line reason)."""


def is_video(path: str | Path) -> bool:
    """True for a video file (by suffix) or a folder holding images (and no session ``zarr.json``)."""
    p = Path(path)
    if p.is_dir():
        return not (p / "zarr.json").exists() and not (p / "manifest.json").exists() and any(
            f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir())
    return p.suffix.lower() in VIDEO_SUFFIXES


def cv2_module():
    """OpenCV (``opencv-python-headless``, extra ``[video]``), with a one-line error when missing."""
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own log lines: our errors say what failed
    return require("cv2", "video", "video input")


@dataclass
class VideoInfo:
    """``size`` (W, H) pixels; ``fps`` nominal frames/s (0 when unknown); ``frames`` the container's
    frame count (0 when unknown); ``duration_s`` (0 when unknown); ``start`` tz-aware UTC time of
    the first frame; ``start_from`` where it came from ("--start", "creation_time", "file names")."""

    path: Path
    size: tuple[int, int]
    fps: float
    frames: int
    duration_s: float
    start: datetime
    start_from: str


def creation_time(path: str | Path) -> datetime | None:
    """The container's ``creation_time`` tag (UTC) read from ``ffmpeg -i`` (the binary shipped by
    imageio-ffmpeg), or None when absent, unreadable or imageio-ffmpeg is not installed. A tag of
    1970-01-01 or 1904-01-01 (an unset MP4 time) counts as absent."""
    try:
        import imageio_ffmpeg
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None
    try:
        out = subprocess.run([exe, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                             text=True, errors="replace", timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"creation_time\s*:\s*(\S+)", out)
    if not m:
        return None
    try:
        t = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
    except ValueError:
        return None
    t = t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
    return None if t.year in (1904, 1970) else t


_NAME_TIMES = [
    re.compile(r"(\d{4})-(\d{2})-(\d{2})[T_ ](\d{2})[:\-](\d{2})[:\-](\d{2})(?:[.,](\d{1,6}))?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})[T_\-](\d{2})(\d{2})(\d{2})(\d{3})?(?!\d)"),
]


def name_time_ms(name: str) -> int | None:
    """UTC epoch ms from an image file name (module docstring), or None."""
    for rx in _NAME_TIMES:
        m = rx.search(name)
        if m:
            y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
            frac = m.group(7) or ""
            try:
                t = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
            except ValueError:
                return None
            return int(t.timestamp()) * 1000 + (int((frac + "000")[:3]) if frac else 0)
    m = re.fullmatch(r"(\d{13}|\d{10})", Path(name).stem)
    if m:
        v = int(m.group(1))
        return v if len(m.group(1)) == 13 else v * 1000
    return None


class VideoReader:
    """Frames of a video file or image folder, streamed. ``info`` is read on construction (errors
    early); iterate to get ``(t_ms, frame)``: ``t_ms`` int ms since the first frame (non-decreasing),
    ``frame`` uint8 (H, W, 3) BGR. Raises :class:`VideoError` for an unreadable file, zero frames,
    time stamps that go backwards, or a file that ends well before its stated duration (truncated)."""

    def __init__(self, path: str | Path, start: datetime | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file or folder")
        self.cv2 = cv2_module()
        if self.path.is_dir():
            self._files = self._folder()
            first = self.cv2.imread(str(self._files[0][1]), self.cv2.IMREAD_COLOR)
            if first is None:
                raise VideoError(f"{self._files[0][1]}: not a readable image")
            t0 = self._files[0][0]
            span = (self._files[-1][0] - t0) / 1000.0
            st, how = (start, "--start") if start else (datetime.fromtimestamp(t0 / 1000, tz=timezone.utc), "file names")
            self.info = VideoInfo(self.path, (first.shape[1], first.shape[0]), 0.0, len(self._files), span, st, how)
            return
        self._files = None
        cap = self.cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise VideoError(f"{self.path}: not a video OpenCV can read (corrupt, truncated or unknown format)")
            w, h = int(cap.get(self.cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(self.cv2.CAP_PROP_FRAME_HEIGHT))
            fps = float(cap.get(self.cv2.CAP_PROP_FPS) or 0.0)
            n = int(max(cap.get(self.cv2.CAP_PROP_FRAME_COUNT), 0))
            ok, first = cap.read()  # the decoded size (OpenCV applies a rotation tag; the stream's size does not)
            if ok and first is not None:
                w, h = first.shape[1], first.shape[0]
        finally:
            cap.release()
        if w <= 0 or h <= 0:
            raise VideoError(f"{self.path}: no video stream")
        dur = n / fps if fps > 0 and n > 0 else 0.0
        if start is not None:
            st, how = start, "--start"
        else:
            st, how = creation_time(self.path), "creation_time"
            if st is None:
                raise VideoError(f"{self.path}: no creation time in the file; give --start (UTC time of its first frame)")
        self.info = VideoInfo(self.path, (w, h), fps, n, dur, st, how)

    def _folder(self) -> list[tuple[int, Path]]:
        files = sorted(f for f in self.path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise VideoError(f"{self.path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        out = []
        for f in files:
            t = name_time_ms(f.name)
            if t is None:
                raise VideoError(f"{f}: no time in the file name (e.g. 2026-01-31T08-00-00.250Z.jpg or epoch ms)")
            out.append((t, f))
        out.sort()
        dup = [b for a, b in zip(out, out[1:]) if a[0] == b[0]]
        if dup:
            raise VideoError(f"{dup[0][1]}: same time as another image in {self.path}")
        return out

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._files is not None:
            yield from self._iter_folder()
        else:
            yield from self._iter_file()

    def _iter_folder(self):
        cv2 = self.cv2
        t0 = self._files[0][0]
        size = self.info.size
        for t, f in self._files:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                raise VideoError(f"{f}: not a readable image")
            if (img.shape[1], img.shape[0]) != size:
                raise VideoError(f"{f}: {img.shape[1]}x{img.shape[0]} pixels, the first image is {size[0]}x{size[1]}")
            yield t - t0, img

    def _iter_file(self):
        cv2 = self.cv2
        cap = cv2.VideoCapture(str(self.path))
        fps = self.info.fps
        n, last, first = 0, None, None
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                pos = cap.get(cv2.CAP_PROP_POS_MSEC)
                if not np.isfinite(pos) or (pos <= 0 and n > 0):
                    if fps <= 0:
                        raise VideoError(f"{self.path}: frame {n} has no time stamp and the file states no frame rate")
                    pos = (first or 0.0) + n * 1000.0 / fps
                first = pos if first is None else first
                t = int(round(pos - first))
                if last is not None and t < last:
                    raise VideoError(f"{self.path}: time stamps go backwards at frame {n} ({t} ms after {last} ms)")
                if frame.ndim == 2:
                    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                last = t
                n += 1
                yield t, frame
        finally:
            cap.release()
        if n == 0:
            raise VideoError(f"{self.path}: no frames could be decoded (empty, corrupt or truncated video)")
        stated = self.info.duration_s
        if self.info.frames > 1 and n < 0.98 * self.info.frames and stated > 0 and \
                last / 1000.0 + 1000.0 / max(fps, 1e-9) / 1000.0 < stated - TRUNCATION_TOLERANCE_S:
            raise VideoError(f"{self.path}: truncated or corrupt: decoded {n} of {self.info.frames} frames "
                             f"(up to {last / 1000:.1f} s of {stated:.1f} s)")
