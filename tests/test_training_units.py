"""Unit tests of the training pipeline's pieces: splits, preprocessing, augmentation, MACs, export."""
from __future__ import annotations

import numpy as np
import pytest

from tinyheat.training.data import LabelledFrames
from tinyheat.training.preprocess import InputSpec, dequantize, fill_invalid, normalize, quantize, quantize_input


def fake_data(per_class=(100, 60)) -> LabelledFrames:
    ys, orders = [], []
    for c, n in enumerate(per_class):
        ys += [c] * n
        orders += list(range(n))
    n = len(ys)
    return LabelledFrames(frames=np.zeros((n, 24, 32), np.float32), y=np.array(ys), labels=["a", "b"][: len(per_class)],
                          order=np.array(orders), session=np.array(["s"] * n), files=np.array([f"f{i}" for i in range(n)]))


def _blocks_ok(data, split, gap):
    for c in range(len(data.labels)):
        tr = np.sort(data.order[split.train][data.y[split.train] == c])
        va = np.sort(data.order[split.val][data.y[split.val] == c])
        te = np.sort(data.order[split.test][data.y[split.test] == c])
        assert len(tr) and len(va) and len(te)
        # test and val are contiguous runs of capture order
        assert np.all(np.diff(te) == 1) and np.all(np.diff(va) == 1)
        # no frame of train/val lies within `gap` frames of the test block, nor train within gap of val
        for other in (tr, va):
            assert np.min(np.abs(other[:, None] - te[None, :])) > gap
        assert np.min(np.abs(tr[:, None] - va[None, :])) > gap


def test_normalize_window_and_relative_on_known_values():
    f = np.full((1, 24, 32), 22.0, np.float32)
    f[0, 0, 0] = 37.0
    f[0, 0, 1] = 50.0
    w = normalize(f, InputSpec(mode="window"))
    assert w.shape == (1, 24, 32, 1)
    assert w[0, 0, 0, 0] == 1.0 and w[0, 0, 1, 0] == 1.0 and w[0, 5, 5, 0] == 0.0
    r = normalize(f, InputSpec(mode="relative", relative_span_K=5.0))
    assert r[0, 5, 5, 0] == 0.0  # median is 22
    assert r[0, 0, 0, 0] == pytest.approx(3.0)


def test_invalid_pixels_become_the_frame_median():
    f = np.arange(768, dtype=np.float32).reshape(1, 24, 32) / 100 + 20
    f[0, 3, 4] = np.nan
    f[0, 0, 0] = 1000.0
    g = fill_invalid(f)
    valid = np.delete(f.ravel(), [0, 3 * 32 + 4])
    assert g[0, 3, 4] == g[0, 0, 0] == pytest.approx(np.median(valid))


def test_quantize_rounds_half_up_and_saturates():
    # scale 1/256 is exact in float32, so x / scale lands on .5 exactly where intended
    q = quantize(np.array([0.0, 0.5, 1.0, -1.0, 0.0019, 0.002, 1.5 / 256, 2.5 / 256, 10.0]), scale=1 / 256, zero_point=-128)
    assert q.tolist() == [-128, 0, 127, -128, -128, -127, -126, -125, 127]
    assert dequantize(np.array([-128, 127]), 1 / 256, -128).tolist() == [0.0, pytest.approx(255 / 256)]
    card = {"mode": "window", "window_lo_degC": 22, "window_hi_degC": 37, "relative_span_K": 8,
            "scale": 1 / 255, "zero_point": -128}
    assert quantize_input(np.full((1, 24, 32), 37.0), card).max() == 127


def test_augmentation_keeps_physics():
    from tinyheat.training.augment import augment_frames
    from tinyheat.training.recipes import NO_AUGMENT, Augment

    rng = np.random.default_rng(0)
    f = np.full((50, 24, 32), 25.0, np.float32)
    f[:, 10:14, 2:6] = 34.0  # warm blob on the left
    out = augment_frames(f, Augment(hflip=1.0, shift_px=0, noise_K=0, ambient_K=0, gain=0), rng)
    assert np.all(out[:, 10:14, 26:30] == 34.0) and np.all(f[:, 10:14, 2:6] == 34.0)  # mirrored; input untouched
    noisy = augment_frames(f, Augment(hflip=0, shift_px=0, noise_K=0.2, ambient_K=0, gain=0), rng)
    assert np.std(noisy - f) == pytest.approx(0.2, rel=0.05)
    amb = augment_frames(f, Augment(hflip=0, shift_px=0, noise_K=0, ambient_K=1.0, gain=0), rng)
    d = amb - f
    assert np.allclose(d, d[:, :1, :1], atol=1e-5)  # one offset per frame
    assert np.std(d[:, 0, 0]) > 0.5
    assert np.array_equal(augment_frames(f, NO_AUGMENT, rng), f)


def test_layer_macs_on_known_architecture():
    from tinyheat.training.model import build_model, layer_macs
    from tinyheat.training.recipes import get_recipe

    m = build_model(get_recipe("baseline"), 3)
    rows = {r["layer"]: r for r in layer_macs(m)}
    assert rows["conv1"]["macs"] == 24 * 32 * 8 * 9 * 1
    assert rows["conv2"]["macs"] == 12 * 16 * 16 * 9 * 8
    assert rows["logits"]["macs"] == 6 * 8 * 16 * 3
    assert rows["pool1"]["macs"] == 0


def test_export_refuses_an_oversized_model(tmp_path):
    from tinyheat.training.model import keras

    from tinyheat.deploy.export import BudgetError, export_model
    from tinyheat.deploy.quantize import convert_int8
    from tinyheat.deploy.tflm_check import io_quantization, measure_arena_bytes, model_ops

    big = keras.Sequential([keras.layers.Input((24, 32, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(256, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    tflite = convert_int8(big, np.random.default_rng(0).random((20, 24, 32, 1), dtype=np.float32))
    assert len(tflite) > 128 * 1024  # 768*256 int8 weights
    io = io_quantization(tflite)
    card = {"labels": ["a", "b", "c"], "input": {**io["input"], **InputSpec().to_dict()}, "output": io["output"],
            "ops": model_ops(tflite), "arena_bytes": measure_arena_bytes(tflite), "arena_measured_bytes": 0,
            "model": {"macs": 0}, "metrics": {}, "run": "test"}
    with pytest.raises(BudgetError, match="model is .* bytes of flash"):
        export_model(tflite, card, tmp_path)
    assert not (tmp_path / "lib").exists()  # nothing written


def test_probabilities_are_softmax_of_dequantized_logits():
    from tinyheat.training.preprocess import probabilities

    p = probabilities(np.array([[10, 10, -10], [0, 0, 0]], np.int8), scale=0.1, zero_point=0)
    assert p[0].tolist() == pytest.approx([np.e ** 2 / (2 * np.e ** 2 + 1)] * 2 + [1 / (2 * np.e ** 2 + 1)])
    assert p[1].tolist() == pytest.approx([1 / 3] * 3)
    assert p.sum(axis=1) == pytest.approx([1, 1])


def test_mixup_blends_inputs_and_labels_with_the_same_weight():
    from tinyheat.training.train import mixup

    rng = np.random.default_rng(0)
    x = np.stack([np.full((24, 32, 1), float(i), np.float32) for i in range(8)])
    y = np.eye(2, dtype=np.float32)[[0, 1] * 4]
    xm, ym = mixup(x, y, 0.3, rng)
    assert np.allclose(ym.sum(axis=1), 1.0)
    assert np.all(ym.max(axis=1) >= 0.5 - 1e-6)  # the original sample stays dominant
    assert not np.array_equal(xm, x)
    # blended frames stay within the range of the originals (a convex combination)
    assert xm.min() >= x.min() and xm.max() <= x.max()
