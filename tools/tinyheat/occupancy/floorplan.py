"""Where activation is drawn: the camera image's own grid, or a floor plan reached through a
homography (``cv2.findHomography``, Hartley & Zisserman, *Multiple View Geometry*, 2nd ed., ch. 4).
Spec: ``datasets/HEATMAP.md`` section 8.

Points file (JSON), 4 or more pairs, pixels (x right, y down, origin at the top-left corner)::

    {"image": [[x, y], ...], "plan": [[x, y], ...]}      or      [[[x_img, y_img], [x_plan, y_plan]], ...]

The heat-map grid has ``grid_px`` cells along the longer side of the camera image (no plan) or of
the plan image, the other side in proportion (at least 1; never more cells than pixels).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UserError

#: default cells along the longer side of the heat-map grid (the store keeps H * W <= 65,536 cells)
GRID_PX = 160
#: singular-value ratio below which a point set counts as lying on a line (degenerate)
COLLINEAR_RATIO = 1e-3


class PlanError(UserError):
    """A floor plan or points file that cannot be used (one line)."""


def grid_shape(size: tuple[int, int], grid_px: int) -> tuple[int, int]:
    """(H, W) cells for an image of ``size`` (W, H) px with ``grid_px`` cells on its longer side
    (never more cells than pixels)."""
    w, h = size
    s = min(1.0, grid_px / max(w, h))
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def read_points(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(image float64 (N, 2), plan float64 (N, 2)) pixel pairs from a points file (module docstring)."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise PlanError(f"{path}: unreadable points file ({e})") from None
    try:
        if isinstance(d, dict):
            img, plan = np.asarray(d["image"], np.float64), np.asarray(d["plan"], np.float64)
        else:
            a = np.asarray(d, np.float64)
            img, plan = a[:, 0], a[:, 1]
    except (KeyError, ValueError, IndexError, TypeError):
        raise PlanError(f"{path}: expected {{\"image\": [[x, y], ...], \"plan\": [[x, y], ...]}} "
                        "or [[[x_img, y_img], [x_plan, y_plan]], ...]") from None
    if img.ndim != 2 or img.shape[1:] != (2,) or img.shape != plan.shape:
        raise PlanError(f"{path}: image and plan must be equally many [x, y] points, got {img.shape} and {plan.shape}")
    if not (np.isfinite(img).all() and np.isfinite(plan).all()):
        raise PlanError(f"{path}: points must be finite numbers")
    return img, plan


def _spread_ok(p: np.ndarray) -> bool:
    """False when the points (N, 2) lie on a line or coincide (singular values of the centred set)."""
    s = np.linalg.svd(p - p.mean(0), compute_uv=False)
    return s[0] > 0 and s[1] / s[0] > COLLINEAR_RATIO


def homography(img: np.ndarray, plan: np.ndarray, source: str = "points") -> np.ndarray:
    """3x3 float64 image px -> plan px (``cv2.findHomography``, least squares over all pairs).
    PlanError for fewer than 4 pairs, points on a line, or a degenerate (singular) result."""
    from .video import cv2_module

    cv2 = cv2_module()
    if len(img) < 4:
        raise PlanError(f"{source}: a homography needs at least 4 point pairs, got {len(img)}")
    for name, p in (("image", img), ("plan", plan)):
        if not _spread_ok(p) or len(np.unique(np.round(p, 6), axis=0)) < 4:
            raise PlanError(f"{source}: the {name} points are degenerate (on one line or repeated); "
                            "give 4+ points spread over the floor, no 3 of them on a line")
    H, _ = cv2.findHomography(img.astype(np.float32), plan.astype(np.float32), 0)
    if H is None or not np.isfinite(H).all():
        raise PlanError(f"{source}: degenerate homography (cv2.findHomography found none)")
    Hn = H / np.cbrt(abs(np.linalg.det(H))) if np.linalg.det(H) != 0 else H
    if np.linalg.cond(Hn) > 1e8:
        raise PlanError(f"{source}: degenerate homography (singular, condition number {np.linalg.cond(Hn):.1e})")
    # every point pair must keep its side of the horizon (w > 0); otherwise the mapping folds
    w = (np.c_[img, np.ones(len(img))] @ H.T)[:, 2]
    if not ((w > 0).all() or (w < 0).all()):
        raise PlanError(f"{source}: degenerate homography (it folds the given points over the horizon)")
    return H


class Mapper:
    """Camera image pixels -> heat-map grid cells (``shape`` (H, W)); with a plan, through the
    homography. ``background`` float32 (H, W) 0..255: the plan's grey levels on the grid (None
    without a plan: the caller uses the camera's mean frame)."""

    def __init__(self, image_size: tuple[int, int], grid_px: int = GRID_PX, *, plan: np.ndarray | None = None,
                 H: np.ndarray | None = None, native: bool = False):
        from .video import cv2_module

        self.cv2 = cv2_module() if (plan is not None or not native) else None
        self.image_size = tuple(image_size)
        self.plan_image = plan
        if plan is None:
            self.shape = (image_size[1], image_size[0]) if native else grid_shape(image_size, grid_px)
            sy, sx = self.shape[0] / image_size[1], self.shape[1] / image_size[0]
            self.H = np.diag([sx, sy, 1.0])
            self.background = None
        else:
            ph, pw = plan.shape[:2]
            self.shape = grid_shape((pw, ph), grid_px)
            sy, sx = self.shape[0] / ph, self.shape[1] / pw
            self.H = np.diag([sx, sy, 1.0]) @ H
            grey = plan if plan.ndim == 2 else self.cv2.cvtColor(plan, self.cv2.COLOR_BGR2GRAY)
            self.background = self.cv2.resize(grey, self.shape[::-1], interpolation=self.cv2.INTER_AREA).astype(np.float32)

    @property
    def has_plan(self) -> bool:
        return self.plan_image is not None

    def warp(self, m: np.ndarray) -> np.ndarray:
        """A map float32 (h, w) covering the whole camera image (any resolution) -> grid (H, W):
        area-averaged without a plan, perspective-warped (bilinear) with one; outside the camera's view 0."""
        m = np.asarray(m, np.float32)
        gh, gw = self.shape
        if self.cv2 is None:  # native grid: the map already is the grid
            return m
        if not self.has_plan:
            if m.shape == self.shape:
                return m
            return self.cv2.resize(m, (gw, gh), interpolation=self.cv2.INTER_AREA)
        sx, sy = self.image_size[0] / m.shape[1], self.image_size[1] / m.shape[0]
        M = self.H @ np.diag([sx, sy, 1.0])
        return self.cv2.warpPerspective(m, M, (gw, gh), flags=self.cv2.INTER_LINEAR,
                                        borderMode=self.cv2.BORDER_CONSTANT, borderValue=0)

    def points(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image px (K, 2) -> (grid cells float64 (K, 2) with cell (i, j) spanning x in [j, j+1),
        y in [i, i+1); bool (K,) True when the point maps in front of the camera and inside the grid)."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        p = np.c_[xy, np.ones(len(xy))] @ self.H.T
        w = p[:, 2]
        ok = w > 1e-12
        g = np.where(ok[:, None], p[:, :2] / np.where(ok, w, 1.0)[:, None], np.nan)
        ok &= (g[:, 0] >= 0) & (g[:, 0] < self.shape[1]) & (g[:, 1] >= 0) & (g[:, 1] < self.shape[0])
        return g, ok


def load_plan(plan_path: str | Path, points_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(plan image uint8 (H, W, 3) BGR, homography 3x3) from ``--plan`` and ``--homography`` (PlanError)."""
    from .video import cv2_module

    cv2 = cv2_module()
    plan = cv2.imread(str(plan_path), cv2.IMREAD_COLOR)
    if plan is None:
        raise PlanError(f"{plan_path}: not a readable image")
    img, pts = read_points(points_path)
    return plan, homography(img, pts, str(points_path))
