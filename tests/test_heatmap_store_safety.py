"""Heat-map store writers that cannot lose data, damage that is named, runs that resume (issues
15 and 18): concurrent `tinyheat heatmap-add` processes, a writer killed before its commit, an
interrupted first add, deleted and garbage Parquet files, stores of other versions."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.occupancy import store as store_mod
from tinyheat.occupancy import synth
from tinyheat.occupancy.activation import Activation
from tinyheat.occupancy.store import HeatStore, StoreError, write_session

T0 = 1767571200  # 2026-01-05T00:00:00Z
H, W = 3, 4


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _activation(sec, seed=0) -> Activation:
    rng = np.random.default_rng(seed)
    n = len(sec)
    act = np.where(rng.random((n, H, W)) < 0.3, rng.integers(1, 9, (n, H, W)) / 8, 0).astype(np.float32)
    cov = np.ones((n, H, W), bool)
    z = np.zeros(n, np.int64)
    return Activation(np.asarray(sec, np.int64), act, cov, np.asarray(sec, np.int64) * 1000 + 500, z,
                      (act.reshape(n, -1).max(1) > 0).astype(np.int64), z, np.full((H, W), 20.0 * n),
                      np.full((H, W), n, np.int64))


def _brute(acts, t0, t1):
    act = sum(a.act[(a.sec >= t0) & (a.sec < t1)].sum(0).astype(np.float64) for a in acts)
    cov = sum(a.cov[(a.sec >= t0) & (a.sec < t1)].sum(0).astype(np.int64) for a in acts)
    return act, cov


def _recording(tmp_path, i):
    """A 24 s walk, recording i starting i minutes after 08:00."""
    walk = synth.Person(((2, -2, 8 + i), (18, 34, 8 + i)))
    rec, _ = synth.scene(24, fps=4, people=(walk,), seed=i, start=synth.DEFAULT_START + timedelta(minutes=i))
    p = tmp_path / f"rec{i}.npz"
    np.savez(p, frames=rec.frames, t_ms=rec.t_ms, start_unix_ms=np.int64(rec.start.timestamp() * 1000))
    return p


def test_concurrent_heatmap_add_processes_keep_every_session(tmp_path):
    """Two `tinyheat heatmap-add` and one `heatmap-dask` process into one store, and a
    `heatmap-partition` into a frames root, while the test holds both locks: each says it waits; after release all three sessions are
    stored and the store equals the three activations summed."""
    import threading
    import time

    from filelock import FileLock

    from tinyheat.occupancy.activation import Params, activation
    from tinyheat.occupancy.recording import load_recording

    store = tmp_path / "store"
    recs = [_recording(tmp_path, i) for i in range(3)]
    HeatStore(store, create=True)
    lock = FileLock(str(store / ".lock"))
    lock.acquire()
    frames_lock = FileLock(str(tmp_path / "frames2" / ".lock"))  # and a frames root's lock
    (tmp_path / "frames2").mkdir()
    frames_lock.acquire()
    (store / ".lock.owner").write_text("pid 4242 on test since now\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # the third recording goes in through the Dask path's writer (embedded: --workers 0)
    from tinyheat.occupancy.distributed import write_partitions
    write_partitions(load_recording(recs[2]), tmp_path / "frames", "sensor0")
    cmds = [["heatmap-add", str(r), "--store", str(store), "--absorb-s", "5"] for r in recs[:2]]
    cmds.append(["heatmap-dask", str(tmp_path / "frames"), "--store", str(store), "--workers", "0", "--absorb-s", "5"])
    cmds.append(["heatmap-partition", str(recs[1]), "--root", str(tmp_path / "frames2"), "--sensor", "hall"])
    procs = [subprocess.Popen([sys.executable, "-m", "tinyheat.cli", *c], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for c in cmds]
    errs = [[] for _ in procs]
    readers = [threading.Thread(target=lambda p=p, e=e: e.extend(p.stderr), daemon=True) for p, e in zip(procs, errs)]
    for t in readers:
        t.start()
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not all(any("waiting for" in x for x in e) for e in errs):
            time.sleep(0.1)
        assert all(p.poll() is None for p in procs), "a writer did not wait for the lock"
    finally:
        lock.release()
        frames_lock.release()
    for p, t in zip(procs, readers):
        p.wait(120)
        t.join(10)
        assert p.returncode == 0, "".join(errs[procs.index(p)])
    assert all(any("waiting for pid 4242 on test" in x for x in e) for e in errs[:3])
    from tinyheat.occupancy.distributed import partitions, read_partition
    (part,) = partitions(tmp_path / "frames2")
    np.testing.assert_array_equal(read_partition(part[2])[1], load_recording(recs[1]).epoch_ms)
    st = HeatStore(store)
    sessions = st.manifest["sensors"]["sensor0"]["sessions"]
    assert sorted(s["source"] for s in sessions.values()) == sorted(
        [str(r) for r in recs[:2]] + ["sensor=sensor0/day=2026-01-05"])
    acts = [activation(rec.frames, rec.epoch_ms, Params(absorb_s=5)) for rec in map(load_recording, recs)]
    act, cov = _brute(acts, *st.span("sensor0"))
    q = st.query("sensor0")
    np.testing.assert_allclose(q.act, act, rtol=1e-12)
    np.testing.assert_array_equal(q.cov, cov)


def test_a_writer_killed_before_its_commit_loses_nothing_and_the_rerun_resumes(tmp_path, monkeypatch):
    root = tmp_path / "s"
    st = HeatStore(root, create=True)
    a1, a2 = _activation(np.arange(T0, T0 + 300), 1), _activation(np.arange(T0 + 4000, T0 + 4400), 2)
    st.add("cam", a1, "one")
    before = st.query("cam", T0, T0 + 7200)
    real_replace = os.replace

    def die(src, dst):
        if str(dst).endswith("manifest.json"):
            raise KeyboardInterrupt  # killed between writing the files and the commit
        return real_replace(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", die)
    with pytest.raises(KeyboardInterrupt):
        HeatStore(root).add("cam", a2, "two")
    monkeypatch.setattr(store_mod.os, "replace", real_replace)
    st = HeatStore(root)
    assert list(st.manifest["sensors"]["cam"]["sessions"]) == [store_mod.session_id("cam", a1)]
    q = st.query("cam", T0, T0 + 7200)
    np.testing.assert_array_equal(q.act, before.act)  # the uncommitted session is invisible
    st.add("cam", a2, "two")  # the re-run resumes (same files, new commit)
    q = HeatStore(root).query("cam", T0, T0 + 7200)
    act, cov = _brute([a1, a2], T0, T0 + 7200)
    np.testing.assert_allclose(q.act, act, rtol=1e-12)
    np.testing.assert_array_equal(q.cov, cov)
    # only the files the manifest names are left in compact/
    st = HeatStore(root)
    named = {e["file"] for parts in st.manifest["sensors"]["cam"]["compact"].values() for e in parts.values()}
    assert {f.name for f in (root / "compact").rglob("*.parquet")} == named


def test_an_interrupted_first_add_resumes_and_a_foreign_folder_is_refused(tmp_path):
    root = tmp_path / "new"
    a = _activation(np.arange(T0, T0 + 200))
    write_session(root, "cam", a, "x")  # what a first add killed before any manifest leaves
    (root / ".lock").touch()
    r = HeatStore(root, create=True)
    r.add("cam", a, "x")
    assert len(HeatStore(root).manifest["sensors"]["cam"]["sessions"]) == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a heat-map store.*notes.txt"):
        HeatStore(other, create=True)


@pytest.fixture
def damaged(tmp_path):
    root = tmp_path / "s"
    st = HeatStore(root, create=True)
    acts = [_activation(np.arange(T0 + k * 86400, T0 + k * 86400 + 500), k) for k in range(3)]
    for k, a in enumerate(acts):
        st.add("cam", a, f"day{k}")
    return root, acts


def _compact_file(root, level, stem):
    (f,) = (root / "compact" / level / "sensor=cam").glob(f"{stem}.g*.parquet")
    return f


@pytest.mark.parametrize("how", ["deleted", "garbage", "truncated"])
def test_a_damaged_compacted_file_is_named_and_repaired(damaged, how):
    root, acts = damaged
    good = HeatStore(root).query("cam", T0, T0 + 3 * 86400)
    f = _compact_file(root, "day", "2026")
    if how == "deleted":
        f.unlink()
    elif how == "garbage":
        f.write_bytes(b"\x00garbage" * (f.stat().st_size // 8) + b"\x00" * (f.stat().st_size % 8))
    else:
        f.write_bytes(f.read_bytes()[:-40])
    with pytest.raises(StoreError, match=r"damaged store: compact/day/sensor=cam/2026\.g\d+\.parquet .*--repair"):
        HeatStore(root).query("cam", T0, T0 + 3 * 86400)
    r = run("heatmap", root, "--from", "2026-01-05T00:00Z", "--to", "2026-01-08T00:00Z")
    assert r.exit_code == 1 and "compact/day/sensor=cam/2026" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = run("heatmap-compact", root)
    assert r.exit_code == 0, r.output
    q = HeatStore(root).query("cam", T0, T0 + 3 * 86400)
    np.testing.assert_array_equal(q.act, good.act)
    np.testing.assert_array_equal(q.cov, good.cov)


def test_a_damaged_session_file_is_named_and_dropped_only_with_repair(damaged):
    root, acts = damaged
    sid = store_mod.session_id("cam", acts[1])
    (f,) = (root / "minute" / "sensor=cam").glob(f"day=*/{sid}.parquet")
    f.write_bytes(b"not parquet")
    r = run("heatmap-compact", root)
    assert r.exit_code == 1 and sid in r.output and "--repair" in r.output
    r = run("heatmap-compact", root, "--repair")
    assert r.exit_code == 0 and f"dropped session {sid} (day1)" in r.output
    st = HeatStore(root)
    assert sorted(s["source"] for s in st.manifest["sensors"]["cam"]["sessions"].values()) == ["day0", "day2"]
    act, cov = _brute([acts[0], acts[2]], T0, T0 + 3 * 86400)
    q = st.query("cam", T0, T0 + 3 * 86400)
    np.testing.assert_allclose(q.act, act, rtol=1e-12)
    np.testing.assert_array_equal(q.cov, cov)


def test_stores_of_other_versions_and_ranges_outside_the_data(damaged, tmp_path):
    root, acts = damaged
    with pytest.raises(StoreError, match="outside the recorded span"):
        HeatStore(root).query("cam", T0 + 10 * 86400, T0 + 11 * 86400)
    r = run("heatmap", root, "--from", "2030-01-01T00:00Z", "--to", "2030-01-02T00:00Z")
    assert r.exit_code == 1 and "outside the recorded span" in r.output
    # a version-1 store (before compaction): session files and a manifest without compacted files
    old = tmp_path / "v1"
    e = write_session(old, "cam", acts[0], "day0")
    (old / "manifest.json").write_text(json.dumps({
        "format": "tinyheat-heatmap-store", "version": 1, "levels": list(store_mod.LEVELS),
        "sensors": {"cam": {"shape": [H, W], "sessions": {e["id"]: {k: e[k] for k in ("first_s", "last_s", "frames",
                                                                                       "seconds", "bytes", "source")}}}}}))
    r = run("heatmap", old)
    assert r.exit_code == 1 and "heatmap-compact" in r.output and "version 1" in r.output
    assert run("heatmap-compact", old).exit_code == 0
    q = HeatStore(old).query("cam")
    np.testing.assert_allclose(q.act, acts[0].act.sum(0), rtol=1e-12)
    # a store of a newer version is refused, not misread
    m = json.loads((old / "manifest.json").read_text())
    m["version"] = 99
    (old / "manifest.json").write_text(json.dumps(m))
    r = run("heatmap", old)
    assert r.exit_code == 1 and "newer tinyheat" in r.output
