"""People tracking on the simulator with standard metrics (motmetrics: MOTA, IDF1, ID switches);
prints a table (not a test). Scenes tune the tracker; the real recordings
(tools/bench_people_real.py) check it.

    .venv/bin/python tools/bench_people_sim.py [--old DIR]

``--old DIR``: also run an older ``tinyheat.people`` copied into DIR/people_old (e.g. the modules
of a previous commit: ``git show REV:tools/tinyheat/people/analyze.py > DIR/people_old/analyze.py``
for analyze, detect, evaluate, series, track, __init__) for before/after figures.

Scenes (MLX90640 32x24 through the sensor model of tinyheat.sim.moving, 4 frames/s; the scene
model is tinyheat.sim.people_scene):

- ``default``: three people enter, sit, leave (default_scene(0), 75 s);
- ``lying``: a person walks in, lies on the floor for 30 s, gets up, leaves;
- ``fallen_warm``: a warm room (28 degC, face 33.5 degC): walks in, falls, lies 25 s, leaves;
- ``seated_150s``: a person walks in and sits still for 150 s;
- ``edge``: a person stands half out of view at the left edge for 20 s;
- ``heater``: a warm box (+6 K) is switched on at 20 s while two people walk by;
- ``two_close``: two people walk side by side, heads 6 px apart.

Columns: MOTA, IDF1, ID switches, tracks / true people, share of frames with more detections
than people in view (``extra``), the per-person series IQR over still segments (K), frames per
CPU second of the people step.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def scenes():
    from tinyheat.sim.moving import MovingScene, Walker, default_scene
    from tinyheat.sim.people_scene import Person, StaticObject

    out = {"default": (default_scene(0), [])}
    lie = Person(((0, -2, 12), (5, 9, 12), (40, 9, 12), (46, 34, 14)), radius_px=1.8, lying=((7, 37, 0.3),), pid=1)
    out["lying"] = (MovingScene(duration_s=46, people=[lie], hot_object=None), [(9, 36)])
    fall = Person(((0, 34, 6), (6, 18, 8), (36, 18, 8), (44, 18, 27)), radius_px=1.7, face_degC=33.5,
                  lying=((7, 33, 2.2),), pid=1)
    out["fallen_warm"] = (MovingScene(duration_s=44, room_degC=28.0, ta_above_room_k=4.0, people=[fall],
                                      hot_object=None), [(9, 32)])
    sit = Walker(1, 1.0, (-3.0, 14.0), (9.0, 14.0), sit_s=150.0, head_r_px=1.9)
    out["seated_150s"] = (MovingScene(duration_s=160, walkers=[sit], hot_object=None), [(6, 150)])
    edge = Person(((0, 8, -2), (4, 0.4, 9), (24, 0.4, 9), (28, 8, 26)), radius_px=2.0, jitter_px=0.2, pid=1)
    out["edge"] = (MovingScene(duration_s=28, people=[edge], hot_object=None), [])
    walk = (Person(((2, -2, 18), (20, 34, 18)), radius_px=1.8, pid=1), Person(((15, 34, 8), (35, -2, 8)), radius_px=2.0, pid=2))
    out["heater"] = (MovingScene(duration_s=40, people=list(walk), objects=[StaticObject(20, 24, 14, 27, 17, 6.0)],
                                 hot_object=None), [])
    two = (Person(((2, -2, 9), (22, 34, 9)), radius_px=1.8, pid=1), Person(((2, -2, 15), (22, 34, 15)), radius_px=1.8, pid=2))
    out["two_close"] = (MovingScene(duration_s=24, people=list(two), hot_object=None), [])
    return out


def run(find_people, evaluate, sim, still):
    t0 = time.process_time()  # CPU seconds: one core, other jobs do not count
    res = find_people(sim.frames, sim.t_ms)
    dt = time.process_time() - t0
    m = evaluate(res.table, sim.truth, len(sim.frames), sim.frames.shape[1:])
    tab = res.table
    n_true = np.bincount([r["frame"] for r in sim.truth if r["in_view"]], minlength=len(sim.frames))
    n_hyp = np.bincount(tab.frame, minlength=len(sim.frames)) if len(tab) else np.zeros(len(sim.frames), int)
    iqr = []
    for a, b in still:
        g = tab[(tab.t_ms >= a * 1000) & (tab.t_ms < b * 1000)]
        for _, gg in g.groupby("track"):
            if len(gg) >= 20:
                iqr.append(float(np.subtract(*np.percentile(gg.p95_filtered, [75, 25]))))
    n_people = len({r["pid"] for r in sim.truth})
    return {"mota": m["mota"], "idf1": m["idf1"], "idsw": int(m["num_switches"]),
            "tracks": f"{m['num_tracks']}/{n_people}", "extra": float(np.mean(n_hyp > n_true)),
            "still_iqr": max(iqr) if iqr else float("nan"), "fps": len(sim.frames) / dt}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default=None, help="folder holding people_old/ (an older tinyheat.people)")
    a = ap.parse_args()
    from tinyheat.people.analyze import find_people
    from tinyheat.people.evaluate import evaluate
    from tinyheat.sim.moving import simulate_session

    versions = [("new", find_people)]
    if a.old:
        sys.path.insert(0, a.old)
        from people_old.analyze import find_people as old_find

        versions.insert(0, ("old", old_find))
    cols = ["mota", "idf1", "idsw", "tracks", "extra", "still_iqr", "fps"]
    print("| scene | code | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for name, (scene, still) in scenes().items():
        sim = simulate_session(scene, seed=1)
        for v, fp in versions:
            r = run(fp, evaluate, sim, still)
            cells = [f"{r[c]:.3f}" if c in ("mota", "idf1") else f"{r[c]:.2f}" if c in ("extra", "still_iqr")
                     else f"{r[c]:.0f}" if c == "fps" else str(r[c]) for c in cols]
            print(f"| {name} | {v} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
