"""Packaging hook: a wheel of tinyheat carries the firmware sources (firmware/lib, host, include, src,
test/host) as ``tinyheat/_firmware`` so that ``tinyheat sim-device`` and the host C builds work from
a non-editable install. Everything else is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
FIRMWARE_PARTS = ("lib", "host", "include", "src", "test/host")  # src: model_params.c for the simulator
SKIP = shutil.ignore_patterns("build", "*.o", "*.elf", "__pycache__", ".pio")


class BuildPyWithFirmware(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install finds the checkout's firmware/ itself
            return
        dest = Path(self.build_lib) / "tinyheat" / "_firmware"
        for part in FIRMWARE_PARTS:
            src = HERE / "firmware" / part
            if src.is_dir():
                shutil.copytree(src, dest / part, ignore=SKIP, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithFirmware})
