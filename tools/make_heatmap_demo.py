"""Regenerate the shipped simulated occupancy session ``datasets/heatmap-demo/demo.zarr``.

3 minutes at 4 frames/s of a 24 x 32 ceiling view (``tinyheat.occupancy.synth.demo_scene``):
three people walking, one sitting for 50 s, a heater switched on at 50 s. Stored in the session
format (``datasets/SESSION.md``), so ``tinyheat heatmap``, ``play`` and ``people`` all read it.

Usage: ``python tools/make_heatmap_demo.py [--force]``
"""
import sys
from pathlib import Path

from tinyheat.occupancy.synth import demo_scene
from tinyheat.session import SessionWriter

out = Path(__file__).resolve().parents[1] / "datasets" / "heatmap-demo" / "demo.zarr"
rec, _ = demo_scene()
meta = {"sensor": "MLX90640 (simulated)", "resolution": [24, 32], "refresh_hz": 8.0, "emissivity": 0.95,
        "source": "tinyheat.occupancy.synth.demo_scene", "firmware": "simulator"}
with SessionWriter(out, meta=meta, start=rec.start, force="--force" in sys.argv) as w:
    w.append(rec.frames, rec.t_ms)
size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
print(f"wrote {out} ({size} bytes, {len(rec.frames)} frames)")
