"""`tinyheat export-ei`: checked against Edge Impulse's published formats (the fields listed in
tinyheat.workflow.edge_impulse's docstring) and for a split by session / capture order."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.dataset import sample_format as sf
from tinyheat.dataset.store import DatasetStore, read_manifest


def _check_info_labels(out: Path) -> list[dict]:
    """info.labels as the uploader's parser (ExportUploaderInfoFileV1) and the exporter-format page read it."""
    info = json.loads((out / "info.labels").read_text())
    assert info["version"] == 1 and isinstance(info["files"], list) and info["files"]
    for f in info["files"]:
        assert set(f) == {"path", "name", "category", "label", "metadata"}
        assert f["category"] in ("training", "testing") and (out / f["path"]).is_file()   # relative to the file
        assert f["label"]["type"] == "label" and isinstance(f["label"]["label"], str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in f["metadata"].items())
    return info["files"]


def _check_acquisition(doc: dict) -> list[float]:
    """Data acquisition format: protected (ver v1, alg none|HS256), signature, payload fields."""
    assert doc["protected"]["ver"] == "v1" and doc["protected"]["alg"] in ("none", "HS256")
    assert isinstance(doc["signature"], str) and len(doc["signature"]) == 64
    p = doc["payload"]
    assert isinstance(p["device_type"], str) and p["device_type"]
    assert isinstance(p["interval_ms"], (int, float)) and p["interval_ms"] > 0
    assert [s["name"] for s in p["sensors"]] == [f"p{k:03d}" for k in range(768)]
    assert {s["units"] for s in p["sensors"]} == {"Cel"}
    assert len(p["values"]) == 1 and len(p["values"][0]) == 768                # one row, one value per axis
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in p["values"][0])
    return p["values"][0]


def test_demo_exports_as_acquisition_json_split_by_session(repo, tmp_path):
    out = tmp_path / "ei"
    r = CliRunner().invoke(main, ["export-ei", str(repo / "datasets" / "demo"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    files = _check_info_labels(out)
    rows = {row.file: row for row in read_manifest(repo / "datasets" / "demo")}
    assert len(files) == len(rows)
    where = {}
    for f in files:
        where.setdefault((f["label"]["label"], f["metadata"]["session"]), set()).add(f["category"])
    assert all(len(c) == 1 for c in where.values())                 # no session on both sides of the split
    assert {f["category"] for f in files} == {"training", "testing"}
    for f in files[:: len(files) // 7]:
        vals = _check_acquisition(json.loads((out / f["path"]).read_text()))
        degc = sf.read_sample(repo / "datasets" / "demo" / f["metadata"]["dataset_file"]).degc
        assert np.allclose(np.array(vals).reshape(24, 32), degc, atol=0.006)     # row-major, 0.01 K
        assert f["label"]["label"] == rows[f["metadata"]["dataset_file"]].label
    again = CliRunner().invoke(main, ["export-ei", str(repo / "datasets" / "demo"), "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output


def test_one_session_class_is_split_in_capture_order_with_a_gap_and_png_works(tmp_path):
    st = DatasetStore(tmp_path / "ds")
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        for k in range(20):
            f = (24 + rng.random((24, 32)) + k * 0.1).astype(np.float32)
            if k == 3:
                f[0, 0] = np.nan                                    # an invalid pixel
            st.add(label, frame_degc=f, session="s1", source=f"t:{k}", millis=k * 125)
    out = tmp_path / "ei"
    r = CliRunner().invoke(main, ["export-ei", str(tmp_path / "ds"), "--out", str(out), "--format", "png"])
    assert r.exit_code == 0, r.output
    files = _check_info_labels(out)
    a = sorted((int(f["metadata"]["order"]), f["category"]) for f in files if f["label"]["label"] == "a")
    assert [o for o, c in a if c == "testing"] == [16, 17, 18, 19]        # the last 20 %
    assert max(o for o, c in a if c == "training") == 12                   # 13..15: the gap, left out
    assert "left out 6: gap before the test block" in r.output
    from PIL import Image

    png = Image.open(out / files[0]["path"])
    assert png.size == (32, 24) and png.mode == "L"
    row = read_manifest(tmp_path / "ds")[0]
    assert np.array_equal(np.asarray(png), sf.read_sample(tmp_path / "ds" / row.file).grey)
    r = CliRunner().invoke(main, ["export-ei", str(tmp_path / "ds"), "--out", str(tmp_path / "j")])
    filled = [f for f in _check_info_labels(tmp_path / "j") if f["metadata"]["order"] == "3"]
    assert all(f["metadata"]["invalid_pixels_filled_with_median"] == "1" for f in filled)
    _check_acquisition(json.loads((tmp_path / "j" / filled[0]["path"]).read_text()))


@pytest.mark.parametrize("args, msg", [(["--test-fraction", "1.5"], "between 0 and 1")])
def test_bad_options_are_one_line_errors(repo, tmp_path, args, msg):
    r = CliRunner().invoke(main, ["export-ei", str(repo / "datasets" / "demo"), "--out", str(tmp_path / "x"), *args])
    assert r.exit_code == 1 and msg in r.output and r.output.count("\n") == 1
