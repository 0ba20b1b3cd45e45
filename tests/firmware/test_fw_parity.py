"""Parity of the firmware's portable C core with the Python side on the same vectors
(datasets/FORMAT.md sections 1-3 and 5): greyscale mapping, centikelvin sidecar, PGM bytes,
frame statistics and median, model-input quantization; plus the heat-map renderer against
Pillow's bilinear resize and the palette against matplotlib's inferno."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyheat.dataset import sample_format as sf

CORE = Path(__file__).resolve().parents[2] / "firmware" / "lib" / "tinyheat_core"


def edge_frames() -> np.ndarray:
    """Frames of edge cases: rounding boundaries of both mappings (and their float32
    neighbours), the valid-range limits, NaN/inf, extremes; plus random temperatures."""
    f32 = np.float32
    vals = []
    lo, hi = f32(22.0), f32(37.0)
    for k in range(-2, 258):  # grey: x = k + 0.5 exactly at the boundary
        t = lo + (f32(k) + f32(0.5)) * (hi - lo) / f32(255.0)
        vals += [t, np.nextafter(t, f32(-1e9)), np.nextafter(t, f32(1e9))]
    for ck in range(23000, 23200, 7):  # centikelvin: (T + 273.15) * 100 + 0.5 near an integer
        t = f32(ck + 0.5) / f32(100.0) - f32(273.15)
        vals += [t, np.nextafter(t, f32(-1e9)), np.nextafter(t, f32(1e9))]
    specials = [-40.0, 300.0, np.nextafter(f32(-40), f32(-1e9)), np.nextafter(f32(300), f32(1e9)),
                np.nan, np.inf, -np.inf, -273.15, -1e30, 1e30, 0.0, -0.0, 22.0, 37.0, 21.999, 37.001,
                655.35 - 273.15, 655.36 - 273.15, 299.99, -39.99]
    vals += [f32(v) for v in specials]
    rng = np.random.default_rng(1234)
    vals += list(rng.uniform(-60, 320, 768 * 4).astype(np.float32))
    vals += list(rng.normal(30, 5, 768 * 4).astype(np.float32))
    a = np.array(vals, dtype=np.float32)
    a = np.concatenate([a, np.full((-len(a)) % 768, 25.0, np.float32)])
    return a.reshape(-1, 24, 32)


@pytest.fixture(scope="module")
def edges() -> np.ndarray:
    return edge_frames()


@pytest.mark.parametrize("lo,hi", [(22.0, 37.0), (-10.0, 45.5), (20.0, 20.5)])
def test_grey_parity_edge_vectors(vectors, edges, lo, hi):
    c = vectors.frames("grey", edges, lo, hi, dtype=np.uint8).reshape(-1, 24, 32)
    py = np.stack([sf.to_grey(f, lo, hi) for f in edges])
    bad = np.argwhere(c != py)
    assert len(bad) == 0, f"{len(bad)} pixels differ, first at {bad[0]}: T={edges[tuple(bad[0])]!r} C={c[tuple(bad[0])]} py={py[tuple(bad[0])]}"


def test_centikelvin_and_pgm_parity_edge_vectors(vectors, edges):
    c = vectors.frames("ck", edges, dtype=np.uint16).reshape(-1, 24, 32)
    py = np.stack([sf.to_centikelvin(f) for f in edges])
    assert np.array_equal(c, py), f"{int((c != py).sum())} pixels differ"
    for f in edges[:3]:
        pgm = vectors.run("pgm", data=f.astype(np.float32).tobytes())
        assert pgm == sf.encode_pgm(f)
        assert len(pgm) == 1551


def test_grey_and_sidecar_parity_real_frames(vectors, real_frames):
    grey = vectors.frames("grey", real_frames, 22.0, 37.0, dtype=np.uint8).reshape(-1, 24, 32)
    ck = vectors.frames("ck", real_frames, dtype=np.uint16).reshape(-1, 24, 32)
    assert np.array_equal(grey, np.stack([sf.to_grey(f) for f in real_frames]))
    assert np.array_equal(ck, np.stack([sf.to_centikelvin(f) for f in real_frames]))
    # and the sidecar decodes back to the frame within 0.005 K (the centikelvin step / 2)
    back = sf.decode_pgm(vectors.run("pgm", data=real_frames[7].tobytes()))
    assert np.allclose(back, real_frames[7], atol=0.0051)


def test_stats_and_median(vectors, edges, real_frames):
    frames = np.concatenate([edges, real_frames[:50]])
    out = vectors.run("stats", data=frames.astype(np.float32).tobytes())
    rec = np.frombuffer(out, dtype=np.dtype([("v", "<f4", 4), ("n", "<i4")]))
    med = vectors.frames("median", frames, dtype=np.float32)
    for f, r, m in zip(frames, rec, med):
        bad = sf.invalid_mask(f)
        valid = f[~bad]
        assert r["n"] == bad.sum()
        if valid.size == 0:
            assert np.isnan(r["v"]).all() and np.isnan(m)
            continue
        assert r["v"][0] == valid.min() and r["v"][1] == valid.max()
        assert r["v"][2] == pytest.approx(valid.astype(np.float64).mean(), rel=1e-4)
        centre = f[11:13, 15:17][~bad[11:13, 15:17]]
        if centre.size:
            assert r["v"][3] == pytest.approx(centre.astype(np.float64).mean(), rel=1e-6)
        assert m == np.float32(np.median(valid))


def reference_quantize(frames: np.ndarray, mode: str, lo: float, hi: float, span: float, scale: float, zp: int,
                       clip=(-0.5, 2.0)) -> np.ndarray:
    """FORMAT.md section 5, written independently here in float32 (used until/besides the
    pipeline's tinyheat.training.preprocess.quantize_input): (n, 24, 32, C) int8."""
    f32 = np.float32
    c0, c1 = f32(clip[0]), f32(clip[1])
    out = []
    for f in frames.astype(np.float32):
        bad = sf.invalid_mask(f)
        fill = np.median(f[~bad]).astype(np.float32) if (~bad).any() else f32(0)
        t = np.where(bad, fill, f).astype(np.float32)
        chans = []
        if mode == "window":
            chans.append(np.clip((t - f32(lo)) / (f32(hi) - f32(lo)), f32(0), f32(1)))
        else:
            rel = (t - np.median(t).astype(np.float32)) / f32(span)
            chans.append(rel if mode == "relative" else np.minimum(np.maximum(rel, c0), c1))
        if mode == "two-channel":
            step = (f32(hi) - f32(lo)) / (c1 - c0)
            chans.append(np.minimum(np.maximum((t - f32(lo)) / step + c0, c0), c1))
        x = np.stack(chans, axis=-1).astype(np.float32)
        q = np.floor(x / f32(scale) + f32(0.5)) + f32(zp)
        out.append(np.clip(q, -128, 127).astype(np.int8))
    return np.stack(out)


MODE_CODES = {"window": 0, "relative": 1, "relative-clipped": 2, "two-channel": 3}
#: two-channel: one scale serves both channels, (c1 - c0) / 255 with the zero point at c0 (FORMAT.md section 5)
CASES = [("window", 22.0, 37.0, 8.0, 1 / 255, -128), ("relative", 22.0, 37.0, 8.0, 0.00392157, -128),
         ("relative", 22.0, 37.0, 4.0, 0.0078125, 0), ("window", 15.0, 40.0, 8.0, 0.0039215, -128),
         ("relative-clipped", 22.0, 37.0, 10.0, 2.5 / 255, -77), ("relative-clipped", 22.0, 37.0, 4.0, 0.0078125, 0),
         ("two-channel", 21.5, 34.0, 10.0, 2.5 / 255, -77), ("two-channel", 15.0, 40.5, 10.0, 0.0098, -76)]


@pytest.mark.parametrize("mode,lo,hi,span,scale,zp", CASES)
def test_quantize_matches_reference(vectors, edges, mode, lo, hi, span, scale, zp):
    frames = edges[:12]
    c = vectors.frames("quant", frames, MODE_CODES[mode], lo, hi, span, scale, zp, dtype=np.int8)
    ref = reference_quantize(frames, mode, lo, hi, span, scale, zp)
    assert np.array_equal(c.reshape(ref.shape), ref)
    assert c.size == ref.size == len(frames) * 768 * (2 if mode == "two-channel" else 1)


def test_two_channel_layout_and_clip_on_a_known_frame(vectors):
    """Channels innermost; channel 0 = clamp((T - median) / 10 K, -0.5, 2), channel 1 = the 20-32 degC
    window on the same -0.5..2 range (scale 2.5/255, zero point -77: -0.5 -> -128, 2.0 -> 127)."""
    f = np.full((24, 32), 25.0, np.float32)
    f[0, 0], f[0, 1], f[0, 2], f[0, 3] = 15.0, 50.0, 20.0, 32.0
    q = vectors.frames("quant", f[None], 3, 20.0, 32.0, 10.0, 2.5 / 255, -77, dtype=np.int8).reshape(24, 32, 2)
    assert q[0, 0].tolist() == [-128, -128]  # 10 K below the median: clipped at -0.5; below the window
    assert q[0, 1].tolist() == [127, 127]    # 25 K above the median: clipped at 2.0; above the window
    assert q[0, 2].tolist() == [-128, -128]  # -0.5 exactly; the window's bottom
    assert q[0, 3].tolist() == [-6, 127]     # 0.7 -> 71.4 steps; the window's top
    assert q[5, 5].tolist() == [-77, -22]    # the median; (25 - 20) / 4.8 - 0.5 = 0.5417 -> 55.25 steps


def _quantize_input():
    from tinyheat.training.preprocess import quantize_input   # our own module: never skipped

    return quantize_input


@pytest.mark.parametrize("mode,lo,hi,span,scale,zp", CASES)
def test_quantize_parity_with_pipeline(vectors, real_frames, edges, mode, lo, hi, span, scale, zp):
    quantize_input = _quantize_input()
    card = {"dtype": "int8", "mode": mode, "window_lo_degC": lo, "window_hi_degC": hi,
            "relative_span_K": span, "clip_lo": -0.5, "clip_hi": 2.0, "scale": scale, "zero_point": zp}
    frames = np.concatenate([real_frames, edges[:12]]).astype(np.float32)
    py = np.asarray(quantize_input(frames, card)).reshape(len(frames), -1)
    c = vectors.frames("quant", frames, MODE_CODES[mode], lo, hi, span, scale, zp, -0.5, 2.0, dtype=np.int8)
    c = c.reshape(len(frames), -1)
    if mode in ("relative-clipped", "two-channel"):  # the clip really acts on these real frames
        q_lo = int(np.floor(np.float32(-0.5) / np.float32(scale) + np.float32(0.5))) + zp
        assert (py.reshape(len(frames), 768, -1)[..., 0] == max(q_lo, -128)).any()
    diff = np.argwhere(c != py)
    assert len(diff) == 0, f"{len(diff)} values differ, first frame/pixel {diff[0]}"


def test_postprocess_smoothing_and_uncertain(vectors):
    from tinyheat.training.preprocess import probabilities

    # 3 classes, int8 logits with scale 0.1, zp -128: softmax of the dequantized logits, then smoothing
    rows = np.array([[-128, 127, -128], [127, -128, -128], [127, -128, -128], [-28, -28, -28]], dtype=np.int8)
    out = np.frombuffer(vectors.run("post", 3, 0.1, -128, 2, 0.6, data=rows.tobytes()),
                        dtype=np.dtype([("label", "<i4"), ("top", "<i4"), ("conf", "<f4")]))
    p = probabilities(rows, 0.1, -128)
    mean = np.stack([p[max(0, i - 1): i + 1].mean(axis=0) for i in range(len(p))])
    assert list(out["top"]) == [int(np.argmax(m)) for m in mean]
    assert np.allclose(out["conf"], mean.max(axis=1), atol=1e-6)
    assert list(out["label"]) == [1, -1, 0, 0]
    # K = 0: no smoothing; threshold 0 never uncertain
    raw = np.frombuffer(vectors.run("post", 3, 0.1, -128, 0, 0.0, data=rows.tobytes()),
                        dtype=np.dtype([("label", "<i4"), ("top", "<i4"), ("conf", "<f4")]))
    assert list(raw["label"]) == [1, 0, 0, 0]
    assert np.allclose(raw["conf"], p.max(axis=1), atol=1e-6)


def _c_palette() -> list[int]:
    text = (CORE / "th_palette.c").read_text()
    body = text[text.index("{") + 1: text.index("}")]
    return [int(v, 16) for v in re.findall(r"0x[0-9A-F]{4}", body)]


def test_palette_is_matplotlib_inferno():
    sys.path.insert(0, str(CORE))
    try:
        import gen_palette
    finally:
        sys.path.pop(0)
    pal = _c_palette()
    assert len(pal) == 256
    assert pal == gen_palette.inferno_rgb565()
    assert pal[0] == 0x0000 and pal[-1] == gen_palette.inferno_rgb565()[-1]
    # perceptual ordering: luminance rises monotonically along inferno (allowing 565 rounding)
    r = np.array([(v >> 11) * 255 / 31 for v in pal]); g = np.array([((v >> 5) & 63) * 255 / 63 for v in pal])
    b = np.array([(v & 31) * 255 / 31 for v in pal])
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    assert np.all(np.diff(lum) > -6)
    assert lum[-1] - lum[0] > 200


@pytest.mark.parametrize("w,h,mirror", [(320, 240, 0), (288, 216, 1), (64, 48, 0)])
def test_render_matches_pillow_bilinear(vectors, real_frames, w, h, mirror):
    from PIL import Image

    frame = real_frames[3].copy()
    frame[0, 0] = np.nan  # an invalid pixel shows as the coldest colour
    raw = vectors.run("render", w, h, mirror, 1, 20.0, 36.0, 2.0, data=frame.astype(np.float32).tobytes())
    lo, hi = np.frombuffer(raw[:8], dtype=np.float32)
    img = np.frombuffer(raw[8:], dtype=np.uint16).reshape(h, w)
    assert (lo, hi) == (20.0, 36.0)
    u = np.clip((frame - np.float32(20)) * np.float32(255 / 16), 0, 255)
    u[sf.invalid_mask(frame)] = 0
    if mirror:
        u = u[:, ::-1]
    ref = np.asarray(Image.fromarray(u.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))
    idx = np.clip(np.floor(ref + 0.5), 0, 255).astype(int)
    pal = np.array(_c_palette(), dtype=np.uint16)
    ok = (img == pal[idx]) | (img == pal[np.clip(idx - 1, 0, 255)]) | (img == pal[np.clip(idx + 1, 0, 255)])
    assert ok.mean() == 1.0, f"{(~ok).sum()} of {ok.size} pixels differ by more than one palette step"
    exact = (img == pal[idx]).mean()
    assert exact > 0.97


def test_render_auto_range(vectors, real_frames):
    frame = real_frames[10]
    raw = vectors.run("render", 32, 24, 0, 0, 0, 0, 2.0, data=frame.astype(np.float32).tobytes())
    lo, hi = np.frombuffer(raw[:8], dtype=np.float32)
    assert lo == frame.min() and hi == frame.max()
    img = np.frombuffer(raw[8:], dtype=np.uint16).reshape(24, 32)
    pal = _c_palette()
    # at 1:1 scale the hottest pixel gets the hottest colour, the coldest the coldest
    assert img.flat[int(np.argmax(frame))] == pal[255]
    assert img.flat[int(np.argmin(frame))] == pal[0]
