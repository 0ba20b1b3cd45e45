"""Dataset writes survive interruption and full disks; bad manifests and full index spaces are refused.

Spec: datasets/FORMAT.md section 4 ("Writing"), tinyheat.dataset.store."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.dataset import sample_format as sf
from tinyheat.dataset import store as ds
from tinyheat.errors import DatasetError
from tinyheat.ingest.card import ingest

N_CARD = 12


def frame(k: float) -> np.ndarray:
    return (np.linspace(22.0, 37.0, 768, dtype=np.float32).reshape(24, 32) + np.float32(k)) % 40


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """An SD card with 12 samples of two labels, with sidecars, and a reference dataset ingested in one go."""
    c = tmp_path_factory.mktemp("card")
    for k in range(N_CARD):
        label = "face0" if k % 3 else "env"
        (c / f"{label}.{k}.jpg").write_bytes(sf.encode_jpeg(sf.to_grey(frame(k))))
        (c / f"{label}.{k}.pgm").write_bytes(sf.encode_pgm(frame(k)))
    ref = c.parent / "reference"
    assert len(ingest(c, ref).added) == N_CARD
    return c, ref


def tree(root) -> dict[str, bytes]:
    """Every file below root (hidden ones included, the writer lock and its owner line not) -> bytes."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.startswith(".tinyheat.lock"):
                continue
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def same_dataset(a, b):
    ta, tb = tree(a), tree(b)
    assert sorted(ta) == sorted(tb)
    for k in ta:
        if k == ds.MANIFEST:
            strip = lambda data: [ln.rsplit(b",", 2)[::2] + [ln.split(b",")[:4]] for ln in data.splitlines()]  # noqa: E731
            assert strip(ta[k]) == strip(tb[k])
        else:
            assert ta[k] == tb[k], k


def nth_call_raises(monkeypatch, name: str, n: int, exc: BaseException, partial: bool = False):
    """Make the n-th call (1-based) of os.<name> raise ``exc`` (after writing half its bytes if ``partial``)."""
    real = getattr(os, name)
    calls = {"n": 0}

    def fake(*a):
        calls["n"] += 1
        if calls["n"] == n:
            if partial:
                real(a[0], bytes(a[1])[: len(a[1]) // 2])
            raise exc
        return real(*a)

    monkeypatch.setattr(os, name, fake)


# os.write calls per sample with a sidecar: jpg, pgm, manifest row. os.link: pgm, jpg.
@pytest.mark.parametrize("where, n", [("write", 3 * 5 + 1), ("write", 3 * 5 + 3), ("link", 2 * 5 + 1),
                                      ("link", 2 * 5 + 2)],
                         ids=["before-row", "at-row", "after-row", "between-links"])
def test_interrupted_ingest_rerun_gives_the_uninterrupted_dataset(card, tmp_path, monkeypatch, where, n):
    src, ref = card
    nth_call_raises(monkeypatch, where, n, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        ingest(src, tmp_path / "data")
    monkeypatch.undo()
    # Before the row is committed the writer removes its sample's temporary files, after it finishes them:
    # right after the Ctrl-C every manifest row has its files and every sample file its row.
    files = {p for p in tree(tmp_path / "data") if p != ds.MANIFEST}
    rows = ds.read_manifest(tmp_path / "data")
    assert files == {r.file for r in rows} | {r.file[:-4] + ".pgm" for r in rows}
    assert len(rows) == (5 if where == "write" else 6)
    report = ingest(src, tmp_path / "data")
    same_dataset(tmp_path / "data", ref)
    assert len(report.added) + len(report.duplicates) == N_CARD and report.notes == []


def test_files_of_a_killed_writer_with_a_committed_row_are_completed(card, tmp_path):
    """A kill -9 after the row was appended, before the files got their names: the re-run completes them."""
    src, ref = card
    data = tmp_path / "data"
    ingest(src, data)
    row = ds.read_manifest(data)[3]
    for ext in (".jpg", ".pgm"):
        final = data / (row.file[:-4] + ext)
        final.rename(final.with_name("." + final.name + ds.PARTIAL))
    report = ingest(src, data)
    assert [n for n in report.notes if "completed a sample" in n] == [f"repaired: {row.file}: completed a sample "
                                                                       "whose manifest row was written before the "
                                                                       "interruption"]
    same_dataset(data, ref)


def test_files_of_a_killed_writer_without_a_row_are_rolled_back(card, tmp_path):
    """A kill -9 between writing a sample's temporary files and its row: the re-run removes them, says so."""
    src, ref = card
    data = tmp_path / "data"
    ingest(src, data)
    row = ds.read_manifest(data)[-1]
    text = (data / ds.MANIFEST).read_bytes()
    (data / ds.MANIFEST).write_bytes(text[: text.rstrip(b"\r\n").rfind(b"\n") + 1])  # drop the last row
    for ext in (".jpg", ".pgm"):
        final = data / (row.file[:-4] + ext)
        final.rename(final.with_name("." + final.name + ds.PARTIAL))
    report = ingest(src, data)
    assert any("removed the unfinished files" in n for n in report.notes)
    same_dataset(data, ref)


def test_disk_full_mid_row_leaves_nothing_and_rerun_completes(card, tmp_path, monkeypatch):
    src, ref = card
    nth_call_raises(monkeypatch, "write", 3 * 4 + 3, OSError(errno.ENOSPC, "No space left on device"), partial=True)
    with pytest.raises(OSError):
        ingest(src, tmp_path / "data")
    monkeypatch.undo()
    rows = ds.read_manifest(tmp_path / "data")   # the torn row was cut back: the manifest still parses
    assert len(rows) == 4
    files = {p for p in tree(tmp_path / "data") if p != ds.MANIFEST}
    assert files == {r.file for r in rows} | {r.file[:-4] + ".pgm" for r in rows}  # no orphan, no partial
    ingest(src, tmp_path / "data")
    same_dataset(tmp_path / "data", ref)


def test_disk_full_through_the_cli_is_one_line_and_rerun_is_clean(card, tmp_path, monkeypatch):
    src, ref = card
    nth_call_raises(monkeypatch, "write", 7, OSError(errno.ENOSPC, "No space left on device"))
    res = CliRunner().invoke(main, ["ingest", str(src), "-d", str(tmp_path / "data")])
    monkeypatch.undo()
    assert res.exit_code == 1 and "disk full" in res.output and "Traceback" not in res.output
    assert CliRunner().invoke(main, ["ingest", str(src), "-d", str(tmp_path / "data")]).exit_code == 0
    same_dataset(tmp_path / "data", ref)


def test_torn_manifest_row_left_by_an_old_writer_is_repaired_and_reported(card, tmp_path):
    src, ref = card
    data = tmp_path / "data"
    ingest(src, data)
    text = (data / ds.MANIFEST).read_bytes()
    last = text.rstrip(b"\r\n").rsplit(b"\n", 1)[1]
    os.unlink(data / last.split(b",")[0].decode())
    os.unlink(data / (last.split(b",")[0].decode()[:-4] + ".pgm"))
    (data / ds.MANIFEST).write_bytes(text[: len(text) - len(last) - 2] + last[:50])  # cut mid-hash
    with pytest.raises(DatasetError, match="incomplete"):
        ds.read_manifest(data)
    report = ingest(src, data)
    assert any("incomplete last row" in n for n in report.notes) and len(report.added) == 1
    same_dataset(data, ref)


def test_next_index_never_leaves_the_name_pattern_and_a_full_space_is_an_error(tmp_path):
    folder = tmp_path / "data" / "face0"
    folder.mkdir(parents=True)
    (folder / f"face0.{sf.MAX_INDEX}.jpg").write_bytes(sf.encode_jpeg(sf.to_grey(frame(0))))
    store = ds.DatasetStore(tmp_path / "data")
    with pytest.raises(ds.IndexSpaceFull, match="no index left"):
        store.add("face0", frame_degc=frame(1), session="s", source="t")
    with pytest.raises(ds.IndexSpaceFull):  # again: an error, never a hang
        store.add("face0", frame_degc=frame(2), session="s", source="t")
    assert sorted(p.name for p in folder.iterdir()) == [f"face0.{sf.MAX_INDEX}.jpg"]
    assert store.add("face1", frame_degc=frame(1), session="s", source="t").file == "face1/face1.0.jpg"


def test_card_with_the_last_index_ingests_and_then_refuses_cleanly(tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    (card / f"face0.{sf.MAX_INDEX}.jpg").write_bytes(sf.encode_jpeg(sf.to_grey(frame(0))))
    assert CliRunner().invoke(main, ["ingest", str(card), "-d", str(tmp_path / "data")]).exit_code == 0
    (card / "face0").mkdir()
    (card / "face0" / "IMG_1.jpg").write_bytes(sf.encode_jpeg(sf.to_grey(frame(1))))
    res = CliRunner().invoke(main, ["ingest", str(card), "-d", str(tmp_path / "data")])
    assert res.exit_code == 1 and "no index left" in res.output and "Traceback" not in res.output
    rows = ds.read_manifest(tmp_path / "data")
    assert [r.file for r in rows] == [f"face0/face0.{sf.MAX_INDEX}.jpg"]


GOOD_ROW = "face0/face0.0.jpg,face0,0,s,,,x," + "a" * 64


@pytest.mark.parametrize("row, why", [
    ("../evil/evil.0.jpg,../evil,0,s,,,x," + "a" * 64, "invalid label"),
    ("/etc/face0.0.jpg,face0,1,s,,,x," + "b" * 64, "is not face0/face0.<N>.jpg"),
    ("face0/../../x/face0.1.jpg,face0,1,s,,,x," + "b" * 64, "is not face0/face0.<N>.jpg"),
    ("face0/face0.1.jpg,face0,1,s", "has 4 fields"),
    ("face0/face0.1.jpg,face0,one,s,,,x," + "b" * 64, "order"),
    ("face0/face0.0.jpg,face0,1,s,,,x," + "b" * 64, "again"),
])
def test_manifest_violating_the_spec_is_refused_with_the_row(tmp_path, row, why):
    (tmp_path / ds.MANIFEST).write_text(",".join(ds.COLUMNS) + "\n" + GOOD_ROW + "\n" + row + "\n")
    with pytest.raises(DatasetError, match=why) as e:
        ds.read_manifest(tmp_path)
    assert "row 3" in str(e.value)
    (tmp_path / "card").mkdir()
    res = CliRunner().invoke(main, ["ingest", str(tmp_path / "card"), "-d", str(tmp_path)])
    if why == "again":  # two writers at once (an older version): the next ingest repairs it
        assert "listed 2 times" in res.output and ds.read_manifest(tmp_path) == []
    else:
        assert res.exit_code == 1 and "row 3" in res.output and "Traceback" not in res.output


def test_training_refuses_a_manifest_pointing_outside_the_dataset(tmp_path):
    (tmp_path / ds.MANIFEST).write_text(",".join(ds.COLUMNS) + "\n" + GOOD_ROW + "\n"
                                        + "face0/../../secret/face0.1.jpg,face0,1,s,,,x," + "b" * 64 + "\n")
    from tinyheat.training.data import load_dataset

    with pytest.raises(DatasetError, match="row 3: file 'face0/../../secret/face0.1.jpg' is not"):
        load_dataset(tmp_path)


def test_unreadable_sub_folder_is_reported_and_the_rest_ingested(card, tmp_path, monkeypatch):
    src, _ = card
    copy = tmp_path / "card"
    (copy / "locked").mkdir(parents=True)
    for p in src.iterdir():
        (copy / p.name).write_bytes(p.read_bytes())
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = ingest(copy, tmp_path / "data")
    assert len(report.added) == N_CARD
    assert [(r.path.name, r.reason) for r in report.rejected] == [("locked", "folder not readable: Permission denied")]


def test_interrupted_import_frames_rerun_gives_the_uninterrupted_dataset(tmp_path, monkeypatch):
    from tinyheat.ingest.frames import import_frames

    src = tmp_path / "rec.csv"
    src.write_text("".join(",".join(f"{v:.2f}" for v in frame(k).ravel()) + "\n" for k in range(8)))
    import_frames([src], "person", tmp_path / "ref")
    nth_call_raises(monkeypatch, "link", 2 * 3 + 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        import_frames([src], "person", tmp_path / "data")
    monkeypatch.undo()
    report = import_frames([src], "person", tmp_path / "data")
    assert report.added == 4 and report.duplicates == 4 and report.repairs == []
    assert tree(tmp_path / "data") == tree(tmp_path / "ref")
