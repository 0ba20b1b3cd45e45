"""Two writers into one dataset at once (real processes): the writer lock serialises them, the
second says who holds the lock, a time-out is a one-line error, and a dataset damaged by two
writers of an older version is repaired by the next ingest."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.dataset import store as ds
from tinyheat.dataset.lock import WriterLock


def _csv(path, k0: int, n: int) -> None:
    rows = []
    for k in range(k0, k0 + n):
        f = np.linspace(20.0, 34.0, 768, dtype=np.float32) + np.float32(0.01 * k)
        rows.append(",".join(f"{v:.2f}" for v in f))
    path.write_text("\n".join(rows) + "\n")


WRITER = textwrap.dedent("""
    import sys
    from tinyheat.ingest.frames import import_frames
    r = import_frames([sys.argv[1]], "x", sys.argv[2])
    print(r.added)
""")


def test_two_concurrent_import_frames_processes_lose_nothing(tmp_path):
    a, b, data = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "data"
    _csv(a, 0, 60)
    _csv(b, 1000, 60)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(p), str(data)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for p in (a, b)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(int(o.strip()) for o, _ in outs) == [60, 60]
    rows = ds.read_manifest(data)  # raises on a file listed twice
    assert len(rows) == 120 and len({r.file for r in rows}) == 120
    assert all((data / r.file).exists() for r in rows)
    assert sorted(r.order for r in rows) == list(range(120))


def test_second_writer_times_out_naming_the_holder(tmp_path):
    data = tmp_path / "data"
    _csv(tmp_path / "a.csv", 0, 3)
    with WriterLock(data):
        env = dict(os.environ, TINYHEAT_LOCK_TIMEOUT="0.3")
        r = subprocess.run([sys.executable, "-m", "tinyheat.cli", "import-frames", str(tmp_path / "a.csv"),
                            "-l", "x", "-d", str(data)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert err[0].startswith("waiting for") and f"pid {os.getpid()}" in err[0]
    assert err[-1].startswith("Error:") and "still in use" in err[-1] and f"pid {os.getpid()}" in err[-1]
    assert "Traceback" not in r.stderr and not (data / ds.MANIFEST).exists()


def test_dataset_listing_a_file_twice_is_repaired_by_the_next_ingest(tmp_path):
    """What two writers of an older version left: one sample number, two rows, the files of one of them."""
    data, card = tmp_path / "data", tmp_path / "card"
    card.mkdir()
    _csv(tmp_path / "a.csv", 0, 2)
    assert CliRunner().invoke(main, ["import-frames", str(tmp_path / "a.csv"), "-l", "x", "-d", str(data)]).exit_code == 0
    text = (data / ds.MANIFEST).read_text()
    lines = text.splitlines()
    loser = lines[2].replace("x/x.1.jpg", "x/x.0.jpg").rsplit(",", 1)[0] + "," + "c" * 64
    (data / ds.MANIFEST).write_text("\r\n".join(lines[:2] + [loser] + lines[2:]) + "\r\n")
    res = CliRunner().invoke(main, ["check", str(data)])
    assert res.exit_code != 0 and "listed" not in res.output and "ingest" in res.output  # says how to repair
    res = CliRunner().invoke(main, ["ingest", str(card), "-d", str(data)])
    assert "x/x.0.jpg was listed 2 times" in res.output
    rows = ds.read_manifest(data)
    assert [r.file for r in rows] == ["x/x.0.jpg", "x/x.1.jpg"] and "c" * 64 not in {r.sha256 for r in rows}
