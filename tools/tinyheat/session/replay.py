"""Replay of a session: a matplotlib view (degC colour bar, time, frame index, Ta) that is either
shown in a window with pause/step keys or rendered to a GIF (written frame by frame, gif_writer) or an MP4 (imageio + ffmpeg).

Keys in the window: space = pause/resume, right / left = one frame forward / back (pauses),
up / down = 10 frames, home = first frame, q = close.
The colour scale is fixed for the whole session (the 1st and 99.5th percentiles of its valid
pixels, or ``vmin``/``vmax``) so colours mean the same temperature in every frame.
Optional overlay: tracks from ``tinyheat people`` (a tidy table with track, frame, x, y, major,
minor) drawn as a circle of the fitted head size and the track id.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .store import Session


def colour_range(frames: np.ndarray) -> tuple[float, float]:
    """(vmin, vmax) degC: 1st / 99.5th percentiles of the valid pixels of up to 200 frames."""
    f = np.asarray(frames)[:: max(1, len(frames) // 200)]
    v = f[np.isfinite(f)]
    if v.size == 0:
        return 20.0, 30.0
    lo, hi = np.percentile(v, [1, 99.5])
    return float(lo), float(max(hi, lo + 1.0))


class SessionView:
    """The figure of one session; :meth:`show` draws frame ``i`` (returns the artists)."""

    def __init__(self, s: Session, vmin=None, vmax=None, tracks=None, cmap: str = "inferno",
                 scale: float = 1.0, fig=None):
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        self.s = s
        frames = s.frames
        lo, hi = colour_range(frames)
        self.vmin = lo if vmin is None else vmin
        self.vmax = hi if vmax is None else vmax
        h, w = frames.shape[1:]
        aspect = h / w
        self.fig = fig or Figure(figsize=(5.12 * scale, (3.84 * aspect / 0.75 + 0.32) * scale), dpi=100)
        self.ax = self.fig.add_axes([0.05, 0.08, 0.78, 0.82])
        cax = self.fig.add_axes([0.86, 0.08, 0.035, 0.82])
        cm = plt.get_cmap(cmap).with_extremes(bad="#40ff40")  # invalid pixels in green
        self.im = self.ax.imshow(frames[0], cmap=cm, vmin=self.vmin, vmax=self.vmax, interpolation="nearest")
        cb = self.fig.colorbar(self.im, cax=cax)
        cb.set_label("degC")
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        self.title = self.ax.set_title("", fontsize=9, family="monospace")
        self.tracks = None
        self._marks = []
        if tracks is not None and len(tracks):
            self.tracks = {f: g for f, g in tracks.groupby("frame")}

    def label(self, i: int) -> str:
        s = self.s
        t = s.t_ms[i]
        ts = "t=?" if t < 0 else f"t={t / 1000:8.2f} s"
        ta = s.ta_degC[i]
        tas = "Ta=  ?  " if not np.isfinite(ta) else f"Ta={ta:5.1f}C"
        return f"frame {i + 1}/{len(s)}  {ts}  {tas}"

    def show(self, i: int):
        from matplotlib.patches import Circle

        self.im.set_data(self.s.frames[i])
        self.title.set_text(self.label(i))
        for m in self._marks:
            m.remove()
        self._marks = []
        if self.tracks is not None and i in self.tracks:
            for _, r in self.tracks[i].iterrows():
                rad = max(0.5 * float(r.major), 0.8)
                c = Circle((r.x - 0.5, r.y - 0.5), rad, fill=False, color="cyan", lw=1.5)
                self.ax.add_patch(c)
                tx = self.ax.text(r.x - 0.5, r.y - 0.5 - rad - 0.3, str(int(r.track)), color="cyan",
                                  fontsize=9, ha="center", va="bottom", weight="bold")
                self._marks += [c, tx]
        return [self.im, self.title, *self._marks]

    def rgb(self, i: int) -> np.ndarray:
        """Frame i rendered: uint8 (H_px, W_px, 3). Blits: the colour bar and frame are drawn once,
        then only the image, the title and the track marks."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = self.fig.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.fig)
        if getattr(self, "_background", None) is None:
            self.im.set_animated(True)
            self.title.set_animated(True)
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        for a in self.show(i):
            a.set_animated(True)
            self.fig.draw_artist(a)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def frame_indices(n: int, start: int = 0, stop: int | None = None, step: int = 1) -> range:
    return range(max(0, start), min(n, stop if stop is not None else n), max(1, step))


def render(s: Session, out: str | Path, fps: float | None = None, tracks=None, start: int = 0,
           stop: int | None = None, step: int = 1, vmin=None, vmax=None, progress=None) -> int:
    """Render frames ``start:stop:step`` of ``s`` to ``out`` (.gif or .mp4, by suffix) at ``fps``
    (default: the session's real rate / step, at most 30). Returns the number of frames written.
    MP4 uses imageio's ffmpeg plugin (imageio-ffmpeg ships an ffmpeg binary). ValueError for
    another suffix or no frames. GIF frames are streamed to the file (:mod:`.gif_writer`), so
    memory does not grow with the number of frames."""

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"{out.name}: output must be .gif or .mp4")
    idx = frame_indices(len(s), start, stop, step)
    if len(idx) == 0:
        raise ValueError("no frames to render")
    if fps is None:
        dt = np.diff(s.t_ms[s.t_ms >= 0])
        fps = 1000.0 / float(np.median(dt)) / step if dt.size and np.median(dt) > 0 else 4.0
        fps = min(fps, 30.0)
    view = SessionView(s, vmin=vmin, vmax=vmax, tracks=tracks)
    it = progress(idx) if progress else idx
    if suffix == ".gif":
        from .gif_writer import GifStream, fixed_palette

        # the palette from up to 8 frames spread over the range (the colour bar holds the whole scale)
        samples = [view.rgb(i) for i in idx[:: max(1, len(idx) // 8)][:8]]
        w = GifStream(out, fixed_palette(samples), duration_ms=1000.0 / fps, loop=0)
        append = w.append
    else:
        import imageio.v2 as imageio

        from ..errors import require

        require("imageio_ffmpeg", "video", "MP4 output")
        w = imageio.get_writer(out, fps=fps, codec="libx264", macro_block_size=16, quality=7,
                               ffmpeg_log_level="error")
        append = w.append_data
    n = 0
    try:
        for i in it:
            append(view.rgb(i))  # streamed: one frame in memory at a time
            n += 1
    finally:
        w.close()
    return n


class Player:
    """Interactive state: current frame, paused; ``on_key`` handles the keys listed above."""

    def __init__(self, view: SessionView):
        self.view, self.i, self.paused, self.closed = view, 0, False, False

    def on_key(self, key: str) -> None:
        n = len(self.view.s)
        if key == " ":
            self.paused = not self.paused
        elif key in ("right", "left", "up", "down"):
            self.paused = True
            self.i = (self.i + {"right": 1, "left": -1, "up": 10, "down": -10}[key]) % n
        elif key == "home":
            self.i = 0
        elif key in ("q", "escape"):
            self.closed = True
        self.view.show(self.i)

    def tick(self) -> None:
        if not self.paused:
            self.i = (self.i + 1) % len(self.view.s)
        self.view.show(self.i)


def play_window(s: Session, tracks=None, fps: float | None = None, vmin=None, vmax=None, block: bool = True):
    """Show ``s`` in a matplotlib window (needs a display; pyplot chooses the backend). With
    ``block=False`` returns (figure, :class:`Player`) at once (tests drive it)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig = plt.figure(figsize=(6.4, 5.2))
    view = SessionView(s, vmin=vmin, vmax=vmax, tracks=tracks, fig=fig)
    player = Player(view)
    view.show(0)
    dt = np.diff(s.t_ms[s.t_ms >= 0])
    interval = float(np.median(dt)) if dt.size and np.median(dt) > 0 else 250.0
    if fps:
        interval = 1000.0 / fps

    def key(ev):
        player.on_key(ev.key)
        if player.closed:
            plt.close(fig)
        fig.canvas.draw_idle()

    fig.canvas.mpl_connect("key_press_event", key)
    anim = FuncAnimation(fig, lambda _: (player.tick(), view.show(player.i))[1], interval=interval,
                         blit=False, cache_frame_data=False)
    fig._tinyheat_anim = anim  # keep a reference while the window is open
    if not block:
        plt.show(block=False)
        return fig, player
    plt.show()
    return fig, player
