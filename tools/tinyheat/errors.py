"""Errors a user can fix, and the small guards that raise them. Bottom layer: imports nothing from tinyheat.

Any module may raise :class:`UserError` (or a subclass) for bad input, a missing file, a full disk
or a refused overwrite. The ``tinyheat`` command (``tinyheat.cli``) turns it, and the other known
error types listed in ``tinyheat.cli.USER_ERRORS``, into a one-line message with exit status 1
(usage errors: 2); ``tinyheat --debug ...`` shows the traceback instead.
"""
from __future__ import annotations

import errno
import importlib
from pathlib import Path


class UserError(Exception):
    """A problem the user can fix (bad input, missing file, refused overwrite); the message says what to do.

    ``exit_code``: 1 (default) or 2 (a usage error).
    """

    exit_code = 1


class OverwriteError(UserError):
    """The output exists and ``--force`` was not given; nothing was written."""


class DatasetError(UserError):
    """A dataset folder or its ``manifest.csv`` violates ``datasets/FORMAT.md``; the message names the row."""


class MissingExtraError(UserError):
    """A feature needs an optional dependency group (pyproject.toml ``[project.optional-dependencies]``)."""


def require(module: str, extra: str, feature: str):
    """Import ``module`` for ``feature``, or raise :class:`MissingExtraError` naming the extra to install
    (``pip install 'tinyheat[EXTRA]'``). The heavy, feature-specific dependencies (FLIR files: flirpy
    and OpenCV; MP4: an ffmpeg binary; Dask) are extras so the core kit installs without them."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(f"{feature} needs the optional dependency {e.name or module}: "
                                f"pip install 'tinyheat[{extra}]'") from None


def ensure_new_dir(path: str | Path, force: bool = False) -> Path:
    """Make sure ``path`` can be used as a fresh output folder; return it as a Path (not created).

    A missing or empty folder is fine. An existing non-empty folder raises :class:`OverwriteError`
    unless ``force`` (then the caller may write into it, replacing files of the same name); a
    file at ``path`` always raises :class:`UserError`.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{p} exists and is not a folder")
    if p.is_dir() and not force and any(p.iterdir()):
        raise OverwriteError(f"{p} already exists and is not empty; choose another folder or pass --force")
    return p


def ensure_new_file(path: str | Path, force: bool = False) -> Path:
    """Make sure ``path`` may be written: OverwriteError if it exists (file or folder) and ``force``
    is not set. Returns it as a Path (not created)."""
    p = Path(path)
    if p.exists() and not force:
        raise OverwriteError(f"{p} already exists; pass --force to replace it")
    return p


def describe_os_error(e: OSError) -> str:
    """One line for an OSError: the path, the reason, and a hint for the common cases (ENOSPC, EACCES, ELOOP)."""
    where = f"{e.filename}: " if getattr(e, "filename", None) else ""
    reason = e.strerror or str(e)
    hint = {errno.ENOSPC: " (disk full: free some space and run the command again)",
            errno.EACCES: " (permission denied: check the folder's permissions or choose another)",
            errno.EROFS: " (read-only file system: choose a writable folder)",
            errno.ELOOP: " (symbolic link loop: remove or fix the link)"}.get(e.errno, "")
    return f"{where}{reason}{hint}"


#: matplotlib backends that draw to files only (matplotlib.backends.BackendFilter.NON_INTERACTIVE)
_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


class NoDisplayError(UserError):
    """A command that opens a window was run where no window can be shown; nothing was done."""


def require_display(instead: str) -> None:
    """Raise :class:`NoDisplayError` (one line, ending with ``instead``: what to run instead) when
    no window can be opened: on Linux/BSD neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` is set, or
    matplotlib's backend (``MPLBACKEND``, matplotlibrc, or its automatic choice) only draws to
    files, e.g. ``agg``. Without this check pyplot falls back to ``agg`` silently and a window
    command shows nothing (``play``) or waits forever (``monitor``)."""
    import os
    import sys

    if sys.platform not in ("darwin", "win32") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NoDisplayError(f"no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set); {instead}")
    import matplotlib

    backend = str(matplotlib.get_backend()).lower()
    if backend in _FILE_BACKENDS or backend.startswith("module://matplotlib_inline"):
        raise NoDisplayError(f"matplotlib's backend {backend!r} cannot open a window (set MPLBACKEND=TkAgg or "
                             f"QtAgg, or install python3-tk); {instead}")
