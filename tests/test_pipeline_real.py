"""End to end on real MLX90640 data: import -> `tinyheat run` -> int8 model identical in TFLite and TFLM."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main


@pytest.fixture(scope="module")
def presence_run(presence_csvs, tmp_path_factory):
    base = tmp_path_factory.mktemp("real")
    ds, run, fw = base / "presence", base / "run", base / "fw"
    cli = CliRunner()
    (fw / "lib").mkdir(parents=True)   # export writes into an existing firmware folder only
    for label, csv in presence_csvs.items():
        r = cli.invoke(main, ["import-frames", str(csv), "--label", label, "--dataset", str(ds)])
        assert r.exit_code == 0, r.output
    r = cli.invoke(main, ["run", str(ds), "--out", str(run), "--firmware", str(fw),
                               "--recipe", "default", "--epochs", "3"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    return ds, run, fw, r.output


def test_run_writes_metrics_model_plots_and_firmware_files(presence_run):
    ds, run, fw, out = presence_run
    m = json.loads((run / "metrics.json").read_text())
    for kind in ("float", "int8"):  # cross-validated: every frame predicted once by a model that never saw it
        assert set(m[kind]) >= {"accuracy", "balanced_accuracy", "per_class", "confusion_matrix", "interval_90"}
        assert set(m[kind]["per_class"]) == {"empty", "person"}
        assert sum(v["support"] for v in m[kind]["per_class"].values()) == 440
        assert np.array(m[kind]["confusion_matrix"]).sum() == 440
        assert m[kind]["estimate"].startswith("cross-validated")
    assert m["split"]["kind"] == "leave-one-block-out (capture order)" and m["split"]["gap_frames"] == 3
    assert sum(f["n"] for f in m["float"]["folds"]) == 440 and len(m["float"]["folds"]) == 5
    assert len(json.loads((run / "run.json").read_text())["split_files"]["train"]) == 440  # deployed: all
    model = m["model"]
    assert model["macs"] == sum(layer["macs"] for layer in model["layers"]) > 0
    assert 0 < model["tflite_bytes"] == (run / "model_int8.tflite").stat().st_size
    assert 0 < model["arena_measured_bytes"] <= model["arena_bytes"]
    assert m["tflm_parity"]["max_abs_diff"] <= 1 and m["tflm_parity"]["top1_differences"] <= 1
    fwd = m["float"]["forward"]  # forward-in-time beside blocked CV: 3 cut points over the later half
    assert fwd["n"] == 220 and len(fwd["folds"]) == 3 and len(fwd["interval_90"]) == 2
    assert "forward-in-time" in out and "TFLM vs LiteRT reference kernels" in out
    for name in ("model.keras", "confusion.png", "model_card.json", "selection.json"):
        assert (run / name).stat().st_size > 0, name
    lib = fw / "lib" / "tinyheat_model"
    header = (lib / "tinyheat_model.h").read_text()
    assert f"#define TH_MODEL_ARENA_BYTES {model['arena_bytes']}" in header
    assert "TH_MODEL_LABELS { \"empty\", \"person\" }" in header
    ops_macro = [line for line in header.splitlines() if line.startswith("#define TH_MODEL_OPS(X)")][0]
    from tinyheat.deploy.tflm_check import RESOLVER_METHODS

    assert ops_macro.split("X) ", 1)[1] == " ".join(f"X({RESOLVER_METHODS[o][3:]})" for o in model["ops"])
    src = (lib / "tinyheat_model.c").read_text()
    assert "__attribute__((aligned(16)))" in src
    assert f"th_model_tflite_len = {model['tflite_bytes']};" in src
    assert (lib / "tinyheat_model.tflite").read_bytes() == (run / "model_int8.tflite").read_bytes()
    card = json.loads((lib / "model_card.json").read_text())
    assert card["labels"] == ["empty", "person"] and card["input"]["dtype"] == "int8"


def test_int8_model_is_bit_identical_in_tflite_and_tflm(presence_run):
    from tinyheat.training.data import load_dataset
    from tinyheat.training.preprocess import quantize_input
    from tinyheat.deploy.tflm_check import io_quantization, run_tflite_ref, run_tflm

    ds, run, fw, out = presence_run
    tflite = (run / "model_int8.tflite").read_bytes()
    card = json.loads((run / "model_card.json").read_text())
    data = load_dataset(ds)
    assert io_quantization(tflite)["input"]["scale"] == card["input"]["scale"]
    parity = json.loads((run / "metrics.json").read_text())["tflm_parity"]
    assert parity["inputs"] == 440 and parity["top1_differences"] == parity["tie_flips"] <= 1
    # every frame of the recording: at most a 1-step rounding tie, a top-1 change only on a counted near-tie
    xa = quantize_input(data.frames, card["input"])
    ra, ma = run_tflite_ref(tflite, xa), run_tflm(tflite, xa)
    assert np.abs(ra.astype(int) - ma.astype(int)).max() <= 1
    assert int((ra.argmax(1) != ma.argmax(1)).sum()) == parity["tie_flips"]
    assert int((np.abs(ra.astype(int) - ma.astype(int)).max(1) > 0).sum()) == parity["differing_inputs"]
    assert len(np.unique(ma, axis=0)) > 1  # not a constant model


def _quantize(presence_run, allow_lsb=1):
    from tinyheat.training.data import load_dataset
    from tinyheat.training.model import keras
    from tinyheat.training.recipes import Recipe
    from tinyheat.workflow.steps import quantize_model

    ds, run, fw, out = presence_run
    recipe = Recipe.from_dict(json.loads((run / "run.json").read_text())["recipe"])
    model = keras.models.load_model(run / "model.keras")
    return quantize_model(model, load_dataset(ds), recipe, allow_lsb)


def test_quantize_fails_loudly_when_interpreters_differ(presence_run, monkeypatch):
    from tinyheat.deploy import tflm_check

    ds, run, fw, out = presence_run
    real = tflm_check.run_tflm

    def off_by_one(tflite, x, arena_size=None):
        y = real(tflite, x, arena_size).astype(int)
        y[-1, 0] = y[-1, 0] + 1 if y[-1, 0] < 127 else y[-1, 0] - 1
        return y.astype(np.int8)

    monkeypatch.setattr(tflm_check, "run_tflm", off_by_one)
    with pytest.raises(tflm_check.TFLMParityError, match="differ"):
        _quantize(presence_run, allow_lsb=0)


def test_evaluate_writes_metrics_named_after_the_dataset(presence_run, tmp_path):
    ds, run, fw, out = presence_run
    target = tmp_path / "e.json"
    r = CliRunner().invoke(main, ["evaluate", str(run), str(ds), "--json", str(target)])
    assert r.exit_code == 0, r.output
    ev = json.loads(target.read_text())
    assert ev["int8"]["n"] == 440 and ev["dataset"].endswith("presence")


def test_quantize_default_tolerates_only_a_one_step_tie(presence_run, monkeypatch):
    from tinyheat.deploy import tflm_check

    ds, run, fw, out = presence_run
    real = tflm_check.run_tflm

    def shifted(step):
        def fake(tflite, x, arena_size=None):
            y = real(tflite, x, arena_size).astype(int)
            y[0, 1] = y[0, 1] + step if y[0, 1] + step <= 127 else y[0, 1] - step
            return y.astype(np.int8)
        return fake

    monkeypatch.setattr(tflm_check, "run_tflm", shifted(3))
    with pytest.raises(tflm_check.TFLMParityError, match="max \\|diff\\| 3, allowed 1"):
        _quantize(presence_run)
    monkeypatch.setattr(tflm_check, "run_tflm", shifted(1))
    q = _quantize(presence_run)
    assert q.parity["identical"] is False and q.parity["max_abs_diff"] == 1
