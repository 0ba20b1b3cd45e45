"""Full-integer int8 quantization: post-training (representative set) or quantization-aware training.

Input and output tensors are int8 too (TFLite quantization spec: real = (q - zero_point) * scale),
so the device feeds the quantized frame directly and reads int8 scores.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..training.data import LabelledFrames, Split
from ..training.preprocess import normalize
from ..training.recipes import Recipe

#: representative frames used to calibrate activation ranges (TFLite PTQ docs suggest ~100-500).
REPRESENTATIVE_FRAMES = 300


def representative_inputs(data: LabelledFrames, split: Split, recipe: Recipe, limit: int = REPRESENTATIVE_FRAMES) -> np.ndarray:
    """Normalized training frames (m, 24, 32, 1) float32, evenly spread over the training set."""
    idx = split.train
    if len(idx) > limit:
        idx = idx[np.linspace(0, len(idx) - 1, limit).round().astype(int)]
    return normalize(data.frames[idx], recipe.input)


def convert_int8(model, representative: np.ndarray) -> bytes:
    """tf_keras model (float or QAT-wrapped) -> full-integer int8 .tflite bytes (int8 input and output)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([representative[i:i + 1]] for i in range(len(representative)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(conv.convert())


def qat_finetune(model, data: LabelledFrames, split: Split, recipe: Recipe, epochs: int = 15, progress: bool = True):
    """Quantization-aware fine-tuning with tensorflow-model-optimization (needs a tf_keras model).

    Wraps ``model`` with ``tfmot.quantization.keras.quantize_model``, fine-tunes with a 10x lower
    learning rate and the recipe's augmentation and early stopping; returns the QAT model.
    """
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tfmot must use tf_keras (Keras 2), like the model
    import tensorflow_model_optimization as tfmot
    from dataclasses import replace

    from ..training.model import compile_model
    from ..training.train import fit

    qmodel = tfmot.quantization.keras.quantize_model(model)
    ft = replace(recipe, epochs=epochs, learning_rate=recipe.learning_rate / 10, patience=max(3, recipe.patience // 2))
    compile_model(qmodel, ft)
    return fit(data, split, ft, progress=progress, model=qmodel).model
