"""Geometry of the demo drawings: point helpers and ``Sketch``, the stroke list every view is drawn into.

Model coordinates, y pointing down like image rows.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Pt = tuple[float, float]
CENTER_LINE = (14, 4, 3, 4)
HIDDEN_LINE = (6, 4)


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[Pt]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _arc(cx: float, cy: float, r: float, a0: float, a1: float, n: int = 24) -> list[Pt]:
    """Points on a circular arc from ``a0`` to ``a1`` degrees (inclusive)."""
    return [(cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
            for a in np.linspace(a0, a1, n)]


def _circle_pts(cx: float, cy: float, r: float, n: int = 72) -> list[Pt]:
    return _arc(cx, cy, r, 0, 360 - 360 / n, n)


def _ellipse_pts(cx: float, cy: float, rx: float, ry: float, n: int = 72) -> list[Pt]:
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in np.linspace(0, 2 * math.pi, n, endpoint=False)]


def _rrect(x0: float, y0: float, x1: float, y1: float, r: float, n: int = 6) -> list[Pt]:
    """Rounded rectangle outline."""
    pts: list[Pt] = []
    for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
        pts += _arc(cx, cy, r, a0, a0 + 90, n + 1)
    return pts


def _stadium(x0: float, x1: float, y: float, r: float) -> list[Pt]:
    """Horizontal slot / bar with round ends."""
    return _arc(x1, y, r, -90, 90, 12) + _arc(x0, y, r, 90, 270, 12)


def _band(pts: Sequence[Pt], half: float | Sequence[float]) -> list[Pt]:
    """Outline of a strip of half-width ``half`` along a polyline."""
    p = np.asarray(pts, float)
    hw = np.broadcast_to(np.asarray(half, float), (len(p),))
    d = np.gradient(p, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-d[:, 1], d[:, 0]], axis=1)
    left = p + nrm * hw[:, None]
    right = p - nrm * hw[:, None]
    return [tuple(q) for q in left] + [tuple(q) for q in right[::-1]]


def _tf(pts: np.ndarray, center: Sequence[float], scale: float, angle: float) -> np.ndarray:
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    rot = np.array([[c, -s], [s, c]])
    return np.asarray(center, float) + scale * (np.asarray(pts, float).reshape(-1, 2) @ rot.T)


class Sketch:
    """Ordered line-art primitives in model coordinates; later ones paint over earlier ones."""

    def __init__(self) -> None:
        self.ops: list[tuple] = []

    def poly(self, pts: Sequence[Pt], closed: bool = True, width: int = 2, fill: bool = True) -> None:
        """Polygon (white-filled when ``fill``) or open polyline."""
        self.ops.append(("poly", np.asarray(pts, float), closed, width, fill and closed))

    def line(self, pts: Sequence[Pt], width: int = 2) -> None:
        self.poly(pts, closed=False, width=width, fill=False)

    def circle(self, c: Pt, r: float, width: int = 2, fill: bool = True) -> None:
        self.ops.append(("circle", np.asarray(c, float).reshape(1, 2), float(r), width, fill))

    def dashed(self, pts: Sequence[Pt], width: int = 1, pattern: tuple[int, ...] = CENTER_LINE,
               closed: bool = False) -> None:
        p = np.asarray(pts, float)
        if closed:
            p = np.vstack([p, p[:1]])
        self.ops.append(("dash", p, width, pattern))

    def hatch(self, pts: Sequence[Pt], width: int = 2) -> None:
        """Polygon filled with 45° section hatching."""
        self.ops.append(("hatch", np.asarray(pts, float), width))

    def wall(self, pts: Sequence[Pt], thickness: float) -> None:
        """Hatch a band of ``thickness`` inside the outline ``pts`` (a cut housing wall)."""
        self.ops.append(("wall", np.asarray(pts, float), float(thickness)))

    def keepout(self, y: float) -> None:
        """Keep side numerals away from this height (e.g. section-line markers)."""
        self.ops.append(("keepout", np.array([[np.nan, y]])))

    def text(self, pos: Pt, s: str, height: int = 13) -> None:
        self.ops.append(("text", np.asarray(pos, float).reshape(1, 2), s, height))

    def extend(self, other: "Sketch", center: Sequence[float] = (0.0, 0.0), scale: float = 1.0,
               angle: float = 0.0) -> None:
        """Append ``other``'s primitives, rotated by ``angle``°, scaled and moved to ``center``."""
        for op in other.ops:
            kind, pts = op[0], _tf(op[1], center, scale, angle)
            if kind == "circle":
                self.ops.append((kind, pts, op[2] * scale, op[3], op[4]))
            elif kind == "wall":
                self.ops.append((kind, pts, op[2] * scale))
            else:
                self.ops.append((kind, pts, *op[2:]))

    def bbox(self) -> tuple[float, float, float, float]:
        lo, hi = np.array([np.inf, np.inf]), np.array([-np.inf, -np.inf])
        for op in self.ops:
            if op[0] == "keepout":
                continue
            pts = op[1]
            r = op[2] if op[0] == "circle" else 0.0
            lo = np.minimum(lo, pts.min(axis=0) - r)
            hi = np.maximum(hi, pts.max(axis=0) + r)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
