"""Data-safety campaign (issue 15): messy inputs through the ``tinyheat`` command line, each case
classified as *right*, *clean error* (exit 1, one ``Error:`` line) or *bad* (silently wrong, data
loss, hang, traceback / pages of noise), with counts per cause.

    python tools/campaign_safety.py [--seed 0] [--rounds 3] [--keep DIR] [--only WORD]

Every case runs real processes (``python -m tinyheat.cli ...``) in a temporary folder: two writers
into one dataset at once, SIGINT (Ctrl-C) and SIGKILL (kill -9) at random moments followed by a
re-run compared with an uninterrupted run, and a full disk (a 2 MB tmpfs; needs root and
``mount``: skipped with a note otherwise). Takes a few minutes on 2 cores. Not a test: it prints
figures (README, "Data safety"); tests/test_session_safety.py and tests/test_concurrent_writers.py
hold the fast regression tests.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PY = sys.executable
TIMEOUT_S = 180

# ----------------------------------------------------------------------------------- running


@dataclass
class Run:
    rc: int | None
    out: str
    err: str
    hung: bool = False
    seconds: float = 0.0


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background child would otherwise ignore Ctrl-C


def th(*args, cwd=None, env=None, timeout=TIMEOUT_S) -> Run:
    t0 = time.monotonic()
    try:
        p = subprocess.run([PY, "-m", "tinyheat.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                           timeout=timeout, env=env, preexec_fn=_default_sigint)
        return Run(p.returncode, p.stdout, p.stderr, seconds=time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        return Run(None, str(e.stdout or ""), str(e.stderr or ""), hung=True, seconds=timeout)


def start(*args, cwd=None, env=None) -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "tinyheat.cli", *map(str, args)], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)


_PROGRESS = re.compile(r"\d+%\||frame/s|sample/s|it/s|^\s*\d+ frames$|^waiting for ")


def err_lines(err: str) -> list[str]:
    """stderr lines without progress bars (tqdm redraws with \\r) and the lock's waiting line."""
    out = []
    for ln in err.replace("\r", "\n").splitlines():
        if ln.strip() and not _PROGRESS.search(ln):
            out.append(ln)
    return out


def verdict_error(r: Run, must: str | None = None) -> tuple[str, str]:
    """For a case that must fail: clean (one Error: line, exit 1), else bad."""
    if r.hung:
        return "bad: hang", "no answer"
    lines = err_lines(r.err) + [ln for ln in r.out.splitlines() if ln.startswith("Error:")]
    if "Traceback" in r.err:
        return "bad: traceback", (lines[-1] if lines else "")[:160]
    if r.rc == 0:
        return "bad: silently wrong", "exit 0 where an error was due: " + (r.out.strip().splitlines() or [""])[0][:120]
    errs = [ln for ln in lines if ln.startswith("Error:")]
    if len(errs) != 1 or len([ln for ln in lines if not ln.startswith("  ")]) > 2:
        return "bad: traceback", f"{len(lines)} lines of noise: " + " | ".join(lines[-3:])[:160]
    if must and must.lower() not in errs[0].lower():
        return "bad: silently wrong", f"message lacks {must!r}: {errs[0][:160]}"
    return "clean error", errs[0][:160]


def verdict_ok(r: Run, check=None) -> tuple[str, str]:
    """For a case that must succeed: right if exit 0 and ``check()`` (a str = what is wrong, or None)."""
    if r.hung:
        return "bad: hang", "no answer"
    if "Traceback" in r.err:
        return "bad: traceback", err_lines(r.err)[-1][:160]
    if r.rc != 0:
        lines = err_lines(r.err) + [ln for ln in r.out.splitlines() if ln.startswith("Error:")]
        return "bad: refused a good input", (lines[-1] if lines else f"exit {r.rc}")[:160]
    why = check() if check else None
    if why:
        return "bad: silently wrong", why[:160]
    return "right", (r.out.strip().splitlines() or [""])[0][:160]


# ----------------------------------------------------------------------------------- inputs

HDR = "Time,RT," + ",".join(f"P{i:03d}" for i in range(768))
H41 = "frame,t_s,delay_s,ambient_degC," + ",".join(f"p{i:03d}" for i in range(192))


def frame(rng, base=22.0, k=0) -> np.ndarray:
    f = base + rng.normal(0, 0.3, 768)
    c = (k * 3) % 24
    f[c * 32:(c + 3) * 32] += 10.0
    return f


def csv_lines(times, frames, sep=",", dec=False, header=HDR) -> list[str]:
    out = [header.replace(",", sep)]
    for t, f in zip(times, frames):
        vals = [f"{v:.2f}" for v in f]
        if dec:
            vals = [v.replace(".", ",") for v in vals]
        out.append(sep.join([t, "0", *vals]))
    return out


def write(path: Path, lines, bom=False) -> Path:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def session_frames(path: Path):
    import zarr

    g = zarr.open_group(str(path), mode="r")
    n = g.attrs["n_frames"]
    return np.asarray(g["frames"][:n]), np.asarray(g["t_ms"][:n])


def manifest_set(ds: Path) -> set:
    from tinyheat.dataset.store import read_manifest

    return {(r.file, r.sha256) for r in read_manifest(ds)}


def manifest_content(ds: Path) -> Counter:
    from tinyheat.dataset.store import read_manifest

    return Counter(r.sha256 for r in read_manifest(ds))


def visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


def hidden_partials(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".partial-" in n)


# ----------------------------------------------------------------------------------- cases

CASES: list[tuple[str, str, object]] = []


def case(cause: str, name: str):
    def deco(fn):
        CASES.append((cause, name, fn))
        return fn
    return deco


C1, C2, C3, C4, C5, C6, CN = ("1 two writers at once", "2 one reader for every importer", "3 units",
                              "4 damaged sessions", "5 interrupted writers", "6 tracebacks and noise",
                              "newcomer (cheap ones)")


class Ctx:
    def __init__(self, root: Path, seed: int, rounds: int):
        self.root, self.rng, self.rounds = root, np.random.default_rng(seed), rounds
        self.random = random.Random(seed)
        self._n = 0

    def dir(self, name: str) -> Path:
        self._n += 1
        d = self.root / f"{self._n:03d}-{name}"
        d.mkdir()
        return d

    def frames_csv(self, d: Path, n: int, name="f.csv", base=22.0, **kw) -> Path:
        return write(d / name, csv_lines([f"{i * 0.125:.3f}" for i in range(n)],
                                         [frame(self.rng, base, i) for i in range(n)], **kw))


# -- 1 two writers -------------------------------------------------------------------------------

def _two_writers(ctx, d, cmds, expect_frames):
    procs = [start(*c, cwd=d) for c in cmds]
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=TIMEOUT_S))
        except subprocess.TimeoutExpired:
            p.kill()
            return "bad: hang", "a writer did not finish"
    if any("Traceback" in e for _, e in outs):
        return "bad: traceback", [e for _, e in outs if "Traceback" in e][0].strip().splitlines()[-1][:160]
    if any(p.returncode != 0 for p in procs):
        return "bad: refused a good input", " | ".join(err_lines(e)[-1] for _, e in outs if err_lines(e))[:160]
    r = th("check", "ds", cwd=d)
    if re.search(r"lists \S+ again", r.out + r.err):
        return "bad: data loss", "manifest lists a file twice"
    try:
        got = sum(manifest_content(d / "ds").values())
    except Exception as e:
        return "bad: data loss", f"manifest unreadable: {e}"[:160]
    if got != expect_frames:
        return "bad: data loss", f"{got} samples stored, {expect_frames} expected"
    waited = any("waiting for" in e for _, e in outs)
    return "right", f"{got} samples, manifest valid" + ("; second writer waited and said who" if waited else "")


def _cases_1():
    for k in range(3):
        @case(C1, f"import-frames x2 concurrently #{k + 1}")
        def _(ctx, k=k):
            d = ctx.dir("two-import")
            ctx.frames_csv(d, 150, "a.csv")
            ctx.frames_csv(d, 150, "b.csv", base=20.0)
            return _two_writers(ctx, d, [["import-frames", "a.csv", "-l", "x", "-d", "ds"],
                                         ["import-frames", "b.csv", "-l", "x", "-d", "ds"]], 300)

    @case(C1, "ingest + import-frames concurrently")
    def _(ctx):
        d = ctx.dir("ingest-import")
        th("demo-data", "--out", d / "card", "--per-label", "40", "--sessions", "2")
        ctx.frames_csv(d, 150, "a.csv")
        return _two_writers(ctx, d, [["ingest", "card", "-d", "ds"], ["import-frames", "a.csv", "-l", "face0", "-d", "ds"]],
                            270)

    @case(C1, "second writer times out naming the holder")
    def _(ctx):
        d = ctx.dir("lock-timeout")
        ctx.frames_csv(d, 3, "a.csv")
        holder = subprocess.Popen([PY, "-c", "import sys,time; from tinyheat.dataset.lock import WriterLock; "
                                   "l=WriterLock('ds').acquire(); print('held', flush=True); time.sleep(30)"],
                                  cwd=d, stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        try:
            r = th("import-frames", "a.csv", "-l", "x", "-d", "ds", cwd=d,
                   env=dict(os.environ, TINYHEAT_LOCK_TIMEOUT="1"))
        finally:
            holder.kill()
            holder.wait()
        v = verdict_error(r, must=f"pid {holder.pid}")
        if v[0] == "clean error" and "waiting for" not in r.err:
            return "bad: silently wrong", "no waiting message"
        return v

    @case(C1, "dataset with a file listed twice is repaired by the next ingest")
    def _(ctx):
        d = ctx.dir("repair-double")
        ctx.frames_csv(d, 4, "a.csv")
        th("import-frames", "a.csv", "-l", "x", "-d", "ds", cwd=d)
        m = d / "ds" / "manifest.csv"
        lines = m.read_text().splitlines()
        loser = lines[2].replace("x/x.1.jpg", "x/x.0.jpg").rsplit(",", 1)[0] + "," + "c" * 64
        m.write_text("\r\n".join(lines[:2] + [loser] + lines[2:]) + "\r\n")
        (d / "empty").mkdir()
        th("ingest", "empty", "-d", "ds", cwd=d)
        r = th("check", "ds", cwd=d)
        ok = r.rc == 0 and not re.search(r"lists \S+ again", r.out + r.err)
        r2 = th("import-frames", "a.csv", "-l", "x", "-d", "ds", cwd=d)
        return verdict_ok(r2, lambda: None if ok and sum(manifest_content(d / "ds").values()) == 4
                          else "not repaired")


# -- 2 one reader ---------------------------------------------------------------------------------

def _cases_2():
    def sess_ok(d, out, n, shape=(24, 32), t=None, extra=None):
        def check():
            f, tt = session_frames(d / out)
            if f.shape != (n, *shape):
                return f"shape {f.shape}, expected {(n, *shape)}"
            if np.isinf(f).any():
                return "inf stored"
            if t is not None and list(tt[:len(t)]) != t:
                return f"t_ms {list(tt[:4])}, expected {t}"
            med = float(np.nanmedian(f))
            if not 15 < med < 30:
                return f"median {med:.1f} degC"
            return extra() if extra else None
        return check

    @case(C2, "import-session ';' + decimal comma + BOM keeps the time column")
    def _(ctx):
        d = ctx.dir("semi-bom")
        write(d / "a.csv", csv_lines([f"2020-06-26 16:05:{i:02d}.250" for i in range(10)],
                                     [frame(ctx.rng, k=i) for i in range(10)], sep=";", dec=True), bom=True)
        return verdict_ok(th("import-session", "a.csv", "--out", "s.zarr", cwd=d),
                          sess_ok(d, "s.zarr", 10, t=[0, 1000, 2000]))

    @case(C2, "import-frames ';' + decimal comma + BOM")
    def _(ctx):
        d = ctx.dir("semi-bom-frames")
        write(d / "a.csv", csv_lines([f"{i}" for i in range(10)], [frame(ctx.rng, k=i) for i in range(10)],
                                     sep=";", dec=True), bom=True)
        return verdict_ok(th("import-frames", "a.csv", "-l", "x", "-d", "ds", cwd=d),
                          lambda: None if sum(manifest_content(d / "ds").values()) == 10 else "frames lost")

    @case(C2, "import-session Kelvin without --unit")
    def _(ctx):
        d = ctx.dir("kelvin")
        ctx.frames_csv(d, 10, base=295.0)
        return verdict_error(th("import-session", "f.csv", "--out", "s.zarr", cwd=d), "--unit K")

    @case(C2, "import-session Kelvin with --unit K")
    def _(ctx):
        d = ctx.dir("kelvin-k")
        ctx.frames_csv(d, 10, base=295.0)
        return verdict_ok(th("import-session", "f.csv", "--out", "s.zarr", "--unit", "K", cwd=d),
                          sess_ok(d, "s.zarr", 10))

    @case(C2, "MLX90641 header over 32x24 rows")
    def _(ctx):
        d = ctx.dir("41-over-40")
        write(d / "f.csv", [H41] + [",".join([str(i), str(i / 4), "0", "30"] + [f"{v:.2f}" for v in frame(ctx.rng)])
                                   for i in range(10)])
        return verdict_error(th("import-session", "f.csv", "--out", "s.zarr", cwd=d), "header")

    @case(C2, "MLX90641 file with an empty ambient cell")
    def _(ctx):
        d = ctx.dir("41-empty-ta")
        write(d / "f.csv", [H41] + [",".join([str(i), str(i / 4), "0", "" if i == 3 else "30.5"]
                                             + [f"{v:.2f}" for v in frame(ctx.rng)[:192]]) for i in range(10)])

        def ta():
            import zarr

            t = np.asarray(zarr.open_group(str(d / "s.zarr"), mode="r")["ta_degC"][:10])
            return None if np.isnan(t[3]) and t[0] == np.float32(30.5) else f"ta {t[:5]}"
        return verdict_ok(th("import-session", "f.csv", "--out", "s.zarr", cwd=d), sess_ok(d, "s.zarr", 10, (12, 16),
                                                                                      extra=ta))

    @case(C2, "inf pixel is never stored")
    def _(ctx):
        d = ctx.dir("inf")
        lines = csv_lines([str(i) for i in range(10)], [frame(ctx.rng, k=i) for i in range(10)])
        f = lines[3].split(",")
        f[7] = "inf"
        lines[3] = ",".join(f)
        write(d / "f.csv", lines)
        return verdict_ok(th("import-session", "f.csv", "--out", "s.zarr", cwd=d), sess_ok(d, "s.zarr", 10))

    @case(C2, "a cut row is reported")
    def _(ctx):
        d = ctx.dir("cut")
        lines = csv_lines([str(i) for i in range(10)], [frame(ctx.rng, k=i) for i in range(10)])
        lines[5] = lines[5][: len(lines[5]) // 3]
        write(d / "f.csv", lines)
        r = th("import-session", "f.csv", "--out", "s.zarr", cwd=d)
        return verdict_ok(r, lambda: sess_ok(d, "s.zarr", 9)() or (None if "f.csv:6" in r.out else "cut row not reported"))

    @case(C2, "a cut last line without newline")
    def _(ctx):
        d = ctx.dir("cut-last")
        lines = csv_lines([str(i) for i in range(10)], [frame(ctx.rng, k=i) for i in range(10)])
        (d / "f.csv").write_text("\n".join(lines)[:-2000])
        r = th("import-session", "f.csv", "--out", "s.zarr", cwd=d)
        return verdict_ok(r, lambda: sess_ok(d, "s.zarr", 9)() or (None if "skipped" in r.out else "not reported"))

    @case(C2, "import-session streams a 46 MB file (peak RSS)")
    def _(ctx):
        d = ctx.dir("big")
        rows = [",".join(f"{v:.2f}" for v in frame(ctx.rng, k=k)) for k in range(50)]
        with open(d / "big.csv", "w") as fh:
            fh.write(HDR + "\n")
            for i in range(10_000):
                fh.write(f"{i * 0.125:.3f},0," + rows[i % 50] + "\n")
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", PY, "-m", "tinyheat.cli", "import-session", "big.csv", "--out",
                            "s.zarr"], cwd=d, capture_output=True, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            return "bad: refused a good input", p.stderr.strip().splitlines()[-1][:160] if p.stderr else "?"
        mb = int(m[1]) / 1024
        detail = f"peak RSS {mb:.0f} MB for {os.path.getsize(d / 'big.csv') / 1e6:.0f} MB, {time.monotonic() - t0:.1f} s"
        return ("right" if mb < 300 else "bad: silently wrong"), detail


# -- 3 units ---------------------------------------------------------------------------------------

def _cases_3():
    def late_kelvin(ctx, d, n=400, at=300):
        write(d / "f.csv", csv_lines([f"{i / 4}" for i in range(n)],
                                     [frame(ctx.rng, k=i) + (273.15 if i >= at else 0) for i in range(n)]))

    @case(C3, "Kelvin frames after the first 64 (import-session)")
    def _(ctx):
        d = ctx.dir("late-k-s")
        late_kelvin(ctx, d)
        r = th("import-session", "f.csv", "--out", "s.zarr", cwd=d)
        v = verdict_error(r, "mixes units")
        return ("bad: silently wrong", "half a session left") if (d / "s.zarr").exists() else v

    @case(C3, "Kelvin frames after the first 64 (import-frames)")
    def _(ctx):
        d = ctx.dir("late-k-f")
        late_kelvin(ctx, d)
        r = th("import-frames", "f.csv", "-l", "x", "-d", "ds", cwd=d)
        if "mixes units" not in r.out:
            return "bad: silently wrong", "kelvin frames stored as degC"
        return "clean error", "file stopped at the first kelvin frame; the degC frames before it kept, said so"

    @case(C3, "cold scene in Fahrenheit (42-57 F)")
    def _(ctx):
        d = ctx.dir("cold-f")
        ctx.frames_csv(d, 10, base=8.0 * 9 / 5 + 32)
        return verdict_error(th("import-session", "f.csv", "--out", "s.zarr", cwd=d), "--unit")

    @case(C3, "cold scene in Fahrenheit with --unit F")
    def _(ctx):
        d = ctx.dir("cold-f-unit")
        write(d / "f.csv", csv_lines([str(i) for i in range(10)],
                                     [frame(ctx.rng, 8.0, i) * 9 / 5 + 32 for i in range(10)]))

        def check():
            med = float(np.nanmedian(session_frames(d / "s.zarr")[0]))
            return None if 7 < med < 9 else f"median {med:.1f}"
        return verdict_ok(th("import-session", "f.csv", "--out", "s.zarr", "--unit", "F", cwd=d), check)

    @case(C3, "cold scene in Fahrenheit into a dataset")
    def _(ctx):
        d = ctx.dir("cold-f-ds")
        ctx.frames_csv(d, 10, base=8.0 * 9 / 5 + 32)
        r = th("import-frames", "f.csv", "-l", "x", "-d", "ds", cwd=d)
        if (d / "ds" / "manifest.csv").exists():
            return "bad: silently wrong", "stored as degC"
        return ("clean error", "refused: --unit C or F") if "--unit" in r.out else ("bad: silently wrong", r.out[:120])

    @case(C3, "Fahrenheit .npz recording")
    def _(ctx):
        d = ctx.dir("npz-f")
        np.savez(d / "r.npz", frames=np.stack([frame(ctx.rng, 22.0, i) * 9 / 5 + 32 for i in range(10)]).reshape(-1, 24, 32)
                 .astype(np.float32), t_ms=np.arange(10) * 250)
        return _npz_f(d)


def _npz_f(d):
    r = th("import-frames", "r.npz", "-l", "x", "-d", "ds", cwd=d)
    if (d / "ds" / "manifest.csv").exists():
        return "bad: silently wrong", "Fahrenheit stored as degC"
    return ("clean error", "refused, asks for --unit F") if "--unit F" in r.out else ("bad: silently wrong", r.out[:120])


# -- 4 damaged sessions ----------------------------------------------------------------------------

def _cases_4():
    readers = [("play", ["--out", "p.gif"]), ("people", ["--out", "pp"]), ("heatmap", []), ("occupancy", [])]

    def damaged(ctx, name, damage, must):
        for cmd, extra in readers:
            @case(C4, f"{name}: {cmd}")
            def _(ctx, cmd=cmd, extra=extra):
                d = ctx.dir(f"dmg-{cmd}")
                th("sim-session", "--out", "s.zarr", "--seconds", "40", cwd=d)
                damage(d / "s.zarr")
                return verdict_error(th(cmd, "s.zarr", *extra, cwd=d), must)

    damaged(None, "deleted frames chunk", lambda s: (s / "frames/c/1/0/0").unlink(), "missing")
    damaged(None, "corrupt frames chunk", lambda s: (s / "frames/c/0/0/0").write_bytes(b"garbage" * 10), "damaged")
    damaged(None, "deleted t_ms chunk", lambda s: (s / "t_ms/c/0").unlink(), "missing")
    damaged(None, "truncated zarr.json", lambda s: (s / "zarr.json").write_text((s / "zarr.json").read_text()[:50]),
            "session")


# -- 5 interrupted writers -------------------------------------------------------------------------

def _interrupt(ctx, d, args, sig, delay) -> Run:
    p = start(*args, cwd=d)
    time.sleep(delay)
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        return Run(None, "", "", hung=True)
    return Run(p.returncode, out, err)


def _cases_5():
    def writer(name, prepare, args, compare, leftover_ok, inputs=()):
        for sig in (signal.SIGINT, signal.SIGKILL):
            @case(C5, f"{name}: {sig.name} at a random moment, then re-run")
            def _(ctx, sig=sig):
                bad, late = [], 0
                base = ctx.dir(f"ref-{name.split()[0]}")
                prepare(ctx, base)
                ref = th(*args, cwd=base)
                if ref.rc != 0:
                    return "bad: refused a good input", err_lines(ref.err)[-1:] or ref.out[:120]
                for k in range(ctx.rounds):
                    d = ctx.dir(f"int-{name.split()[0]}")
                    for n in inputs:  # the same inputs
                        src = base / n
                        (shutil.copytree if src.is_dir() else shutil.copy)(src, d / n)
                    delay = ctx.random.uniform(0.5, max(0.6, ref.seconds * 0.8))
                    r = _interrupt(ctx, d, args, sig, delay)
                    if r.hung:
                        return "bad: hang", f"did not stop after {sig.name}"
                    if r.rc == 0:  # finished before the signal: nothing to re-run
                        why = compare(base, d)
                        if why:
                            return "bad: silently wrong", why
                        late += 1
                        continue
                    if sig == signal.SIGINT and r.rc != 0 and len(err_lines(r.err)) > 3:
                        return "bad: traceback", f"{len(err_lines(r.err))} lines after Ctrl-C: " + \
                            " | ".join(err_lines(r.err)[-2:])[:120]
                    why = leftover_ok(d, r)
                    if why:
                        bad.append(f"after {sig.name} at {delay:.1f} s: {why}")
                    r2 = th(*args, cwd=d)
                    if r2.rc != 0:
                        return "bad: data loss", f"re-run after {sig.name} at {delay:.1f} s refused: " + \
                            (err_lines(r2.err)[-1:] or [r2.out[:80]])[0][:120]
                    why = compare(base, d)
                    if why:
                        return "bad: data loss", f"re-run after {sig.name} at {delay:.1f} s: {why}"
                if bad:
                    return "bad: silently wrong", bad[0][:160]
                return "right", (f"{ctx.rounds - late} interruptions, each re-run equals the uninterrupted run"
                                 + (f" ({late} finished before the signal)" if late else ""))

    def big_csv(ctx, d):
        rows = [",".join(f"{v:.2f}" for v in frame(ctx.rng, k=k)) for k in range(50)]
        with open(d / "big.csv", "w") as fh:
            fh.write(HDR + "\n")
            for i in range(8000):
                fh.write(f"{i * 0.125:.3f},0," + rows[i % 50] + "\n")

    def same_session(a, b):
        fa, ta = session_frames(a / "s.zarr")
        fb, tb = session_frames(b / "s.zarr")
        return None if np.array_equal(fa, fb, equal_nan=True) and np.array_equal(ta, tb) else "sessions differ"

    def no_partial_output(name):
        def check(d, r):
            if (d / name).exists() and r.rc != 0:
                return f"half-written {name} left under its final name"
            return None
        return check

    writer("import-session 37 MB", big_csv, ["import-session", "big.csv", "--out", "s.zarr"], same_session,
           no_partial_output("s.zarr"), inputs=["big.csv"])

    def same_dataset(a, b):
        return None if manifest_set(a / "ds") == manifest_set(b / "ds") else "datasets differ"

    def demo_prepare(ctx, d):
        pass

    writer("demo-data 3x150", demo_prepare, ["demo-data", "--out", "ds", "--per-label", "150", "--sessions", "3"],
           same_dataset, no_partial_output("ds"))

    def frames_prepare(ctx, d):
        ctx.frames_csv(d, 1500, "a.csv")

    def dataset_valid(d, r):
        if (d / "ds").exists():
            try:
                manifest_set(d / "ds")
            except Exception as e:  # a torn row is repaired by the re-run: fine
                if "incomplete" not in str(e):
                    return f"manifest unreadable: {e}"
        return None

    writer("import-frames 1500 frames", frames_prepare, ["import-frames", "a.csv", "-l", "x", "-d", "ds"],
           same_dataset, dataset_valid, inputs=["a.csv"])

    def card_prepare(ctx, d):
        th("demo-data", "--out", d / "card", "--per-label", "150", "--sessions", "3")

    writer("ingest 450 samples", card_prepare, ["ingest", "card", "-d", "ds"], same_dataset, dataset_valid, inputs=["card"])

    def play_prepare(ctx, d):
        th("sim-session", "--out", d / "s.zarr", "--seconds", "60")

    def same_gif(a, b):
        from PIL import Image

        with Image.open(a / "p.gif") as x, Image.open(b / "p.gif") as y:
            return None if x.n_frames == y.n_frames else f"{y.n_frames} frames, expected {x.n_frames}"

    writer("play --out gif", play_prepare, ["play", "s.zarr", "--out", "p.gif"], same_gif, no_partial_output("p.gif"),
           inputs=["s.zarr"])

    def same_tracks(a, b):
        return None if (a / "pp" / "tracks.csv").read_bytes() == (b / "pp" / "tracks.csv").read_bytes() \
            else "tracks differ"

    writer("people with overlay", play_prepare, ["people", "s.zarr", "--out", "pp"], same_tracks,
           lambda d, r: None, inputs=["s.zarr"])
    writer("sim-session 120 s", demo_prepare, ["sim-session", "--out", "s.zarr", "--seconds", "120"], same_session,
           no_partial_output("s.zarr"))

    @case(C5, "full disk (2 MB tmpfs) during import-session, then space freed and re-run")
    def _(ctx):
        return _full_disk(ctx, "session")

    @case(C5, "full disk (2 MB tmpfs) during import-frames, then re-run")
    def _(ctx):
        return _full_disk(ctx, "frames")

    @case(C5, "full disk (2 MB tmpfs) during demo-data")
    def _(ctx):
        return _full_disk(ctx, "demo")


def _full_disk(ctx, what):
    d = ctx.dir(f"full-{what}")
    mnt = d / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True).returncode:
        return "skipped", "mount not permitted (needs root)"
    try:
        if what == "session":
            ctx.frames_csv(d, 3000, "a.csv")
            args = ["import-session", "a.csv", "--out", mnt / "s.zarr"]
        elif what == "frames":
            ctx.frames_csv(d, 1500, "a.csv")
            args = ["import-frames", "a.csv", "-l", "x", "-d", mnt / "ds"]
        else:
            args = ["demo-data", "--out", mnt / "ds", "--per-label", "400"]
        r = th(*args, cwd=d)
        v = verdict_error(r, "disk full")
        if v[0] != "clean error":
            return v
        if "resumes" in r.err + r.out and what != "frames":
            return "bad: silently wrong", "promises a resume that does not happen"
        left = hidden_partials(mnt)
        if left:
            return "bad: silently wrong", f"left {left} on the full disk"
        if what in ("session", "demo") and visible(mnt):
            return "bad: silently wrong", f"half output left: {visible(mnt)}"
        subprocess.run(["mount", "-o", "remount,size=200m", str(mnt)], check=True)
        r2 = th(*args, cwd=d)
        if r2.rc != 0:
            return "bad: data loss", "re-run with space refused: " + (err_lines(r2.err)[-1:] or [""])[0][:100]
        if what == "frames" and sum(manifest_content(mnt / "ds").values()) != 1500:
            return "bad: data loss", "frames missing after the re-run"
        return "clean error", v[1][:80] + "; re-run with space completes"
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# -- 6 tracebacks and noise ------------------------------------------------------------------------

def _cases_6():
    def card(ctx, d):
        th("demo-data", "--out", d / "card", "--per-label", "3", "--sessions", "1")
        return d / "card"

    @case(C6, "symbolic link loop named like a sample on the card")
    def _(ctx):
        d = ctx.dir("loop")
        c = card(ctx, d)
        os.symlink("face0.901.jpg", c / "face0" / "face0.900.jpg")
        os.symlink("face0.900.jpg", c / "face0" / "face0.901.jpg")
        r = th("ingest", "card", "-d", "ds", cwd=d)
        return verdict_ok(r, lambda: None if "link loop" in r.out else "loop not reported")

    @case(C6, "FIFO on the card")
    def _(ctx):
        d = ctx.dir("fifo")
        c = card(ctx, d)
        os.mkfifo(c / "face0" / "face0.900.jpg")
        os.mkfifo(c / "captures.csv")
        r = th("ingest", "card", "-d", "ds", cwd=d, timeout=60)
        return verdict_ok(r, lambda: None if "FIFO" in r.out else "FIFO not reported")

    @case(C6, "Latin-1 byte in a manifest")
    def _(ctx):
        d = ctx.dir("latin1-manifest")
        c = card(ctx, d)
        m = c / "manifest.csv"
        m.write_bytes(m.read_bytes().replace(b",simulated,", b",simul\xe9ted,", 1))
        return verdict_error(th("check", "card", cwd=d), "UTF-8")

    @case(C6, "Latin-1 byte in a zones file")
    def _(ctx):
        d = ctx.dir("latin1-zones")
        th("sim-session", "--out", "s.zarr", "--seconds", "20", cwd=d)
        (d / "z.csv").write_bytes(b"name,x0,y0,x1,y1\nK\xfcche,0,0,5,5\n")
        r = th("heatmap", "s.zarr", "--zones", "z.csv", cwd=d)
        return verdict_ok(r, lambda: None if "Küche" in r.out else "zone name garbled")

    @case(C6, "mixed time zones")
    def _(ctx):
        d = ctx.dir("mixed-tz")
        write(d / "f.csv", csv_lines([f"2020-06-26T{14 + i % 2 * 2}:05:{i:02d}" + ("Z" if i % 2 == 0 else "+02:00")
                                      for i in range(10)], [frame(ctx.rng, k=i) for i in range(10)]))
        r = th("import-session", "f.csv", "--out", "s.zarr", cwd=d)
        return verdict_ok(r, lambda: None if list(session_frames(d / "s.zarr")[1][:3]) == [0, 1000, 2000] else "times")

    @case(C6, "naive and zoned times mixed")
    def _(ctx):
        d = ctx.dir("naive-zoned")
        write(d / "f.csv", csv_lines([f"2020-06-26T16:05:{i:02d}" + ("+02:00" if i % 2 else "") for i in range(10)],
                                     [frame(ctx.rng, k=i) for i in range(10)]))
        return verdict_error(th("import-session", "f.csv", "--out", "s.zarr", cwd=d), "zone")

    @case(C6, "times going backwards over a DST change")
    def _(ctx):
        d = ctx.dir("dst")
        ts = [f"2020-10-25 02:{50 + i:02d}:00" for i in range(5)] + [f"2020-10-25 02:{i:02d}:00" for i in range(10)]
        write(d / "f.csv", csv_lines(ts, [frame(ctx.rng, k=i) for i in range(15)]))
        r1 = th("import-session", "f.csv", "--out", "s.zarr", cwd=d)
        r2 = th("heatmap", "f.csv", cwd=d)
        v = verdict_error(r1, "daylight")
        return v if v[0] != "clean error" else verdict_error(r2, "daylight")

    @case(C6, "start time near year 10000")
    def _(ctx):
        d = ctx.dir("y9999")
        write(d / "f.csv", csv_lines([f"9999-12-31T23:59:{40 + i:02d}Z" for i in range(10)],
                                     [frame(ctx.rng, k=i) for i in range(10)]))
        th("import-session", "f.csv", "--out", "s.zarr", cwd=d)
        return verdict_error(th("heatmap", "s.zarr", cwd=d), "year 10000")

    @case(C6, "heatmap --start near year 10000")
    def _(ctx):
        d = ctx.dir("y9999-start")
        th("sim-session", "--out", "s.zarr", "--seconds", "20", cwd=d)
        return verdict_error(th("occupancy", "s.zarr", "--start", "9999-12-31T23:59:59Z", cwd=d), "year")

    @case(C6, "record onto an existing --out")
    def _(ctx):
        d = ctx.dir("record-exists")
        (d / "r.zarr").mkdir()
        r = th("record", "/dev/null", "--out", "r.zarr", cwd=d)
        v = verdict_error(r, "exists")
        return ("bad: silently wrong", "mentions --force, which record lacks") if "--force" in r.err else v

    @case(C6, "Ctrl-C during import-session prints one line")
    def _(ctx):
        d = ctx.dir("ctrlc-lines")
        ctx.frames_csv(d, 6000, "a.csv")
        worst = 0
        for _ in range(ctx.rounds):
            shutil.rmtree(d / "s.zarr", ignore_errors=True)
            r = _interrupt(ctx, d, ["import-session", "a.csv", "--out", "s.zarr"], signal.SIGINT,
                           ctx.random.uniform(1.0, 4.0))
            worst = max(worst, len(err_lines(r.err)))
            if "Traceback" in r.err:
                return "bad: traceback", f"{len(r.err.splitlines())} lines after Ctrl-C"
        return ("right", f"at most {worst} line(s) after Ctrl-C") if worst <= 2 else ("bad: traceback", f"{worst} lines")


# -- newcomer, the cheap ones ------------------------------------------------------------------------

def _cases_n():
    @case(CN, "import-frames on a recording folder (rec.zarr)")
    def _(ctx):
        d = ctx.dir("frames-zarr")
        th("sim-session", "--out", "rec.zarr", "--seconds", "10", cwd=d)
        r = th("import-frames", "rec.zarr", "-l", "x", "-d", "ds", cwd=d)
        if "no such file" in r.out and "session" not in r.out:
            return "bad: silently wrong", "says 'no such file' for an existing recording"
        if r.rc == 0 and "read as a session" in r.out + r.err:
            return "right", "read as a session: " + (r.out.strip().splitlines() or [""])[0][:100]
        return "clean error", (r.out.strip().splitlines() or [""])[-1][:120]

    @case(CN, "ingest a card holding the device's EEPROM backup")
    def _(ctx):
        d = ctx.dir("eeprom-backup")
        th("demo-data", "--out", d / "card", "--per-label", "3", "--sessions", "1")
        (d / "card" / "mlx90640_ee_53494d000002.bin").write_bytes(bytes(1664))
        r = th("ingest", "card", "-d", "ds", cwd=d)
        if any("mlx90640_ee_" in line and "rejected" in line for line in r.out.splitlines()):
            return "bad: silently wrong", "EEPROM backup reported as 'rejected: not a sample'"
        if r.rc == 0 and any("device file" in line and "mlx90640_ee_" in line for line in (r.out + r.err).splitlines()):
            return "right", "listed as the device's file, left on the card"
        return verdict_ok(r)


# ----------------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3, help="interruptions per writer and signal")
    ap.add_argument("--keep", type=Path, default=None, help="keep the case folders here")
    ap.add_argument("--only", default=None, help="run the cases whose name contains this")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    a = ap.parse_args(argv)
    for f in (_cases_1, _cases_2, _cases_3, _cases_4, _cases_5, _cases_6, _cases_n):
        f()
    root = a.keep or Path(tempfile.mkdtemp(prefix="tinyheat-campaign-"))
    root.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(root, a.seed, a.rounds)
    results = []
    t0 = time.monotonic()
    for cause, name, fn in CASES:
        if a.only and a.only.lower() not in name.lower():
            continue
        t = time.monotonic()
        try:
            verdict, detail = fn(ctx)
        except Exception as e:  # a broken case is reported, never hidden
            verdict, detail = "campaign error", f"{type(e).__name__}: {e}"[:160]
        results.append({"cause": cause, "case": name, "verdict": verdict, "detail": detail,
                        "seconds": round(time.monotonic() - t, 1)})
        print(f"{verdict:26s} {name}: {detail}", flush=True)
    by_cause: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_cause[r["cause"]][r["verdict"]] += 1
    print(f"\n{len(results)} cases in {time.monotonic() - t0:.0f} s")
    total = Counter(r["verdict"] for r in results)
    for cause in sorted(by_cause):
        print(f"  {cause:34s} " + ", ".join(f"{k} {v}" for k, v in sorted(by_cause[cause].items())))
    print("  " + "total".ljust(34) + " " + ", ".join(f"{k} {v}" for k, v in sorted(total.items())))
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if any(r["verdict"].startswith("bad") or r["verdict"] == "campaign error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
