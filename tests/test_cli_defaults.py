"""CLI defaults and central error handling (tinyheat.cli, tinyheat.workflow.commands,
tinyheat.deploy.export file writing): no overwrite without --force, export only where meant,
all model files or none, one-line errors with --debug for the traceback."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinyheat import paths
from tinyheat.cli import COMMANDS, main
from tinyheat.deploy import export
from tinyheat.errors import UserError

REPO = Path(__file__).resolve().parents[1]


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


def test_help_lists_commands_in_workflow_order():
    out = run("--help").output
    pos = {name: out.index(f"  {name} ") for name in COMMANDS}
    assert pos["ingest"] < pos["import-frames"] < pos["train"] < pos["quantize"] < pos["evaluate"] < pos["export"]
    assert pos["export"] < pos["run"] and pos["demo-data"] < pos["train"]


def test_unknown_recipe_is_a_usage_error_listing_the_choices(tmp_path):
    res = run("run", REPO / "datasets" / "demo", "--out", tmp_path / "r", "--recipe", "nope")
    assert res.exit_code == 2 and "'nope' is not one of" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("cmd", ["train", "run"])
def test_train_and_run_refuse_an_existing_run_folder(tmp_path, cmd):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.keras").write_bytes(b"earlier run")
    res = run(cmd, REPO / "datasets" / "demo", "--out", out)
    assert res.exit_code == 1 and "--force" in res.output and "Traceback" not in res.output
    assert (out / "model.keras").read_bytes() == b"earlier run"


def test_run_exports_to_the_checkout_firmware_not_the_current_folder(tmp_path, monkeypatch):
    from tinyheat.workflow import steps

    def stop(dataset):
        raise UserError("stop here")

    monkeypatch.setattr(steps, "load", stop)   # the target is decided and said before any work
    (tmp_path / "firmware" / "lib").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    res = run("run", REPO / "datasets" / "demo", "--out", tmp_path / "out", "--force")
    assert f"exporting to {REPO / 'firmware' / 'lib' / 'tinyheat_model'}" in res.output
    assert res.exit_code == 1 and "stop here" in res.output
    # without --force the checkout's model is kept: the run goes on and says how to export
    res = run("run", REPO / "datasets" / "demo", "--out", tmp_path / "out")
    assert "will not be exported" in res.output and "already holds a model" in res.output
    assert f"tinyheat export {tmp_path / 'out'} --force" in res.output and "stop here" in res.output
    # an installed package (as the README's `tinyheat run data --out runs/a`): the run goes on, no export
    monkeypatch.setattr(paths, "checkout_root", lambda: None)
    res = run("run", REPO / "datasets" / "demo", "--out", tmp_path / "out2")
    assert "will not be exported" in res.output and "--firmware PATH/TO/firmware" in res.output
    assert res.exit_code == 1 and "stop here" in res.output   # the run itself started
    assert list((tmp_path / "firmware" / "lib").iterdir()) == []
    res = run("export", tmp_path)
    assert res.exit_code == 1 and "pass --firmware" in res.output


def test_export_refuses_a_mistyped_firmware_folder_and_an_existing_model(tmp_path, monkeypatch):
    from tinyheat.workflow import pipeline

    monkeypatch.setattr(pipeline, "export_run", lambda r, fw: export.export_model(b"new", card(), fw))
    (tmp_path / "run").mkdir()
    res = run("export", tmp_path / "run", "--firmware", tmp_path / "firmwre")
    assert res.exit_code == 1 and "no such folder" in res.output and not (tmp_path / "firmwre").exists()
    (tmp_path / "docs").mkdir()
    res = run("export", tmp_path / "run", "--firmware", tmp_path / "docs")
    assert res.exit_code == 1 and "does not look like a firmware folder" in res.output
    assert list((tmp_path / "docs").iterdir()) == []
    fw = tmp_path / "firmware"
    (fw / "lib").mkdir(parents=True)
    assert run("export", tmp_path / "run", "--firmware", fw).exit_code == 0
    (fw / "lib" / "tinyheat_model" / "tinyheat_model.tflite").write_bytes(b"the user's model")
    res = run("export", tmp_path / "run", "--firmware", fw)
    assert res.exit_code == 1 and "--force" in res.output
    assert (fw / "lib" / "tinyheat_model" / "tinyheat_model.tflite").read_bytes() == b"the user's model"
    assert run("export", tmp_path / "run", "--firmware", fw, "--force").exit_code == 0
    assert (fw / "lib" / "tinyheat_model" / "tinyheat_model.tflite").read_bytes() == b"new"


def test_exported_model_folder_has_the_umask_mode_not_0700(tmp_path):
    old = os.umask(0o022)
    try:
        export.export_model(b"m", card(), tmp_path / "fw")
        lib = tmp_path / "fw" / "lib" / "tinyheat_model"
        assert lib.stat().st_mode & 0o777 == 0o755
        assert (lib / "tinyheat_model.h").stat().st_mode & 0o777 == 0o644
        lib.chmod(0o775)                      # a replaced folder keeps the mode it had
        export.export_model(b"m2", card(), tmp_path / "fw")
        assert lib.stat().st_mode & 0o777 == 0o775
    finally:
        os.umask(old)


@pytest.fixture(autouse=True)
def _any_bytes_pass_the_device_gate(monkeypatch):
    """These tests write stand-in model bytes; the device TFLM gate has its own tests (test_device_int8)."""
    monkeypatch.setattr(export, "check_tflm_support", lambda tflite: None)


def card() -> dict:
    return {"labels": ["a", "b"], "run": "test",
            "input": {"shape": [1, 24, 32, 1], "scale": 0.004, "zero_point": -128, "mode": "window",
                      "window_lo_degC": 22.0, "window_hi_degC": 37.0, "relative_span_K": 8.0},
            "output": {"shape": [1, 2], "scale": 0.1, "zero_point": 0},
            "ops": ["CONV_2D", "FULLY_CONNECTED"], "arena_bytes": 4096, "arena_measured_bytes": 2000,
            "model": {"macs": 10}, "metrics": {}}


def model_files(fw: Path) -> dict[str, bytes]:
    lib = fw / "lib"
    return {str(p.relative_to(lib)): p.read_bytes() for p in sorted(lib.rglob("*")) if p.is_file()}


def test_export_writes_all_model_files_or_none(tmp_path, monkeypatch):
    fw = tmp_path / "firmware"
    export.export_model(b"old model", card(), fw)
    (fw / "lib" / "tinyheat_model" / "library.json").write_text("{}")   # a user's file in the folder stays
    before = model_files(fw)
    real = Path.write_bytes

    def full_disk_at_the_c_file(self, data):
        if self.name == "tinyheat_model.c":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk_at_the_c_file)
    monkeypatch.setattr(Path, "write_text", lambda self, t, *a, **k: full_disk_at_the_c_file(self, t.encode()))
    with pytest.raises(OSError):
        export.export_model(b"a new, longer model", card(), fw)   # its header differs (tflite bytes)
    assert model_files(fw) == before                       # header, source, card, tflite: all the old ones
    assert sorted(os.listdir(fw / "lib")) == ["tinyheat_model"]   # no temporary folder left
    monkeypatch.undo()
    monkeypatch.setattr(export, "check_tflm_support", lambda tflite: None)
    written = export.export_model(b"a new, longer model", card(), fw)
    after = model_files(fw)
    assert after["tinyheat_model/tinyheat_model.tflite"] == b"a new, longer model" and after["tinyheat_model/library.json"] == b"{}"
    assert after["tinyheat_model/tinyheat_model.h"] != before["tinyheat_model/tinyheat_model.h"]
    assert {p.name for p in written} == {"tinyheat_model.h", "tinyheat_model.c", "model_card.json",
                                         "tinyheat_model.tflite"}


def test_read_only_firmware_is_a_one_line_error_and_debug_shows_the_traceback(tmp_path, monkeypatch):
    from tinyheat.workflow import pipeline

    fw = tmp_path / "firmware"
    export.export_model(b"old model", card(), fw)
    before = model_files(fw)

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(fw / "lib"))

    monkeypatch.setattr(export.tempfile, "mkdtemp", read_only)
    monkeypatch.setattr(pipeline, "export_run", lambda run, firmware: export.export_model(b"x", card(), firmware))
    (tmp_path / "run").mkdir()
    res = run("export", tmp_path / "run", "--firmware", fw, "--force")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.strip().splitlines()[-1].startswith("Error: ") and "read-only" in res.output.lower()
    assert model_files(fw) == before
    res = run("--debug", "export", tmp_path / "run", "--firmware", fw, "--force")
    assert isinstance(res.exception, OSError) and res.exception.errno == errno.EROFS


def test_symlink_loop_and_unreadable_source_are_one_line_errors(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    res = run("ingest", tmp_path / "a", "-d", tmp_path / "data")
    assert res.exit_code == 1 and "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    (tmp_path / "card").mkdir()
    res = run("ingest", tmp_path / "card", "-d", tmp_path / "a")
    assert res.exit_code == 1 and "symbolic link loop" in res.output and "Traceback" not in res.output
    res = run("import-frames", tmp_path / "a", "-l", "x", "-d", tmp_path / "data")
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_unexpected_errors_still_show_a_traceback(monkeypatch):
    """Bugs are not hidden behind one-line messages: only known error types are mapped."""
    from tinyheat.ingest import card as card_mod

    monkeypatch.setattr(card_mod, "ingest", lambda *a, **k: 1 / 0)
    res = run("ingest", REPO, "-d", REPO / "nothing")
    assert isinstance(res.exception, ZeroDivisionError)


def test_export_target_follows_tinyheat_firmware_like_the_simulator(tmp_path, monkeypatch):
    """With TINYHEAT_FIRMWARE set, run/export write where sim-device builds from (and a bad value
    is the same one-line error), not silently into the checkout's firmware/."""
    from tinyheat.paths import FirmwareDirError, checkout_root, firmware_dir
    from tinyheat.workflow.commands import firmware_target

    monkeypatch.setenv("TINYHEAT_FIRMWARE", str(tmp_path / "nope"))
    with pytest.raises(FirmwareDirError):
        firmware_target(None)
    monkeypatch.setenv("TINYHEAT_FIRMWARE", str(checkout_root() / "firmware"))
    assert firmware_target(None) == firmware_dir()
