"""The laptop's "what the device will show" (tinyheat.deploy.device_view) against the firmware's
own post-processing (th_postprocess in th_classify.c, run through `th_vectors post`) on real
frames: the exported model's int8 logits in TFLM for every real frame in ../shared/datasets,
smoothed per recording, with the firmware config's window and threshold and others."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("TINYHEAT_FW_MODEL_DIR", REPO / "firmware" / "lib" / "tinyheat_model")).resolve()
POST = np.dtype([("label", "<i4"), ("top", "<i4"), ("conf", "<f4")])


@pytest.fixture(scope="module")
def real_logits(real_frames, presence_csvs):
    from tinyheat.deploy.tflm_check import run_tflm
    from tinyheat.training.preprocess import quantize_input

    if not (MODEL_DIR / "model_card.json").exists():
        pytest.skip(f"no exported model in {MODEL_DIR}")
    card = json.loads((MODEL_DIR / "model_card.json").read_text())
    q = run_tflm((MODEL_DIR / "tinyheat_model.tflite").read_bytes(), quantize_input(real_frames, card["input"]))
    # the recordings in capture order: presence person (220), presence empty (220), esp32 samples (rest)
    groups = np.array(["person"] * 220 + ["empty"] * 220 + ["esp32"] * (len(q) - 440))
    return q, card["output"], groups


def _c_post(vectors, q, out, k, thr):
    return np.frombuffer(vectors.run("post", q.shape[1], repr(out["scale"]), out["zero_point"], k, repr(thr),
                                     data=np.ascontiguousarray(q).tobytes()), dtype=POST)


@pytest.mark.parametrize("k", [None, 1, 16])
def test_device_postprocess_parity_with_c_core_on_real_frames(vectors, real_logits, repo, k):
    from tinyheat.deploy.device_view import device_constants, postprocess, probabilities_from

    q, out, groups = real_logits
    const = device_constants(repo / "firmware")
    k = const["smooth_frames"] if k is None else k
    probs = probabilities_from(q, out["scale"], out["zero_point"])
    for thr in (const["uncertain_below"], None):
        if thr is None:  # a threshold between two confidences near the median: both branches taken
            conf = np.unique(postprocess(probs, groups, k)["confidence"])
            thr = float((conf[len(conf) // 2] + conf[len(conf) // 2 + 1]) / 2)
        py = postprocess(probs, groups, k, thr)
        # the device's smoother starts empty for each recording: run C once per group
        c = np.concatenate([_c_post(vectors, q[groups == g], out, k, thr) for g in dict.fromkeys(groups)])
        assert np.array_equal(c["top"], py["top"]), f"top-1 differs on {int((c['top'] != py['top']).sum())} frames"
        assert np.array_equal(c["label"], py["label"]), f"shown label differs on {int((c['label'] != py['label']).sum())}"
        assert np.allclose(c["conf"], py["confidence"], rtol=0, atol=2e-7)
        assert (py["label"] == -1).any() or thr == const["uncertain_below"]
