"""Live monitor: interpolated heat map, min/max/cursor temperatures, the device's prediction,
frames per second and drop counts.

:class:`MonitorView` only draws on a matplotlib Figure (testable headless with the Agg backend);
:func:`run_monitor` connects it to a :class:`~.client.DeviceClient` in an interactive window.
"""
from __future__ import annotations

import collections
import time

import numpy as np

from . import protocol as p


class MonitorView:
    """Draws frames on ``fig`` (a new Figure if None).

    ``update(frame, ...)`` takes a :class:`protocol.Frame` (temps (24, 32) or (12, 16) float32 degC);
    the status line names the device's sensor and the model it runs (HELLO identity trailer).
    The heat map is bilinearly interpolated (matplotlib ``interpolation="bilinear"``), colour
    map ``inferno``, auto range from the frame's valid min..max (at least ``min_span_k``).
    """

    def __init__(self, fig=None, min_span_k: float = 2.0, mirror: bool = False):
        import matplotlib
        if fig is None:
            import matplotlib.pyplot as plt
            fig = plt.figure(figsize=(7, 5.6))
        self.fig = fig
        self.ax = fig.add_axes([0.05, 0.18, 0.8, 0.72])
        self.cax = fig.add_axes([0.87, 0.18, 0.03, 0.72])
        self.min_span_k = min_span_k
        self.mirror = mirror
        blank = np.zeros((24, 32), np.float32)
        self.im = self.ax.imshow(blank, cmap=matplotlib.colormaps["inferno"], interpolation="bilinear",
                                 vmin=20, vmax=35, origin="upper")
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        fig.colorbar(self.im, cax=self.cax, label="degC")
        self.title = self.ax.set_title("waiting for frames...")
        self.info = fig.text(0.05, 0.10, "", family="monospace", fontsize=9)
        self.status = fig.text(0.05, 0.04, "", family="monospace", fontsize=9)
        self.cursor: tuple[int, int] | None = None
        self.temps: np.ndarray | None = None
        fig.canvas.mpl_connect("motion_notify_event", self._on_motion)

    def _on_motion(self, event) -> None:
        if event.inaxes is self.ax and event.xdata is not None:
            self.set_cursor(int(round(event.ydata)), int(round(event.xdata)))
        else:
            self.cursor = None

    def set_cursor(self, row: int, col: int) -> None:
        """Pixel (row, col) of the displayed image whose temperature is shown."""
        rows, cols = self.temps.shape if self.temps is not None else (24, 32)
        self.cursor = (min(max(row, 0), rows - 1), min(max(col, 0), cols - 1))

    def cursor_degc(self) -> float | None:
        if self.cursor is None or self.temps is None:
            return None
        r, c = self.cursor
        return float(self.temps[r, self.temps.shape[1] - 1 - c] if self.mirror else self.temps[r, c])

    def update(self, frame: p.Frame, prediction: p.Prediction | None = None, fps: float | None = None,
               stats: p.RxStats | None = None, hello: p.Hello | None = None) -> str:
        """Redraw with a new frame; returns the info text (for logs and tests)."""
        t = np.asarray(frame.temps, np.float32)
        if self.temps is None or self.temps.shape != t.shape:  # (24, 32) MLX90640 or (12, 16) MLX90641
            self.im.set_extent((-0.5, t.shape[1] - 0.5, t.shape[0] - 0.5, -0.5))
        self.temps = t
        valid = np.isfinite(t)
        lo, hi = (float(t[valid].min()), float(t[valid].max())) if valid.any() else (float("nan"), float("nan"))
        vlo, vhi = (lo, hi) if valid.any() else (20.0, 35.0)
        if vhi - vlo < self.min_span_k:
            mid = (vhi + vlo) / 2
            vlo, vhi = mid - self.min_span_k / 2, mid + self.min_span_k / 2
        shown = np.where(valid, t, vlo)
        self.im.set_data(shown[:, ::-1] if self.mirror else shown)
        self.im.set_clim(vlo, vhi)
        text = f"min {lo:6.2f} degC  max {hi:6.2f} degC  Ta {frame.ta_degc:5.2f} degC"
        cur = self.cursor_degc()
        if cur is not None:
            text += f"  cursor ({self.cursor[0]},{self.cursor[1]}) {cur:6.2f} degC"
        pred = "prediction: -"
        if prediction is not None:
            labels = hello.model_labels if hello is not None else ()
            if prediction.label_index < 0:
                name = "uncertain"
            elif prediction.label_index < len(labels):
                name = labels[prediction.label_index]
            else:
                name = f"#{prediction.label_index}"
            pred = f"prediction: {name} {prediction.confidence * 100:.0f}% ({prediction.inference_us / 1000:.1f} ms)"
        self.title.set_text(pred)
        self.info.set_text(text)
        st = f"t {frame.t_ms / 1000:9.2f} s"
        if fps is not None:
            st += f"  {fps:5.1f} fps"
        if stats is not None:
            st += f"  dropped {stats.dropped}  corrupt {stats.corrupt}"
        if hello is not None:
            st += f"  fw {hello.fw_version}  {p.RATE_HZ.get(hello.rate_code, '?')} Hz subpages"
            st += "\n" + hello.device_text
        self.status.set_text(st)
        return text + "\n" + pred + "\n" + st


class FpsMeter:
    """Frames per second over the last ``window_s`` seconds of host time."""

    def __init__(self, window_s: float = 2.0):
        self.window_s, self.times = window_s, collections.deque()

    def tick(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.times.append(now)
        while self.times and now - self.times[0] > self.window_s:
            self.times.popleft()
        return self.rate()

    def rate(self) -> float:
        t = self.times
        return 0.0 if len(t) < 2 else (len(t) - 1) / max(t[-1] - t[0], 1e-9)


def run_monitor(client, mirror: bool = False, max_frames: int | None = None) -> MonitorView:
    """Interactive window until it is closed (or ``max_frames`` frames were shown); returns the view."""
    import matplotlib.pyplot as plt

    view = MonitorView(mirror=mirror)
    fig = view.fig
    fig.canvas.manager.set_window_title("tinyheat monitor")
    plt.show(block=False)
    fps, shown = FpsMeter(), 0
    while plt.fignum_exists(fig.number):
        latest = None
        for m in client.poll():
            if isinstance(m, p.Frame):
                latest = m
                fps.tick()
        if latest is not None:
            view.update(latest, client.prediction, fps.rate(), client.stats, client.hello)
            shown += 1
            fig.canvas.draw_idle()
            if max_frames is not None and shown >= max_frames:
                break
        plt.pause(0.001)
    return view

