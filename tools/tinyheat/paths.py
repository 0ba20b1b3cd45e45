"""Where tinyheat finds the firmware sources it builds (the simulated device) and writes (the model).

Order: the ``TINYHEAT_FIRMWARE`` environment variable; the ``firmware/`` folder of the source
checkout this package runs from (editable install); the copy shipped inside the package
(``tinyheat/_firmware``, put there by ``setup.py`` when a wheel is built). Build outputs go to a
per-user cache folder when the firmware folder is not writable (an installed package).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import UserError

_PKG = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The repository root when this package runs from a source checkout (``tools/tinyheat``), else None."""
    root = _PKG.parents[1]
    if (root / "firmware" / "lib").is_dir() and (root / "pyproject.toml").is_file():
        return root
    return None


#: What a firmware folder must hold (checked for ``TINYHEAT_FIRMWARE``).
FIRMWARE_PARTS = ("lib/tinyheat_core/th_device.c", "lib/tinyheat_link/th_link.c", "host/Makefile",
                  "include/tinyheat_config.h", "src/model_params.c")


class FirmwareDirError(UserError, FileNotFoundError):
    """``TINYHEAT_FIRMWARE`` names a missing or incomplete firmware folder (one-line message)."""


def firmware_dir() -> Path:
    """The firmware source tree (``lib/``, ``host/``, ``include/``). FileNotFoundError if none is found;
    :class:`FirmwareDirError` (a user error, one line) if ``TINYHEAT_FIRMWARE`` is set to a folder
    that is missing or lacks any of :data:`FIRMWARE_PARTS` (it is never silently skipped)."""
    env = os.environ.get("TINYHEAT_FIRMWARE")
    if env:
        fw = Path(env).expanduser()
        if not fw.is_dir():
            raise FirmwareDirError(f"TINYHEAT_FIRMWARE={env}: no such folder (point it at a tinyheat checkout's "
                                   "firmware/ folder, or unset it)")
        missing = [p for p in FIRMWARE_PARTS if not (fw / p).is_file()]
        if missing:
            raise FirmwareDirError(f"TINYHEAT_FIRMWARE={env} is not a complete tinyheat firmware folder: "
                                   f"missing {', '.join(missing)}")
        return fw
    candidates = []
    root = checkout_root()
    if root is not None:
        candidates.append(root / "firmware")
    candidates.append(_PKG / "_firmware")
    for c in candidates:
        if (c / "lib").is_dir() and (c / "host").is_dir():
            return c
    raise FileNotFoundError("firmware sources not found: set TINYHEAT_FIRMWARE to a tinyheat checkout's firmware/ "
                            "folder (searched: " + ", ".join(map(str, candidates)) + ")")


def build_dir(name: str) -> Path:
    """A writable build folder for ``name``: ``firmware/build/<name>`` in a checkout, else
    ``$XDG_CACHE_HOME/tinyheat/<name>`` (default ``~/.cache/tinyheat/<name>``)."""
    fw = firmware_dir()
    if os.access(fw, os.W_OK) and checkout_root() is not None and fw == checkout_root() / "firmware":
        return fw / "build" / name
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "tinyheat" / name


@contextlib.contextmanager
def build_lock(folder: str | Path):
    """Hold an exclusive lock on ``folder/.build.lock`` (created) while building into ``folder``, so
    that two builds into the same folder (two ``tinyheat sim-device`` at once, parallel test
    workers) run one after the other instead of overwriting each other's objects. POSIX ``flock``;
    elsewhere no lock is taken."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: the simulated device (a pty) does not run there anyway
        yield
        return
    with open(folder / ".build.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
