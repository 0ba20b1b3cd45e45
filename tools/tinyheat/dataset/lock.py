"""One writer at a time per folder: an exclusive lock (the maintained ``filelock`` package) plus a
side file saying who holds it.

``DATASET/.tinyheat.lock`` is the lock (``fcntl.flock`` on Linux/macOS, ``msvcrt.locking`` on
Windows, through ``filelock.FileLock``); the operating system drops it when its process ends, so a
writer killed with SIGKILL or a power cut never leaves a stale lock behind. ``DATASET/.tinyheat.lock.owner``
(the side file) holds one line, ``pid <PID> on <HOST> since <UTC time>: <command line>``, written
after the lock is taken; a second writer prints it while it waits and in its time-out error.

The wait is :data:`DEFAULT_TIMEOUT_S` unless the environment variable ``TINYHEAT_LOCK_TIMEOUT``
(seconds; ``0`` = do not wait) says otherwise.
"""
from __future__ import annotations

import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import UserError

LOCK_NAME = ".tinyheat.lock"
OWNER_SUFFIX = ".owner"
#: Seconds a second writer waits for the first before it gives up (a card ingest takes minutes).
DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "TINYHEAT_LOCK_TIMEOUT"


class FolderBusy(UserError):
    """Another process holds the folder's writer lock and did not let go within the time-out."""


def _timeout() -> float:
    v = os.environ.get(TIMEOUT_ENV, "").strip()
    if not v:
        return DEFAULT_TIMEOUT_S
    try:
        return max(0.0, float(v))
    except ValueError:
        raise UserError(f"{TIMEOUT_ENV}={v!r} is not a number of seconds") from None


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def owner_line() -> str:
    """``pid P on HOST since T: COMMAND`` for this process (T: UTC, seconds)."""
    since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    cmd = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    return f"pid {os.getpid()} on {socket.gethostname()} since {since}: {cmd[:300]}"


class WriterLock:
    """Exclusive writer lock of ``folder`` (created if missing); :meth:`acquire` / :meth:`release`
    or a ``with`` block. Re-entrant within one thread of one process (``filelock`` singleton), so
    nested stores on one folder in one program do not wait for themselves.

    ``what`` names the folder in messages (``dataset``, ``heat-map store``); ``notify`` receives the
    one-line "waiting" message (default: stderr); ``lock_name`` is the lock file's name in the folder
    (the heat-map store and its frames roots use ``.lock``, datasets/HEATMAP.md); ``error`` is the
    UserError class raised on a time-out (default :class:`FolderBusy`).
    """

    def __init__(self, folder: str | Path, what: str = "dataset", notify: Callable[[str], None] | None = None,
                 lock_name: str = LOCK_NAME, error: type[UserError] | None = None):
        from filelock import FileLock

        self.folder = Path(folder)
        self.what = what
        self.notify = notify or _stderr
        self.error = error or FolderBusy
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / lock_name
        self.owner_path = self.folder / (lock_name + OWNER_SUFFIX)
        self._lock = FileLock(str(self.path), is_singleton=True)
        self._held = False

    def holder(self) -> str:
        """The side file's line (who holds the lock), or a placeholder when it cannot be read."""
        try:
            return self.owner_path.read_text(encoding="utf-8", errors="replace").strip() or "an unknown process"
        except OSError:
            return "an unknown process"

    def acquire(self) -> "WriterLock":
        from filelock import Timeout

        if self._held:
            return self
        timeout = _timeout()
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            who = self.holder()
            if timeout <= 0:
                raise self.error(f"{self.folder}: another writer is using this {self.what} ({who}); run the command "
                                 f"again when it has finished") from None
            self.notify(f"waiting for {who} ({self.folder}: another writer is using this {self.what}); "
                        f"waiting up to {timeout:g} s ({TIMEOUT_ENV} changes this)")
            try:
                self._lock.acquire(timeout=timeout)
            except Timeout:
                raise self.error(f"{self.folder}: still in use by another writer after {timeout:g} s ({who}); run "
                                 f"the command again when it has finished, or set {TIMEOUT_ENV} to wait "
                                 f"longer") from None
        self._held = True
        if self._lock.lock_counter == 1:
            try:
                self.owner_path.write_text(owner_line() + "\n", encoding="utf-8")
            except OSError:
                pass  # the lock itself holds; only the courtesy line is missing (e.g. a full disk)
        return self

    def release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
