"""``tinyheat import-frames``: tinyheat.ingest.frames on the real shared recordings and on
hand-written files of each accepted format."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.dataset import store as ds
from tinyheat.dataset import sample_format as sf
from tinyheat.cli import main
from tinyheat.ingest.frames import FrameFileError, import_frames, load_frames, read_frames

HALF_CK = 0.005 + 1e-4  # PGM sidecar resolution: 0.01 K, rounded to nearest


def ramp(k: float = 0.0) -> np.ndarray:
    return (np.arange(768, dtype=np.float32).reshape(24, 32) / np.float32(40.0) + np.float32(20.0 + k))


def fmt(values) -> str:
    return ",".join(f"{v:.2f}" for v in np.asarray(values).reshape(-1))


# ---- the real recordings in ../shared/datasets ------------------------------------------------

def test_presence_csv_reads_220_frames_row_major(presence_csvs):
    frames = read_frames(presence_csvs["person"])
    assert frames.shape == (220, 24, 32) and frames.dtype == np.float32
    first = [float(v) for v in presence_csvs["person"].read_text().splitlines()[0].split(",")]
    assert frames[0, 0, 0] == pytest.approx(26.75) and frames[0, 0, 1] == pytest.approx(25.71)
    assert frames[0, 1, 0] == pytest.approx(first[32])      # value 32 = row 1, column 0
    assert frames[0, 23, 31] == pytest.approx(first[767])


def test_import_presence_person_csv(presence_csvs, tmp_path):
    path = presence_csvs["person"]
    report = import_frames([path], "person", tmp_path / "data")
    assert report.added == 220 and report.duplicates == 0 and report.files[0].skipped == []
    rows = ds.read_manifest(tmp_path / "data")
    assert len(rows) == 220
    assert [r.order for r in rows] == list(range(220))
    assert [r.source for r in rows] == [f"{path}:{n}" for n in range(1, 221)]
    assert {r.session for r in rows} == {"import:person"}
    s0 = sf.read_sample(tmp_path / "data" / rows[0].file)
    assert s0.degc is not None and abs(float(s0.degc[0, 0]) - 26.75) <= 0.01
    expect = read_frames(path)
    s219 = sf.read_sample(tmp_path / "data" / rows[219].file)
    assert np.nanmax(np.abs(s219.degc - expect[219])) <= HALF_CK
    np.testing.assert_array_equal(s219.grey, sf.decode_jpeg(sf.encode_jpeg(sf.to_grey(expect[219]))))
    again = import_frames([path], "person", tmp_path / "data")        # idempotent
    assert again.added == 0 and again.duplicates == 220
    assert len(ds.read_manifest(tmp_path / "data")) == 220


def test_import_esp32_text_frames(esp32_samples, tmp_path):
    paths = sorted((esp32_samples / "human").glob("frame*.txt"))
    assert len(paths) == 3
    report = import_frames(paths, "human", tmp_path / "data")
    assert report.added == 3
    rows = ds.read_manifest(tmp_path / "data")
    for row, path in zip(rows, paths):
        assert row.source == f"{path}:1" and row.session == f"import:{path.stem}"
        expect = np.loadtxt(path, delimiter=",", dtype=np.float32)
        assert expect.shape == (24, 32)
        got = sf.read_sample(tmp_path / "data" / row.file).degc
        assert np.abs(got - expect).max() <= HALF_CK


@pytest.mark.parametrize("label", ["cat", "empty"])
def test_every_esp32_file_reads_one_frame(esp32_samples, label):
    for p in sorted((esp32_samples / label).glob("*.txt")):
        fr = load_frames(p)
        assert fr.frames.shape == (1, 24, 32) and fr.skipped == []


# ---- hand-written files of each format --------------------------------------------------------

def test_leading_columns_and_header(tmp_path):
    p = tmp_path / "log.csv"
    header = "time,frame," + ",".join(f"p{i}" for i in range(768))
    p.write_text(f"{header}\n12:00:00.25,0,{fmt(ramp(0))}\n12:00:00.50,1,{fmt(ramp(1))}\n")
    fr = load_frames(p)
    assert fr.where == [2, 3] and fr.skipped == []
    np.testing.assert_allclose(fr.frames, np.stack([ramp(0), ramp(1)]), atol=0.006)


def test_numeric_column_header_is_skipped(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(",".join(str(i) for i in range(768)) + "\n" + fmt(ramp()) + "\n")
    fr = load_frames(p)
    assert fr.where == [2] and len(fr.frames) == 1


def test_bad_line_is_skipped_and_reported_good_ones_kept(tmp_path):
    p = tmp_path / "cut.csv"
    good = fmt(ramp(0))
    p.write_text(f"{good}\n{good.rsplit(',', 1)[0]}\n\n{fmt(ramp(2))}\n{fmt(np.full(768, np.nan))}\n")
    fr = load_frames(p)
    assert fr.where == [1, 4]
    assert [no for no, _ in fr.skipped] == [2, 5]
    assert "767 values, expected 768" in fr.skipped[0][1]
    assert "no valid pixel" in fr.skipped[1][1]


def test_whitespace_grid_with_several_frames(tmp_path):
    p = tmp_path / "grid.txt"
    blocks = ["\n".join(" ".join(f"{v:.3f}" for v in row) for row in ramp(k)) for k in (0, 1)]
    p.write_text(blocks[0] + "\n\n" + blocks[1] + "\n")
    fr = load_frames(p)
    assert fr.frames.shape == (2, 24, 32) and fr.where == [1, 26]
    np.testing.assert_allclose(fr.frames[1], ramp(1), atol=1e-3)


def test_grid_with_a_short_row_skips_that_frame(tmp_path):
    p = tmp_path / "grid.txt"
    rows = [",".join(f"{v:.2f}" for v in row) for row in ramp(0)]
    rows2 = [",".join(f"{v:.2f}" for v in row) for row in ramp(1)]
    rows2[5] = rows2[5].rsplit(",", 1)[0]                          # line 30 has 31 values
    p.write_text("\n".join(rows + rows2 + rows[:3]) + "\n")
    fr = load_frames(p)
    assert fr.where == [1]
    assert fr.skipped[0][0] == 30 and "31 values, expected 32" in fr.skipped[0][1]
    assert fr.skipped[1][0] == 49 and "incomplete frame: 3 of 24" in fr.skipped[1][1]


def test_unreadable_text_is_a_file_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(FrameFileError, match="line 1 has 3 values"):
        load_frames(p)
    with pytest.raises(FrameFileError, match="no such file"):
        load_frames(tmp_path / "missing.csv")


def test_npz_recording(tmp_path):
    p = tmp_path / "rec.npz"
    frames = np.stack([ramp(0), ramp(1), np.full((24, 32), np.nan, np.float32)])
    np.savez(p, frames=frames, t_ms=np.array([1000, 1250, 1500], np.uint32), ta_degC=np.float32([24.5, 24.56, 24.6]))
    report = import_frames([p], "env", tmp_path / "data")
    assert report.added == 2 and report.files[0].skipped == [(3, "no valid pixel (all NaN/inf or outside -40..300 degC)")]
    rows = ds.read_manifest(tmp_path / "data")
    assert [(r.source, r.millis, r.ta_degC) for r in rows] == [(f"{p}:1", "1000", "24.50"), (f"{p}:2", "1250", "24.56")]
    got = sf.read_sample(tmp_path / "data" / rows[1].file).degc
    assert np.abs(got - ramp(1)).max() <= HALF_CK
    flat = tmp_path / "flat.npz"
    np.savez(flat, frames=frames[:2].reshape(2, 768))
    assert read_frames(flat).shape == (2, 24, 32)


@pytest.mark.parametrize("arrays, match", [
    ({"frames": np.zeros((2, 32, 24), np.float32)}, "shape"),
    ({"temps": np.zeros((2, 24, 32), np.float32)}, "no 'frames'"),
    ({"frames": np.zeros((2, 24, 32), np.float32), "t_ms": np.zeros(3)}, "t_ms"),
])
def test_bad_npz(tmp_path, arrays, match):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(FrameFileError, match=match):
        load_frames(p)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(FrameFileError, match="not a readable"):
        load_frames(tmp_path / "junk.npz")


def test_file_order_and_a_bad_file_does_not_stop_the_others(tmp_path):
    a, b, bad = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "bad.csv"
    a.write_text(fmt(ramp(0)) + "\n" + fmt(ramp(1)) + "\n")
    b.write_text(fmt(ramp(2)) + "\n" + fmt(ramp(0)) + "\n")          # second line duplicates a.csv:1
    bad.write_text("hello\n")
    report = import_frames([b, bad, a], "x", tmp_path / "data")
    assert report.files[1].error and "bad.csv" in report.files[1].error
    # The same frame from another file is identical content: stored once.
    assert report.added == 3 and report.duplicates == 1 and report.files[2].duplicates == 1
    rows = ds.read_manifest(tmp_path / "data")
    assert [(r.source.rsplit("/", 1)[1], r.order) for r in rows] == [
        ("b.csv:1", 0), ("b.csv:2", 1), ("a.csv:2", 2)]
    report = import_frames([a], "x", tmp_path / "data")
    assert report.added == 0 and report.duplicates == 2


def test_invalid_label_writes_nothing(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(fmt(ramp()) + "\n")
    with pytest.raises(sf.SampleError, match="invalid label"):
        import_frames([p], "no.dots", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_cli(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(fmt(ramp()) + "\n1,2\n")
    runner = CliRunner()
    res = runner.invoke(main, ["import-frames", str(p), "--label", "env", "--dataset", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "env: added 1, duplicates 0" in res.output and f"skipped {p}:2: 2 values" in res.output
    res = runner.invoke(main, ["import-frames", str(p), "--label", "a b", "--dataset", str(tmp_path / "d")])
    assert res.exit_code == 2 and "invalid label" in res.output
    res = runner.invoke(main, ["import-frames", str(tmp_path / "nope.csv"), "-l", "env", "-d", str(tmp_path / "d")])
    assert res.exit_code == 1 and "no such file" in res.output and "no valid frames" in res.output


def test_import_frames_reads_a_session_as_record_writes_it(tmp_path):
    """`record --out rec.zarr` writes a session; import-frames stores its frames (0.01 K sidecars)."""
    from tinyheat.session import Session

    rng = np.random.default_rng(3)
    f = (24 + 3 * rng.random((5, 24, 32))).astype(np.float32)
    f[2] = np.nan                                                  # a frame with no valid pixel: skipped
    Session(f, np.arange(5) * 125, ta_degC=np.full(5, 31.5)).write(tmp_path / "rec.zarr")
    r = CliRunner().invoke(main, ["import-frames", str(tmp_path / "rec.zarr"), "--label", "p",
                                  "--dataset", str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    rows = ds.read_manifest(tmp_path / "ds")
    assert [row.source.rsplit(":", 1)[1] for row in rows] == ["1", "2", "4", "5"]
    assert [row.millis for row in rows] == ["0", "125", "375", "500"] and rows[0].ta_degC == "31.50"
    got = sf.read_sample(tmp_path / "ds" / rows[2].file).degc
    assert np.abs(got - f[3]).max() <= 0.006
    assert "skipped 1" in r.output


def test_import_frames_refuses_a_folder_that_is_no_24x32_session_in_one_line(tmp_path):
    from tinyheat.session import Session

    (tmp_path / "photos").mkdir()
    Session(np.full((2, 12, 16), 25.0, np.float32) + np.arange(16, dtype=np.float32), [0, 60]).write(tmp_path / "s.zarr")
    for src, msg in ((tmp_path / "photos", "not a readable session"), (tmp_path / "s.zarr", "are 12x16")):
        r = CliRunner().invoke(main, ["import-frames", str(src), "--label", "p", "--dataset", str(tmp_path / "ds")])
        assert r.exit_code == 1 and msg in r.output and "Traceback" not in r.output
