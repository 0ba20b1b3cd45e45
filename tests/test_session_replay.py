"""Replay: rendering a session to GIF / MP4 headless, and the window's keys."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tinyheat.cli import main
from tinyheat.session import Session, read_session
from tinyheat.session.replay import Player, SessionView, render


def _moving_dot(n=12):
    f = np.full((n, 24, 32), 22.0, np.float32)
    for i in range(n):
        f[i, 10:13, 2 * i: 2 * i + 3] = 34.0          # a warm square moving right
    f[0, 0, 0] = np.nan
    return Session(f, np.arange(n) * 250, ta_degC=np.full(n, 30.0))


def test_gif_has_every_frame_and_shows_the_motion(tmp_path):
    import imageio.v3 as iio

    s = _moving_dot()
    n = render(s, tmp_path / "a.gif", fps=4)
    img = iio.imread(tmp_path / "a.gif")
    assert n == 12 and img.shape[0] == 12
    view = SessionView(s)
    x0, y0 = view.ax.transData.transform((2 * 0 + 1, 11))   # data (col, row) -> display pixels
    x5, _ = view.ax.transData.transform((2 * 5 + 1, 11))
    h = img.shape[1]
    row = int(round(h - y0))
    def warm(frame, x):  # the hot colour (inferno near vmax is bright yellow)
        return img[frame, row, int(round(x))].astype(int).sum() > 500
    assert warm(0, x0) and not warm(0, x5) and warm(5, x5) and not warm(5, x0)
    assert not np.array_equal(img[0], img[1])


def test_mp4_and_cli_refuse_to_overwrite(tmp_path):
    import imageio.v2 as imageio

    s = _moving_dot(8)
    p = tmp_path / "s.zarr"
    s.write(p)
    r = CliRunner().invoke(main, ["play", str(p), "--out", str(tmp_path / "a.mp4")])
    assert r.exit_code == 0, r.output
    assert imageio.get_reader(tmp_path / "a.mp4").count_frames() == 8
    r = CliRunner().invoke(main, ["play", str(p), "--out", str(tmp_path / "a.mp4")])
    assert r.exit_code == 1 and "--force" in r.output
    r = CliRunner().invoke(main, ["play", str(p), "--out", str(tmp_path / "a.avi")])
    assert r.exit_code == 1 and ".gif or .mp4" in r.output


def test_title_shows_frame_time_and_ta_and_keys_step(tmp_path):
    s = _moving_dot(12)
    view = SessionView(s)
    p = Player(view)
    p.on_key("right")
    assert p.paused and p.i == 1 and view.title.get_text() == "frame 2/12  t=    0.25 s  Ta= 30.0C"
    p.tick()
    assert p.i == 1                                     # paused: no advance
    p.on_key(" ")
    p.tick()
    assert not p.paused and p.i == 2
    p.on_key("left"); p.on_key("left"); p.on_key("left")
    assert p.i == 11                                    # wraps
    p.on_key("q")
    assert p.closed


def test_shipped_demo_session_renders(repo, tmp_path):
    s = read_session(repo / "datasets" / "sessions" / "demo.zarr")
    assert s.frames.shape == (300, 24, 32) and s.meta["sensor"] == "MLX90640 (simulated)"
    assert render(s, tmp_path / "d.gif", step=50) == 6


_WINDOW = r"""
import sys, time
import matplotlib.pyplot as plt
from matplotlib.backend_bases import KeyEvent
from tinyheat.session import read_session
from tinyheat.session.replay import play_window

fig, player = play_window(read_session(sys.argv[1]), fps=20, block=False)
canvas = type(fig.canvas).__name__
t0 = time.time()
while time.time() - t0 < 0.8:
    plt.pause(0.05)
moved = player.i
KeyEvent("key_press_event", fig.canvas, " ")._process()      # pause
at = player.i
for _ in range(5):
    plt.pause(0.05)
still = player.i == at
KeyEvent("key_press_event", fig.canvas, "right")._process()  # step
stepped = player.i == at + 1
title = fig.axes[0].get_title().split()[1]
KeyEvent("key_press_event", fig.canvas, "q")._process()
print(canvas, moved, still, stepped, title, player.closed)
"""


def test_play_window_under_xvfb(repo, tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    import time

    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb not installed (Debian: xvfb)")   # fails under CI=true (tests/conftest.py)
    disp = f":{90 + os.getpid() % 500}"
    xvfb = subprocess.Popen(["Xvfb", disp, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        env = dict(os.environ, DISPLAY=disp, MPLBACKEND="TkAgg")
        r = subprocess.run([sys.executable, "-c", _WINDOW, str(repo / "datasets" / "sessions" / "demo.zarr")],
                           env=env, capture_output=True, text=True, timeout=60)
    finally:
        xvfb.terminate()
        xvfb.wait()
    assert r.returncode == 0, r.stderr[-2000:]
    canvas, moved, still, stepped, frame, closed = r.stdout.split()
    assert canvas == "FigureCanvasTkAgg" and int(moved) >= 2     # a real window, frames advancing
    assert still == "True" and stepped == "True" and "/300" in frame and closed == "True"


def test_mp4_without_the_video_extra_is_a_one_line_error_and_writes_nothing(repo, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)   # as if `tinyheat[video]` were not installed
    out = tmp_path / "demo.mp4"
    r = CliRunner().invoke(main, ["play", str(repo / "datasets" / "sessions" / "demo.zarr"), "--out", str(out)])
    assert r.exit_code == 1 and "pip install 'tinyheat[video]'" in r.output and r.output.count("\n") == 1
    assert not out.exists()


def test_gif_frames_are_written_as_they_come_and_read_back_close_to_the_render(tmp_path):
    """GifStream writes each frame to disk before the next arrives (memory stays flat: the old
    writer held all frames until close); the file reads back with the right count, delays and colours."""
    from PIL import Image

    from tinyheat.session.gif_writer import GifStream, fixed_palette

    view = SessionView(_moving_dot(12))
    frames = [view.rgb(i) for i in range(12)]
    out = tmp_path / "s.gif"
    sizes = []
    with GifStream(out, fixed_palette(frames[::4]), duration_ms=250) as w:
        for f in frames:
            w.append(f)
            w._f.flush()
            sizes.append(out.stat().st_size)
    assert sizes[2] > sizes[1] > sizes[0] > 0            # on disk while writing, not at close
    with Image.open(out) as im:
        assert im.n_frames == 12 and im.info["loop"] == 0
        for k in (0, 5, 11):
            im.seek(k)
            assert im.info["duration"] == 250
            got = np.asarray(im.convert("RGB"), dtype=float)
            assert got.shape == frames[k].shape
            assert np.abs(got - frames[k]).mean() < 3.0    # one fixed palette: small colour error


def test_gif_merges_repeated_frames_into_a_longer_delay(tmp_path):
    from PIL import Image

    from tinyheat.session.gif_writer import GifStream, fixed_palette

    a = np.zeros((20, 30, 3), np.uint8)
    b = a.copy()
    b[5:8, 10:12] = 255
    with GifStream(tmp_path / "r.gif", fixed_palette([a, b]), duration_ms=100) as w:
        for f in (a, a, a, b):
            w.append(f)
    with Image.open(tmp_path / "r.gif") as im:
        assert im.n_frames == 2 and im.info["duration"] == 300
        im.seek(1)
        assert np.asarray(im.convert("RGB"))[6, 10].tolist() == [255, 255, 255]
    with GifStream(tmp_path / "long.gif", fixed_palette([a]), duration_ms=300_000) as w:   # 5 min per frame
        for _ in range(3):
            w.append(a)
    with Image.open(tmp_path / "long.gif") as im:   # 900 s does not fit the 16-bit delay (655.35 s)
        assert im.n_frames == 2 and im.info["duration"] == 600_000
