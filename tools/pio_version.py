"""PlatformIO pre-build script (platformio.ini ``extra_scripts``): the Wio Terminal firmware reports
the kit's one version, ``tinyheat.__version__`` from tools/tinyheat/__init__.py, in HELLO.

It defines ``TH_FW_VERSION`` (firmware/src/main.cpp uses it; its own ``#ifndef`` default only
applies to a build without this script). Runs inside PlatformIO's SCons, where ``Import`` and
``env`` exist; tests/packaging/test_version.py runs it with stand-ins.
"""
import re
from pathlib import Path

Import("env")  # noqa: F821  (provided by PlatformIO)

_init = Path(env["PROJECT_DIR"]) / "tools" / "tinyheat" / "__init__.py"  # noqa: F821
_version = re.search(r'^__version__ = "([^"]+)"', _init.read_text(), re.M).group(1)
# -DTH_FW_VERSION=\"0.1.0\": the escaped quotes reach the compiler as a C string literal
env.Append(CPPDEFINES=[("TH_FW_VERSION", '\\"%s\\"' % _version)])  # noqa: F821
