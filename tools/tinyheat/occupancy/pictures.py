"""Pictures: heat map over the mean thermal image, a grid of maps per hour of day, and a time
series of occupied pixels (matplotlib, Agg backend; PNG)."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from scipy import ndimage

UNITS = {"dwell": "dwell (s)", "fraction": "occupied fraction"}


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def upsample(m: np.ndarray, factor: int = 8) -> np.ndarray:
    """Smooth upsampling (cubic spline, ``scipy.ndimage.zoom`` order 3, edge values kept),
    NaN filled with the finite mean first. (H, W) -> (H*factor, W*factor)."""
    m = np.asarray(m, np.float64)
    fill = np.nanmean(m) if np.isfinite(m).any() else 0.0
    return ndimage.zoom(np.where(np.isfinite(m), m, fill), factor, order=3, mode="nearest", grid_mode=True)


def _overlay(ax, value, thermal, vmax, factor, scale="linear"):
    h, w = value.shape
    ext = (-0.5, w - 0.5, h - 0.5, -0.5)
    if thermal is not None and np.isfinite(thermal).any():
        ax.imshow(upsample(thermal, factor), cmap="gray", extent=ext)
    from matplotlib.colors import Normalize, PowerNorm
    v = np.clip(upsample(value, factor), 0, None)
    top = vmax if vmax > 0 else 1.0
    norm = PowerNorm(0.5, vmin=0, vmax=top) if scale == "sqrt" else Normalize(0, top)
    alpha = np.clip(np.asarray(norm(v)) * 3, 0, 0.85) if vmax > 0 else np.zeros_like(v)
    im = ax.imshow(v, cmap="inferno", norm=norm, alpha=alpha, extent=ext)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def heatmap_png(path, value: np.ndarray, thermal: np.ndarray | None, *, unit: str = "dwell",
                title: str = "", zones=(), factor: int = 8, scale: str = "linear") -> None:
    """Heat map ``value`` (H, W) (dwell s or occupied fraction) over ``thermal`` (H, W) degC
    (grey), with a colour bar (``scale`` "linear" or "sqrt": a square-root colour scale keeps
    paths visible next to a spot occupied for long); ``zones`` drawn as labelled boxes."""
    plt = _plt()
    from matplotlib.patches import Rectangle
    h, w = value.shape
    fig, ax = plt.subplots(figsize=(1.2 + 5.0 * w / max(h, w) * 1.2, 0.6 + 5.0 * h / max(h, w)), dpi=100)
    im = _overlay(ax, value, thermal, float(np.nanmax(value)) if value.size else 0.0, factor, scale)
    for z in zones:
        ax.add_patch(Rectangle((z.x0 - 0.5, z.y0 - 0.5), z.x1 - z.x0 + 1, z.y1 - z.y0 + 1, fill=False,
                               edgecolor="cyan", lw=1.5))
        ax.text(z.x0 - 0.3, z.y0 - 0.1, z.name, color="cyan", fontsize=8, va="top")
    fig.colorbar(im, ax=ax, label=UNITS[unit], fraction=0.046, pad=0.03)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def hour_grid_png(path, maps: dict[int, np.ndarray], thermal: np.ndarray | None, *, unit: str = "dwell",
                  title: str = "", factor: int = 4) -> None:
    """A 4 x 6 mosaic, one map per hour of day (UTC) 0..23 (blank where no hour has data), one
    shared colour scale; drawn as one image (fast) with the hour in each tile's corner."""
    plt = _plt()
    h, w = next(iter(maps.values())).shape if maps else (thermal.shape if thermal is not None else (24, 32))
    th, tw = h * factor, w * factor
    gap = 2
    vmax = max((float(m.max()) for m in maps.values()), default=0.0)
    val = np.full((4 * (th + gap), 6 * (tw + gap)), np.nan)
    bg = np.full_like(val, np.nan)
    t_up = upsample(thermal, factor) if thermal is not None and np.isfinite(thermal).any() else None
    for hour in range(24):
        r, c = divmod(hour, 6)
        sl = (slice(r * (th + gap), r * (th + gap) + th), slice(c * (tw + gap), c * (tw + gap) + tw))
        if t_up is not None:
            bg[sl] = t_up
        if hour in maps:
            val[sl] = np.clip(upsample(maps[hour], factor), 0, None)
    fig, ax = plt.subplots(figsize=(12, 6.4), dpi=80)
    if t_up is not None:
        ax.imshow(bg, cmap="gray")
    alpha = np.where(np.isfinite(val), np.clip(np.nan_to_num(val) / vmax * 3, 0, 0.85) if vmax > 0 else 0, 0)
    im = ax.imshow(np.nan_to_num(val), cmap="inferno", vmin=0, vmax=vmax if vmax > 0 else 1, alpha=alpha)
    for hour in range(24):
        r, c = divmod(hour, 6)
        ax.text(c * (tw + gap) + 2, r * (th + gap) + 2, f"{hour:02d}h" + ("" if hour in maps else " -"),
                color="white" if hour in maps else "grey", fontsize=8, va="top")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, label=UNITS[unit], fraction=0.03, pad=0.01)
    ax.set_title(title + " (UTC hours)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def timeseries_png(path, start_s: np.ndarray, occupied_px: np.ndarray, *, title: str = "") -> None:
    """Mean occupied pixels per minute (``occupied_px`` float (M,) = dwell pixel-s / recorded s of
    the minute) against UTC time (``start_s`` int64 (M,) epoch s of each minute)."""
    plt = _plt()
    t = [datetime.fromtimestamp(int(s), tz=timezone.utc) for s in start_s]
    fig, ax = plt.subplots(figsize=(9, 3), dpi=100)
    ax.step(t, occupied_px, where="post")
    ax.set_ylabel("occupied pixels (mean)")
    ax.set_xlabel("time (UTC)")
    ax.set_title(title, fontsize=9)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
