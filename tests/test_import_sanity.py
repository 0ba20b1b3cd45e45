"""``import-frames`` refuses or correctly reads the inputs that used to be stored wrong silently:
decimal commas, extra columns, kelvin / Fahrenheit, constant frames (tinyheat.ingest.frames)."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.dataset import sample_format as sf
from tinyheat.dataset import store as ds
from tinyheat.ingest.frames import FrameFileError, iter_frames, load_frames

HALF_CK = 0.005 + 1e-4


def scene(k: float = 0.0) -> np.ndarray:
    """A room at ~23 degC with a ~34 degC face: (24, 32) float32 degC."""
    f = np.full((24, 32), 23.0, np.float32) + np.linspace(0, 0.8, 768, dtype=np.float32).reshape(24, 32)
    f[6:18, 10:20] = 34.0 + k
    return f


def line(values, sep=",", dec="."):
    return sep.join(f"{v:.2f}".replace(".", dec) for v in np.asarray(values).reshape(-1))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_decimal_comma_semicolon_csv_reads_the_right_temperatures(tmp_path):
    p = tmp_path / "eu.csv"
    p.write_text(line(scene(0), ";", ",") + "\n" + line(scene(1), ";", ",") + "\n")
    fr = load_frames(p)
    assert fr.frames.shape == (2, 24, 32)
    np.testing.assert_allclose(fr.frames, np.stack([scene(0), scene(1)]), atol=0.006)
    assert any("decimal comma" in n for n in fr.notes)


def test_decimal_comma_grid_with_spaces(tmp_path):
    p = tmp_path / "grid.txt"
    p.write_text("\n".join(line(row, " ", ",") for row in scene(0)) + "\n")
    np.testing.assert_allclose(load_frames(p).frames[0], scene(0), atol=0.006)


def test_decimal_commas_in_a_comma_separated_file_are_refused(tmp_path):
    p = tmp_path / "ambiguous.csv"
    p.write_text(line(scene(0), ",", ",") + "\n")        # 23,50,24,10: 1536 fields
    with pytest.raises(FrameFileError, match="1536 fields.*decimal commas"):
        load_frames(p)


def test_trailing_label_column_is_refused_unless_columns_are_named(tmp_path):
    p = tmp_path / "labelled.csv"
    p.write_text("".join(line(scene(k)) + ",1\n" for k in range(3)))
    with pytest.raises(FrameFileError, match="769 fields.*--columns 1-768"):
        load_frames(p)
    fr = load_frames(p, columns=(1, 768))
    np.testing.assert_allclose(fr.frames, np.stack([scene(k) for k in range(3)]), atol=0.006)
    res = run("import-frames", p, "-l", "x", "-d", tmp_path / "d", "--columns", "1-768")
    assert res.exit_code == 0 and "added 3" in res.output, res.output
    res = run("import-frames", p, "-l", "x", "-d", tmp_path / "d", "--columns", "2-768")
    assert res.exit_code == 2 and "768" in res.output


def test_leading_unnamed_columns_are_refused_and_taken_with_columns(tmp_path):
    p = tmp_path / "timed.csv"
    p.write_text("".join(f"{k},12:00:0{k}," + line(scene(k)) + "\n" for k in range(2)))
    with pytest.raises(FrameFileError, match="770 fields"):
        load_frames(p)
    np.testing.assert_allclose(load_frames(p, columns=(3, 770)).frames[1], scene(1), atol=0.006)


def test_header_naming_the_pixels_selects_them(tmp_path):
    """The layout of the FIR action recordings: Time, RT, P000..P767."""
    p = tmp_path / "fir.csv"
    header = "Time,RT," + ",".join(f"P{i:03d}" for i in range(768)) + ",label"
    p.write_text(header + "\n" + "".join(f"16:05:2{k},0," + line(scene(k)) + ",sit\n" for k in range(2)))
    fr = load_frames(p)
    np.testing.assert_allclose(fr.frames, np.stack([scene(0), scene(1)]), atol=0.006)
    assert any("P000..P767" in n for n in fr.notes)


@pytest.mark.parametrize("unit, convert, looks", [
    ("K", lambda c: c + 273.15, "kelvin"),
    ("F", lambda c: c * 9 / 5 + 32, "Fahrenheit"),
])
def test_kelvin_and_fahrenheit_are_refused_with_the_unit_to_pass_and_read_with_it(tmp_path, unit, convert, looks):
    p = tmp_path / f"{unit}.csv"
    p.write_text("".join(line(convert(scene(k).astype(np.float64))) + "\n" for k in range(4)))
    with pytest.raises(FrameFileError, match=f"look like {looks}.*--unit {unit}"):
        load_frames(p)
    res = run("import-frames", p, "-l", "x", "-d", tmp_path / "d")
    assert res.exit_code == 1 and f"--unit {unit}" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "d" / ds.MANIFEST).exists()
    res = run("import-frames", p, "-l", "x", "-d", tmp_path / "d", "--unit", unit)
    assert res.exit_code == 0 and "added 4" in res.output, res.output
    rows = ds.read_manifest(tmp_path / "d")
    got = sf.read_sample(tmp_path / "d" / rows[2].file).degc
    assert np.abs(got - scene(2)).max() <= 0.01 + HALF_CK


def test_kelvin_npz_is_refused_too(tmp_path):
    p = tmp_path / "k.npz"
    np.savez(p, frames=np.stack([scene(0), scene(1)]) + np.float32(273.15))
    with pytest.raises(FrameFileError, match="--unit K"):
        load_frames(p)
    np.testing.assert_allclose(load_frames(p, unit="K").frames[1], scene(1), atol=1e-3)


def test_hot_scene_in_degc_is_accepted_with_an_explicit_unit(tmp_path):
    p = tmp_path / "oven.csv"
    p.write_text(line(scene(0) + 60) + "\n")
    with pytest.raises(FrameFileError, match="not a plausible scene"):
        load_frames(p)
    np.testing.assert_allclose(load_frames(p, unit="C").frames[0], scene(0) + 60, atol=0.006)


@pytest.mark.parametrize("value", [300.0, 95.0, 23.0])
def test_constant_frames_are_skipped_and_reported(tmp_path, value):
    p = tmp_path / "const.csv"
    p.write_text(line(scene(0)) + "\n" + line(np.full(768, value)) + "\n" + line(scene(1)) + "\n")
    fr = load_frames(p, unit="C")
    assert fr.where == [1, 3]
    assert fr.skipped[0][0] == 2 and "constant frame" in fr.skipped[0][1]


def test_all_constant_file_imports_nothing_and_exits_1(tmp_path):
    p = tmp_path / "const.csv"
    p.write_text((line(np.full(768, 300.0)) + "\n") * 3)
    res = run("import-frames", p, "-l", "x", "-d", tmp_path / "d")
    assert res.exit_code == 1 and "constant frame" in res.output and "--unit" not in res.output
    assert ds.read_manifest(tmp_path / "d") == []


def test_streaming_yields_bounded_chunks(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("".join(line(scene(k / 100)) + "\n" for k in range(70)))
    sizes = [len(fr.frames) for fr in iter_frames(p, chunk=32)]
    assert sizes == [32, 32, 6]


def test_real_fir_recording_takes_the_pixels_its_header_names(shared_datasets):
    """fir-action-ceiling: Time, RT, P000..P767 (770 fields): the frame is fields 3..770, row-major."""
    import csv

    path = shared_datasets / "fir-action-ceiling" / "20200628_145326_mlx90640_01_light_none.csv"
    fr = load_frames(path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert fr.frames.shape == (len(rows), 24, 32) and fr.skipped == []
    for k in (0, len(rows) - 1):
        expect = np.array([float(rows[k][f"P{i:03d}"]) for i in range(768)], np.float32).reshape(24, 32)
        np.testing.assert_array_equal(fr.frames[k], expect)
