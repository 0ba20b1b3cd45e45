"""Run an int8 .tflite in the real TensorFlow Lite Micro interpreter and in TFLite's reference kernels.

``tflite_micro.runtime.Interpreter`` (PyPI ``tflite-micro``) is the TFLM C++ interpreter; it matches
LiteRT's interpreter (``ai_edge_litert.interpreter.Interpreter``, PyPI ``ai-edge-litert``, the
successor of the deprecated ``tf.lite.Interpreter``) bit for bit when that uses
``OpResolverType.BUILTIN_REF`` (reference kernels), up to rare 1-step rounding ties;
:func:`check_parity` fails loudly on anything more (:func:`compare_outputs`).
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


#: more differing inputs than this fraction (or top-1 changes than TIE_FLIP_FRACTION) is a systematic
#: mismatch, not rounding ties. Measured here: a real 4-person MLX90641 set had 24 of 1847 inputs (1.3 %)
#: differ by one step with 1 top-1 change (issue 19); a wrong scale or kernel changes most outputs.
DIFFERING_FRACTION = 0.05
TIE_FLIP_FRACTION = 0.01


def compare_outputs(ref: np.ndarray, micro: np.ndarray, allow_lsb: int = 1,
                    differing_fraction: float = DIFFERING_FRACTION,
                    tie_flip_fraction: float = TIE_FLIP_FRACTION) -> dict:
    """Compare int8 outputs (n, k) of two interpreters on the same inputs; return a report or raise.

    A difference of at most ``allow_lsb`` steps is a requantization rounding tie (measured here: the
    two builds' FULLY_CONNECTED round an exact .5 differently, e.g. [21, -4] vs [20, -4]). Such a tie
    may change the top-1 of a near-tie (reference margin between the two best outputs at most
    ``2 * allow_lsb`` steps); those changes are counted (``tie_flips``) and accepted.
    Raises TFLMParityError (one line) on a real mismatch: any difference above ``allow_lsb``, a top-1
    change that is not a near-tie, or a systematic one: more than ``differing_fraction`` of the
    inputs differing or more than ``max(1, tie_flip_fraction * n)`` top-1 changes.
    ``allow_lsb=0`` demands bit-identical outputs. Report keys: inputs, identical, differing_inputs,
    max_abs_diff, top1_differences, tie_flips, allowed_lsb, verdict.
    """
    ref = np.asarray(ref).astype(int).reshape(len(ref), -1)
    micro = np.asarray(micro).astype(int).reshape(len(micro), -1)
    n = len(ref)
    diff = np.abs(ref - micro)
    rows = diff.max(axis=1) > 0 if n else np.zeros(0, bool)
    flip = ref.argmax(axis=1) != micro.argmax(axis=1) if n else np.zeros(0, bool)
    srt = np.sort(ref, axis=1)
    margin = srt[:, -1] - srt[:, -2] if ref.shape[1] > 1 else np.full(n, 10**6)
    tie = flip & (diff.max(axis=1) <= allow_lsb) & (margin <= 2 * allow_lsb)
    report = {"inputs": int(n), "identical": not bool(rows.any()), "differing_inputs": int(rows.sum()),
              "max_abs_diff": int(diff.max(initial=0)), "top1_differences": int(flip.sum()),
              "tie_flips": int(tie.sum()), "allowed_lsb": int(allow_lsb)}
    problem = None
    if report["max_abs_diff"] > allow_lsb:
        problem = f"max |diff| {report['max_abs_diff']}, allowed {allow_lsb}"
    elif (flip & ~tie).any():
        problem = "a top-1 change on an input that is not a near-tie"
    elif report["differing_inputs"] > max(1, differing_fraction * n):
        problem = (f"systematic: {report['differing_inputs']} of {n} inputs differ "
                   f"(more than {differing_fraction:.0%} is not rounding ties)")
    elif report["tie_flips"] > max(1, tie_flip_fraction * n):
        problem = f"systematic: {report['tie_flips']} top-1 changes (more than {tie_flip_fraction:.0%} of inputs)"
    if problem:
        bad = (diff.max(axis=1) > allow_lsb) | (flip & ~tie)
        bad = bad if bad.any() else rows
        first = int(np.argmax(bad))
        raise TFLMParityError(f"TFLM and LiteRT (BUILTIN_REF) outputs differ on {report['differing_inputs']} "
                              f"of {n} inputs ({report['top1_differences']} top-1 changes); first at #{first}: "
                              f"TFLM {micro[first].tolist()} vs reference {ref[first].tolist()} ({problem})")
    report["verdict"] = "identical" if report["identical"] else "rounding ties accepted"
    return report


def format_parity(report: dict) -> str:
    """One line for a parity report of :func:`compare_outputs`."""
    if report["identical"]:
        return f"TFLM vs LiteRT reference kernels: identical on {report['inputs']} inputs"
    return (f"TFLM vs LiteRT reference kernels: {report['differing_inputs']} of {report['inputs']} inputs differ by "
            f"at most {report['max_abs_diff']} step (requantization rounding ties), {report.get('tie_flips', 0)} "
            f"top-1 change(s) on near-ties (margin <= {2 * report['allowed_lsb']} steps): accepted "
            f"(--allow-lsb 0 refuses this)")


def check_parity(tflite_bytes: bytes, inputs: np.ndarray, allow_lsb: int = 0) -> tuple[np.ndarray, dict]:
    """Run both interpreters on the same int8 inputs; return (TFLM outputs, report of :func:`compare_outputs`).

    Raises TFLMParityError on a real mismatch (see :func:`compare_outputs`); the default
    ``allow_lsb=0`` demands bit-identical outputs.
    """
    ref = run_tflite_ref(tflite_bytes, inputs)
    micro = run_tflm(tflite_bytes, inputs)
    return micro, compare_outputs(ref, micro, allow_lsb)


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
