"""Synthetic MLX90641 EEPROM images and frames for the compensation parity tests
(test_fw_mlx90641.py, make_mlx41_vectors.py). Word indices as the Melexis driver's
MLX90641_API.cpp (MLX90641 datasheet section 11); values in plausible ranges, seeded.

The EEPROM is built as decoded 11-bit words, then Hamming coded as the sensor stores it
(5 parity bits, bits 11..15: the checks of MLX90641_HammingDecode all zero).
"""
from __future__ import annotations

import numpy as np


def hamming_encode(words: np.ndarray) -> np.ndarray:
    """11-bit data words -> 16-bit stored words (parity bits 11..15)."""
    out = []
    for w in np.asarray(words, dtype=np.uint16):
        d = [(int(w) >> i) & 1 for i in range(11)]
        d11 = d[0] ^ d[1] ^ d[3] ^ d[4] ^ d[6] ^ d[8] ^ d[10]
        d12 = d[0] ^ d[2] ^ d[3] ^ d[5] ^ d[6] ^ d[9] ^ d[10]
        d13 = d[1] ^ d[2] ^ d[3] ^ d[7] ^ d[8] ^ d[9] ^ d[10]
        d14 = d[4] ^ d[5] ^ d[6] ^ d[7] ^ d[8] ^ d[9] ^ d[10]
        bits = d + [d11, d12, d13, d14]
        d15 = 0
        for b in bits:
            d15 ^= b
        bits.append(d15)
        out.append(sum(b << i for i, b in enumerate(bits)))
    return np.array(out, dtype=np.uint16)


def s11(v: int) -> int:
    """A signed value as an 11-bit two's-complement word."""
    return int(v) & 0x7FF


def eeprom(seed: int, tgc: float = 0.0, resolution_ee: int = 2, broken: tuple[int, ...] = ()) -> tuple[np.ndarray, dict]:
    """Raw (Hamming-coded) 832-word EEPROM image and the decoded values the frames need."""
    rng = np.random.default_rng(seed)
    ee = np.zeros(832, np.int64)
    ee[10] = 0x0040  # device select (MLX90641_CheckEEPROMValid)
    ee[16] = 2 << 5  # offset scale 2^2
    offset_ref = -1200 + int(rng.integers(-200, 200))
    ee[17], ee[18] = divmod(offset_ref & 0xFFFF, 32)
    ee[21], ee[22] = s11(int(rng.integers(60, 140))), (13 << 5) | 3
    ee[23], ee[24] = s11(int(rng.integers(150, 250))), (12 << 5) | 2
    ee[25] = ee[26] = ee[27] = (14 << 5) | 14  # alpha row scales 2^34: alpha ~ 1e-7
    ee[28:34] = rng.integers(1600, 2000, 6)
    ee[34] = s11(int(rng.integers(-20, 5)))  # KsTa * 32768
    ee[35] = 512
    gain_ee = 5800 + int(rng.integers(-300, 300))
    ee[36], ee[37] = divmod(gain_ee, 32)
    vdd25 = -12800 + 32 * int(rng.integers(-5, 5))
    ee[38], ee[39] = s11(vdd25 // 32), s11(-100 + int(rng.integers(-5, 5)))
    vptat25 = 12192 + int(rng.integers(0, 200))
    ee[40], ee[41] = divmod(vptat25, 32)
    ee[42] = 336 + int(rng.integers(-10, 10))  # KtPTAT * 8
    ee[43] = 25  # KvPTAT * 4096
    ee[44] = 1152  # alphaPTAT * 128
    ee[45], ee[46] = 1000, 38  # alpha CP / 2^38
    cp_offset = -60 + int(rng.integers(-20, 20))
    ee[47], ee[48] = divmod(cp_offset & 0xFFFF, 32)
    ee[49] = (8 << 6) | int(rng.integers(0, 31))  # CP Kta: bit 5 clear (the driver reads 5 bits)
    ee[50] = (3 << 6) | int(rng.integers(0, 31))
    ee[51] = (resolution_ee << 9) | (int(round(tgc * 64)) & 0x1FF)
    ee[52] = 17
    ee[[53, 54, 55, 56, 57, 59, 61, 63]] = [s11(int(v)) for v in rng.integers(-70, -20, 8)]
    ee[58], ee[60], ee[62] = 200, 300, 400
    ee[64:256] = [s11(int(v)) for v in rng.integers(-100, 100, 192)]
    ee[640:832] = [s11(int(v)) for v in rng.integers(-100, 100, 192)]
    ee[256:448] = rng.integers(1200, 2000, 192)
    k = rng.integers(-20, 20, 192) & 0x3F
    v = rng.integers(-8, 8, 192) & 0x1F
    ee[448:640] = (k << 5) | v
    for b in broken:
        ee[[64 + b, 256 + b, 448 + b, 640 + b]] = 0
    raw = np.concatenate([ee[:16].astype(np.uint16), hamming_encode(ee[16:])])
    info = dict(vdd25=vdd25, vptat25=vptat25, ktptat=ee[42] / 8, alphaptat=ee[44] / 128, gain_ee=gain_ee)
    return raw, info


def frame_template(info: dict, ta_degc: float, subpage: int, resolution_ram: int = 2, vdd_lsb: int = 0) -> np.ndarray:
    """242-word frame with the auxiliary words for an ambient temperature near ta_degc."""
    f = np.zeros(242, np.int64)
    ptat = 1600
    art = (ta_degc - 25.0) * info["ktptat"] + info["vptat25"]
    vbe = int(round(ptat * 2 ** 18 / art - ptat * info["alphaptat"]))
    corr = 2.0 ** (2 - resolution_ram)  # resolution_ee 2 in every image
    f[192] = vbe & 0xFFFF
    f[200] = (-40) & 0xFFFF
    f[202] = info["gain_ee"] + 40
    f[224] = ptat
    f[234] = int(round((info["vdd25"] + vdd_lsb) / corr)) & 0xFFFF
    f[240] = (resolution_ram << 10) | 0x0100 | (4 << 7)
    f[241] = subpage
    return f.astype(np.uint16)


def targets(seed: int, lo: float, hi: float) -> np.ndarray:
    """192 wanted temperatures spanning lo..hi (a gradient plus noise), float32 degC."""
    rng = np.random.default_rng(seed + 1000)
    g = np.linspace(lo, hi, 192)
    return (g + rng.normal(0, 0.5, 192)).clip(lo, hi).astype(np.float32)
