"""PNG of every track's series: raw p95, Hampel-filtered, drift-corrected, outliers, and the reference."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_series(table, t_ms: np.ndarray, ref: np.ndarray, region, out: str | Path, title: str = "") -> Path:
    """Two panels sharing time (s): top, per track: raw p95 (thin), filtered (solid), corrected
    (dashed), outliers (x); bottom: the reference region's mean degC. Writes ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), dpi=100)
    ax, axr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    t_s = np.asarray(t_ms) / 1000.0
    colours = matplotlib.colormaps["tab10"]
    for k, (tid, g) in enumerate(table.groupby("track")):
        c = colours(k % 10)
        ts = g.t_ms.to_numpy() / 1000.0
        ax.plot(ts, g.t_p95, lw=0.6, alpha=0.5, color=c)
        ax.plot(ts, g.p95_filtered, lw=1.4, color=c, label=f"track {tid}")
        ax.plot(ts, g.p95_corrected, lw=1.2, ls="--", color=c)
        o = g[g.p95_outlier]
        ax.plot(o.t_ms / 1000.0, o.t_p95, "x", color=c, ms=6)
    ax.set_ylabel("head p95, degC")
    ax.set_title(f"{title}: raw (thin), filtered (solid), drift-corrected (dashed), outliers (x)", fontsize=9)
    if len(table):
        ax.legend(fontsize=7, ncol=4, loc="lower right")
    axr.plot(t_s, ref, color="grey", lw=1)
    axr.set_ylabel("reference, degC", fontsize=8)
    axr.set_xlabel("time, s")
    axr.set_title(f"reference region x0,y0,x1,y1 = {','.join(map(str, region))}" if region is not None
                  else "no reference region (drift not corrected)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    return Path(out)
