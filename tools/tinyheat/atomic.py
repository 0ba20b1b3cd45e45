"""Write an output file or folder completely or not at all: into a hidden temporary sibling, renamed
into place at the end. Bottom layer: imports nothing from tinyheat.

``with atomic_output(Path("out.zarr"), force=False) as tmp:`` yields ``.out.partial-<pid>.zarr``
next to the output (same folder, so the final ``rename`` is atomic on POSIX file systems). On
success it becomes ``out.zarr``; on any exception, Ctrl-C included, it is removed; a writer killed
with SIGKILL or a power cut leaves it behind, and the next :func:`atomic_output` for the same output
removes it (:func:`remove_stale`: temporary siblings whose process is gone). So an interrupted
command never leaves a half-written output under the final name, and its re-run starts afresh.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

TAG = ".partial-"


def temp_sibling(final: Path) -> Path:
    """``.<stem>.partial-<pid><suffix>`` beside ``final`` (the suffix kept: writers choose the format by it)."""
    return final.parent / f".{final.stem}{TAG}{os.getpid()}{final.suffix}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        for _ in range(20):  # a library's I/O threads (zarr) may still finish writes into it: retry
            shutil.rmtree(p, ignore_errors=True)
            if not os.path.lexists(p):
                return
            time.sleep(0.05)
    else:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def remove_stale(final: Path) -> list[Path]:
    """Remove temporary siblings of ``final`` left by killed writers (their pid is not running); returns them."""
    pat = re.compile(re.escape(f".{final.stem}{TAG}") + r"(\d+)" + re.escape(final.suffix) + "$")
    gone = []
    try:
        names = os.listdir(final.parent if str(final.parent) else ".")
    except OSError:
        return gone
    for n in names:
        m = pat.match(n)
        if m and not _alive(int(m[1])):
            _remove(final.parent / n)
            gone.append(final.parent / n)
    return gone


@contextmanager
def atomic_output(final: str | Path, *, force: bool = False,
                  replaceable: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a temporary sibling path for ``final`` (not created); move it to ``final`` on success.

    ``force``: an existing ``final`` is replaced (moved aside, then removed, after the new one is
    in place); without it an existing ``final`` raises FileExistsError, checked before the work
    starts and again before the rename (an empty folder is replaced). ``replaceable(final)``: even
    with ``force``, an existing non-empty ``final`` it rejects (e.g. a folder that is not a session)
    raises FileExistsError and is never touched. On an exception the temporary output is removed
    and the exception propagates.
    """
    final = Path(final)

    def check() -> None:
        if not os.path.lexists(final) or (final.is_dir() and not any(final.iterdir())):
            return
        if not force:
            raise FileExistsError(17, "exists; pass --force to replace it", str(final))
        if replaceable is not None and not replaceable(final):
            raise FileExistsError(17, "exists and is not what this command writes; not replacing it "
                                      "(choose another output)", str(final))

    check()  # before any work: a long import or render is not thrown away at the end
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final)
    tmp = temp_sibling(final)
    _remove(tmp)
    try:
        yield tmp
        old = None
        if os.path.lexists(final):
            check()
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            _remove(old)
            os.rename(final, old)
        os.rename(tmp, final)
        if old is not None:
            _remove(old)
    except BaseException:
        _remove(tmp)
        raise
