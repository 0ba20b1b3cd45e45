"""The firmware against the exported int8 model (firmware/lib/tinyheat_model, written by
`tinyheat export`): the device's parameter path (firmware/src/model_params.c over
tinyheat_model.h) equals model_card.json, its pre-processing equals the pipeline's
quantize_input, and its post-processing picks the same top-1 as TFLite-Micro on real frames."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from tinyheat.paths import build_lock

REPO = Path(__file__).resolve().parents[2]
#: the exported model library; TINYHEAT_FW_MODEL_DIR points the tests at another export (e.g. a scratch one)
MODEL_DIR = Path(os.environ.get("TINYHEAT_FW_MODEL_DIR", REPO / "firmware" / "lib" / "tinyheat_model")).resolve()
HOST_DIR = REPO / "firmware" / "test" / "host"


@pytest.fixture(scope="module")
def exported() -> dict:
    needed = ["tinyheat_model.h", "tinyheat_model.c", "tinyheat_model.tflite", "model_card.json"]
    missing = [n for n in needed if not (MODEL_DIR / n).exists()]
    if missing:
        pytest.skip(f"no exported model in {MODEL_DIR} (missing {missing}): run `tinyheat export`")
    return json.loads((MODEL_DIR / "model_card.json").read_text())


@pytest.fixture(scope="module")
def model_check(exported, core_build) -> Path:
    with build_lock(HOST_DIR / "build"):  # parallel test workers share this build folder
        r = subprocess.run(["make", "-B", "-C", str(HOST_DIR), "model", f"MODEL_DIR={MODEL_DIR}"], capture_output=True, text=True)
    assert r.returncode == 0, f"building the model-parameter path failed:\n{r.stdout}\n{r.stderr}"
    return core_build / "th_model_check"


def run(exe: Path, *args, data: bytes = b"") -> bytes:
    r = subprocess.run([str(exe), *map(str, args)], input=data, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_header_parameters_match_model_card(exported, model_check):
    info = dict(l.split("=", 1) for l in run(model_check, "info").decode().splitlines())
    inp, out = exported["input"], exported["output"]
    assert info["labels"].split(",") == exported["labels"]
    assert int(info["input_mode"]) == {"window": 0, "relative": 1, "relative-clipped": 2, "two-channel": 3}[inp["mode"]]
    assert int(info["input_channels"]) == inp["shape"][3] == (2 if inp["mode"] == "two-channel" else 1)
    assert np.float32(info["clip_lo"]) == np.float32(inp.get("clip_lo", -0.5))
    assert np.float32(info["clip_hi"]) == np.float32(inp.get("clip_hi", 2.0))
    assert np.float32(info["window_lo"]) == np.float32(inp["window_lo_degC"])
    assert np.float32(info["window_hi"]) == np.float32(inp["window_hi_degC"])
    assert np.float32(info["span"]) == np.float32(inp["relative_span_K"])
    assert np.float32(info["input_scale"]) == np.float32(inp["scale"])
    assert int(info["input_zero_point"]) == inp["zero_point"]
    assert np.float32(info["output_scale"]) == np.float32(out["scale"])
    assert int(info["output_zero_point"]) == out["zero_point"]
    assert int(info["check"]) == 0 and int(info["aligned16"]) == 1
    assert int(info["arena_bytes"]) == exported["arena_bytes"]
    tflite = (MODEL_DIR / "tinyheat_model.tflite").read_bytes()
    assert int(info["tflite_len"]) == len(tflite) == exported["tflite_bytes"]
    assert run(model_check, "dump") == tflite  # the C array is the same model


def test_device_pipeline_top1_matches_tflm_on_real_frames(exported, model_check, real_frames):
    from tinyheat.training.preprocess import quantize_input
    from tinyheat.deploy.tflm_check import run_tflm

    frames = real_frames[::2].astype(np.float32)  # 225 real frames, both classes and the ESP32 set
    q_c = np.frombuffer(run(model_check, "quant", data=frames.tobytes()), dtype=np.int8)
    q_c = q_c.reshape(len(frames), *exported["input"]["shape"][1:])
    q_py = np.asarray(quantize_input(frames, exported["input"]))
    assert np.array_equal(q_c, q_py.reshape(q_c.shape)), "C pre-processing differs from quantize_input"

    tflite = (MODEL_DIR / "tinyheat_model.tflite").read_bytes()
    scores = np.asarray(run_tflm(tflite, q_c)).astype(np.int8)
    n = len(exported["labels"])
    assert scores.shape == (len(frames), n)
    rec = np.frombuffer(run(model_check, "post", 0, 0.0, data=scores.tobytes()),
                        dtype=np.dtype([("label", "<i4"), ("top", "<i4"), ("conf", "<f4")]))
    out = exported["output"]
    from tinyheat.training.preprocess import probabilities

    probs = probabilities(scores, out["scale"], out["zero_point"])  # softmax of dequantized logits
    assert np.array_equal(rec["top"], np.argmax(scores, axis=1))
    assert np.array_equal(rec["label"], rec["top"])  # threshold 0: never uncertain
    assert np.allclose(rec["conf"], probs.max(axis=1), atol=1e-6)
    # the device's smoothed decision (K=4, threshold 0.6) is a valid label or "uncertain"
    sm = np.frombuffer(run(model_check, "post", 4, 0.6, data=scores.tobytes()),
                       dtype=np.dtype([("label", "<i4"), ("top", "<i4"), ("conf", "<f4")]))
    assert set(np.unique(sm["label"])) <= set(range(-1, n))
    print(f"top-1 agreement C vs TFLM: {len(frames)}/{len(frames)}; predicted classes {np.bincount(rec['top'], minlength=n)}")
