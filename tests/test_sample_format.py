"""tinyheat.dataset.sample_format against datasets/FORMAT.md on known values."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tinyheat.dataset import sample_format as sf


def frame_of(value) -> np.ndarray:
    return np.full((24, 32), value, dtype=np.float32)


@pytest.mark.parametrize("degc, grey", [
    (22.0, 0),        # window low
    (37.0, 255),      # window high
    (29.5, 128),      # x = 127.5 exactly: round half up
    (29.47, 127),     # x = 126.99 -> 127
    (21.0, 0),        # below the window: clamped
    (40.0, 255),      # above the window: clamped
    (float("nan"), 0),
    (float("inf"), 0),
    (1000.0, 0),      # outside the sensor's object range: invalid, not clamped to 255
    (300.5, 0),
    (300.0, 255),     # the range ends are valid
    (-50.0, 0),
    (-40.0, 0),
])
def test_grey_mapping_known_values(degc, grey):
    assert sf.to_grey(frame_of(degc))[0, 0] == grey


def test_grey_mapping_is_float32_left_to_right():
    # Each pixel of a ramp computed independently in float32 as FORMAT.md section 2 writes it.
    t = np.linspace(20.0, 39.0, 768, dtype=np.float32)
    x = (t - np.float32(22.0)) * np.float32(255.0) / np.float32(15.0)
    expect = np.clip(np.floor(x + np.float32(0.5)), 0, 255).astype(np.uint8).reshape(24, 32)
    np.testing.assert_array_equal(sf.to_grey(t), expect)


def test_grey_mapping_keeps_pixel_positions():
    f = frame_of(22.0)
    f[0, 31] = 37.0   # row 0, last column = value index 31
    f[23, 0] = 37.0   # row 23, first column = value index 736
    g = sf.to_grey(f.reshape(-1))
    assert g[0, 31] == 255 and g[23, 0] == 255 and g.sum() == 2 * 255


def test_custom_window():
    assert sf.to_grey(frame_of(10.0), lo=0.0, hi=20.0)[0, 0] == 128
    np.testing.assert_allclose(sf.from_grey(np.full((24, 32), 255, np.uint8))[0, 0], 37.0)
    np.testing.assert_allclose(sf.from_grey(np.full((24, 32), 0, np.uint8))[0, 0], 22.0)


def test_as_frame_rejects_wrong_size():
    with pytest.raises(sf.SampleError, match="768"):
        sf.as_frame(np.zeros(767))


@pytest.mark.parametrize("degc, ck", [
    (0.0, 27315),
    (26.75, 29990),
    (-40.0, 23315),
    (300.0, 57315),
    (float("nan"), 0),
    (-41.0, 0),
    (301.0, 0),
])
def test_centikelvin_known_values(degc, ck):
    assert sf.to_centikelvin(frame_of(degc))[0, 0] == ck


def test_pgm_bytes_follow_netpbm():
    f = frame_of(0.0)
    f[0, 1] = float("nan")
    data = sf.encode_pgm(f)
    assert data.startswith(b"P5\n32 24\n65535\n")
    assert len(data) == len(b"P5\n32 24\n65535\n") + 768 * 2
    body = data[len(sf.PGM_HEADER):]
    assert body[:4] == (27315).to_bytes(2, "big") + b"\x00\x00"   # big-endian, invalid stored as 0


def test_pgm_round_trip_within_half_centikelvin():
    rng = np.random.default_rng(1)
    f = rng.uniform(-40, 300, (24, 32)).astype(np.float32)
    f[3, 4] = np.nan
    back = sf.decode_pgm(sf.encode_pgm(f))
    assert back.dtype == np.float32 and back.shape == (24, 32)
    assert np.isnan(back[3, 4])
    ok = ~np.isnan(f)
    assert np.nanmax(np.abs(back[ok] - f[ok])) <= 0.005 + 1e-4


def test_pgm_reader_accepts_header_comments():
    body = sf.encode_pgm(frame_of(25.0))[len(sf.PGM_HEADER):]
    data = b"P5\n# made by a test\n32 24 # size\n65535\n" + body
    np.testing.assert_allclose(sf.decode_pgm(data), 25.0, atol=0.006)


@pytest.mark.parametrize("data, match", [
    (b"P2\n32 24\n65535\n", "P5"),
    (b"P5\n64 48\n65535\n" + bytes(64 * 48 * 2), "64x48"),
    (b"P5\n32 24\n255\n" + bytes(768), "maxval"),
    (b"P5\n32 24\n65535\n" + bytes(100), "1536"),
    (b"P5\n32 24", "truncated"),
    (b"P5\nab 24\n65535\n" + bytes(1536), "bad PGM header"),
    (b"P55\n32 24\n65535\n" + bytes(1536), "P5"),
], ids=["ascii-P2", "64x48", "8-bit", "short-body", "short-header", "non-numeric", "P55"])
def test_bad_pgm_raises_sample_error(data, match):
    with pytest.raises(sf.SampleError, match=match):
        sf.decode_pgm(data)


def _jpeg(arr, mode):
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_jpeg_round_trip_one_channel():
    g = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (24, 1))
    data = sf.encode_jpeg(g)
    with Image.open(io.BytesIO(data)) as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "L", (32, 24))
    back = sf.decode_jpeg(data)
    assert back.shape == (24, 32) and back.dtype == np.uint8
    assert np.abs(back.astype(int) - g).max() <= 4


def test_three_channel_jpeg_decodes_to_grey():
    g = np.full((24, 32), 77, dtype=np.uint8)
    g[:, 16:] = 200
    back = sf.decode_jpeg(_jpeg(np.stack([g] * 3, axis=-1), "RGB"))
    assert back.shape == (24, 32)
    assert abs(int(back[5, 3]) - 77) <= 2 and abs(int(back[5, 30]) - 200) <= 2


def test_corrupt_jpeg_raises_sample_error():
    data = sf.encode_jpeg(np.zeros((24, 32), np.uint8))
    with pytest.raises(sf.SampleError):
        sf.decode_jpeg(data[: len(data) // 2])
    with pytest.raises(sf.SampleError):
        sf.decode_jpeg(b"not a jpeg at all")


def test_wrong_size_and_non_jpeg_rejected():
    with pytest.raises(sf.SampleError, match="64x48"):
        sf.decode_jpeg(_jpeg(np.zeros((48, 64), np.uint8), "L"))
    buf = io.BytesIO()
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(buf, format="PNG")
    with pytest.raises(sf.SampleError, match="PNG"):
        sf.decode_jpeg(buf.getvalue())


@pytest.mark.parametrize("name, expect", [
    ("face0.12.jpg", ("face0", 12)),
    ("env.0.jpg", ("env", 0)),
    ("a-b_C.7.jpg", ("a-b_C", 7)),
    ("face0.012.jpg", None),      # leading zero
    ("face0.12.JPG", None),
    ("face.0.12.jpg", None),
    ("x" * 32 + ".1.jpg", None),  # label too long
    ("face0.jpg", None),
    ("face0.-1.jpg", None),
])
def test_parse_sample_name(name, expect):
    sn = sf.parse_sample_name(name)
    assert (None if sn is None else (sn.label, sn.index)) == expect


def test_check_label():
    assert sf.check_label("face0") == "face0"
    for bad in ("", "a.b", "a b", "x" * 32):
        with pytest.raises(sf.SampleError):
            sf.check_label(bad)


def test_next_free_index_counts_jpg_and_orphan_pgm(tmp_path):
    assert sf.next_free_index(tmp_path, "face0") == 0
    (tmp_path / "face0.3.jpg").write_bytes(b"")
    (tmp_path / "face0.7.pgm").write_bytes(b"")
    (tmp_path / "face1.9.jpg").write_bytes(b"")
    assert sf.next_free_index(tmp_path, "face0") == 8
    assert sf.next_free_index(tmp_path, "env") == 0


def test_read_sample_prefers_sidecar(tmp_path):
    f = frame_of(30.0)
    (tmp_path / "a.0.jpg").write_bytes(sf.encode_jpeg(sf.to_grey(f)))
    (tmp_path / "a.0.pgm").write_bytes(sf.encode_pgm(f))
    (tmp_path / "a.1.jpg").write_bytes(sf.encode_jpeg(sf.to_grey(f)))
    s0, s1 = sf.read_sample(tmp_path / "a.0.jpg"), sf.read_sample(tmp_path / "a.1.jpg")
    np.testing.assert_allclose(s0.temperatures(), 30.0, atol=0.006)
    assert s1.degc is None
    np.testing.assert_allclose(s1.temperatures(), 30.0, atol=15 / 255)
