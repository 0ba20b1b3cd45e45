"""C link codec: unit tests, parity with the Python codec on tests/link/vectors.json, fuzzing."""
from __future__ import annotations

import os
import subprocess

import pytest

from tinyheat.link import protocol as p


def run_tool(build, lines: list[str]) -> list[str]:
    r = subprocess.run([str(build / "vector_tool")], input="\n".join(lines) + "\n", capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def hx(s: str) -> str:
    return s.encode().hex() or "-"


def test_c_unit_tests(c_link_build):
    r = subprocess.run([str(c_link_build / "test_link")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 failures" in r.stdout


def test_c_crc_cobs_cdegc_match_vectors(c_link_build, vectors):
    lines = [f"crc {c['data']}" for c in vectors["crc"]]
    lines += [f"cobs {c['raw']}" for c in vectors["cobs"]]
    lines += [f"cdegc {c['f32']}" for c in vectors["cdegc"]]
    want = [f"crc {c['crc']}" for c in vectors["crc"]]
    want += [f"cobs {c['enc']}" for c in vectors["cobs"]]
    want += [f"cdegc {c['c']}" for c in vectors["cdegc"]]
    assert run_tool(c_link_build, lines) == want


def _device_line(m: dict) -> str | None:
    f, seq = m["fields"], m["seq"]
    t = m["type"]
    if t == p.T_HELLO:
        labels = lambda xs: " ".join([str(len(xs))] + [hx(x) for x in xs])  # noqa: E731
        return (f"hello {seq} {f['status']} {f['ack_seq']} {f['mode']} {f['rate_code']} {f['emissivity']} "
                f"{f['session']} {hx(f['fw_version'])} {labels(f['model_labels'])} {labels(f['capture_labels'])} "
                f"{f['current']}")
    if t == p.T_FRAME:
        return f"frame {seq} {f['t_ms']} {f['ta']} {f['temps']}"
    if t == p.T_PREDICTION:
        return f"prediction {seq} {f['t_ms']} {f['label_index']} {f['confidence']} {f['inference_us']}"
    if t == p.T_CAPTURE:
        return f"capture {seq} {f['ok']} {f['index']} {hx(f['label'])}"
    if t == p.T_LOG:
        return f"log {seq} {f['level']} {hx(f['text'])}"
    return None


def test_c_builds_the_same_device_messages(c_link_build, vectors):
    dev = [m for m in vectors["messages"] if m["type"] < 0x80]
    assert len(dev) >= 10
    out = run_tool(c_link_build, [_device_line(m) for m in dev])
    for m, line in zip(dev, out, strict=True):
        assert line == f"wire {m['wire']}", m["name"]


def test_c_parses_the_same_host_commands(c_link_build, vectors):
    cmds = [m for m in vectors["messages"] if m["type"] >= 0x80]
    out = run_tool(c_link_build, [f"command {m['wire']}" for m in cmds])
    for m, line in zip(cmds, out, strict=True):
        f = m["fields"]
        labels = f.get("labels", [])
        want = (f"cmd {m['type']} {m['seq']} 0 {f.get('mode', 0)} {f.get('rate_code', 0)} {hx(f.get('label', ''))} "
                f"{len(labels)}" + "".join(" " + hx(x) for x in labels))
        assert line == want, m["name"]
    bad = vectors["bad_commands"]
    out = run_tool(c_link_build, [f"command {b['wire']}" for b in bad])
    assert [line.split()[3] for line in out] == ["1"] * len(bad)


def test_c_decodes_noisy_streams_like_python(c_link_build, vectors):
    out = run_tool(c_link_build, [f"stream {s['data']}" for s in vectors["streams"]])
    want = []
    for s in vectors["streams"]:
        want += [f"msg {t} {seq} {pl}" for t, seq, pl in s["messages"]]
        st = s["stats"]
        want.append(f"stats {st['ok']} {st['crc_errors']} {st['cobs_errors']} {st['oversize']} {st['short']}")
    assert out == want


def test_c_decoder_fuzz_finds_nothing(c_link_build):
    """Deterministic random-input fuzzing under ASan/UBSan for a bounded budget (seconds)."""
    budget = os.environ.get("TH_FUZZ_SECONDS", "1")  # longer runs: TH_FUZZ_SECONDS=60
    r = subprocess.run([str(c_link_build / "fuzz_decoder"), budget, "12345"], capture_output=True, text=True,
                       timeout=float(budget) + 60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 failures" in r.stdout
    n_inputs = int(r.stdout.split()[1])
    assert n_inputs > 1000


def test_link_library_builds_for_cortex_m4_without_malloc(tmp_path, repo):
    """The portable library compiles for the Wio Terminal's ATSAMD51 with no heap use."""
    import shutil

    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    lib, core = repo / "firmware/lib/tinyheat_link", repo / "firmware/lib/tinyheat_core"
    objs = []
    for src in sorted(lib.glob("*.c")):
        obj = tmp_path / (src.stem + ".o")
        r = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                            "-mfpu=fpv4-sp-d16", "-Os", "-Wall", "-Wextra", "-Werror", f"-I{lib}", f"-I{core}",
                            "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        objs.append(str(obj))
    nm = subprocess.run(["arm-none-eabi-nm", "-u", *objs], capture_output=True, text=True).stdout
    undefined = {line.split()[-1] for line in nm.splitlines() if line.strip() and not line.endswith(":")}
    assert not undefined & {"malloc", "calloc", "realloc", "free"}, undefined
