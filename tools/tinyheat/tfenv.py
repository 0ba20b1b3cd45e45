"""Import TensorFlow quietly: no native log lines unless the user asks for them.

TensorFlow's C++ runtime writes INFO/WARNING lines to stderr (CPU feature flags, oneDNN, absl
"log messages before absl::InitializeLog()", converter MLIR passes) from the moment it is
imported. They are controlled by environment variables that must be set *before* the first
``import tensorflow`` (TF docs, "Logging": ``TF_CPP_MIN_LOG_LEVEL`` 0 = all, 1 = no INFO,
2 = no WARNING, 3 = no ERROR). Every tinyheat module that needs TensorFlow or Keras imports it
through :func:`tensorflow` / :func:`keras` here.

``tinyheat --verbose`` (or ``TINYHEAT_VERBOSE=1``) leaves TensorFlow's logging as it is.
:func:`native_stderr_silenced` additionally hides C-level stderr around calls that print
regardless of those variables (the TFLite converter), unless verbose; on failure the captured
text is re-emitted so nothing is lost.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

VERBOSE_ENV = "TINYHEAT_VERBOSE"

#: Environment applied before TensorFlow is imported (only where the user has not set them).
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",       # C++ logging: nothing below FATAL
    "TF_CPP_MIN_VLOG_LEVEL": "0",
    "ABSL_MIN_LOG_LEVEL": "3",         # absl C++ logging (converter, XLA)
    "GRPC_VERBOSITY": "ERROR",
    "CUDA_VISIBLE_DEVICES": "-1",      # CPU-only package; never probe for a GPU
    "KERAS_BACKEND": "tensorflow",
}


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def set_verbose(on: bool) -> None:
    """Record the user's choice for this process (the CLI's ``--verbose``); call before importing TF."""
    if on:
        os.environ[VERBOSE_ENV] = "1"


def _apply_env() -> None:
    if "tensorflow" in sys.modules:
        return
    env = dict(QUIET_ENV)
    if verbose():
        env = {"KERAS_BACKEND": "tensorflow"}
    for k, v in env.items():
        os.environ.setdefault(k, v)


def tensorflow():
    """The ``tensorflow`` module, imported with the quiet environment; Python loggers set to ERROR."""
    _apply_env()
    with native_stderr_silenced():
        import tensorflow as tf
    if not verbose():
        tf.get_logger().setLevel("ERROR")
        try:
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
        except ImportError:  # pragma: no cover - absl comes with tensorflow
            pass
    return tf


def keras():
    """Keras 3 as bundled with TensorFlow (``keras`` package, TensorFlow backend)."""
    tensorflow()
    import keras as k

    return k


@contextlib.contextmanager
def native_stderr_silenced():
    """Redirect file descriptor 2 to a temporary file for the block (no-op when verbose).

    If the block raises, the captured text is written back to stderr before the exception
    propagates, so a real error message from native code is never swallowed.
    """
    if verbose():
        yield
        return
    try:
        sys.stderr.flush()
    except Exception:  # pragma: no cover
        pass
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        ok = False
        try:
            yield
            ok = True
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if not ok:
                tmp.seek(0)
                text = tmp.read().decode(errors="replace")
                if text.strip():
                    sys.stderr.write(text)
