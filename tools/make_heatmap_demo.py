"""Regenerate the shipped simulated occupancy session ``datasets/heatmap-demo/demo-session.npz``.

3 minutes at 4 frames/s of a 24 x 32 ceiling view (``tinyheat.occupancy.synth.demo_scene``):
three people walking, one sitting for 50 s, a heater switched on at 50 s. Stored as the
recorder's ``.npz`` (``frames`` float16 degC, ``t_ms`` int64, plus ``start_unix_ms``) so that
``tinyheat heatmap`` reads it directly (about 0.6 MB).

Usage: ``python tools/make_heatmap_demo.py [--force]``
"""
import sys
from pathlib import Path

import numpy as np

from tinyheat.occupancy.synth import demo_scene

out = Path(__file__).resolve().parents[1] / "datasets" / "heatmap-demo" / "demo-session.npz"
if out.exists() and "--force" not in sys.argv:
    sys.exit(f"{out} exists; use --force")
rec, _ = demo_scene()
out.parent.mkdir(parents=True, exist_ok=True)
np.savez_compressed(out, frames=rec.frames.astype(np.float16), t_ms=rec.t_ms,
                    start_unix_ms=np.int64(round(rec.start.timestamp() * 1000)))
print(f"wrote {out} ({out.stat().st_size} bytes, {len(rec.frames)} frames)")
