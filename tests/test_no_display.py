"""Window commands without a display: one line saying what to run instead, non-zero exit, no hang."""
from __future__ import annotations

import matplotlib
import pytest
from click.testing import CliRunner

from tinyheat.cli import main


@pytest.fixture
def headless(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")


def test_play_without_display_says_to_render_to_a_file(repo, headless):
    r = CliRunner().invoke(main, ["play", str(repo / "datasets" / "sessions" / "demo.zarr")])
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "no display" in r.output and "--out demo.gif" in r.output


def test_monitor_without_display_fails_at_once_before_opening_the_port(headless, tmp_path):
    port = tmp_path / "no-such-port"   # never opened: the display check comes first
    r = CliRunner().invoke(main, ["monitor", str(port)])
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "no display" in r.output and "tinyheat record" in r.output


def test_play_with_a_display_but_a_file_only_backend_says_so(repo, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setitem(matplotlib.rcParams, "backend", "agg")
    r = CliRunner().invoke(main, ["play", str(repo / "datasets" / "sessions" / "demo.zarr")])
    assert r.exit_code == 1 and "backend 'agg' cannot open a window" in r.output and "--out" in r.output
