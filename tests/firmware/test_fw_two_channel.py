"""A two-channel (relative + absolute) model end to end: trained and quantized by the pipeline,
exported by `tinyheat export` into a scratch firmware folder, then run as the device runs it:
the firmware's parameter path (model_params.c over the exported header) and th_classify
pre-processing, TFLM, th_postprocess; top-1 must equal the laptop's (FORMAT.md section 5)."""
from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
HOST_DIR = REPO / "firmware" / "test" / "host"


def pattern_and_level(n: int = 24, seed: int = 0):
    """4 classes = warm patch top/bottom x room cool (18-22 degC) / warm (26-30 degC): both channels needed.
    Returns (frames (4n, 24, 32) float32 degC, labels (4n,) int)."""
    rng = np.random.default_rng(seed)
    frames, y = [], []
    for k, (half, room) in enumerate([(h, r) for h in (0, 1) for r in ((18, 22), (26, 30))]):
        for _ in range(n):
            f = rng.uniform(*room) + rng.normal(0, 0.1, (24, 32))
            f[12 * half:12 * half + 12, 8:24] += 3.0
            frames.append(f)
            y.append(k)
    return np.asarray(frames, np.float32), np.array(y)


@pytest.fixture(scope="module")
def exported_two_channel(tmp_path_factory, core_build):
    from tinyheat.deploy.export import export_model
    from tinyheat.training.data import LabelledFrames
    from tinyheat.training.recipes import NO_AUGMENT
    from tinyheat.training.selection import Trainer, search_space
    from tinyheat.workflow.steps import model_card, quantize_model

    frames, y = pattern_and_level()
    labels = ["bottom-cool", "bottom-warm", "top-cool", "top-warm"]
    data = LabelledFrames(frames, y, labels, np.arange(len(y)), np.array(["s"] * len(y)),
                          np.array([f"f{i}" for i in range(len(y))]))
    cand = next(c for c in search_space(4, inputs=("two-channel",), architectures=("cnn-s",)))
    recipe = replace(cand.recipe_for(frames), batch_size=16, learning_rate=1e-2, mixup_alpha=0.0, dropout=0.0,
                     augment=NO_AUGMENT)
    assert recipe.input.mode == "two-channel" and recipe.input.channels == 2
    tr = Trainer(frames, y, len(labels), recipe)
    tr.train_to(4)
    q = quantize_model(tr.model, data, recipe)
    card = model_card(labels, recipe, q, {"macs": 0}, {"split": "test", "float": {"balanced_accuracy": None}}, "test")
    fw = tmp_path_factory.mktemp("fw")
    export_model(q.tflite, card, fw)
    exe = tmp_path_factory.mktemp("bin") / "th_model_check_2ch"
    r = subprocess.run(["make", "-B", "-C", str(HOST_DIR), "model", f"MODEL_DIR={fw / 'lib' / 'tinyheat_model'}",
                        f"MODEL_EXE={exe}"], capture_output=True, text=True)
    assert r.returncode == 0, f"building the model-parameter path failed:\n{r.stdout}\n{r.stderr}"
    return {"exe": exe, "q": q, "recipe": recipe, "trainer": tr, "card": card, "frames": frames, "y": y}


def _run(exe: Path, *args, data: bytes = b"") -> bytes:
    r = subprocess.run([str(exe), *map(str, args)], input=data, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_exported_two_channel_model_gives_the_laptops_top1_through_th_classify_and_tflm(exported_two_channel,
                                                                                      real_frames):
    from tinyheat.deploy.tflm_check import run_tflm
    from tinyheat.training.preprocess import quantize_input

    e = exported_two_channel
    info = dict(line.split("=", 1) for line in _run(e["exe"], "info").decode().splitlines())
    assert (info["input_mode"], info["input_channels"], info["check"]) == ("3", "2", "0")
    assert e["q"].io["input"]["shape"] == [1, 24, 32, 2]
    # one scale for both channels, both span -0.5..2.0 (FORMAT.md section 5)
    assert e["q"].io["input"]["scale"] == pytest.approx(2.5 / 255, rel=0.01)

    frames = np.concatenate([e["frames"][::3], real_frames[::8]]).astype(np.float32)
    q_c = np.frombuffer(_run(e["exe"], "quant", data=frames.tobytes()), np.int8).reshape(len(frames), 24, 32, 2)
    q_py = quantize_input(frames, e["card"]["input"])
    assert np.array_equal(q_c, q_py), f"{int((q_c != q_py).sum())} input values differ between C and Python"

    scores = run_tflm(e["q"].tflite, q_c)
    rec = np.frombuffer(_run(e["exe"], "post", 0, 0.0, data=scores.astype(np.int8).tobytes()),
                        np.dtype([("label", "<i4"), ("top", "<i4"), ("conf", "<f4")]))
    laptop = run_tflm(e["q"].tflite, q_py).argmax(1)
    assert np.array_equal(rec["top"], laptop)
    # and the int8 model learned both channels: it separates all four synthetic classes like the float one
    n_syn = len(e["frames"][::3])
    float_top = e["trainer"].predict(frames[:n_syn]).argmax(1)
    assert (rec["top"][:n_syn] == e["y"][::3]).mean() >= 0.9, (rec["top"][:n_syn], e["y"][::3])
    assert (rec["top"][:n_syn] == float_top).mean() >= 0.9
