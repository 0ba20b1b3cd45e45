"""Regions of interest: clip a map, re-normalise inside the region, and per-zone statistics.

A zone is a box of pixels, columns ``x0..x1`` and rows ``y0..y1`` inclusive, 0-based, row 0 at
the top (the sample format's orientation). Zones file: CSV with header ``name,x0,y0,x1,y1``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ZoneError(ValueError):
    """A zone that cannot be used; the message says why (one line)."""


@dataclass(frozen=True)
class Zone:
    name: str
    x0: int
    y0: int
    x1: int
    y1: int

    def check(self, shape: tuple[int, int]) -> "Zone":
        h, w = shape
        if not (0 <= self.x0 <= self.x1 < w and 0 <= self.y0 <= self.y1 < h):
            raise ZoneError(f"zone {self.name!r} ({self.x0},{self.y0},{self.x1},{self.y1}) is not inside the "
                            f"{w}x{h} frame (x0<=x1<{w}, y0<=y1<{h})")
        return self

    def clip(self, m: np.ndarray) -> np.ndarray:
        """The zone's part of a map (..., H, W) -> (..., y1-y0+1, x1-x0+1)."""
        return m[..., self.y0:self.y1 + 1, self.x0:self.x1 + 1]

    @property
    def pixels(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)


def parse_roi(text: str, name: str = "roi") -> Zone:
    """``"x0,y0,x1,y1"`` -> Zone. Raises ZoneError."""
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise ZoneError(f"--roi {text!r}: expected four integers x0,y0,x1,y1") from None
    return Zone(name, x0, y0, x1, y1)


def read_zones(path: str | Path) -> list[Zone]:
    """Zones CSV (``name,x0,y0,x1,y1``) -> zones. Raises ZoneError naming the bad line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ZoneError(f"{path}: cannot read ({e.strerror or e})") from None
    try:  # UTF-8 (with or without Excel's BOM), else Windows-1252, what Excel saves "CSV" as on Windows
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise ZoneError(f"{path}: line {line}: not UTF-8 or Windows-1252 text "
                            f"(byte 0x{data[e.start]:02x}); save it as UTF-8") from None
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    out, seen = [], set()
    for no, r in enumerate(rows, start=2):
        try:
            z = Zone(r["name"].strip(), *(int(r[k]) for k in ("x0", "y0", "x1", "y1")))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ZoneError(f"{path}: line {no}: expected name,x0,y0,x1,y1 (integers)") from None
        if not z.name or z.name in seen:
            raise ZoneError(f"{path}: line {no}: empty or repeated zone name {z.name!r}")
        seen.add(z.name)
        out.append(z)
    if not out:
        raise ZoneError(f"{path}: no zones (header name,x0,y0,x1,y1 and one line per zone)")
    return out


def normalise(m: np.ndarray) -> np.ndarray:
    """Scale a map to 0..1 by its own maximum (all zeros stay zeros)."""
    m = np.asarray(m, np.float64)
    top = m.max() if m.size else 0.0
    return m / top if top > 0 else np.zeros_like(m)


def zone_stats(zone: Zone, dwell: np.ndarray, cov: np.ndarray, sec: np.ndarray, act: np.ndarray, *,
               occupied_min: float = 0.5, merge_gap_s: int = 5) -> dict:
    """Statistics of one zone over a range.

    ``dwell`` float (H, W) dwell s and ``cov`` int (H, W) recorded s from the rollups; ``sec``
    int64 (S,) and ``act`` float (S, H, W) the range's seconds with any activation. A second is
    *occupied* in the zone when some zone pixel was occupied at least ``occupied_min`` of it.
    Returns: ``recorded_s`` (most-recorded zone pixel), ``dwell_px_s`` (sum of zone dwell),
    ``occupied_fraction`` (zone dwell / zone recorded pixel-seconds), ``dwell_s`` (occupied
    seconds), ``peak_occupancy`` (largest fraction of the zone's pixels occupied in one second),
    ``visits`` (runs of occupied seconds; runs closer than ``merge_gap_s`` are one visit).
    """
    zd, zc = zone.clip(dwell), zone.clip(cov)
    za = zone.clip(act).reshape(len(sec), -1) if len(sec) else np.zeros((0, zone.pixels))
    occ = za.max(1) >= occupied_min if len(sec) else np.zeros(0, bool)
    t = sec[occ]
    visits = int(len(t) > 0) + int(np.sum(np.diff(t) > merge_gap_s)) if len(t) else 0
    return {"zone": zone.name, "x0": zone.x0, "y0": zone.y0, "x1": zone.x1, "y1": zone.y1,
            "pixels": zone.pixels, "recorded_s": int(zc.max()), "dwell_px_s": round(float(zd.sum()), 3),
            "occupied_fraction": round(float(zd.sum() / zc.sum()) if zc.sum() else 0.0, 6),
            "dwell_s": int(occ.sum()), "peak_occupancy": round(float(za.mean(1).max()) if len(za) else 0.0, 4),
            "visits": visits}


def write_csv(rows: list[dict], path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
