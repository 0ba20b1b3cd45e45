"""Regenerate tests/firmware/data/mlx90640_vectors.npz (developer tool, not run by the tests).

    python tests/firmware/make_mlx_vectors.py --reference PROGRAM [--out PATH]

PROGRAM is a reference implementation with the command-line interface of
firmware/test/host/th_mlx_vectors.c's ``to`` command (argv: ``to E abs|ta TR POLICY``; stdin:
EEPROM + frames; stdout: int32 status, then per frame int32 subpage, float32 Ta, float32 Vdd,
768 float32 To). The committed vectors were made with the pinned Seeed/Melexis driver
(Seeed_Arduino_MLX9064x @ 17db92f, ``MLX90640_ExtractParameters`` + ``MLX90640_GetTa`` +
``MLX90640_GetVdd`` + ``MLX90640_CalculateTo``) compiled with the host g++ behind that interface
(I2C functions stubbed). That driver is not part of this repository, so CI does not rerun it;
the images themselves come from ``mlx90640_images.py`` (seeded) and the core's own extraction
is only used to place raw values near the wanted temperatures.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mlx90640_images as im  # noqa: E402

VECTORS = HERE.parents[1] / "firmware" / "test" / "host" / "build" / "th_mlx_vectors"

# (name, seed, chess_calibrated, resolution_ee, chess_mode, resolution_ram, emissivity, tr_mode, tr, lo, hi)
CASES = [
    ("chess-room", 1, True, 2, True, 2, 0.95, "ta", -8.0, 15.0, 45.0),
    ("chess-hot", 2, True, 2, True, 2, 1.0, "ta", 0.0, -30.0, 380.0),
    ("interleaved-on-chess-cal", 3, True, 2, False, 2, 0.95, "ta", -8.0, 0.0, 120.0),
    ("chess-on-interleaved-cal", 4, False, 2, True, 2, 0.9, "abs", 20.0, -40.0, 300.0),
    ("interleaved-cal", 5, False, 1, False, 1, 1.0, "ta", 0.0, 10.0, 90.0),
    ("resolution-19bit", 6, True, 2, True, 3, 0.95, "ta", -8.0, 20.0, 60.0),
    ("resolution-16bit-cold", 7, True, 3, True, 0, 0.8, "abs", -10.0, -40.0, 20.0),
    ("chess-wide", 8, True, 2, True, 2, 1.0, "ta", 0.0, -20.0, 400.0),
]


def params_of(ee: np.ndarray) -> dict:
    out = subprocess.run([str(VECTORS), "params"], input=ee.astype("<u2").tobytes(), capture_output=True, check=True).stdout
    f = np.frombuffer(out[4:4 + 4 * 768 * 4], dtype="<f4").reshape(4, 768).astype(np.float64)
    s = np.frombuffer(out[4 + 4 * 768 * 4:4 + 4 * 768 * 4 + 4 * 26], dtype="<f4").astype(np.float64)
    i = np.frombuffer(out[4 + 4 * 768 * 4 + 4 * 26:], dtype="<i4")
    ksto, ct = s[11:15], s[15:19]
    corr = [1 / (1 + ksto[0] * 40), 1.0, 1 + ksto[2] * ct[2], (1 + ksto[2] * ct[2]) * (1 + ksto[3] * (ct[3] - ct[2]))]
    return dict(alpha=f[0], offset=f[1], kta=f[2], kv=f[3], gainEE=s[6], tgc=s[7], cpKv=s[8], cpKta=s[9], KsTa=s[10],
                ksTo=ksto, ct=ct, cpAlpha=s[19:21], cpOffset=s[21:23], ilChessC=s[23:26], alphaCorrR=corr,
                chess_calibrated=int(i[1]))


def ta_vdd_of(ee: np.ndarray):
    def f(frame: np.ndarray):
        data = ee.astype("<u2").tobytes() + frame.astype("<u2").tobytes()
        out = subprocess.run([str(VECTORS), "to", "1", "abs", "25", "0"], input=data, capture_output=True, check=True).stdout
        ta, vdd = np.frombuffer(out[8:16], dtype="<f4")
        return float(ta), float(vdd)
    return f


def run(cmd: list[str], ee: np.ndarray, frames: np.ndarray, args: list[str]) -> tuple[np.ndarray, np.ndarray]:
    data = ee.astype("<u2").tobytes() + frames.astype("<u2").tobytes()
    out = subprocess.run([*cmd, "to", *args], input=data, capture_output=True, check=True).stdout
    rec = np.frombuffer(out[4:], dtype=np.dtype([("sp", "<i4"), ("ta", "<f4"), ("vdd", "<f4"), ("to", "<f4", 768)]))
    return rec["ta"], rec["to"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--out", default=str(HERE / "data" / "mlx90640_vectors.npz"))
    a = ap.parse_args()
    store: dict[str, np.ndarray] = {}
    names = []
    # the datasheet example
    ee, fr = im.datasheet_example()
    cases = [("datasheet", ee, fr[None, :], ["1", "abs", str(im.DATASHEET_TR_DEGC), "0"])]
    for name, seed, chess_cal, res_ee, chess, res_ram, e, tr_mode, tr, lo, hi in CASES:
        rng = np.random.default_rng(seed)
        ee = im.synthetic_eeprom(rng, chess_calibrated=chess_cal, resolution_ee=res_ee)
        params = params_of(ee)
        vdd_ee = int(rng.integers(-13300, -12900))  # ~3.3 V at the calibration resolution
        aux = {768: int(rng.integers(19000, 19800)), 776: int(rng.integers(-70, -40)), 778: int(rng.integers(6200, 6400)),
               800: int(rng.integers(1600, 1800)), 808: int(rng.integers(-70, -40)),
               810: int(round(vdd_ee * 2.0 ** (res_ram - res_ee)))}
        frames = []
        for sp in (0, 1):
            fr0 = np.zeros(834, dtype=np.uint16)
            for k, v in aux.items():
                fr0[k] = v & 0xFFFF
            fr0[832] = (0x1000 if chess else 0) | (res_ram << 10) | 0x0101
            fr0[833] = sp
            ta, _ = ta_vdd_of(ee)(fr0)
            trd = ta + tr if tr_mode == "ta" else tr
            t = im.scene(rng, lo, hi)
            frames.append(im.inverse_frame(ee, params, t, sp, chess, res_ram, ta_vdd_of(ee), aux, e, trd))
        cases.append((name, ee, np.stack(frames), [str(e), tr_mode, str(tr), "0"]))
    for name, ee, frames, args in cases:
        ta, to = run([a.reference], ee, frames, args)
        names.append(name)
        store[f"{name}/ee"] = ee
        store[f"{name}/frames"] = frames
        store[f"{name}/args"] = np.array(args)
        store[f"{name}/ref_ta"] = ta
        store[f"{name}/ref_to"] = to
        print(name, "Ta", ta, "To range", np.nanmin(to), np.nanmax(to))
    store["names"] = np.array(names)
    np.savez_compressed(a.out, **store)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
