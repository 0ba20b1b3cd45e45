"""One version everywhere: tinyheat.__version__ is what pip installs (pyproject dynamic version),
what `tinyheat --version` prints, what the simulated device says (tests/link/test_sim_device.py) and
what the Wio Terminal build defines as TH_FW_VERSION (tools/pio_version.py)."""
from __future__ import annotations

import configparser
import importlib.metadata
import runpy
from pathlib import Path

from click.testing import CliRunner

import tinyheat
from tinyheat.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_installed_metadata_and_cli_use_the_package_constant():
    assert importlib.metadata.version("tinyheat") == tinyheat.__version__
    assert CliRunner().invoke(main, ["--version"]).output.strip().endswith(f"version {tinyheat.__version__}")
    text = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'version = {attr = "tinyheat.__version__"}' in text


def test_platformio_build_defines_the_package_version():
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",))
    cp.read(REPO / "platformio.ini")
    script = cp["env:seeed_wio_terminal"]["extra_scripts"].strip()
    assert script == "pre:tools/pio_version.py"

    class Env(dict):
        defines = []

        def Append(self, CPPDEFINES):
            self.defines += CPPDEFINES

    env = Env(PROJECT_DIR=str(REPO))
    runpy.run_path(str(REPO / script.split(":", 1)[1]), init_globals={"Import": lambda name: None, "env": env})
    assert env.defines == [("TH_FW_VERSION", f'\\"{tinyheat.__version__}\\"')]
    assert "#ifndef TH_FW_VERSION" in (REPO / "firmware" / "src" / "main.cpp").read_text()
