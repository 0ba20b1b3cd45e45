"""Accuracy against ground truth (simulator or labelled recordings) with ``motmetrics``.

Detection precision / recall, MOTA, IDF1 and identity switches (CLEAR-MOT, Bernardin & Stiefelhagen
2008; IDF1, Ristani et al. 2016, as implemented by motmetrics), matching a track's head centre to
a true head when they are at most ``max_dist_px`` apart (x scale). True heads whose centre lies
just outside the view are clipped onto its border (a partly visible head is found at the edge).
Temperature error: over matched pairs, the median and 95th percentile of |series - truth| for the
raw, filtered and drift-corrected p95 series against the noise-free, drift-free p95 of the head.
"""
from __future__ import annotations

import numpy as np


def evaluate(table, truth: list[dict], n_frames: int, shape: tuple[int, int], max_dist_px: float = 3.0) -> dict:
    """``table``: tidy track table; ``truth``: rows {frame, pid, x, y, truth_p95_degC}. Returns a dict
    of metrics (floats/ints)."""
    import motmetrics as mm

    h, w = shape
    scale = w / 32.0
    gt: dict[int, list] = {}
    for r in truth:
        gt.setdefault(r["frame"], []).append(r)
    hyp = {f: g for f, g in table.groupby("frame")} if len(table) else {}
    acc = mm.MOTAccumulator(auto_id=False)
    pairs = []
    md2 = (max_dist_px * scale) ** 2
    for i in range(n_frames):
        g = gt.get(i, [])
        hh = hyp.get(i)
        gx = np.array([[min(max(r["x"], 0), w), min(max(r["y"], 0), h)] for r in g]).reshape(-1, 2)
        hx = hh[["head_x", "head_y"] if "head_x" in hh else ["x", "y"]].to_numpy().reshape(-1, 2) if hh is not None else np.zeros((0, 2))
        d = mm.distances.norm2squared_matrix(gx, hx, max_d2=md2)
        hids = list(hh["track"]) if hh is not None else []
        acc.update([r["pid"] for r in g], hids, d, frameid=i)
        ev = acc.mot_events.loc[i] if i in acc.mot_events.index.get_level_values(0) else None
        if ev is not None and hh is not None:
            for _, e in ev[ev.Type.isin(["MATCH", "SWITCH"])].iterrows():
                trow = next(r for r in g if r["pid"] == e.OId)
                hrow = hh[hh.track == e.HId].iloc[0]
                pairs.append((trow["truth_p95_degC"], hrow.t_p95, hrow.p95_filtered, hrow.p95_corrected))
    mh = mm.metrics.create()
    names = ["precision", "recall", "mota", "motp", "idf1", "num_switches", "num_false_positives",
             "num_misses", "num_objects", "num_unique_objects", "mostly_tracked", "num_fragmentations"]
    s = mh.compute(acc, metrics=names, name="all").iloc[0]
    out = {k: (float(s[k]) if isinstance(s[k], (float, np.floating)) else int(s[k])) for k in names}
    out["rms_dist_px"] = float(np.sqrt(out.pop("motp"))) if np.isfinite(s["motp"]) else None  # MOTP of squared distances -> RMS px
    out["num_tracks"] = int(table["track"].nunique()) if len(table) else 0
    if pairs:
        p = np.array(pairs, dtype=np.float64)
        for j, name in ((1, "raw"), (2, "filtered"), (3, "corrected")):
            e = np.abs(p[:, j] - p[:, 0])
            e = e[np.isfinite(e)]
            out[f"p95_abs_err_{name}_median_k"] = float(np.median(e)) if e.size else None
            out[f"p95_abs_err_{name}_p95_k"] = float(np.percentile(e, 95)) if e.size else None
        out["p95_bias_corrected_k"] = float(np.nanmean(p[:, 3] - p[:, 0]))
    return out
