"""What the device will show (tinyheat.deploy.device_view): smoothing within groups, the
"uncertain" state, and the constants read from the firmware's config header. Parity with the C
core on real frames is in tests/firmware/test_device_view_parity.py."""
from __future__ import annotations

import numpy as np
import pytest

from tinyheat.deploy.device_view import device_constants, device_metrics, postprocess, probabilities_from


def test_smoothing_and_uncertain_by_hand():
    # one class-0 recording; every other frame leans to class 1. K = 2, threshold 0.7.
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.9, 0.1], [0.4, 0.6]], np.float32)
    m = device_metrics(np.zeros(4, int), p, None, smooth_frames=2, uncertain_below=0.7)
    assert m["per_frame_balanced_accuracy"] == 0.5
    assert m["smoothed_balanced_accuracy"] == 1.0  # means: .9, .65, .65, .65 for class 0
    assert m["uncertain_rate"] == 0.75  # only the first frame reaches 0.7
    assert m["shown_balanced_accuracy"] == 0.25
    assert m["decided_balanced_accuracy"] == 1.0


def test_smoothing_restarts_at_every_group_never_crosses():
    # group A: class 0 frames, group B: class 1 frames, each confidently right on its own
    p = np.array([[0.95, 0.05]] * 3 + [[0.05, 0.95]] * 3, np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    within = device_metrics(y, p, ["A"] * 3 + ["B"] * 3, smooth_frames=4, uncertain_below=0.6)
    across = device_metrics(y, p, None, smooth_frames=4, uncertain_below=0.6)
    assert within["shown_balanced_accuracy"] == 1.0 and within["uncertain_rate"] == 0.0 and within["groups"] == 2
    assert across["shown_balanced_accuracy"] < 1.0  # B's first frames would inherit A's history
    # group ids may interleave (frames listed by class, sessions alternate): order of appearance counts
    out = postprocess(p[[0, 3, 1, 4, 2, 5]], ["A", "B"] * 3, smooth_frames=4, uncertain_below=0.6)
    assert list(out["label"]) == [0, 1, 0, 1, 0, 1]


def test_int8_logits_are_dequantized_then_softmaxed():
    q = np.array([[-128, 127, -128], [27, -28, -28]], np.int8)
    p = probabilities_from(q, 0.1, -128)
    z = (q.astype(np.float64) + 128) * 0.1
    ref = np.exp(z - z.max(1, keepdims=True))
    assert np.allclose(p, ref / ref.sum(1, keepdims=True), atol=1e-6)
    with pytest.raises(ValueError, match="output_scale"):
        probabilities_from(q)
    logits = np.array([[2.0, 0.0]], np.float32)  # float rows that do not sum to 1 are logits
    assert np.allclose(probabilities_from(logits), [[0.8807971, 0.1192029]], atol=1e-6)


def test_constants_come_from_the_firmware_config(tmp_path, repo):
    ours = device_constants(repo / "firmware")
    assert ours["source"].endswith("tinyheat_config.h")
    inc = tmp_path / "include"
    inc.mkdir()
    text = (repo / "firmware" / "include" / "tinyheat_config.h").read_text()
    import re

    text = re.sub(r"#define TH_SMOOTH_FRAMES\s+\d+", "#define TH_SMOOTH_FRAMES 1", text)
    text = re.sub(r"#define TH_UNCERTAIN_BELOW\s+[0-9.]+f?", "#define TH_UNCERTAIN_BELOW 0.95f", text)
    (inc / "tinyheat_config.h").write_text(text)
    assert (device_constants(tmp_path)["smooth_frames"], device_constants(tmp_path)["uncertain_below"]) == (1, 0.95)
    p = np.array([[0.9, 0.1], [0.9, 0.1]], np.float32)
    assert device_metrics([0, 0], p, firmware=tmp_path)["uncertain_rate"] == 1.0  # 0.9 < 0.95
    (inc / "tinyheat_config.h").write_text("/* nothing */\n")
    with pytest.raises(ValueError, match="TH_SMOOTH_FRAMES"):
        device_constants(tmp_path)
