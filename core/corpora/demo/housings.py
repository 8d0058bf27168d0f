"""Housings: one outline family each, with an alternative-embodiment variant."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .geometry import Pt, Sketch, _arc, _band, _circle_pts, _ellipse_pts, _rect, _rrect

FAMILIES: tuple[str, ...] = ("round-body", "rectangular box", "elongated shaft-like", "L-shaped",
                             "tall column", "U-shaped frame", "triangular frame", "tapered hopper")


@dataclass
class Housing:
    """A housing outline, its decorations, the slots that hold parts and labelled features."""

    name: str
    body: list[Pt]
    anchor: Pt
    back: Sketch = field(default_factory=Sketch)
    front: Sketch = field(default_factory=Sketch)
    slots: list[tuple[float, float, float, float]] = field(default_factory=list)  # x, y, r, angle
    features: dict[str, Pt] = field(default_factory=dict)
    explode: Pt = (0.0, -1.0)


def _h_round(ja: float, jb: float, alt: bool) -> Housing:
    R = 4.0 * ja
    if not alt:
        rf = R * 1.13
        h = Housing("housing", _circle_pts(0, 0, rf, 96), anchor=(rf * math.cos(3.9), rf * math.sin(3.9)))
        h.front.circle((0, 0), R, width=2, fill=False)
        for k in range(8):
            a = 2 * math.pi * (k + 0.5) / 8
            h.front.circle(((R + rf) / 2 * math.cos(a), (R + rf) / 2 * math.sin(a)), 0.15, width=2)
        a = 2 * math.pi * 0.5 / 8
        h.features = {"flange": (R, 0.0), "flange bolt": ((R + rf) / 2 * math.cos(a) + 0.15, (R + rf) / 2 * math.sin(a))}
        sx = 1.0
    else:
        rx, ry = R * 1.2, R * 0.94
        h = Housing("housing", _ellipse_pts(0, 0, rx, ry, 96), anchor=(rx * math.cos(3.9), ry * math.sin(3.9)))
        for sg in (-1, 1):
            x0, x1 = sorted((sg * (rx - 0.6), sg * (rx + 1.5)))
            h.back.poly(_rrect(x0, -1.0, x1, 1.0, 0.45), width=3)
            h.back.circle((sg * (rx + 0.8), 0), 0.36, width=2)
        h.front.poly(_ellipse_pts(0, 0, rx * 0.9, ry * 0.88, 96), width=2, fill=False)
        h.features = {"mounting lug": (rx + 1.5, 0.5), "rim": (0.0, -ry * 0.88)}
        sx = 1.12
    h.slots = [(0.0, 0.0, R * 0.41, 0.0)]
    for deg in (225, 315, 45, 135):
        a = math.radians(deg)
        h.slots.append((R * 0.7 * math.cos(a) * sx, R * 0.7 * math.sin(a), R * 0.28, float(deg)))
    return h


def _h_box(ja: float, jb: float, alt: bool) -> Housing:
    w, hh = 10.0 * ja, 6.6 * jb
    x0, y0, x1, y1 = -w / 2, -hh / 2, w / 2, hh / 2
    lid = y0 + 1.0
    if not alt:
        h = Housing("casing", _rrect(x0, y0, x1, y1, 0.35), anchor=(x0, (lid + y1) / 2))
        for fx in (x0 + 0.6, x1 - 1.9):
            h.back.poly(_rect(fx, y1 - 0.2, fx + 1.3, y1 + 0.55), width=2)
        outer = [(-1.5, y0 + 0.1), (-1.5, y0 - 0.9), (1.5, y0 - 0.9), (1.5, y0 + 0.1)]
        inner = [(1.15, y0 + 0.1), (1.15, y0 - 0.55), (-1.15, y0 - 0.55), (-1.15, y0 + 0.1)]
        h.back.poly(outer + inner, width=2)
        h.front.line([(x0, lid), (x1, lid)], width=2)
        h.features = {"lid": (x1 - 1.2, y0), "foot": (x1 - 0.6, y1 + 0.55)}
    else:
        c = 0.9
        h = Housing("casing", [(x0 + c, y0), (x1 - c, y0), (x1, y0 + c), (x1, y1), (x0, y1), (x0, y0 + c)],
                    anchor=(x0, (lid + y1) / 2))
        h.back.poly(_rect(x0 - 0.35, y1 - 0.1, x1 + 0.35, y1 + 0.5), width=2)
        h.front.line([(x0, lid), (x1, lid)], width=2)
        h.front.poly(_rect(x1 - 0.05, lid - 0.45, x1 + 0.35, lid + 0.45), width=2)
        for kx in (x0 + 1.4, x0 + 2.2):
            h.front.circle((kx, y0), 0.22, width=2)
        h.features = {"lid": (x1 - 2.5, y0), "plinth": (x1 + 0.35, y1 + 0.3), "latch": (x1 + 0.35, lid)}
    cw, ch = (w - 0.6) / 3, (y1 - 0.3 - lid - 0.2) / 2
    r = 0.47 * min(cw, ch)
    for i, j in ((1, 0), (1, 1), (0, 0), (2, 0), (0, 1), (2, 1)):
        h.slots.append((x0 + 0.3 + cw * (i + 0.5), lid + 0.2 + ch * (j + 0.5), r, 0.0))
    return h


def _h_tube(ja: float, jb: float, alt: bool) -> Housing:
    L, D = 13.5 * ja, 3.3 * jb
    a, cap = L / 2, 0.8
    if not alt:
        h = Housing("tubular body", _rect(-a + cap * 0.5, -D / 2, a - cap * 0.5, D / 2), anchor=(-a + 2.6, D / 2))
        for x0 in (-a, a - cap):
            h.front.poly(_rect(x0, -D * 0.62, x0 + cap, D * 0.62), width=3)
        h.features = {"end cap": (a, -D * 0.4)}
        end = a - 2.2
    else:
        body = [(-a + cap * 0.5, -D / 2), (a - 2.6, -D / 2), (a - 0.3, -D * 0.2), (a - 0.3, D * 0.2),
                (a - 2.6, D / 2), (-a + cap * 0.5, D / 2)]
        h = Housing("tubular body", body, anchor=(-a + 2.6, D / 2))
        h.front.poly(_rect(-a, -D * 0.95, -a + cap, D * 0.95), width=3)
        for sg in (-1, 1):
            h.front.circle((-a + cap / 2, sg * D * 0.75), 0.16, width=2)
        h.front.poly(_rect(a - 0.3, -D * 0.12, a + 0.25, D * 0.12), width=2)
        h.features = {"mounting flange": (-a, -D * 0.5), "tapered end": (a - 1.5, -D * 0.34)}
        end = a - 3.2
    h.front.dashed([(-a - 1.0, 0), (a + 1.0, 0)])
    xs = np.linspace(-a + 2.2, end, 4)
    r = min(D * 0.4, (xs[1] - xs[0]) * 0.46)
    order = (1, 2, 0, 3)
    h.slots = [(float(xs[i]), 0.0, r, 0.0) for i in order]
    return h


def _h_l(ja: float, jb: float, alt: bool) -> Housing:
    W, H, t = 10.5 * ja, 10.0 * jb, 3.6
    ox, oy = -W / 2, -H / 2

    def P(x: float, y: float) -> Pt:
        return (ox + x, oy + y)

    if not alt:
        body = [P(0, 0), P(t, 0), P(t, H - t), P(W, H - t), P(W, H), P(0, H)]
        h = Housing("angled housing", body, anchor=P(0, (H - t) * 0.52))
        h.front.line([P(0, 0.6), P(t, 0.6)], width=2)
        h.front.line([P(W - 0.6, H - t), P(W - 0.6, H)], width=2)
        h.features = {"upright leg": P(t, 0.3), "base leg": P(W - 0.3, H)}
    else:
        r = 1.8
        corner = [(ox + r + r * math.cos(math.radians(a)), oy + H - r + r * math.sin(math.radians(a)))
                  for a in np.linspace(90, 180, 10)]
        body = [P(0, 0), P(t, 0), P(t, H - t), P(W, H - t), P(W, H)] + corner
        h = Housing("angled housing", body, anchor=P(0, (H - t) * 0.52))
        h.front.poly([P(t, H - t - 2.4), P(t, H - t), P(t + 2.4, H - t)], width=2)
        h.front.line([P(t + 0.3, H - t - 1.7), P(t + 1.7, H - t - 0.3)], width=1)
        h.features = {"gusset": P(t + 1.2, H - t - 1.2), "base leg": P(W - 0.3, H)}
    rr = t * 0.4
    h.slots = [(*P(t / 2, H - t / 2), rr, 0.0), (*P(t / 2, (H - t) * 0.3), rr, 90.0),
               (*P(t + (W - t) * 0.3, H - t / 2), rr, 0.0), (*P(t / 2, (H - t) * 0.76), rr, 90.0),
               (*P(t + (W - t) * 0.74, H - t / 2), rr, 0.0)]
    return h


def _h_column(ja: float, jb: float, alt: bool) -> Housing:
    hw, top, bot = 1.65 * ja, -7.2 * jb, 5.0 * jb
    if not alt:
        h = Housing("column", _rect(-hw, top, hw, bot), anchor=(-hw, (top + bot) / 2 + 1.1))
        h.front.poly(_rect(-3.8, bot, 3.8, bot + 0.9), width=3)
        for x in (-3.1, 2.5):
            h.front.poly(_rect(x, bot - 0.45, x + 0.6, bot), width=2)
        h.front.poly(_rect(-hw - 0.45, top - 0.6, hw + 0.45, top), width=3)
        h.features = {"base plate": (3.8, bot + 0.45), "top cap": (hw + 0.45, top - 0.3)}
        rmax = hw * 0.8
    else:
        h = Housing("column", [(-hw * 0.72, top), (hw * 0.72, top), (hw * 1.3, bot), (-hw * 1.3, bot)],
                    anchor=(-hw * 1.01, (top + bot) / 2 + 1.1))
        for sg in (-1, 1):
            h.back.poly([(sg * hw * 1.1, bot - 2.4), (sg * (hw * 1.3 + 1.9), bot), (sg * hw * 1.2, bot)], width=2)
        h.front.poly(_rect(-4.3, bot, 4.3, bot + 0.7), width=3)
        h.front.poly(_arc(0, top, hw * 0.72, 180, 360, 16), width=3)
        h.features = {"stiffening rib": (hw * 1.3 + 1.2, bot - 0.8), "base plate": (4.3, bot + 0.35)}
        rmax = hw * 0.64
    ys = np.linspace(top + 1.5, bot - 1.3, 5)
    r = min(rmax, (ys[1] - ys[0]) * 0.47)
    h.slots = [(0.0, float(ys[i]), r, 90.0) for i in (2, 1, 3, 0, 4)]
    h.explode = (1.0, 0.0)
    return h


def _h_u(ja: float, jb: float, alt: bool) -> Housing:
    W, H, t, b = 10.5 * ja, 8.5 * jb, 2.6, 2.6
    ox, oy = -W / 2, -H / 2

    def P(x: float, y: float) -> Pt:
        return (ox + x, oy + y)

    if not alt:
        body = [P(0, 0), P(t, 0), P(t, H - b), P(W - t, H - b), P(W - t, 0), P(W, 0), P(W, H), P(0, H)]
        h = Housing("frame", body, anchor=P(0, H * 0.5))
        for x0 in (0, W - t):
            h.front.poly(_rect(*P(x0 - 0.25, -0.5), *P(x0 + t + 0.25, 0)), width=3)
        h.features = {"side wall": P(W, H * 0.45), "base": P(W * 0.5, H)}
    else:
        ro, ri = 3.2, 1.3
        outer_l = [(ox + ro + ro * math.cos(math.radians(a)), oy + H - ro + ro * math.sin(math.radians(a)))
                   for a in np.linspace(180, 90, 10)]
        outer_r = [(ox + W - ro + ro * math.cos(math.radians(a)), oy + H - ro + ro * math.sin(math.radians(a)))
                   for a in np.linspace(90, 0, 10)]
        inner_r = [(ox + W - t - ri + ri * math.cos(math.radians(a)), oy + H - b - ri + ri * math.sin(math.radians(a)))
                   for a in np.linspace(0, 90, 8)]
        inner_l = [(ox + t + ri + ri * math.cos(math.radians(a)), oy + H - b - ri + ri * math.sin(math.radians(a)))
                   for a in np.linspace(90, 180, 8)]
        body = [P(0, 0), P(t, 0)] + inner_l[::-1] + inner_r[::-1] + [P(W - t, 0), P(W, 0)] + outer_r[::-1] + outer_l[::-1]
        h = Housing("frame", body, anchor=P(0, H * 0.45))
        h.features = {"side wall": P(W, H * 0.4), "curved base": P(W * 0.5, H)}
    cav_r = min((W - 2 * t) / 2 * 0.8, (H - b) / 2 * 0.85)
    wr = t * 0.42
    h.slots = [(*P(W / 2, (H - b) * 0.5), cav_r, 0.0), (*P(t / 2, (H - b) * 0.3), wr, 90.0),
               (*P(W - t / 2, (H - b) * 0.3), wr, 90.0), (*P(W / 2, H - b / 2), wr, 0.0),
               (*P(t / 2, (H - b) * 0.76), wr, 90.0), (*P(W - t / 2, (H - b) * 0.76), wr, 90.0)]
    return h


def _h_tri(ja: float, jb: float, alt: bool) -> Housing:
    W, H, band = 13.0 * ja, 11.0 * jb, 1.0
    apex = W * (0.5 if not alt else 0.74)
    v = np.array([(0.0, H), (W, H), (apex, 0.0)]) - np.array([W / 2, H * 0.6])
    lens = np.array([np.linalg.norm(v[1] - v[2]), np.linalg.norm(v[2] - v[0]), np.linalg.norm(v[0] - v[1])])
    inc = (lens[:, None] * v).sum(axis=0) / lens.sum()
    area = abs(np.cross(v[1] - v[0], v[2] - v[0])) / 2
    rin = 2 * area / lens.sum()
    k = (rin - band) / rin
    inner = inc + (v - inc) * k
    h = Housing("frame", [tuple(q) for q in v], anchor=tuple((v[0] + v[2]) / 2))
    h.front.poly([tuple(q) for q in inner], width=3, fill=False)
    pins = inc + (v - inc) * (rin - band / 2) / rin
    for q in pins:
        h.front.circle(tuple(q), band * 0.28, width=2)
    if alt:
        for i in (0, 1):
            gus = [tuple(inner[i]), tuple(inner[i] + (inner[2] - inner[i]) * 0.25), tuple(inner[i] + (inner[1 - i] - inner[i]) * 0.25)]
            h.front.poly(gus, width=2)
        h.features = {"joint pin": tuple(pins[2] + np.array([band * 0.28, 0])), "gusset plate": tuple(inner[0] + (inner[1] - inner[0]) * 0.12)}
    else:
        h.features = {"joint pin": tuple(pins[2] + np.array([band * 0.28, 0])), "frame member": tuple((v[1] + v[2]) / 2)}
    # the main part sits in the middle; the others are mounted on the three frame joints
    h.slots = [(float(inc[0]), float(inc[1]), 0.82 * (rin - band), 0.0)]
    for i in (2, 0, 1):
        h.slots.append((float(pins[i][0]), float(pins[i][1]), 0.95, 0.0))
    return h


def _h_hopper(ja: float, jb: float, alt: bool) -> Housing:
    Wt, Wb, H = 11.5 * ja, 4.2, 8.0 * jb
    oy = -H / 2
    if not alt:
        body = [(-Wt / 2, oy), (Wt / 2, oy), (Wb / 2, oy + H), (-Wb / 2, oy + H)]
        h = Housing("hopper body", body, anchor=(-(Wt + Wb) / 4, 0.0))
        h.front.poly(_rect(-Wt / 2 - 0.45, oy - 0.6, Wt / 2 + 0.45, oy + 0.05), width=3)
        h.features = {"rim": (Wt / 2 + 0.45, oy - 0.3), "outlet spout": (1.1, oy + H + 0.9)}
    else:
        def side(sg: int) -> list[Pt]:
            ts = np.linspace(0, 1, 14)
            p0, p2 = np.array([sg * Wt / 2, oy]), np.array([sg * Wb / 2, oy + H])
            p1 = (p0 + p2) / 2 + np.array([sg * 1.2, 0.0])
            return [tuple((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t * t * p2) for t in ts]
        body = side(1) + side(-1)[::-1]
        h = Housing("hopper body", body, anchor=side(-1)[7])
        for sg in (-1, 1):
            h.back.poly(_band([(sg * Wt * 0.4, oy + H * 0.4), (sg * Wt * 0.5, oy + H + 2.3)], 0.2), width=2)
            h.back.poly(_rect(sg * Wt * 0.5 - 0.6, oy + H + 2.2, sg * Wt * 0.5 + 0.6, oy + H + 2.6), width=2)
        h.front.poly(_rect(-Wt / 2 - 0.45, oy - 0.6, Wt / 2 + 0.45, oy + 0.05), width=3)
        h.features = {"support leg": (Wt * 0.5 + 0.6, oy + H + 2.4), "outlet spout": (1.1, oy + H + 0.9)}
    h.back.poly(_rect(-1.1, oy + H - 0.3, 1.1, oy + H + 1.6), width=2)
    h.back.poly(_rect(-1.45, oy + H + 1.5, 1.45, oy + H + 1.9), width=2)

    def width_at(y: float) -> float:
        return Wt + (Wb - Wt) * (y - oy) / H

    y1, y2, y3 = oy + H * 0.22, oy + H * 0.58, oy + H * 0.85
    h.slots = [(0.0, y1, 1.3, 0.0), (-Wt * 0.29, y1, 1.2, 0.0), (Wt * 0.29, y1, 1.2, 0.0),
               (-width_at(y2) * 0.22, y2, 1.1, 0.0), (width_at(y2) * 0.22, y2, 1.1, 0.0), (0.0, y3, 0.75, 0.0)]
    return h


HOUSINGS: dict[str, Callable[[float, float, bool], Housing]] = {
    "round-body": _h_round, "rectangular box": _h_box, "elongated shaft-like": _h_tube, "L-shaped": _h_l,
    "tall column": _h_column, "U-shaped frame": _h_u, "triangular frame": _h_tri, "tapered hopper": _h_hopper,
}
