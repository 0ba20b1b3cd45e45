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
    for label, csv in presence_csvs.items():
        r = cli.invoke(main, ["import-frames", str(csv), "--label", label, "--dataset", str(ds)])
        assert r.exit_code == 0, r.output
    r = cli.invoke(main, ["run", str(ds), "--out", str(run), "--firmware", str(fw), "--epochs", "8"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    return ds, run, fw, r.output


def test_run_writes_metrics_model_plots_and_firmware_files(presence_run):
    ds, run, fw, out = presence_run
    m = json.loads((run / "metrics.json").read_text())
    for kind in ("float", "int8"):
        assert set(m[kind]) >= {"accuracy", "balanced_accuracy", "per_class", "confusion_matrix"}
        assert set(m[kind]["per_class"]) == {"empty", "person"}
        assert sum(v["support"] for v in m[kind]["per_class"].values()) == m["split"]["test"]
        assert np.array(m[kind]["confusion_matrix"]).sum() == m["split"]["test"]
    assert m["split"]["kind"] == "capture-order holdout"
    assert m["split"]["train"] + m["split"]["val"] + m["split"]["test"] < 440  # gaps dropped at the cuts
    model = m["model"]
    assert model["macs"] == sum(layer["macs"] for layer in model["layers"]) > 0
    assert 0 < model["tflite_bytes"] == (run / "model_int8.tflite").stat().st_size
    assert 0 < model["arena_measured_bytes"] <= model["arena_bytes"]
    assert m["tflm_parity"]["identical"] is True
    for name in ("model.keras", "confusion.png", "curves.png", "model_card.json", "eval-presence.json"):
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
    from tinyheat.workflow.pipeline import Run

    data, split = Run(run).load_data_and_split()
    assert io_quantization(tflite)["input"]["scale"] == card["input"]["scale"]
    # the held-out block that `quantize` gates on: bit-identical, as metrics.json says
    x = quantize_input(data.frames[split.test], card["input"])
    ref, micro = run_tflite_ref(tflite, x), run_tflm(tflite, x)
    assert ref.shape == (len(x), 2)
    assert np.array_equal(ref, micro)
    assert json.loads((run / "metrics.json").read_text())["tflm_parity"]["identical"] is True
    assert len(np.unique(micro, axis=0)) > 1  # not a constant model
    # every frame of the recording: at most a 1-step rounding tie, never another top-1
    xa = quantize_input(data.frames, card["input"])
    ra, ma = run_tflite_ref(tflite, xa), run_tflm(tflite, xa)
    assert np.abs(ra.astype(int) - ma.astype(int)).max() <= 1
    assert np.array_equal(ra.argmax(1), ma.argmax(1))


def test_quantize_fails_loudly_when_interpreters_differ(presence_run, monkeypatch):
    from tinyheat.workflow import pipeline
    from tinyheat.deploy import tflm_check

    ds, run, fw, out = presence_run
    real = tflm_check.run_tflm

    def off_by_one(tflite, x, arena_size=None):
        y = real(tflite, x, arena_size).astype(int)
        y[-1, 0] = y[-1, 0] + 1 if y[-1, 0] < 127 else y[-1, 0] - 1
        return y.astype(np.int8)

    monkeypatch.setattr(tflm_check, "run_tflm", off_by_one)
    with pytest.raises(tflm_check.TFLMParityError, match="differ"):
        pipeline.quantize_run(run, progress=False, allow_lsb=0)


def test_evaluate_writes_metrics_named_after_the_dataset(presence_run, tmp_path):
    ds, run, fw, out = presence_run
    target = tmp_path / "e.json"
    r = CliRunner().invoke(main, ["evaluate", str(run), str(ds), "--json", str(target)])
    assert r.exit_code == 0, r.output
    ev = json.loads(target.read_text())
    assert ev["int8"]["n"] == 440 and ev["dataset"].endswith("presence")


def test_quantize_default_tolerates_only_a_one_step_tie(presence_run, monkeypatch):
    from tinyheat.workflow import pipeline
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
        pipeline.quantize_run(run, progress=False)
    monkeypatch.setattr(tflm_check, "run_tflm", shifted(1))
    m = pipeline.quantize_run(run, progress=False)
    assert m["tflm_parity"]["identical"] is False and m["tflm_parity"]["max_abs_diff"] == 1
