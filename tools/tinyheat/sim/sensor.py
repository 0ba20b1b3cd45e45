"""MLX90640 optics and read-out model for the demo simulator (portable numpy, no I/O).

Turns a scene of *apparent* temperatures (what an ideal radiometer with emissivity 1 would
report, degC) into the frame the Melexis driver reports on the Wio Terminal. Shapes: a frame is
float32 (24, 32) degC, row 0 at the top (``datasets/FORMAT.md`` section 1); a supersampled scene
is (24 * ss, 32 * ss).

Model and sources
-----------------
* Field of view 55 x 35 deg (MLX90640ESF-BAA, datasheet section 1 "Features"), rectilinear
  projection, pixel centres on a regular grid (:func:`ray_tangents`).
* Optics: Gaussian point spread function, sigma :attr:`SensorConfig.psf_sigma_px` (default 0.7
  pixel), applied in radiance and followed by the pixel's box footprint (:func:`integrate_pixels`).
  Radiance is the Stefan-Boltzmann proxy ``(T + 273.15)**4``: the Melexis driver
  (``MLX90640_CalculateTo`` in ``MLX90640_API.cpp``) linearises the thermopile signal the same way.
* Driver compensation: the example sketches (Seeed, SparkFun, Adafruit) call
  ``MLX90640_CalculateTo(frame, params, emissivity=0.95, tr=Ta - TA_SHIFT, out)`` with
  ``TA_SHIFT = 8`` ("default shift for MLX90640 in open air"). With a scene radiance ``L`` the
  driver then reports ``To**4 = (L - (1 - e) * tr**4) / e`` (:func:`driver_to`), a few tenths of
  a kelvin above the apparent temperature for skin.
* Chess reading pattern (datasheet section 10.4): a frame is two subpages read one refresh
  period apart; pixel (row, col) belongs to subpage ``(row + col) % 2`` (the driver's
  ``pattern = (row % 2) ^ (col % 2)`` test). Each subpage gets its own temperature-sensor (Ta),
  compensation-pixel and noise draw, so each carries its own common offset, and a subject that
  moves between the two reads leaves a checkerboard misregistration at its edges (the caller
  renders the scene at both read times and passes both to :meth:`Mlx90640Sensor.read`).
* Noise: NETD 0.1 K RMS at 1 Hz (datasheet section 1, typical), white, so it grows with the
  square root of the refresh rate and is larger towards the corners, where the
  optics deliver less signal (the datasheet's NETD-over-the-array figure; here 1.6x at the
  corners). The default 0.085 K at 1 Hz (0.17 K at the kit's 4 Hz in the centre) is fitted to
  the real 4 Hz chess-mode recording in ``../shared/datasets/mlx90640-presence`` (empty scene:
  robust frame-to-frame pixel noise 0.18 K, chess-subpage mean difference std 0.10 K per
  frame); ``tests/test_simulate.py`` compares the two.
* Fixed pattern: a per-pixel residual offset after calibration (std 0.15 K), a smooth radial
  residual (corners 0.3 K cold) and a per-pixel Ta coefficient residual (0.01 K/K); the
  datasheet accuracy is +-1 K, so a per-device common offset of up to +-0.4 K is added too.
* Ta, the sensor's ambient temperature (datasheet 11.2.2.3), is supplied by the caller (the
  board self-heats a few K above the room); each subpage reads it with 0.02 K noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

ROWS, COLS = 24, 32
KELVIN = 273.15


@dataclass(frozen=True)
class SensorConfig:
    """Parameters of the simulated MLX90640 and its driver (units in the names / comments)."""

    fov_h_deg: float = 55.0  #: horizontal field of view, deg (BAA variant)
    fov_v_deg: float = 35.0  #: vertical field of view, deg
    psf_sigma_px: float = 0.7  #: Gaussian PSF sigma, sensor pixels
    supersample: int = 4  #: scene samples per pixel along each axis
    refresh_hz: float = 4.0  #: subpage refresh rate, Hz (a full chess frame takes 2 / refresh_hz s)
    netd_1hz_k: float = 0.085  #: NETD at 1 Hz in the array centre, K RMS (datasheet: 0.1 typ.)
    netd_corner_gain: float = 0.6  #: corner NETD = centre * (1 + gain)
    fpn_k: float = 0.15  #: per-pixel fixed-pattern offset std, K
    fpn_radial_k: float = -0.3  #: smooth radial offset at the corners, K
    fpn_ta_coef_k_per_k: float = 0.01  #: std of the per-pixel Ta-coefficient residual, K/K
    device_offset_k: float = 0.4  #: half-range of the per-device common offset, K
    subpage_offset_k: float = 0.07  #: per-read common offset std of each subpage, K
    subpage_bias_k: float = 0.03  #: static offset between the subpages, K
    ta_noise_k: float = 0.02  #: Ta read noise per subpage, K
    emissivity: float = 0.95  #: emissivity passed to MLX90640_CalculateTo
    ta_shift_k: float = 8.0  #: TA_SHIFT of the example sketches: tr = Ta - TA_SHIFT

    @property
    def subpage_dt_s(self) -> float:
        """Time between the reads of subpage 0 and subpage 1, s."""
        return 1.0 / self.refresh_hz

    @property
    def frame_period_s(self) -> float:
        """Time for a complete (two-subpage) frame, s."""
        return 2.0 / self.refresh_hz


def chess_subpage() -> np.ndarray:
    """(24, 32) int array: the subpage (0 or 1) each pixel is read in, chess pattern (row+col)%2."""
    r, c = np.indices((ROWS, COLS))
    return (r + c) % 2


def ray_tangents(cfg: SensorConfig = SensorConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Tangents (tx, ty) of the viewing rays of the supersampled scene grid.

    Returns two float64 arrays of shape (24 * ss, 32 * ss): a point at depth z metres along a
    ray is at x = tx * z (right) and y = ty * z (down) in camera coordinates.
    """
    ss = cfg.supersample
    cols = (np.arange(COLS * ss) + 0.5) / ss  # 0 .. 32, sensor pixel units
    rows = (np.arange(ROWS * ss) + 0.5) / ss
    tx = (cols - COLS / 2) / (COLS / 2) * np.tan(np.radians(cfg.fov_h_deg / 2))
    ty = (rows - ROWS / 2) / (ROWS / 2) * np.tan(np.radians(cfg.fov_v_deg / 2))
    return np.meshgrid(tx, ty)


def radiance(t_degc):
    """Stefan-Boltzmann radiance proxy (T + 273.15)^4, arbitrary units (float64)."""
    return (np.asarray(t_degc, dtype=np.float64) + KELVIN) ** 4


def from_radiance(l):
    """Inverse of :func:`radiance`: degC."""
    return np.asarray(l, dtype=np.float64) ** 0.25 - KELVIN


def integrate_pixels(scene_degc: np.ndarray, cfg: SensorConfig = SensorConfig()) -> np.ndarray:
    """Optics + pixel footprint: supersampled apparent degC (24ss, 32ss) -> (24, 32) degC float64.

    Blurs the radiance with the Gaussian PSF (``psf_sigma_px`` sensor pixels, edges extended)
    and averages each pixel's ss x ss block.
    """
    ss = cfg.supersample
    if scene_degc.shape != (ROWS * ss, COLS * ss):
        raise ValueError(f"scene must be {(ROWS * ss, COLS * ss)}, got {scene_degc.shape}")
    l = gaussian_filter(radiance(scene_degc), sigma=cfg.psf_sigma_px * ss, mode="nearest")
    return from_radiance(l.reshape(ROWS, ss, COLS, ss).mean(axis=(1, 3)))


def block_fraction(mask: np.ndarray, cfg: SensorConfig = SensorConfig()) -> np.ndarray:
    """Fraction (0..1) of each sensor pixel covered by a supersampled bool mask -> (24, 32) float."""
    ss = cfg.supersample
    return mask.reshape(ROWS, ss, COLS, ss).mean(axis=(1, 3))


def driver_to(apparent_degc, ta_degc: float, cfg: SensorConfig = SensorConfig()) -> np.ndarray:
    """Object temperature the Melexis driver reports for a scene of apparent temperature (degC).

    ``To^4 = (L - (1 - e) * tr^4) / e`` in kelvin, with e = ``cfg.emissivity`` and
    tr = Ta - ``cfg.ta_shift_k`` (reflected temperature), as ``MLX90640_CalculateTo`` computes.
    """
    e = cfg.emissivity
    tr4 = radiance(ta_degc - cfg.ta_shift_k)
    return from_radiance((radiance(apparent_degc) - (1.0 - e) * tr4) / e)


def _corner_weight() -> np.ndarray:
    """(24, 32) squared normalised distance from the array centre: 0 at the centre, 1 at the corners."""
    r, c = np.indices((ROWS, COLS), dtype=np.float64)
    return (((c - (COLS - 1) / 2) / ((COLS - 1) / 2)) ** 2 + ((r - (ROWS - 1) / 2) / ((ROWS - 1) / 2)) ** 2) / 2


class Mlx90640Sensor:
    """One simulated MLX90640 device: fixed pattern drawn once from ``rng``, noise per read.

    >>> sensor = Mlx90640Sensor(np.random.default_rng(1))
    >>> frame, ta = sensor.read(scene_sub0, scene_sub1, ta_degc=29.5, rng=rng)
    """

    def __init__(self, rng: np.random.Generator, cfg: SensorConfig = SensorConfig()):
        self.cfg = cfg
        self.subpage = chess_subpage()
        w = _corner_weight()
        #: per-pixel noise std of one read, K, (24, 32)
        self.netd = cfg.netd_1hz_k * np.sqrt(cfg.refresh_hz) * (1.0 + cfg.netd_corner_gain * w)
        #: static offset, K, (24, 32)
        self.fixed_offset = (rng.normal(0.0, cfg.fpn_k, (ROWS, COLS)) + cfg.fpn_radial_k * w
                             + rng.uniform(-cfg.device_offset_k, cfg.device_offset_k)
                             + np.where(self.subpage == 1, cfg.subpage_bias_k, 0.0))
        #: per-pixel Ta-coefficient residual, K/K, (24, 32)
        self.ta_coef = rng.normal(0.0, cfg.fpn_ta_coef_k_per_k, (ROWS, COLS))

    def read(self, apparent_sub0: np.ndarray, apparent_sub1: np.ndarray, ta_degc: float,
             rng: np.random.Generator, noise: bool = True) -> tuple[np.ndarray, float]:
        """Read one chess frame.

        ``apparent_sub0`` / ``apparent_sub1``: (24, 32) apparent degC of the scene at the read
        time of subpage 0 / 1 (pass the same array twice for a still scene). ``ta_degc``: true
        sensor ambient temperature, degC. ``noise=False`` gives the noise-free expectation
        (fixed pattern and driver compensation only). Returns (frame float32 (24, 32) degC,
        Ta as read by the last subpage, degC).
        """
        cfg = self.cfg
        ta_reads = ta_degc + (rng.normal(0.0, cfg.ta_noise_k, 2) if noise else np.zeros(2))
        out = np.empty((ROWS, COLS), dtype=np.float64)
        for sp, scene in ((0, apparent_sub0), (1, apparent_sub1)):
            sel = self.subpage == sp
            to = driver_to(np.asarray(scene, dtype=np.float64), ta_reads[sp], cfg)
            to = to + self.fixed_offset + self.ta_coef * (ta_reads[sp] - 25.0)
            if noise:
                to = to + rng.normal(0.0, cfg.subpage_offset_k) + rng.normal(0.0, 1.0, (ROWS, COLS)) * self.netd
            out[sel] = to[sel]
        return out.astype(np.float32), float(ta_reads[1])
