"""Data safety, round 2 (issue 15): one frame reader for every importer, units on every chunk,
damaged sessions detected, interrupted writers leave nothing half-written, no tracebacks."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.session import read_session
from tinyheat.session import store as session_store

HDR = "Time,RT," + ",".join(f"P{i:03d}" for i in range(768))


def frame(k: int, base: float = 22.0) -> np.ndarray:
    f = base + 0.3 * np.sin(np.arange(768) * 0.37 + k)
    f[300:340] += 10.0
    return f


def csv_text(times, frames, sep=",", decimal_comma=False, header=HDR) -> str:
    lines = [header.replace(",", sep)]
    for t, f in zip(times, frames):
        vals = [f"{v:.2f}" for v in f]
        if decimal_comma:
            vals = [v.replace(".", ",") for v in vals]
        lines.append(sep.join([t, "0"] + vals))
    return "\n".join(lines) + "\n"


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in r.output, r.output
    return r


def one_line_error(r) -> str:
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), r.output
    return lines[0]


def test_import_session_reads_like_import_frames(tmp_path):
    """';' separators, decimal commas and an Excel BOM keep the time column; inf is stored as NaN;
    a cut line is reported; values and times are right."""
    times = [f"2020-06-26 16:05:{i:02d}.500" for i in range(6)]
    text = csv_text(times, [frame(k) for k in range(6)], sep=";", decimal_comma=True).splitlines()
    fields = text[2].split(";")
    fields[5] = "inf"
    text[2] = ";".join(fields)
    text[4] = text[4][: len(text[4]) // 2]  # a cut line
    src = tmp_path / "excel.csv"
    src.write_bytes(b"\xef\xbb\xbf" + ("\n".join(text) + "\n").encode())
    r = run("import-session", src, "--out", tmp_path / "s.zarr")
    assert r.exit_code == 0 and "wrote 5 frames" in r.output and "excel.csv:5:" in r.output and "cut" in r.output
    s = read_session(tmp_path / "s.zarr")
    assert list(s.t_ms) == [0, 1000, 2000, 4000, 5000] and s.meta["wall_clock_local"].startswith("2020-06-26 16:05:00")
    assert not np.isinf(s.frames).any() and np.isnan(s.frames[1].ravel()[3])
    np.testing.assert_allclose(s.frames[0].ravel(), np.round(frame(0), 2), atol=1e-4)


def test_units_are_checked_on_every_frame_and_ambiguous_files_need_a_unit(tmp_path):
    kelvin = tmp_path / "k.csv"
    kelvin.write_text(csv_text([str(i) for i in range(5)], [frame(k) + 273.15 for k in range(5)]))
    assert "--unit K" in one_line_error(run("import-session", kelvin, "--out", tmp_path / "k.zarr"))
    assert run("import-session", kelvin, "--out", tmp_path / "k.zarr", "--unit", "K").exit_code == 0
    assert abs(float(np.median(read_session(tmp_path / "k.zarr").frames)) - 22.0) < 0.5
    late = tmp_path / "late.csv"   # kelvin after the first 64 frames
    late.write_text(csv_text([str(i) for i in range(90)], [frame(k) + (273.15 if k >= 80 else 0) for k in range(90)]))
    msg = one_line_error(run("import-session", late, "--out", tmp_path / "late.zarr"))
    assert "line/frame 82" in msg and "mixes units" in msg and not (tmp_path / "late.zarr").exists()
    r = run("import-frames", late, "-l", "x", "-d", tmp_path / "ds")
    assert "mixes units" in r.output
    cold_f = tmp_path / "cold_f.csv"  # an 8 degC scene in Fahrenheit: 42-57 F
    cold_f.write_text(csv_text([str(i) for i in range(5)], [(frame(k, 8.0)) * 9 / 5 + 32 for k in range(5)]))
    assert "--unit C or --unit F" in one_line_error(run("import-session", cold_f, "--out", tmp_path / "f.zarr"))
    assert run("import-session", cold_f, "--out", tmp_path / "f.zarr", "--unit", "F").exit_code == 0
    assert abs(float(np.median(read_session(tmp_path / "f.zarr").frames)) - 8.0) < 0.5


def test_mlx90641_header_over_mlx90640_rows_is_an_error(tmp_path):
    h41 = "frame,t_s,delay_s,ambient_degC," + ",".join(f"p{i:03d}" for i in range(192))
    src = tmp_path / "f.csv"
    src.write_text(h41 + "\n" + "\n".join(",".join([str(i), str(i / 4), "0", "30"] + [f"{v:.2f}" for v in frame(i)])
                                         for i in range(5)) + "\n")
    assert "header and data do not match" in one_line_error(run("import-session", src, "--out", tmp_path / "s.zarr"))
    ok = tmp_path / "ok.csv"   # the real MLX90641 layout imports as 12x16, an empty ambient cell as NaN
    rows = [",".join([str(i), str(i / 4), "0", "" if i == 2 else "30.5"] + [f"{v:.2f}" for v in frame(i)[:192]])
            for i in range(5)]
    ok.write_text(h41 + "\n" + "\n".join(rows) + "\n")
    assert run("import-session", ok, "--out", tmp_path / "ok.zarr").exit_code == 0
    s = read_session(tmp_path / "ok.zarr")
    assert s.frames.shape == (5, 12, 16) and np.isnan(s.ta_degC[2]) and s.ta_degC[0] == np.float32(30.5)
    r = run("import-frames", ok, "-l", "x", "-d", tmp_path / "ds")
    assert r.exit_code == 1 and "MLX90641 16x12 frames; a dataset sample is 32x24" in r.output


@pytest.mark.parametrize("times, why", [
    (["2020-10-25 02:50:00", "2020-10-25 02:55:00", "2020-10-25 02:00:00"], "daylight-saving"),
    (["2020-06-26T16:05:00", "2020-06-26T16:05:01+02:00", "2020-06-26T16:05:02"], "time zone"),
])
def test_times_going_back_or_mixing_zones_are_one_line_errors(tmp_path, times, why):
    src = tmp_path / "t.csv"
    src.write_text(csv_text(times, [frame(k) for k in range(len(times))]))
    assert why in one_line_error(run("import-session", src, "--out", tmp_path / "s.zarr"))


def test_mixed_zones_are_converted_and_a_start_near_year_10000_is_refused(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text(csv_text(["2020-06-26T16:05:00Z", "2020-06-26T18:05:01+02:00"], [frame(0), frame(1)]))
    assert run("import-session", src, "--out", tmp_path / "s.zarr").exit_code == 0
    assert list(read_session(tmp_path / "s.zarr").t_ms) == [0, 1000]
    late = tmp_path / "late.csv"
    late.write_text(csv_text(["9999-12-31T23:59:50Z", "9999-12-31T23:59:51Z"], [frame(0), frame(1)]))
    assert run("import-session", late, "--out", tmp_path / "y.zarr").exit_code == 0
    assert "year 10000" in one_line_error(run("heatmap", tmp_path / "y.zarr"))


@pytest.fixture
def session(tmp_path):
    out = tmp_path / "s.zarr"
    assert run("sim-session", "--out", out, "--seconds", "40").exit_code == 0
    return out


def test_deleted_or_corrupt_chunk_is_named_never_blank_frames(session, tmp_path):
    chunk = session / "frames" / "c" / "1" / "0" / "0"
    data = chunk.read_bytes()
    chunk.unlink()
    for cmd in (["play", session, "--out", tmp_path / "p.gif"], ["people", session, "--out", tmp_path / "pp"],
                ["heatmap", session], ["occupancy", session]):
        assert "frames/c/1/0/0 missing" in one_line_error(run(*cmd))
    chunk.write_bytes(data[: len(data) // 2] + b"garbage")
    for cmd in (["play", session, "--out", tmp_path / "p.gif"], ["heatmap", session], ["occupancy", session]):
        assert "frames chunk c/1/0/0 (frames 85-159) is damaged" in one_line_error(run(*cmd))
    (session / "ta_degC" / "c" / "0").unlink()   # a sensor with unknown Ta still writes the chunk
    assert "ta_degC/c/0 missing" in one_line_error(run("heatmap", session))
    assert not (tmp_path / "p.gif").exists()


def test_interrupted_import_session_leaves_nothing_and_reruns(tmp_path, monkeypatch):
    src = tmp_path / "a.csv"
    src.write_text(csv_text([str(i / 4) for i in range(300)], [frame(k) for k in range(300)]))
    out = tmp_path / "s.zarr"
    real = session_store.SessionWriter.append
    calls = {"n": 0}

    def append_then_stop(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(session_store.SessionWriter, "append", append_then_stop)
    r = CliRunner().invoke(main, ["import-session", str(src), "--out", str(out)])
    assert r.exit_code != 0 and calls["n"] == 2
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["a.csv"]          # no half session, no hidden sibling
    stale = tmp_path / ".s.partial-999999999.zarr"      # what a kill -9 leaves: removed by the re-run
    shutil.copytree(tmp_path, stale, ignore=lambda d, n: n)
    assert run("import-session", src, "--out", out).exit_code == 0
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "s.zarr"] and len(read_session(out)) == 300


def test_ingest_skips_fifos_and_link_loops_and_names_a_latin1_manifest_row(tmp_path):
    card, data = tmp_path / "card", tmp_path / "data"
    card.mkdir()
    os.mkfifo(card / "face0.1.jpg")
    os.symlink("face0.3.jpg", card / "face0.2.jpg")
    os.symlink("face0.2.jpg", card / "face0.3.jpg")
    r = run("ingest", card, "-d", data)
    assert "face0.1.jpg: a FIFO" in r.output and "face0.2.jpg: a symbolic link loop" in r.output
    (data / "manifest.csv").write_bytes(b"file,label,order,session,millis,ta_degC,source,sha256\r\n"
                                        b"face0/face0.0.jpg,face0,0,caf\xe9,,,x," + b"a" * 64 + b"\r\n")
    assert "row 2 is not UTF-8" in one_line_error(run("check", data))


def test_force_replaces_a_session_but_never_another_folder(tmp_path):
    """--force replaces an earlier session; a folder that is not a session (a dataset, say) is
    refused before any work and keeps every file."""
    keep = tmp_path / "mydataset"
    keep.mkdir()
    (keep / "manifest.csv").write_text("precious\n")
    assert "not replacing it" in one_line_error(run("sim-session", "--out", keep, "--seconds", "3", "--force"))
    assert sorted(p.name for p in keep.iterdir()) == ["manifest.csv"]
    s = tmp_path / "s.zarr"
    assert run("sim-session", "--out", s, "--seconds", "3").exit_code == 0
    assert "already exists" in one_line_error(run("sim-session", "--out", s, "--seconds", "3"))
    assert run("sim-session", "--out", s, "--seconds", "3", "--force").exit_code == 0
    assert len(read_session(s).frames) > 0
