"""Regenerate tests/firmware/data/mlx90641_vectors.npz (developer tool, not run by the tests).

    python tests/firmware/make_mlx41_vectors.py --driver DIR [--out PATH]

DIR holds the pinned Melexis driver sources MLX90641_API.cpp / MLX90641_API.h
(Seeed_Arduino_MLX9064x @ 17db92f, src/). They are compiled with the host g++ behind
firmware/test/host/th_mlx41_vectors.c built with -DTH_MELEXIS_REFERENCE (I2C functions stubbed
in a scratch folder); that driver is not part of this repository, so CI does not rerun it. The
frames' raw pixel words are placed near wanted temperatures by the core's own `raw` command;
the stored reference is the driver's Ta, Vdd and To on those exact words.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mlx90641_images as im  # noqa: E402

HOST = HERE.parents[1] / "firmware" / "test" / "host"
OURS = HOST / "build" / "th_mlx41_vectors"
STUB = """#include <stdint.h>
#include "MLX9064X_I2C_Driver.h"
void MLX9064x_I2CInit(void) {}
int MLX9064x_I2CRead(uint8_t, unsigned int, unsigned int, uint16_t *) { return -1; }
int MLX9064x_I2CWrite(uint8_t, unsigned int, uint16_t) { return -1; }
void MLX9064x_I2CFreqSet(int) {}
"""

# (name, seed, tgc, broken pixels, emissivity, tr offset, ((ta, subpage, resolution_ram, vdd_lsb, lo, hi), ...))
CASES = [
    ("room-sp0", 1, 0.0, (), 0.95, -5.0, ((24.0, 0, 2, 0, 15.0, 40.0), (26.0, 1, 2, 0, 15.0, 40.0))),
    ("room-tgc", 2, 1.0, (), 1.0, 0.0, ((30.0, 0, 2, 3, 10.0, 60.0), (30.5, 1, 2, -3, 10.0, 60.0))),
    ("cold-hot-ranges", 3, 0.5, (), 0.9, -8.0, ((20.0, 0, 2, 0, -40.0, 300.0), (21.0, 1, 2, 0, -35.0, 380.0))),
    ("resolution-19bit", 4, 0.0, (), 0.95, -5.0, ((28.0, 1, 3, 0, 0.0, 120.0),)),
    ("resolution-16bit", 5, 0.25, (), 1.0, 0.0, ((35.0, 0, 0, 0, 20.0, 90.0),)),
]


def run(cmd, data: bytes, *args) -> bytes:
    return subprocess.run([str(cmd), *args], input=data, capture_output=True, check=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True, type=Path)
    ap.add_argument("--out", default=str(HERE / "data" / "mlx90641_vectors.npz"))
    a = ap.parse_args()
    subprocess.run(["make", "-s", "-C", str(HOST), "build/th_mlx41_vectors"], check=True)
    tmp = Path(tempfile.mkdtemp())
    (tmp / "stub.cpp").write_text(STUB)
    ref = tmp / "ref"
    subprocess.run(["g++", "-O2", "-DTH_MELEXIS_REFERENCE", f"-I{a.driver}", "-x", "c++",
                    str(HOST / "th_mlx41_vectors.c"), "-x", "none", str(a.driver / "MLX90641_API.cpp"),
                    str(tmp / "stub.cpp"), "-o", str(ref), "-lm"], check=True)
    store, names = {}, []
    for name, seed, tgc, broken, e, tr, frames in CASES:
        ee, info = im.eeprom(seed, tgc=tgc, broken=broken)
        fr = []
        for k, (ta, sp, res, dv, lo, hi) in enumerate(frames):
            tpl = im.frame_template(info, ta, sp, res, dv)
            want = im.targets(seed * 10 + k, lo, hi)
            out = run(OURS, ee.astype("<u2").tobytes() + tpl.astype("<u2").tobytes() + want.astype("<f4").tobytes(),
                      "raw", str(e), str(tr))
            fr.append(np.frombuffer(out, dtype="<u2"))
        fr = np.stack(fr)
        out = run(ref, ee.astype("<u2").tobytes() + fr.astype("<u2").tobytes(), "to", str(e), str(tr))
        status = int(np.frombuffer(out[:4], "<i4")[0])
        rec = np.frombuffer(out[4:], dtype=[("ta", "<f4"), ("vdd", "<f4"), ("to", "<f4", 192)])
        assert status in (0, -9), (name, status)
        store.update({f"{name}/ee": ee, f"{name}/frames": fr, f"{name}/args": np.array([e, tr], np.float32),
                      f"{name}/ref_ta": rec["ta"], f"{name}/ref_vdd": rec["vdd"], f"{name}/ref_to": rec["to"]})
        names.append(name)
        print(name, "Ta", rec["ta"], "To", rec["to"].min(), rec["to"].max())
    np.savez_compressed(a.out, names=np.array(names), **store)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
