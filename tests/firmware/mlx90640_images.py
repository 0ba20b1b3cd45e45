"""MLX90640 EEPROM/RAM images for the float32 compensation tests (tests/firmware/test_fw_mlx90640.py).

* :func:`datasheet_example` - the worked example of the MLX90640 datasheet rev 12, section 11.2
  ("Temperature calculation"): the calibration words 0x2410..0x243F given there, every pixel
  word 0x08A0 and every RAM pixel 0x0261 (the example's pixel 12,16), the example's auxiliary RAM
  words and control register 0x1901 (chess mode, 18-bit ADC, 2 Hz). The datasheet's results:
  Vdd ~ 3.319 V, Ta = 39.184 degC, To(12,16) = 80.36 degC with emissivity 1 and Tr = 31 degC.
* :func:`synthetic_images` - EEPROM images around the datasheet's, with random per-pixel words,
  row/column corrections, scales, KsTo/corner temperatures, TGC, KsTa, IL/chess coefficients,
  calibration mode and ADC resolution, a few outlier/broken pixels; frames whose raw pixels
  are the inverse of the datasheet model for scenes of -40..400 degC (all four KsTo ranges),
  in chess and interleaved mode, both subpages. Images are data: the same seed gives the same
  images, and ``data/mlx90640_vectors.npz`` holds the committed copies with the reference output.

Layouts as in firmware/lib/tinyheat_core/th_mlx90640.h: EEPROM 832 uint16 words from 0x2400,
frame 834 uint16 words (RAM 0x0400..0x073F, control register 1, subpage).
"""
from __future__ import annotations

import numpy as np

# Datasheet rev 12, 11.2 worked example: EEPROM words 0x2410..0x243F (index 16..63).
DATASHEET_EE_16_63 = [
    0x4210, 0xFFBB, 0x0202, 0x0202, 0xF202, 0xF2F2, 0xE2E2, 0xD1E1,
    0xB1D1, 0xF10F, 0xF00F, 0xE0EF, 0xE0EF, 0xE1E1, 0xF3F2, 0xF404,
    0x79A6, 0x2F44, 0xFFDD, 0x2210, 0x3333, 0x2233, 0xEF01, 0x9ACC,
    0xEEDC, 0x10FF, 0x2221, 0x3333, 0x2333, 0x0112, 0xEEFF, 0xBBDD,
    0x18EF, 0x2FF1, 0x5952, 0x9D68, 0x5454, 0x0994, 0x6956, 0x5354,
    0x2363, 0xE446, 0xFBB5, 0x044B, 0xF020, 0x9797, 0x9797, 0x2889,
]
DATASHEET_PIXEL_WORD = 0x08A0
DATASHEET_RAM_PIXEL = 0x0261
DATASHEET_AUX = {768: 0x4BF2, 776: 0xFFCA, 778: 0x1881, 800: 0x06AF, 808: 0xFFC8, 810: 0xCCC5}
DATASHEET_CTRL1 = 0x1901
DATASHEET_TA_DEGC = 39.184
DATASHEET_TR_DEGC = 31.0
DATASHEET_PIXEL = 11 * 32 + 15  # pixel (12, 16), 1-based row/column
DATASHEET_TO_DEGC = 80.36


def datasheet_example() -> tuple[np.ndarray, np.ndarray]:
    """(ee[832], frame[834]) of the datasheet's worked example, subpage 0 (pixel 12,16's)."""
    ee = np.full(832, DATASHEET_PIXEL_WORD, dtype=np.uint16)
    ee[:16] = 0
    ee[16:64] = DATASHEET_EE_16_63
    frame = np.zeros(834, dtype=np.uint16)
    frame[:768] = DATASHEET_RAM_PIXEL
    for k, v in DATASHEET_AUX.items():
        frame[k] = v
    frame[832] = DATASHEET_CTRL1
    frame[833] = 0
    return ee, frame


def _nibbles(rng, n, lo=-3, hi=3) -> list[int]:
    v = rng.integers(lo, hi + 1, size=n) & 0xF
    return [int(v[i] | (v[i + 1] << 4) | (v[i + 2] << 8) | (v[i + 3] << 12)) for i in range(0, n, 4)]


def synthetic_eeprom(rng: np.random.Generator, chess_calibrated: bool = True, resolution_ee: int = 2,
                     n_outliers: int = 2, n_broken: int = 1) -> np.ndarray:
    """A plausible EEPROM image: the datasheet's with randomised fields (see module doc)."""
    ee = np.zeros(832, dtype=np.uint16)
    ee[16:64] = DATASHEET_EE_16_63
    ee[10] = 0 if chess_calibrated else 0x0800
    occ_scales = int(rng.integers(0, 3)) << 8 | int(rng.integers(0, 3)) << 4 | int(rng.integers(0, 3))
    ee[16] = (ee[16] & 0xF000) | occ_scales
    ee[17] = int(rng.integers(-150, 50)) & 0xFFFF
    ee[18:24] = _nibbles(rng, 24)
    ee[24:32] = _nibbles(rng, 32)
    ee[32] = (ee[32] & 0xF000) | 0x0900 | 0x00A0 | int(rng.integers(4, 7))  # alpha scales as the datasheet's
    ee[33] = int(rng.integers(10000, 16000))
    ee[34:40] = _nibbles(rng, 24, -2, 2)
    ee[40:48] = _nibbles(rng, 32, -2, 2)
    ee[52] = int(rng.integers(0, 0x10000)) & 0x7777  # Kv averages 0..7
    ee[53] = int(rng.integers(0, 0x10000))  # IL/chess coefficients
    ee[54] = (int(rng.integers(60, 110)) << 8) | int(rng.integers(60, 110))  # Kta averages
    ee[55] = (int(rng.integers(60, 110)) << 8) | int(rng.integers(60, 110))
    ee[56] = (resolution_ee << 12) | (ee[56] & 0x0FFF)
    ee[59] = (int(rng.integers(-30, 30)) & 0xFF) << 8 | (int(rng.integers(-30, 30)) & 0xFF)  # Kv_CP, Kta_CP
    ee[60] = (int(rng.integers(-40, 10)) & 0xFF) << 8 | (int(rng.integers(-20, 60)) & 0xFF)  # KsTa, TGC
    ksto = [int(rng.integers(-110, -50)) & 0xFF for _ in range(4)]
    ee[61] = ksto[1] << 8 | ksto[0]
    ee[62] = ksto[3] << 8 | ksto[2]
    step, ct3, ct4 = int(rng.integers(1, 4)), int(rng.integers(4, 12)), int(rng.integers(2, 10))
    ee[63] = step << 12 | ct4 << 8 | ct3 << 4 | int(rng.integers(7, 11))
    words = rng.integers(0, 0x10000, size=768) & 0xFFFE
    words[words == 0] = 2
    # a few deviating pixels, not adjacent to each other (the driver's precondition)
    chosen: list[int] = []
    while len(chosen) < n_outliers + n_broken:
        px = int(rng.integers(0, 768))
        if all(abs((px >> 5) - (q >> 5)) > 1 or abs((px & 31) - (q & 31)) > 1 for q in chosen):
            chosen.append(px)
    for k, px in enumerate(chosen):
        words[px] = 0 if k < n_broken else (words[px] | 1)
    ee[64:] = words
    return ee


def _signed(v):
    v = np.asarray(v, dtype=np.int64)
    return np.where(v > 32767, v - 65536, v)


def scene(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """768 object temperatures, degC: a smooth background, a hot and a cold blob, noise."""
    yy, xx = np.mgrid[0:24, 0:32]
    base = lo + (hi - lo) * 0.3 * (1 + np.sin(xx / 5.0 + rng.uniform(0, 6)) * np.cos(yy / 4.0))
    for _ in range(2):
        cy, cx, s = rng.uniform(0, 24), rng.uniform(0, 32), rng.uniform(2, 6)
        amp = rng.uniform(-(hi - lo) * 0.3, hi - lo)
        base = base + amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    t = base + rng.normal(0, 0.5, size=base.shape)
    return np.clip(t, lo, hi).reshape(768)


def inverse_frame(ee: np.ndarray, params: dict, to_degc: np.ndarray, subpage: int, chess: bool,
                  resolution_ram: int, ta_vdd, aux: dict, emissivity: float, tr_degc: float) -> np.ndarray:
    """Raw RAM words whose datasheet compensation gives about `to_degc` (float64 inverse of
    datasheet 11.2.2; rounding to integer LSBs makes the result approximate, which is fine:
    the reference output is computed from the rounded words)."""
    frame = np.zeros(834, dtype=np.uint16)
    for k, v in aux.items():
        frame[k] = v & 0xFFFF
    frame[832] = (0x1000 if chess else 0) | (resolution_ram << 10) | 0x0100 | 0x0001
    frame[833] = subpage
    ta, vdd = ta_vdd(frame)
    dv, dta = vdd - 3.3, ta - 25.0
    gain = params["gainEE"] / float(_signed(frame[778]))
    il_correct = chess != bool(params["chess_calibrated"])
    cpo = params["cpOffset"][subpage] + (params["ilChessC"][0] if (il_correct and subpage == 1) else 0.0)
    cp_raw = float(_signed(frame[776 if subpage == 0 else 808]))
    ir_cp = cp_raw * gain - cpo * (1 + params["cpKta"] * dta) * (1 + params["cpKv"] * dv)
    tak, trk = ta + 273.15, tr_degc + 273.15
    tatr = trk ** 4 - (trk ** 4 - tak ** 4) / emissivity
    ct, ksto, corr = params["ct"], params["ksTo"], params["alphaCorrR"]
    raw = np.zeros(768)
    for px in range(768):
        row, col = px >> 5, px & 31
        alpha_c = (params["alpha"][px] - params["tgc"] * params["cpAlpha"][subpage]) * (1 + params["KsTa"] * dta)
        t = to_degc[px]
        r = 0 if t < ct[1] else 1 if t < ct[2] else 2 if t < ct[3] else 3
        ir = ((t + 273.15) ** 4 - tatr) * alpha_c * corr[r] * (1 + ksto[r] * (t - ct[r]))
        ir = (ir + params["tgc"] * ir_cp) * emissivity
        if il_correct:
            il = row & 1
            conv = ((px + 2) // 4 - (px + 3) // 4 + (px + 1) // 4 - px // 4) * (1 - 2 * il)
            ir -= params["ilChessC"][2] * (2 * il - 1) - params["ilChessC"][1] * conv
        ir += params["offset"][px] * (1 + params["kta"][px] * dta) * (1 + params["kv"][px] * dv)
        raw[px] = ir / gain
    raw = np.clip(np.round(raw), -32768, 32767).astype(np.int64)
    frame[:768] = (raw & 0xFFFF).astype(np.uint16)
    return frame
