"""A session (``NAME.zarr``, datasets/SESSION.md) read as ``import-frames`` input, so
``tinyheat import-frames rec.zarr --label L --dataset D`` stores what ``tinyheat record`` wrote.

Frames come from :func:`tinyheat.session.read_session` (the one reader of the format) in the
chunks :func:`tinyheat.ingest.frames.import_frames` expects; each is checked with
:func:`~tinyheat.ingest.frames.frame_problem` like an ``.npz`` frame, and numbered 1-based
(``source`` = ``rec.zarr:<n>``). Session values are degC by the format, so ``--unit`` other than
C and ``--columns`` are refused.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from ..ingest.frames import CHUNK_FRAMES, FrameFileError, Frames, frame_problem, iter_frames
from .store import SessionError, read_session

#: frame size (rows, columns) import-frames stores: the MLX90640's 24 x 32
MLX90640_SHAPE = (24, 32)


def is_session(path: Path) -> bool:
    """True for a folder (a session is a Zarr folder; import-frames' other inputs are files)."""
    return Path(path).is_dir()


def iter_session_frames(path: str | Path, *, unit: str | None = None, columns=None,
                        chunk: int = CHUNK_FRAMES) -> Iterator[Frames]:
    """Frames of the session at ``path`` as :class:`~tinyheat.ingest.frames.Frames` chunks (degC,
    float32 (n, 24, 32); ``t_ms`` ms since the session start, None when a time is unknown;
    ``ta_degC`` None when unknown for every frame). FrameFileError (one line) for a folder that is
    not a readable session, a session that is not 24 x 32, or an option that does not apply."""
    path = Path(path)
    if columns is not None:
        raise FrameFileError(f"{path}: --columns applies to text files, not sessions")
    if unit not in (None, "C"):
        raise FrameFileError(f"{path}: a session holds degC by its format (datasets/SESSION.md); --unit {unit} "
                             f"does not apply")
    try:
        s = read_session(path)
        frames = s.frames
    except SessionError as e:
        raise FrameFileError(str(e)) from None
    if frames.shape[1:] != MLX90640_SHAPE:
        h, w = frames.shape[1:]
        raise FrameFileError(f"{path}: frames are {h}x{w}; import-frames stores MLX90640 24x32 frames "
                             f"(import-session --downsample 24x32 makes such a session)")
    t_ms = None if (s.t_ms < 0).any() else s.t_ms
    ta = None if not np.isfinite(s.ta_degC).any() else s.ta_degC
    for a in range(0, len(frames), chunk):
        keep, skipped = [], []
        for i in range(a, min(a + chunk, len(frames))):
            why = frame_problem(frames[i])
            (skipped.append((i + 1, why)) if why else keep.append(i))
        yield Frames(frames[keep], [i + 1 for i in keep], t_ms=None if t_ms is None else t_ms[keep],
                     ta_degC=None if ta is None else ta[keep], skipped=skipped,
                     notes=["read as a session (datasets/SESSION.md)"] if a == 0 else [])


def open_frames(path: str | Path, *, unit: str | None = None, columns=None, chunk: int = CHUNK_FRAMES):
    """:func:`iter_session_frames` for a session folder, else :func:`~tinyheat.ingest.frames.iter_frames`."""
    if is_session(Path(path)):
        return iter_session_frames(path, unit=unit, columns=columns, chunk=chunk)
    return iter_frames(path, unit=unit, columns=columns, chunk=chunk)
