"""`tinyheat people` and `tinyheat occupancy` on real recordings, through the CLI with defaults
(prints a table; not a test).

    .venv/bin/python tools/bench_people_real.py [--shared ../shared/datasets] [--markdown]

Recordings: the three fir-action-ceiling recordings (MLX90640 32x24 on a ceiling, ONE person,
``labels.csv`` action segments; the person is in view in the labelled frames) and mlx90641-den
(16x12; empty until frame 2040, walks in, seated at the computer from frame 2102 to the end).

Columns, per recording (in-view = labelled frames; den: frames 2040..end):

- ``tracks``: tracks in ``tracks.csv``; ``idsw``: ID switches of the one person = changes of the
  track id that covers them between consecutive detected in-view frames (if a frame has several
  rows, the one continuing the previous id, else the longest track's);
- ``det``: share of in-view frames with >= 1 track row; ``2+``: share of in-view frames with 2+
  rows (one person seen as two); ``longest``: the longest track's in-view frames / in-view frames;
- ``occ_rec``: share of in-view frames where `occupancy` (debounced count) says >= 1;
  ``occ_prec``: correctly counted people / counted people (in-view frames hold 1 person; den
  frames before 2040 hold 0); ``occ_2+``: frames counted as 2+ people;
- ``seat_rec``: den only, share of frames 2102..end counted >= 1, and ``left``: "left" events
  there (must be 0);
- ``iqr_raw`` / ``iqr_cor``: IQR (K) of the longest track's p95 series, Hampel-filtered raw vs
  drift-corrected; ``still_iqr``: largest per-segment IQR (K) of the filtered series over still
  segments (ceiling: sit, lying, sleeping, falled; den: frames 2102..end), counting the frames
  whose body centre is within 1.5 px (x width / 32) of the segment's median centre (a "lying"
  label also covers lying down), when at least 20;
  ``ref``: the reference region and how it was chosen;
- ``fps``: frames per CPU second of the people step (detection + tracking + series, no I/O;
  ``time.process_time`` of one process, so other jobs on the machine do not count).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

STILL = {"sit", "lying", "sleeping", "falled"}


def ceiling_truth(path: Path, labels: Path):
    """(in_view bool (N,), still segments [(a, b)]) from labels.csv (end exclusive)."""
    import pandas as pd

    n = len(pd.read_csv(path, usecols=[0]))
    row = next(r for r in csv.reader(labels.open()) if r and r[0] == path.name)
    trip = [x for x in row[1:] if x.strip()]
    inview = np.zeros(n, bool)
    still = []
    for k in range(0, len(trip) - 2, 3):
        a, b, act = int(trip[k]), int(trip[k + 1]), trip[k + 2].strip()
        inview[a:b] = True
        if act in STILL:
            still.append((a, b))
    return inview, still


def den_truth(n: int):
    inview = np.zeros(n, bool)
    inview[2040:] = True
    return inview, [(2102, n)]


def _iqr(x) -> float:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.subtract(*np.percentile(x, [75, 25]))) if len(x) >= 4 else float("nan")


def people_metrics(tab, n: int, inview: np.ndarray, still, width: int = 32) -> dict:
    tracks = int(tab.track.nunique()) if len(tab) else 0
    rows = np.bincount(tab.frame, minlength=n)[:n] if len(tab) else np.zeros(n, int)
    iv = np.flatnonzero(inview)
    sizes = tab.groupby("track").size() if len(tab) else None
    order = {t: s for t, s in sizes.items()} if sizes is not None else {}
    by_frame = {f: g.track.tolist() for f, g in tab.groupby("frame")} if len(tab) else {}
    prev, idsw = None, 0
    for f in iv:
        ids = by_frame.get(f)
        if not ids:
            continue
        cur = prev if prev in ids else max(ids, key=lambda t: order[t])
        if prev is not None and cur != prev:
            idsw += 1
        prev = cur
    longest = 0.0
    iqr_raw = iqr_cor = float("nan")
    if len(tab):
        inv_rows = tab[inview[tab.frame.to_numpy()]]
        if len(inv_rows):
            longest = float(inv_rows.groupby("track").size().max() / max(len(iv), 1))
        lt = sizes.idxmax()
        g = tab[tab.track == lt]
        iqr_raw, iqr_cor = _iqr(g.p95_filtered), _iqr(g.p95_corrected)
    seg_iqr = []
    for a, b in still:
        if b - a >= 20 and len(tab):
            g = tab[(tab.frame >= a) & (tab.frame < b)]
            # still = the body centre within 1.5 px (x width/32) of the segment's median centre
            # (a "lying" label also covers lying down)
            sc = 1.5 * width / 32
            g = g[np.hypot(g.x - g.x.median(), g.y - g.y.median()) <= sc]
            if len(g) >= 20:
                seg_iqr.append(_iqr(g.p95_filtered))
    return {"tracks": tracks, "idsw": idsw, "det": float(np.mean(rows[iv] >= 1)) if len(iv) else float("nan"),
            "2+": float(np.mean(rows[iv] >= 2)) if len(iv) else float("nan"), "longest": longest,
            "iqr_raw": iqr_raw, "iqr_cor": iqr_cor, "still_iqr": max(seg_iqr) if seg_iqr else float("nan")}


def occupancy_metrics(counts_csv: Path, events_csv: Path, inview: np.ndarray, den: bool) -> dict:
    import pandas as pd

    c = pd.read_csv(counts_csv)
    people = c.people.to_numpy()
    n = min(len(people), len(inview))
    people, inview = people[:n], inview[:n]
    truth = inview.astype(int)
    judged = inview.copy()
    if den:
        judged[:] = True  # the den's unlabelled frames are known to be empty
    counted = people[judged].sum()
    right = np.minimum(people[judged], truth[judged]).sum()
    out = {"occ_rec": float(np.mean(people[inview] >= 1)), "occ_prec": float(right / counted) if counted else float("nan"),
           "occ_2+": int(np.sum(people[inview] >= 2))}
    if den:
        ev = pd.read_csv(events_csv)
        t_seat = c.epoch_ms.iloc[2102]
        out["seat_rec"] = float(np.mean(people[2102:] >= 1))
        out["left"] = int(((ev.event == "left") & (ev.epoch_ms >= t_seat)).sum())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    ap.add_argument("--markdown", action="store_true", help="Print the table as Markdown.")
    a = ap.parse_args()
    import pandas as pd
    from click.testing import CliRunner

    from tinyheat.cli import main as cli
    from tinyheat.people.analyze import find_people
    from tinyheat.session.importers import from_time_csv

    shared = Path(a.shared)
    fir = shared / "fir-action-ceiling"
    recs = [(p, *ceiling_truth(p, fir / "labels.csv"), False) for p in sorted(fir.glob("2020*.csv"))]
    den = shared / "mlx90641-den" / "frames.csv"
    s_den = from_time_csv(den)
    recs.append((den, *den_truth(len(s_den)), True))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, inview, still, is_den in recs:
            name = "mlx90641-den" if is_den else path.name[:15]
            s = s_den if is_den else from_time_csv(path)
            t0 = time.process_time()  # CPU seconds of this process: one core, robust to other jobs
            find_people(s.frames, s.t_ms)
            fps = len(s.frames) / (time.process_time() - t0)
            out = Path(tmp) / name
            r = CliRunner().invoke(cli, ["people", str(path), "--out", str(out), "--no-overlay"])
            if r.exit_code:
                raise SystemExit(f"people {path}: {r.output}")
            summary = json.loads((out / "summary.json").read_text())
            tab = pd.read_csv(out / "tracks.csv")
            m = {"recording": name, "frames": len(s.frames), **people_metrics(tab, len(s.frames), inview, still, s.frames.shape[2])}
            counts, events = Path(tmp) / f"{name}-counts.csv", Path(tmp) / f"{name}-events.csv"
            extra = ["--start", "2021-12-14T00:00:00Z"] if is_den else []  # the den file has no wall clock
            r = CliRunner().invoke(cli, ["occupancy", str(path), "--counts", str(counts), "--events", str(events)] + extra)
            if r.exit_code:
                raise SystemExit(f"occupancy {path}: {r.output}")
            m.update(occupancy_metrics(counts, events, inview, is_den))
            m["ref"] = f"{summary.get('reference_source')} {','.join(map(str, summary.get('reference') or []))}"
            m["fps"] = fps
            results.append(m)
            print(json.dumps(m), flush=True)
    cols = ["recording", "frames", "tracks", "idsw", "det", "2+", "longest", "occ_rec", "occ_prec", "occ_2+",
            "seat_rec", "left", "iqr_raw", "iqr_cor", "still_iqr", "ref", "fps"]

    def fmt(v):
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return "-"
        if isinstance(v, float):
            return f"{v:.0f}" if v >= 100 else f"{v:.2f}"
        return str(v)

    print(f"\n{os.cpu_count()} cpus; people: `tinyheat people REC --out DIR --no-overlay`; "
          "occupancy: `tinyheat occupancy REC --counts C --events E` (defaults)")
    if a.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for m in results:
            print("| " + " | ".join(fmt(m.get(c)) for c in cols) + " |")
    else:
        print("  ".join(f"{c:>9s}" for c in cols))
        for m in results:
            print("  ".join(f"{fmt(m.get(c)):>9s}" for c in cols))


if __name__ == "__main__":
    main()
