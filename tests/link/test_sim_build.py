"""The simulated device's build cache and identity (issue 17 item 3): binaries keyed by a hash of
the sources and the model (not file dates), the model's name and CRC-32 in `--version` and in
HELLO, and a one-line error for a missing or incomplete TINYHEAT_FIRMWARE."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinyheat.cli import main as cli
from tinyheat.link.commands import build_sim, sim_build_key

from .conftest import FIRMWARE


def _copy_firmware(dst: Path) -> Path:
    for part in ("host", "lib", "src", "include"):
        shutil.copytree(FIRMWARE / part, dst / part, ignore=shutil.ignore_patterns("build", "*.o"))
    return dst


def test_cache_is_keyed_by_content_and_the_binary_names_its_model(tmp_path, monkeypatch):
    if shutil.which("cc") is None:
        pytest.skip("no host C compiler")
    fw = _copy_firmware(tmp_path / "fw")
    card = json.loads((fw / "lib/tinyheat_model/model_card.json").read_text())
    card["run"] = "runs/den-16x12-test"
    (fw / "lib/tinyheat_model/model_card.json").write_text(json.dumps(card))
    monkeypatch.setenv("TINYHEAT_FIRMWARE", str(fw))
    cache = tmp_path / "cache"
    exe = build_sim(cache)
    crc = zlib.crc32((fw / "lib/tinyheat_model/tinyheat_model.tflite").read_bytes())
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"model den-16x12-test crc32:{crc:08x}" in out, out
    # unchanged content, newer dates: the same binary, not rebuilt
    mtime = exe.stat().st_mtime_ns
    for f in (fw / "host").iterdir():
        os.utime(f)
    assert build_sim(cache) == exe and exe.stat().st_mtime_ns == mtime
    # another model (one byte of the array) or another source: another key, so another binary
    key = sim_build_key(fw)
    model_c = fw / "lib/tinyheat_model/tinyheat_model.c"
    text = model_c.read_text()
    i = text.index("0x", text.index("th_model_tflite[]"))
    model_c.write_text(text[:i] + ("0x01" if text[i:i + 4] != "0x01" else "0x02") + text[i + 4:])
    assert sim_build_key(fw) != key
    model_c.write_text(text)
    assert sim_build_key(fw) == key
    (fw / "host/sim_main.c").write_text((fw / "host/sim_main.c").read_text() + "\n")
    assert sim_build_key(fw) != key


@pytest.mark.parametrize("what", ["missing", "incomplete"])
def test_bad_tinyheat_firmware_is_a_one_line_error(what, tmp_path, monkeypatch):
    fw = tmp_path / "fw"
    if what == "incomplete":
        (fw / "lib" / "tinyheat_core").mkdir(parents=True)
    monkeypatch.setenv("TINYHEAT_FIRMWARE", str(fw))
    r = CliRunner().invoke(cli, ["sim-device", "--no-model"])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and f"TINYHEAT_FIRMWARE={fw}" in lines[0], r.output
    assert ("no such folder" if what == "missing" else "host/Makefile") in lines[0]
