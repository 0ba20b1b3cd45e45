"""Device-exact int8: dense layers per tensor (the device's TFLM applies one scale per
FULLY_CONNECTED weight tensor), the gate that refuses what the pinned TFLM cannot run, the
optional QAT extra, and TensorFlow staying quiet."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinyheat.deploy.tflm_support import (PINNED_TFLM_KERNELS, UnsupportedByDeviceError, check_tflm_support,
                                          describe_ops, support_problems)

REPO = Path(__file__).resolve().parents[1]


def _weights(ops, name):
    return [op["inputs"][1] for op in ops if op["op"] == name]


@pytest.fixture(scope="module")
def small_model():
    from tinyheat.training.model import build_model
    from tinyheat.training.recipes import get_recipe

    model = build_model(get_recipe("default"), 3)
    rng = np.random.default_rng(0)
    # distinct per-output-channel weight ranges, non-zero biases: a per-channel quantizer gives distinct scales
    model.set_weights([w * rng.uniform(0.2, 3.0, w.shape[-1]).astype(np.float32) + (0.05 if w.ndim == 1 else 0)
                       for w in model.get_weights()])
    return model, rng.random((24, 24, 32, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def converted(small_model):
    from tinyheat.deploy.quantize import convert_int8

    model, rep = small_model
    return convert_int8(model, rep), convert_int8(model, rep, per_tensor_dense=False)


def test_dense_weights_per_tensor_convs_per_channel(converted):
    per_tensor, per_channel = converted
    ops = describe_ops(per_tensor)
    assert [op["op"] for op in ops] == ["CONV_2D", "CONV_2D", "MAX_POOL_2D", "CONV_2D", "RESHAPE",
                                        "FULLY_CONNECTED"]  # batch 1: one RESHAPE, no SHAPE/PACK
    assert all(w["scales"] == 1 for w in _weights(ops, "FULLY_CONNECTED"))
    assert all(w["scales"] == w["shape"][0] > 1 for w in _weights(ops, "CONV_2D"))
    assert support_problems(per_tensor) == []
    # the converter's default (per channel) is what the device gets wrong, and the gate says so
    assert any(w["scales"] > 1 for w in _weights(describe_ops(per_channel), "FULLY_CONNECTED"))
    with pytest.raises(UnsupportedByDeviceError, match="FULLY_CONNECTED.*per-channel scales"):
        check_tflm_support(per_channel)


def test_committed_firmware_model_is_per_tensor_and_runs_on_the_pinned_tflm():
    lib = REPO / "firmware" / "lib" / "tinyheat_model"
    tflite = (lib / "tinyheat_model.tflite").read_bytes()
    fc = _weights(describe_ops(tflite), "FULLY_CONNECTED")
    assert fc and all(w["scales"] == 1 for w in fc)
    assert support_problems(tflite) == []


def test_gate_refuses_unknown_ops_versions_and_float_tensors(converted):
    tflite = converted[0]
    older = dict(PINNED_TFLM_KERNELS, CONV_2D=replace(PINNED_TFLM_KERNELS["CONV_2D"], versions=(1, 2)))
    assert any("CONV_2D v3: version not supported" in p for p in support_problems(tflite, older))
    no_reshape = {k: v for k, v in PINNED_TFLM_KERNELS.items() if k != "RESHAPE"}
    assert any("RESHAPE" in p and "not built" in p for p in support_problems(tflite, no_reshape))
    from tinyheat.tfenv import tensorflow
    from tinyheat.training.model import keras

    tanh = keras.Sequential([keras.layers.Input((24, 32, 1), batch_size=1), keras.layers.Flatten(),
                             keras.layers.Dense(4), keras.layers.Activation("tanh"), keras.layers.Dense(2)])
    tf = tensorflow()
    float_model = tf.lite.TFLiteConverter.from_keras_model(tanh).convert()  # float32, no quantization
    problems = support_problems(float_model)
    assert any(p.startswith("op #") and "TANH" in p and "not built" in p for p in problems)
    assert any("FULLY_CONNECTED" in p and "FLOAT32" in p for p in problems)


def test_export_refuses_a_per_channel_model_and_writes_nothing(converted, tmp_path):
    from tinyheat.deploy.export import export_model
    from tinyheat.deploy.tflm_check import io_quantization, model_ops
    from tinyheat.training.preprocess import InputSpec

    tflite = converted[1]
    io = io_quantization(tflite)
    card = {"labels": ["a", "b", "c"], "input": {**io["input"], **InputSpec().to_dict()}, "output": io["output"],
            "ops": model_ops(tflite), "arena_bytes": 8192, "arena_measured_bytes": 0, "model": {"macs": 0},
            "metrics": {}, "run": "test"}
    with pytest.raises(UnsupportedByDeviceError):
        export_model(tflite, card, tmp_path)
    assert not (tmp_path / "lib").exists()
    written = export_model(converted[0], card, tmp_path)  # the per-tensor one exports, naming the device's TFLM
    saved = json.loads((tmp_path / "lib" / "tinyheat_model" / "model_card.json").read_text())
    assert len(written) == 4 and "be370f0" in saved["tflm"] and saved["device_postprocess"]["smooth_frames"] >= 1


@pytest.mark.ci_may_skip   # skips where the [qat] extra is installed: right on any machine
def test_qat_without_the_extra_is_a_one_line_error(tmp_path):
    try:
        import tensorflow_model_optimization  # noqa: F401
        import tf_keras  # noqa: F401
        pytest.skip("the [qat] extra is installed here")
    except ImportError:
        pass
    from tinyheat.deploy.quantize import QATUnavailableError, qat_finetune

    with pytest.raises(QATUnavailableError, match=r"pip install 'tinyheat\[qat\]'"):
        qat_finetune(None, None, None, None)


def test_tensorflow_import_prints_nothing():
    # the native lines TF prints at import (CPU flags, oneDNN, absl) need the environment set first
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "TINYHEAT_VERBOSE", "ABSL"))}
    r = subprocess.run([sys.executable, "-c", "import tinyheat.training.model"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == "", r.stderr


def test_conversion_and_interpreters_print_nothing(small_model, capfd):
    from tinyheat.deploy.quantize import convert_int8
    from tinyheat.deploy.tflm_check import check_parity, measure_arena_bytes

    model, rep = small_model
    capfd.readouterr()
    tflite = convert_int8(model, rep[:4])
    check_parity(tflite, np.zeros((2, 24, 32, 1), np.int8))
    measure_arena_bytes(tflite)
    out, err = capfd.readouterr()  # file descriptors 1 and 2: native output included
    assert out == "" and err == "", (out, err)
