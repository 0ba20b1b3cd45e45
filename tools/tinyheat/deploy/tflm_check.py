"""Run an int8 .tflite in the real TensorFlow Lite Micro interpreter and in TFLite's reference kernels.

``tflite_micro.runtime.Interpreter`` (PyPI ``tflite-micro``) is the TFLM C++ interpreter; it matches
LiteRT's interpreter (``ai_edge_litert.interpreter.Interpreter``, PyPI ``ai-edge-litert``, the
successor of the deprecated ``tf.lite.Interpreter``) bit for bit when that uses
``OpResolverType.BUILTIN_REF`` (reference kernels). :func:`check_parity` fails loudly when they differ.
Neither needs TensorFlow itself.
"""
from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np

#: TFLite builtin op name -> tflite::MicroMutableOpResolver method (TFLM micro_mutable_op_resolver.h).
RESOLVER_METHODS = {
    "ADD": "AddAdd", "AVERAGE_POOL_2D": "AddAveragePool2D", "CONCATENATION": "AddConcatenation",
    "CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize",
    "FULLY_CONNECTED": "AddFullyConnected", "LOGISTIC": "AddLogistic", "MAX_POOL_2D": "AddMaxPool2D",
    "MEAN": "AddMean", "MUL": "AddMul", "PAD": "AddPad", "QUANTIZE": "AddQuantize", "RELU": "AddRelu",
    "RELU6": "AddRelu6", "RESHAPE": "AddReshape", "SOFTMAX": "AddSoftmax", "SUB": "AddSub",
}


class TFLMParityError(AssertionError):
    """TFLM and the TFLite reference interpreter disagree on the same int8 input."""


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level stderr (TFLM prints allocation failures while the arena is being searched)."""
    fd = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(fd, 2)
            os.close(fd)


def _tflm():
    from tflite_micro import runtime

    return runtime


def tflm_version() -> str:
    try:
        from importlib.metadata import version

        return f"tflite-micro {version('tflite-micro')}"
    except Exception:  # pragma: no cover
        return "tflite-micro (unknown version)"


def model_ops(tflite_bytes: bytes) -> list[str]:
    """Builtin op names the model uses, in first-use order (e.g. ["CONV_2D", "MAX_POOL_2D", ...])."""
    rt = _tflm()
    model = rt.convert_bytearray_to_object(bytearray(tflite_bytes))
    names = {v: k for k, v in vars(rt.schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    codes = [rt.get_builtin_code_from_operator_code(oc) for oc in model.operatorCodes]
    used = []
    for op in model.subgraphs[0].operators:
        name = names.get(codes[op.opcodeIndex], f"BUILTIN_{codes[op.opcodeIndex]}")
        if name not in used:
            used.append(name)
    return used


def io_quantization(tflite_bytes: bytes) -> dict:
    """``{"input": {"shape", "dtype", "scale", "zero_point"}, "output": {...}}`` of a single-input model."""
    interp = _ref_interpreter(tflite_bytes)
    out = {}
    for key, det in (("input", interp.get_input_details()[0]), ("output", interp.get_output_details()[0])):
        scale, zp = det["quantization"]
        out[key] = {"shape": [int(d) for d in det["shape"]], "dtype": np.dtype(det["dtype"]).name,
                    "scale": float(scale), "zero_point": int(zp)}
    return out


def _ref_interpreter(tflite_bytes: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from ..tfenv import native_stderr_silenced

    with warnings.catch_warnings(), native_stderr_silenced():
        warnings.simplefilter("ignore")
        interp = Interpreter(model_content=bytes(tflite_bytes),
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
    return interp


def run_tflite_ref(tflite_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    """int8 inputs (n, 24, 32, C) -> int8 outputs (n, k) with LiteRT's reference kernels."""
    interp = _ref_interpreter(tflite_bytes)
    i_idx = interp.get_input_details()[0]["index"]
    o_idx = interp.get_output_details()[0]["index"]
    outs = []
    for x in np.asarray(inputs, dtype=np.int8):
        interp.set_tensor(i_idx, x[None])
        interp.invoke()
        outs.append(interp.get_tensor(o_idx)[0].copy())
    return np.array(outs, dtype=np.int8).reshape(len(outs), -1)


def run_tflm(tflite_bytes: bytes, inputs: np.ndarray, arena_size: int | None = None) -> np.ndarray:
    """int8 inputs (n, 24, 32, C) -> int8 outputs (n, k) with the TFLM interpreter (arena in bytes)."""
    rt = _tflm()
    interp = rt.Interpreter.from_bytes(bytes(tflite_bytes), arena_size=arena_size or 256 * 1024)
    outs = []
    for x in np.asarray(inputs, dtype=np.int8):
        interp.set_input(x[None], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0), dtype=np.int8).reshape(-1))
    return np.array(outs, dtype=np.int8).reshape(len(outs), -1)


def check_parity(tflite_bytes: bytes, inputs: np.ndarray, allow_lsb: int = 0) -> tuple[np.ndarray, dict]:
    """Run both interpreters on the same int8 inputs; return (TFLM outputs, report).

    Raises TFLMParityError, naming the first differing input and the largest difference, if any
    output differs by more than ``allow_lsb`` steps or any top-1 differs. The default 0 demands
    bit-identical outputs. Measured here: on rare inputs the two builds' FULLY_CONNECTED requantization
    rounds an exact tie differently (1 step, e.g. [21, -4] vs [20, -4], every earlier tensor
    identical); ``allow_lsb=1`` accepts exactly that and the report counts it.
    """
    ref = run_tflite_ref(tflite_bytes, inputs)
    micro = run_tflm(tflite_bytes, inputs)
    diff = np.abs(ref.astype(int) - micro.astype(int))
    rows = diff.max(axis=1) > 0 if len(diff) else np.zeros(0, bool)
    top1 = int((ref.argmax(axis=1) != micro.argmax(axis=1)).sum()) if len(diff) else 0
    report = {"inputs": int(len(inputs)), "identical": not bool(rows.any()), "differing_inputs": int(rows.sum()),
              "max_abs_diff": int(diff.max(initial=0)), "top1_differences": top1, "allowed_lsb": int(allow_lsb)}
    if report["max_abs_diff"] > allow_lsb or top1:
        first = int(np.argmax(rows))
        raise TFLMParityError(f"TFLM and LiteRT (BUILTIN_REF) outputs differ on {report['differing_inputs']} "
                              f"of {len(inputs)} inputs ({top1} top-1 changes); first at #{first}: TFLM "
                              f"{micro[first].tolist()} vs reference {ref[first].tolist()} "
                              f"(max |diff| {report['max_abs_diff']}, allowed {allow_lsb})")
    return micro, report


def measure_arena_bytes(tflite_bytes: bytes, upper: int = 512 * 1024) -> int:
    """Smallest tensor arena (bytes, multiple of 16) with which TFLM allocates and invokes the model.

    Binary search over ``Interpreter.from_bytes(arena_size=...)`` + ``invoke()`` on a zero input.
    Measured on this host (64-bit pointers); the 32-bit device needs slightly less for TFLM's own
    structs, so this is an upper bound for the same TFLM version. Raises ValueError if even
    ``upper`` bytes are not enough.
    """
    rt = _tflm()
    shape = io_quantization(tflite_bytes)["input"]["shape"]

    def fits(size: int) -> bool:
        try:
            with _quiet_stderr():
                interp = rt.Interpreter.from_bytes(bytes(tflite_bytes), arena_size=size)
                interp.set_input(np.zeros(shape, dtype=np.int8), 0)
                interp.invoke()
            return True
        except (RuntimeError, ValueError):
            return False

    if not fits(upper):
        raise ValueError(f"model does not run in TFLM even with a {upper}-byte arena")
    lo, hi = 0, upper // 16  # in 16-byte units: lo fails (or 0), hi fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid * 16):
            hi = mid
        else:
            lo = mid
    return hi * 16
