"""Full-integer int8 quantization: post-training (representative set) or quantization-aware training.

Input and output tensors are int8 too (TFLite quantization spec: real = (q - zero_point) * scale),
so the device feeds the quantized frame directly and reads int8 scores.

Dense (FULLY_CONNECTED) weights are quantized **per tensor**: the device's TFLM
(:mod:`tinyheat.deploy.tflm_support`) applies one scale to every output channel and would compute
different logits from a per-channel model than the laptop checks. Convolutions stay per channel
(its CONV_2D / DEPTHWISE_CONV_2D kernels support that). The converter option is
``TFLiteConverter._experimental_disable_per_channel_quantization_for_dense_layers`` (TF 2.21,
``tensorflow/lite/python/lite.py``, passed to the MLIR quantizer as
``disable_per_channel_quantization_for_dense_layers``).
"""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from ..training.data import LabelledFrames, Split
from ..training.recipes import Recipe

#: representative frames used to calibrate activation ranges (TFLite PTQ docs suggest ~100-500).
REPRESENTATIVE_FRAMES = 300


class QATUnavailableError(RuntimeError):
    """``--qat`` was asked for but the optional ``[qat]`` dependencies are not installed."""


def _batch_one(model):
    """A copy of a Keras 3 Sequential model with batch size fixed to 1 (the device's batch).

    Keras 3's Flatten on a dynamic batch converts to SHAPE + STRIDED_SLICE + PACK + RESHAPE;
    with a static batch the converter folds them into one RESHAPE, the op the device has.
    """
    import keras

    if not isinstance(model, keras.Model):  # a tf_keras (QAT) model converts with a static reshape as is
        return model
    inp = keras.Input(tuple(model.input_shape[1:]), batch_size=1, name="thermal")
    clone = keras.models.clone_model(model, input_tensors=inp)
    clone.set_weights(model.get_weights())
    return clone


def convert_int8(model, representative: np.ndarray, per_tensor_dense: bool = True) -> bytes:
    """Keras model (float, or a tf_keras QAT model) -> full-integer int8 .tflite bytes.

    representative: (m, 24, 32, C) float32 normalized inputs for calibration (one input scale for all C). Input and output
    tensors are int8; dense layers per tensor unless ``per_tensor_dense=False`` (only for tests
    that show why). The converter's own log lines are hidden (see :mod:`tinyheat.tfenv`).
    """
    from ..tfenv import native_stderr_silenced, tensorflow

    tf = tensorflow()
    conv = tf.lite.TFLiteConverter.from_keras_model(_batch_one(model))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([representative[i:i + 1]] for i in range(len(representative)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    conv._experimental_disable_per_channel_quantization_for_dense_layers = bool(per_tensor_dense)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), native_stderr_silenced():
        warnings.simplefilter("ignore")
        return bytes(conv.convert())


def _tf_keras_modules():
    try:
        import tensorflow_model_optimization as tfmot
        import tf_keras
    except ImportError as e:
        raise QATUnavailableError(f"--qat needs the optional QAT dependencies ({e.name} is missing): "
                                  "pip install 'tinyheat[qat]'") from None
    return tf_keras, tfmot


def qat_finetune(model, data: LabelledFrames, split: Split, recipe: Recipe, epochs: int = 15, progress: bool = True):
    """Quantization-aware fine-tuning with tensorflow-model-optimization (extra ``[qat]``).

    tfmot wraps tf_keras (Keras 2) models only: the Keras 3 ``model`` is rebuilt in tf_keras with
    the same weights, wrapped with ``tfmot.quantization.keras.quantize_model`` (whose default 8-bit
    scheme quantizes Dense weights per tensor), fine-tuned with a 10x lower learning rate and the
    recipe's augmentation; returns the tf_keras QAT model. Raises QATUnavailableError without the
    extra.
    """
    tf_keras, tfmot = _tf_keras_modules()
    from dataclasses import replace

    from ..training.model import build_model, compile_model
    from ..training.train import fit

    legacy = build_model(recipe, int(model.output_shape[-1]), keras_module=tf_keras)
    legacy.set_weights(model.get_weights())
    qmodel = tfmot.quantization.keras.quantize_model(legacy)
    ft = replace(recipe, epochs=epochs, learning_rate=recipe.learning_rate / 10, patience=max(3, recipe.patience // 2))
    compile_model(qmodel, ft, keras_module=tf_keras)
    return fit(data, split, ft, progress=progress, model=qmodel).model
