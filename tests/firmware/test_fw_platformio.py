"""platformio.ini: the project layout points into firmware/, the Wio Terminal env exists, every
library is pinned and the build flags the core relies on are set."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load() -> configparser.ConfigParser:
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",))
    cp.read(REPO / "platformio.ini")
    return cp


def test_layout_points_into_firmware():
    pio = load()["platformio"]
    assert pio["src_dir"] == "firmware/src" and pio["lib_dir"] == "firmware/lib"
    assert pio["include_dir"] == "firmware/include" and pio["test_dir"] == "firmware/test"
    for key in ("src_dir", "lib_dir", "include_dir", "test_dir"):
        assert (REPO / pio[key]).is_dir(), key
    assert (REPO / "firmware/src/main.cpp").is_file()


def test_wio_terminal_env_pins_every_library_and_sets_flags():
    env = load()["env:seeed_wio_terminal"]
    assert re.fullmatch(r"atmelsam@\d+\.\d+\.\d+", env["platform"])
    assert env["board"] == "seeed_wio_terminal" and env["framework"] == "arduino"
    deps = [d.strip() for d in env["lib_deps"].splitlines() if d.strip()]
    assert len(deps) == 6
    for dep in deps:
        assert re.search(r"\.git#[0-9a-f]{40}$", dep) or re.search(r"@\d+\.\d+\.\d+$", dep), f"unpinned: {dep}"
    joined = "\n".join(deps)
    for lib in ("Seeed_Arduino_FS", "Seeed_Arduino_SFUD", "JPEGENC", "tflite-micro-arduino-examples"):
        assert lib in joined, lib
    assert "tflite-micro-arduino-examples.git#be370f0" in joined
    assert "Seeed_Arduino_LCD" not in joined  # bundled in the Seeed core
    # the MLX90640 driver is no longer used: nothing may include it
    assert "MLX9064x" not in joined
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
