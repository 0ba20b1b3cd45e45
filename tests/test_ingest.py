"""``tinyheat ingest``: tinyheat.ingest.card on hand-built SD-card folders."""
from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tinyheat.dataset import store as ds
from tinyheat.dataset import sample_format as sf
from tinyheat.cli import main
from tinyheat.ingest.card import ingest


def frame(k: float) -> np.ndarray:
    """A distinct frame per k: a ramp 22..37 degC shifted by k."""
    return (np.linspace(22.0, 37.0, 768, dtype=np.float32).reshape(24, 32) + np.float32(k)) % 40


def jpg(k: float) -> bytes:
    return sf.encode_jpeg(sf.to_grey(frame(k)))


def rgb_jpg(k: float) -> bytes:
    g = sf.to_grey(frame(k))
    buf = io.BytesIO()
    Image.fromarray(np.stack([g] * 3, axis=-1), mode="RGB").save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def pgm(k: float) -> bytes:
    return sf.encode_pgm(frame(k))


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def reasons(report) -> dict[str, str]:
    return {r.path.name: r.reason for r in report.rejected}


@pytest.fixture
def card(tmp_path):
    """An SD card with good, duplicate, broken, odd and well-known non-sample files."""
    c = tmp_path / "card"
    write(c / "face0.0.jpg", jpg(0))                  # 1-channel + sidecar
    write(c / "face0.0.pgm", pgm(0))
    write(c / "face0.1.jpg", rgb_jpg(1))              # 3-channel, no sidecar
    write(c / "face1.0.jpg", jpg(2))                  # 1-channel, no sidecar
    write(c / "face0.5.jpg", rgb_jpg(1))              # same content as face0.1.jpg
    write(c / "env.0.jpg", jpg(3)[:200])              # corrupt (truncated) JPEG
    write(c / "env.1.jpg", jpg(4))                    # good JPEG ...
    write(c / "env.1.pgm", pgm(4)[:-10])              # ... with a truncated sidecar
    big = io.BytesIO()
    Image.fromarray(np.zeros((48, 64), np.uint8), mode="L").save(big, format="JPEG")
    write(c / "env.2.jpg", big.getvalue())            # 64x48
    colour = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8), "RGB").save(
        colour, format="JPEG")
    write(c / "env.3.jpg", colour.getvalue())         # a colour picture, not a greyscale sample
    write(c / "IMG_0001.jpg", jpg(5))                 # no label in the name, at the root
    write(c / "face0.007.jpg", jpg(6))                # N with leading zeros
    write(c / "notes.docx", b"hello")                 # wrong extension
    write(c / "face0.9.pgm", pgm(7))                  # orphan sidecar
    # well-known non-sample files: ignored silently
    write(c / "labels.txt", b"face0\nface1\nenv\n")
    write(c / "session.txt", b"0000002a\n")
    write(c / ".Trashes" / "face0.3.jpg", jpg(8))
    write(c / "System Volume Information" / "IndexerVolumeGuid", b"x")
    write(c / "._face0.0.jpg", b"\x00\x05\x16\x07")   # macOS AppleDouble
    write(c / "mlx90640_ee_53494d000001.bin", bytes(1664))  # the device's EEPROM backup: a device file
    return c


def test_ingest_keeps_good_reports_bad_never_overwrites(card, tmp_path):
    dataset = tmp_path / "data"
    user_file = write(dataset / "face0" / "face0.0.jpg", b"the user's own bytes")  # not in any manifest

    report = ingest(card, dataset)

    by_source = {r.source.rsplit("/", 1)[-1]: r for r in report.added}
    assert sorted(by_source) == ["face0.0.jpg", "face0.1.jpg", "face1.0.jpg"]
    assert user_file.read_bytes() == b"the user's own bytes"          # not overwritten
    moved = by_source["face0.0.jpg"]
    assert moved.file == "face0/face0.1.jpg"                             # next free N
    assert (dataset / "face0" / "face0.1.jpg").read_bytes() == (card / "face0.0.jpg").read_bytes()
    assert (dataset / "face0" / "face0.1.pgm").read_bytes() == (card / "face0.0.pgm").read_bytes()
    assert by_source["face0.1.jpg"].file == "face0/face0.2.jpg"
    assert not (dataset / "face0" / "face0.2.pgm").exists()
    assert by_source["face1.0.jpg"].file == "face1/face1.0.jpg"          # keeps its N when free
    assert (dataset / "face1" / "face1.0.jpg").read_bytes() == jpg(2)

    assert [(p.name, held) for p, held in report.duplicates] == [("face0.5.jpg", "face0/face0.2.jpg")]

    r = reasons(report)
    assert set(r) == {"env.0.jpg", "env.1.jpg", "env.2.jpg", "env.3.jpg", "IMG_0001.jpg", "face0.007.jpg",
                      "notes.docx", "face0.9.pgm"}
    assert "does not decode" in r["env.0.jpg"]
    assert "sidecar" in r["env.1.jpg"] and "1526" in r["env.1.jpg"]
    assert "64x48" in r["env.2.jpg"]
    assert "colour" in r["env.3.jpg"]
    assert "no label" in r["IMG_0001.jpg"] and "no label" in r["face0.007.jpg"]
    assert "not a sample" in r["notes.docx"]
    assert "orphan" in r["face0.9.pgm"]
    assert not (dataset / "env").exists()                                 # nothing of a rejected sample written

    rows = ds.read_manifest(dataset)
    assert [r.file for r in rows] == [r.file for r in report.added]
    for row in rows:
        j = (dataset / row.file).read_bytes()
        p = dataset / row.file.replace(".jpg", ".pgm")
        assert row.sha256 == ds.content_hash(j, p.read_bytes() if p.exists() else None)
    assert {r.label: r.order for r in rows if r.label == "face1"} == {"face1": 0}


def test_rerun_adds_nothing(card, tmp_path):
    dataset = tmp_path / "data"
    first = ingest(card, dataset)
    files_before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    manifest_before = (dataset / "manifest.csv").read_bytes()
    again = ingest(card, dataset)
    assert again.added == []
    assert len(again.duplicates) == len(first.added) + len(first.duplicates) == 4
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == files_before
    assert (dataset / "manifest.csv").read_bytes() == manifest_before
    assert reasons(again) == reasons(first)


def test_label_from_subfolder(tmp_path):
    src = tmp_path / "photos"
    write(src / "face0" / "anything.jpg", jpg(0))
    write(src / "face0" / "other.JPG", rgb_jpg(1))
    write(src / "face0" / "other.pgm", pgm(1))          # sidecar of other.JPG (same stem)
    write(src / "face0" / "face1.4.jpg", jpg(2))        # a sample name wins over the folder
    write(src / "my photos" / "x.jpg", jpg(3))          # folder is not a valid label
    write(src / "env" / "deep" / "y.jpg", jpg(4))       # label from the nearest folder: "deep"
    dataset = tmp_path / "data"
    report = ingest(src, dataset)
    got = {r.source.split("photos/", 1)[1]: r.file for r in report.added}
    assert got == {"face0/anything.jpg": "face0/face0.0.jpg", "face0/other.JPG": "face0/face0.1.jpg",
                   "face0/face1.4.jpg": "face1/face1.4.jpg", "env/deep/y.jpg": "deep/deep.0.jpg"}
    assert (dataset / "face0" / "face0.1.pgm").read_bytes() == pgm(1)
    r = reasons(report)
    assert list(r) == ["x.jpg"] and "'my photos' is not a valid label" in r["x.jpg"]


def test_captures_csv_gives_order_and_metadata(tmp_path):
    card = tmp_path / "card"
    for n, k in ((2, 0), (9, 1), (10, 2), (1, 3)):
        write(card / f"face0.{n}.jpg", jpg(k))
    write(card / "captures.csv", (
        "file,label,index,session,millis,ta_degC\n"
        "face0.10.jpg,face0,10,0000002a,1000,24.61\n"
        "face0.2.jpg,face0,2,0000002b,500,\n"
        "face0.9.jpg,face0,9,0000002b,900,25.00\n"
        "face0.44.jpg,face0,44,0000002b,950,25.00\n").encode())   # deleted from the card since
    report = ingest(card, tmp_path / "data")
    rows = ds.read_manifest(tmp_path / "data")
    assert [(r.source.rsplit("/", 1)[1], r.order, r.session, r.millis, r.ta_degC) for r in rows] == [
        ("face0.10.jpg", 0, "0000002a", "1000", "24.61"),
        ("face0.2.jpg", 1, "0000002b", "500", ""),
        ("face0.9.jpg", 2, "0000002b", "900", "25.00"),
        ("face0.1.jpg", 3, "", "", ""),       # not in the log: after the logged ones
    ]
    assert any("face0.44.jpg" in n for n in report.notes)
    assert report.rejected == []


def test_without_log_order_is_numeric_n(tmp_path):
    card = tmp_path / "card"
    for n in (10, 2, 0, 1):
        write(card / f"face0.{n}.jpg", jpg(n))
    ingest(card, tmp_path / "data")
    rows = ds.read_manifest(tmp_path / "data")
    assert [(r.file, r.order) for r in rows] == [
        ("face0/face0.0.jpg", 0), ("face0/face0.1.jpg", 1), ("face0/face0.2.jpg", 2), ("face0/face0.10.jpg", 3)]


def test_broken_captures_csv_is_reported_and_ingest_goes_on(tmp_path):
    card = tmp_path / "card"
    write(card / "face0.0.jpg", jpg(0))
    write(card / "captures.csv", b"name,when\nface0.0.jpg,3\n")
    report = ingest(card, tmp_path / "data")
    assert len(report.added) == 1
    assert any("captures.csv" in n and "lacks columns" in n for n in report.notes)


def test_dataset_into_dataset_keeps_bytes_and_metadata(tmp_path):
    a = ds.DatasetStore(tmp_path / "a")
    a.add("person", frame_degc=frame(0), session="import:x", source="x.csv:1", millis=10, ta_degC=21.5)
    a.add("person", frame_degc=frame(1), session="import:x", source="x.csv:2", millis=20)
    a.add("empty", grey=sf.to_grey(frame(2)), session="0000002a", source="sd")
    report = ingest(tmp_path / "a", tmp_path / "b")
    assert report.rejected == [] and report.notes == []
    rows_a, rows_b = ds.read_manifest(tmp_path / "a"), ds.read_manifest(tmp_path / "b")
    key = lambda r: (r.file, r.label, r.order, r.session, r.millis, r.ta_degC, r.sha256)  # noqa: E731
    assert sorted(map(key, rows_b)) == sorted(map(key, rows_a))
    for r in rows_a:
        assert (tmp_path / "b" / r.file).read_bytes() == (tmp_path / "a" / r.file).read_bytes()
    assert (tmp_path / "b" / "person" / "person.1.pgm").read_bytes() == (
        tmp_path / "a" / "person" / "person.1.pgm").read_bytes()


def test_dataset_on_the_card_is_not_reingested(tmp_path):
    card = tmp_path / "card"
    write(card / "face0.0.jpg", jpg(0))
    write(card / "face0.1.jpg", jpg(1))
    first = ingest(card, card / "data")
    second = ingest(card, card / "data")
    assert len(first.added) == 2 and second.added == [] and len(second.duplicates) == 2
    assert first.rejected == second.rejected == []


def test_missing_or_same_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest(tmp_path / "nope", tmp_path / "data")
    write(tmp_path / "f.jpg", jpg(0))
    with pytest.raises(NotADirectoryError):
        ingest(tmp_path / "f.jpg", tmp_path / "data")
    with pytest.raises(ValueError, match="same folder"):
        ingest(tmp_path, tmp_path)


def test_cli_summary_and_exit_codes(card, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(card), "--dataset", str(tmp_path / "data")])
    assert res.exit_code == 0, res.output
    assert "added 3, duplicates 1, rejected 8" in res.output
    assert "device file: " in res.output and "rejected: " + str(card / "mlx90640_ee") not in res.output
    assert "env.2.jpg: image is 64x48, expected 32x24" in res.output
    res = runner.invoke(main, ["ingest", str(tmp_path / "missing"), "--dataset", str(tmp_path / "data")])
    assert res.exit_code != 0 and "does not exist" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(main, ["ingest", str(tmp_path / "empty"), "--dataset", str(tmp_path / "data")])
    assert res.exit_code == 1 and "no valid samples" in res.output


def test_store_skips_a_name_another_writer_took_after_it_opened(tmp_path):
    """Another writer creates face0.0.pgm after the store listed the folder: the sample takes N = 1."""
    store = ds.DatasetStore(tmp_path / "data")
    folder = tmp_path / "data" / "face0"
    folder.mkdir(parents=True)
    (folder / "face0.0.pgm").write_bytes(b"other writer")
    row = store.add_bytes("face0", jpg(0), pgm(0), session="s", source="t")
    assert row.file == "face0/face0.1.jpg"
    assert not (folder / "face0.0.jpg").exists()
    assert (folder / "face0.0.pgm").read_bytes() == b"other writer"
    assert (folder / "face0.1.pgm").read_bytes() == pgm(0)


def test_device_file_name_follows_the_firmware(repo):
    """The EEPROM backup name ingest recognises is the one th_device.c writes (TH_EEPROM_FILE_PREFIX + 12 hex)."""
    import re

    from tinyheat.ingest.card import DEVICE_FILE_RE, EEPROM_FILE_PREFIX

    h = (repo / "firmware" / "lib" / "tinyheat_core" / "th_device.h").read_text()
    assert re.search(r'#define TH_EEPROM_FILE_PREFIX "([^"]*)"', h).group(1) == EEPROM_FILE_PREFIX
    c = (repo / "firmware" / "lib" / "tinyheat_core" / "th_device.c").read_text()
    assert 'TH_EEPROM_FILE_PREFIX "%04x%04x%04x.bin"' in c
    assert DEVICE_FILE_RE.fullmatch("mlx90640_ee_53494d000001.bin")
    assert not DEVICE_FILE_RE.fullmatch("mlx90640_ee_53494d000001.bin.jpg")
