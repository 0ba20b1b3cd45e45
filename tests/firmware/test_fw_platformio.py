"""platformio.ini rules a change could break: every library pinned (a commit or an exact version),
the float flags the C/Python parity relies on, the TFLM library's own dependencies pinned and
ignored, and no source including the replaced Melexis driver."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load() -> configparser.ConfigParser:
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",))
    cp.read(REPO / "platformio.ini")
    return cp


def test_wio_terminal_env_pins_every_library_and_sets_flags():
    env = load()["env:seeed_wio_terminal"]
    assert re.fullmatch(r"atmelsam@\d+\.\d+\.\d+", env["platform"]), "platform must be pinned"
    deps = [d.strip() for d in env["lib_deps"].splitlines() if d.strip()]
    for dep in deps:
        assert re.search(r"\.git#[0-9a-f]{40}$", dep) or re.search(r"@\d+\.\d+\.\d+$", dep), f"unpinned: {dep}"
    # the MLX90640 driver is no longer used (th_mlx90640 replaces it): nothing may include it
    for src in (REPO / "firmware").rglob("*.[ch]*"):
        text = src.read_text(errors="replace")
        assert "MLX90640_API.h" not in text and "MLX9064X_I2C_Driver.h" not in text, src
    flags = env["build_flags"].split()
    assert "-DENABLE_CACHE" in flags and "-ffp-contract=off" in flags


def test_tflm_manifest_dependencies_pinned_and_ignored():
    """tflite-micro-arduino-examples' library.properties says depends=ArduinoBLE,Arduino_LSM9DS1;
    PlatformIO installs such dependencies by name (newest, from its registry) unless a package of
    that name is already installed, and lib_ignore only keeps them out of the build. So both must be
    pinned lib_deps listed before the TFLM library, and ignored."""
    env = load()["env:seeed_wio_terminal"]
    deps = [d.strip() for d in env["lib_deps"].splitlines() if d.strip()]
    ignored = {v.strip() for v in re.split(r"[,\n]", env.get("lib_ignore", "")) if v.strip()}
    tflm = next(i for i, d in enumerate(deps) if "tflite-micro-arduino-examples" in d)
    for name in ("ArduinoBLE", "Arduino_LSM9DS1"):
        where = [i for i, d in enumerate(deps) if re.search(rf"/{name}\.git#[0-9a-f]{{40}}$", d)]
        assert where and where[0] < tflm, f"{name} must be pinned before the TFLM library"
        assert name in ignored, f"{name} must be in lib_ignore"
