"""What the device's TensorFlow Lite Micro can run, and a gate that refuses anything else.

The firmware links **tflite-micro-arduino-examples at be370f01bebec7843eef0b623375eff561ce5c3c**
(pinned in ``platformio.ini``; the last Arduino library release of TFLM, 2022). The laptop's
``tflite-micro`` wheel is a 2025+ TFLM and runs things the device's cannot; most importantly,
that version's FULLY_CONNECTED kernel supports **one weight scale per tensor only**: its
``CalculateOpDataFullyConnected`` (``kernels/fully_connected_common.cpp``) builds a single output
multiplier from ``filter->params.scale`` (the first channel's scale) and silently applies it to
every output channel of a per-channel quantized weight tensor. Measured on a Cortex-M4F under QEMU
with the exact library sources: wrong logits, confidences down from 0.76-0.89 to 0.58-0.71.

:data:`PINNED_TFLM_KERNELS` lists, per builtin op, the op versions whose features that TFLM's
kernel implements for int8 models, whether per-channel (per-axis) weight scales are handled, and
the kernel's source file in that tree (paths below ``src/tensorflow/lite/micro/kernels/``).
Op versions follow TFLite's ``tools/versioning/op_version.cc`` (e.g. FULLY_CONNECTED: 4 = int8,
5 = keep_num_dims, 6 = no bias, 7 = int16, 8 = sparse weights, 10 = int4 weights, 12 = per-channel
hybrid; CONV_2D: 3 = int8, 5 = per-channel hybrid, 6 = grouped, 7 = int4 weights). TFLM itself
never checks op versions, so a newer feature would be read wrongly rather than refused: this gate
is the only check. :func:`check_tflm_support` is called by ``quantize`` and ``export``.
"""
from __future__ import annotations

from dataclasses import dataclass

PINNED_TFLM = ("tflite-micro-arduino-examples @ be370f01bebec7843eef0b623375eff561ce5c3c "
               "(platformio.ini; CMSIS-NN kernels)")
_K = "src/tensorflow/lite/micro/kernels/"


@dataclass(frozen=True)
class OpSupport:
    versions: tuple[int, ...]       # op versions (op_version.cc) whose int8 features the kernel implements
    source: str                     # kernel source in the pinned tree
    per_channel_weights: bool = False  # weight tensor (input 1) may carry one scale per output channel


#: builtin op -> what the pinned TFLM supports (int8 activations only; see module docstring).
PINNED_TFLM_KERNELS: dict[str, OpSupport] = {
    "CONV_2D": OpSupport((1, 2, 3), _K + "cmsis_nn/conv.cpp, conv_common.cpp", per_channel_weights=True),
    "DEPTHWISE_CONV_2D": OpSupport((1, 2, 3), _K + "cmsis_nn/depthwise_conv.cpp, depthwise_conv_common.cpp",
                                   per_channel_weights=True),
    # per-tensor only: fully_connected_common.cpp CalculateOpDataFullyConnected uses filter->params.scale
    "FULLY_CONNECTED": OpSupport((1, 2, 3, 4, 5, 6), _K + "cmsis_nn/fully_connected.cpp, fully_connected_common.cpp"),
    "MAX_POOL_2D": OpSupport((1, 2), _K + "cmsis_nn/pooling.cpp, pooling_common.cpp"),
    "AVERAGE_POOL_2D": OpSupport((1, 2), _K + "cmsis_nn/pooling.cpp, pooling_common.cpp"),
    "RESHAPE": OpSupport((1,), _K + "reshape.cpp"),
    "SOFTMAX": OpSupport((1, 2), _K + "cmsis_nn/softmax.cpp, softmax_common.cpp"),
    "ADD": OpSupport((1, 2), _K + "cmsis_nn/add.cpp, add_common.cpp"),
    "MUL": OpSupport((1, 2), _K + "cmsis_nn/mul.cpp, mul_common.cpp"),
    "SUB": OpSupport((1, 2), _K + "sub.cpp, sub_common.cpp"),
    "QUANTIZE": OpSupport((1, 2), _K + "quantize.cpp, quantize_common.cpp"),
    "DEQUANTIZE": OpSupport((1, 2), _K + "dequantize.cpp, dequantize_common.cpp"),
    "RELU": OpSupport((1, 2), _K + "activations.cpp, activations_common.cpp"),
    "RELU6": OpSupport((1, 2), _K + "activations.cpp, activations_common.cpp"),
    "LOGISTIC": OpSupport((1, 2), _K + "logistic.cpp, logistic_common.cpp"),
    "PAD": OpSupport((1, 2), _K + "pad.cpp"),
    "CONCATENATION": OpSupport((1, 2), _K + "concatenation.cpp"),
    "MEAN": OpSupport((1, 2), _K + "reduce.cpp, reduce_common.cpp"),
}

#: tensor types the gate accepts (TFLite schema TensorType names): int8 activations/weights,
#: int32 biases and shape operands. float32 (hybrid or float ops), int16 and int4 are refused.
ALLOWED_TENSOR_TYPES = {"INT8", "INT32"}


class UnsupportedByDeviceError(ValueError):
    """The model uses an op, op version, tensor type or quantization scheme the device's TFLM lacks."""


def _schema():
    from tflite_micro import runtime as rt

    return rt


def describe_ops(tflite_bytes: bytes) -> list[dict]:
    """Every operator of the model's first subgraph, in order, with its tensors' quantization.

    Returns ``[{"op": "FULLY_CONNECTED", "version": 4, "inputs": [tensor, ...], "outputs": [...]}]``
    where each tensor is ``{"name", "type", "shape", "scales": number of quantization scales
    (0 = not quantized), "quantized_dimension"}``; an absent optional input is ``None``. Read from
    the flatbuffer with the TFLite schema bindings shipped in ``tflite-micro``.
    """
    rt = _schema()
    model = rt.convert_bytearray_to_object(bytearray(tflite_bytes))
    op_names = {v: k for k, v in vars(rt.schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(rt.schema_fb.TensorType).items() if not k.startswith("_")}
    sg = model.subgraphs[0]

    def tensor(i: int):
        if i < 0:
            return None
        t = sg.tensors[i]
        q = t.quantization
        scales = 0 if q is None or q.scale is None else len(q.scale)
        name = t.name.decode(errors="replace") if isinstance(t.name, bytes) else str(t.name)
        return {"name": name, "type": type_names.get(t.type, f"TYPE_{t.type}"),
                "shape": [int(d) for d in (t.shape if t.shape is not None else [])],
                "scales": scales, "quantized_dimension": int(q.quantizedDimension) if scales else 0}

    ops = []
    for op in sg.operators:
        oc = model.operatorCodes[op.opcodeIndex]
        code = rt.get_builtin_code_from_operator_code(oc)
        ops.append({"op": op_names.get(code, f"BUILTIN_{code}"), "version": int(oc.version),
                    "inputs": [tensor(int(i)) for i in (op.inputs if op.inputs is not None else [])],
                    "outputs": [tensor(int(i)) for i in (op.outputs if op.outputs is not None else [])]})
    return ops


def support_problems(tflite_bytes: bytes, kernels: dict[str, OpSupport] = PINNED_TFLM_KERNELS) -> list[str]:
    """Human-readable reasons the pinned TFLM cannot run the model exactly; ``[]`` if it can."""
    rt = _schema()
    model = rt.convert_bytearray_to_object(bytearray(tflite_bytes))
    problems = []
    if len(model.subgraphs) != 1:
        problems.append(f"model has {len(model.subgraphs)} subgraphs; the firmware runs exactly one")
    for n, op in enumerate(describe_ops(tflite_bytes)):
        where = f"op #{n} {op['op']} v{op['version']}"
        sup = kernels.get(op["op"])
        if sup is None:
            problems.append(f"{where}: op not built into the device's TFLM")
            continue
        if op["version"] not in sup.versions:
            problems.append(f"{where}: version not supported by {sup.source} (supported: "
                            f"{', '.join(map(str, sup.versions))})")
        for role, tensors in (("input", op["inputs"]), ("output", op["outputs"])):
            for j, t in enumerate(tensors):
                if t is None:
                    continue
                if t["type"] not in ALLOWED_TENSOR_TYPES:
                    problems.append(f"{where}: {role} {j} ({t['name']}) is {t['type']}; the device model is int8 only")
                if t["scales"] > 1 and not (role == "input" and j == 1 and sup.per_channel_weights):
                    if role == "input" and j == 2 and sup.per_channel_weights:
                        continue  # per-channel bias goes with per-channel weights
                    problems.append(f"{where}: {role} {j} ({t['name']}) has {t['scales']} per-channel scales; "
                                    f"{sup.source} applies one scale per tensor (quantize dense layers per tensor)")
    return problems


def check_tflm_support(tflite_bytes: bytes) -> None:
    """Raise UnsupportedByDeviceError listing every problem (see :func:`support_problems`)."""
    problems = support_problems(tflite_bytes)
    if problems:
        raise UnsupportedByDeviceError(f"the device's TFLM ({PINNED_TFLM}) cannot run this model as checked: "
                                       + "; ".join(problems))
