"""The small CNN (Keras 3 as bundled with TensorFlow) and its cost.

Input (24, 32, C) float32 (the normalized frame, C channels by the input mode, FORMAT.md section 5),
output one logit per label.
The architecture avoids ops without an optimized CMSIS-NN kernel on the Cortex-M4F (no global
average pool / MEAN): conv + ReLU + max-pool blocks, flatten, dropout, dense.

There is no softmax layer: TFLM's int8 SOFTMAX and TFLite's reference kernel disagree by one
step on some inputs (measured here: 2 of 1000 random inputs), which would defeat the bit-exact
TFLM check. Softmax is applied to the dequantized logits in float instead
(:func:`tinyheat.training.preprocess.probabilities`, and the firmware's post-processing).

Quantization-aware training (``tinyheat quantize --qat``) needs the same network in tf_keras
(Keras 2, optional extra ``[qat]``): :func:`build_model` takes the Keras module to build with, and
the two have the same weight order, so weights move with ``get_weights``/``set_weights``.
"""
from __future__ import annotations

import numpy as np

from ..tfenv import keras as _keras
from .recipes import Recipe

keras = _keras()

INPUT_SHAPE = (24, 32, 1)  # one channel; input_shape(recipe) in general


def build_model(recipe: Recipe, num_classes: int, keras_module=None) -> keras.Model:
    """A compiled Sequential model for ``recipe`` with ``num_classes`` logit outputs.

    ``keras_module``: the Keras to build with (default Keras 3; ``tf_keras`` for QAT). Seeds
    Python, NumPy and TensorFlow with ``recipe.seed`` first, so weights are reproducible.
    """
    kx = keras_module or keras
    kx.utils.set_random_seed(recipe.seed)
    layers = [kx.layers.Input((24, 32, recipe.input.channels), name="thermal")]
    for i, (filters, kernel, stride, pool) in enumerate(recipe.conv):
        layers.append(kx.layers.Conv2D(filters, kernel, strides=stride, padding="same", activation="relu",
                                       name=f"conv{i + 1}"))
        if pool:
            layers.append(kx.layers.MaxPool2D(2, name=f"pool{i + 1}"))
    layers.append(kx.layers.Flatten(name="flatten"))
    if recipe.dropout:
        layers.append(kx.layers.Dropout(recipe.dropout, name="dropout"))
    if recipe.dense:
        layers.append(kx.layers.Dense(recipe.dense, activation="relu", name="hidden"))
        if recipe.dropout:
            layers.append(kx.layers.Dropout(recipe.dropout, name="dropout_hidden"))
    layers.append(kx.layers.Dense(num_classes, name="logits"))
    model = kx.Sequential(layers, name=f"tinyheat_{recipe.name}")
    compile_model(model, recipe, kx)
    return model


def compile_model(model: keras.Model, recipe: Recipe, keras_module=None) -> None:
    kx = keras_module or keras
    model.compile(optimizer=kx.optimizers.Adam(recipe.learning_rate),
                  loss=kx.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"])


def layer_macs(model: keras.Model) -> list[dict]:
    """Multiply-accumulates per inference, per layer: ``[{"layer", "type", "output_shape", "params", "macs"}]``.

    Conv2D: out_h * out_w * out_c * k_h * k_w * in_c; DepthwiseConv2D: out_h * out_w * c * k_h * k_w;
    Dense: in * out. Pooling, flatten, dropout and activations count 0 MACs.
    """
    rows = []
    for layer in model.layers:
        out = tuple(int(d) for d in layer.output.shape[1:])
        macs = 0
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            kh, kw = layer.kernel_size
            macs = int(np.prod(out)) * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            macs = int(np.prod(out)) * kh * kw * int(layer.input.shape[-1])
        elif isinstance(layer, keras.layers.Dense):
            macs = int(layer.input.shape[-1]) * int(layer.units)
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output_shape": list(out),
                     "params": int(layer.count_params()), "macs": macs})
    return rows


#: Instructions per inference on the Cortex-M4F, measured with ``../shared/tools/device-tflm``
#: (QEMU mps2-an386, -icount; ``ardu2022`` = the firmware's TFLM, tflite-micro-arduino-examples be370f0
#: with CMSIS-NN kernels; -Os) on 3-class int8 models, keyed by (input channels, conv blocks, hidden
#: dense units). More classes add a few hundred instructions (logits layer). Architectures not in
#: the table have no figure (measure them with the tool).
DEVICE_INSTRUCTIONS = {
    (2, ((8, 3, 2, True), (16, 3, 1, True), (32, 3, 1, False)), 16): 734_040,
    (1, ((8, 3, 2, True), (16, 3, 1, True), (32, 3, 1, False)), 16): 683_336,
    (1, ((8, 3, 2, True), (16, 3, 1, True), (32, 3, 1, False)), 0): 667_964,
    (1, ((8, 2, 2, True), (16, 3, 1, True), (32, 3, 1, False)), 0): 591_796,
    (1, ((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False)), 0): 494_464,  # the exported demo model
    (2, ((8, 4, 4, False), (16, 3, 1, True), (32, 3, 1, False)), 0): 515_204,
    (1, ((8, 3, 2, True), (16, 3, 1, True)), 0): 489_840,
}


def device_instructions(recipe: Recipe) -> dict | None:
    """``{"instructions_per_inference", "measured_with"}`` for ``recipe``'s architecture from
    DEVICE_INSTRUCTIONS, or None if it was not measured."""
    key = (recipe.input.channels, tuple(tuple(c) for c in recipe.conv), recipe.dense)
    n = DEVICE_INSTRUCTIONS.get(key)
    if n is None:
        return None
    return {"instructions_per_inference": n,
            "measured_with": "device-tflm: QEMU Cortex-M4F (mps2-an386), firmware TFLM be370f0 + CMSIS-NN, -Os, "
                             "3-class model of this architecture"}
