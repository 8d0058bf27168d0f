"""Part drawers: each part kind drawn in its unit frame (roughly [-1, 1]²), returning leader anchors."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .catalog import PartDesign
from .geometry import HIDDEN_LINE, Pt, Sketch, _arc, _band, _circle_pts, _ellipse_pts, _rect, _rrect, _stadium, _tf

Anchors = dict[str, Pt]


def _p_gear(s: Sketch, p: dict) -> Anchors:
    n = int(p["teeth"])
    depth = min(0.2, 2.6 / n)
    rr, pitch = 1 - depth, 2 * math.pi / n
    pts = []
    for k in range(n):
        for frac, r in ((0.0, rr), (0.12, rr), (0.28, 1.0), (0.47, 1.0), (0.63, rr)):
            t = (k + frac) * pitch
            pts.append((r * math.cos(t), r * math.sin(t)))
    s.poly(pts, width=2)
    s.dashed(_circle_pts(0, 0, rr + depth * 0.5), closed=True)
    hub = float(p["hub"])
    bore = hub * 0.45
    s.circle((0, 0), hub, width=2)
    s.circle((0, 0), bore, width=2)
    kw = bore * 0.35
    s.poly([(-kw, -bore * 0.93), (-kw, -bore - kw * 1.3), (kw, -bore - kw * 1.3), (kw, -bore * 0.93)], width=2)
    holes = int(p.get("holes", 0))
    rm, rh = (hub + rr) / 2, (rr - hub) * 0.24
    for k in range(holes):
        a = 2 * math.pi * (k + 0.5) / holes
        s.circle((rm * math.cos(a), rm * math.sin(a)), rh, width=2)
    tip = (round(-1.2 / pitch) + 0.375) * pitch
    a0 = math.pi / max(holes, 1)
    return {
        "part": (rm, 0.0),
        "teeth": (math.cos(tip), math.sin(tip)),
        "hub": (hub * math.cos(2.5), hub * math.sin(2.5)),
        "lightening hole": ((rm + rh) * math.cos(a0), (rm + rh) * math.sin(a0)),
    }


def _p_shaft(s: Sketch, p: dict) -> Anchors:
    r0 = float(p["dia"]) / 2
    r1 = r0 * 1.5
    stepped = bool(p.get("stepped"))
    top = [(-1, -r0), (-0.35, -r0), (-0.35, -r1), (0.35, -r1), (0.35, -r0), (1, -r0)] if stepped else [(-1, -r0), (1, -r0)]
    s.poly(top + [(x, -y) for x, y in reversed(top)], width=2)
    for x in (-0.92, 0.92):
        s.line([(x, -r0), (x, r0)], width=1)
    if stepped:
        for x in (-0.35, 0.35):
            s.line([(x, -r0), (x, r0)], width=2)
    if p.get("keyed"):
        s.poly(_stadium(0.5, 0.78, 0.0, r0 * 0.4), width=2)
    s.dashed([(-1.2, 0), (1.2, 0)])
    return {"part": (-0.62, -r0), "shoulder": (0.35, -(r0 + r1) / 2), "keyway": (0.64, r0 * 0.4),
            "chamfered end": (1.0, r0 * 0.55)}


def _p_spring(s: Sketch, p: dict) -> Anchors:
    style = p["style"]
    if style == "compression":
        n, h = int(p["coils"]), 0.36
        s.poly(_rect(-1, -h * 1.35, -0.9, h * 1.35), width=2)
        s.poly(_rect(0.9, -h * 1.35, 1, h * 1.35), width=2)
        xs = np.linspace(-0.9, 0.9, 2 * n + 1)
        pts = [(float(x), h if i % 2 else -h) for i, x in enumerate(xs)]
        dx = (xs[1] - xs[0]) * 0.45
        s.line(pts, width=2)
        s.line([(min(0.9, x + dx), y) for x, y in pts], width=2)
        mid = ((pts[n][0] + pts[n + 1][0]) / 2, (pts[n][1] + pts[n + 1][1]) / 2)
        p2 = ((pts[1][0] + pts[2][0]) / 2, (pts[1][1] + pts[2][1]) / 2)
        return {"part": p2, "spring coil": mid, "spring seat": (1.0, h)}
    if style == "tension":
        n, ry = int(p["coils"]), 0.3
        xs = np.linspace(-0.66, 0.66, n)
        rx = (xs[1] - xs[0]) * 0.8
        for x in xs:
            s.poly(_ellipse_pts(float(x), 0, rx, ry, 36), width=2, fill=False)
        s.line(_arc(-0.88, 0, 0.17, -40, 250, 20), width=2)
        s.line(_arc(0.88, 0, 0.17, -70, 220, 20), width=2)
        m = float(xs[n // 2])
        return {"part": (float(xs[1]), ry), "spring coil": (m, -ry), "hook end": (-1.05, 0.0)}
    if style == "leaf":
        k = int(p["leaves"])
        y = lambda x, i: -0.05 + 0.28 * x * x + i * 0.1  # noqa: E731 - sag shape, ends up
        for i in reversed(range(k)):
            half = 0.95 - i * 0.22
            xs = np.linspace(-half, half, 25)
            top = [(float(x), y(x, i) - 0.04) for x in xs]
            bot = [(float(x), y(x, i) + 0.04) for x in xs[::-1]]
            s.poly(top + bot, width=2)
        for sx in (-1, 1):
            s.circle((sx * 1.0, y(1, 0) - 0.08), 0.1, width=2)
            s.circle((sx * 1.0, y(1, 0) - 0.08), 0.04, width=1)
        s.poly(_rect(-0.14, -0.14, 0.14, 0.1 * k + 0.04), width=2)
        return {"part": (-0.6, y(-0.6, 0) - 0.04), "spring leaf": (0.55, y(0.55, 0) - 0.04),
                "spring eye": (1.1, y(1, 0) - 0.08), "centre clamp": (0.14, 0.0)}
    # contact spring: bent strip with a contact bump, riveted to an insulating block
    path = [(-1, 0.32), (-0.4, 0.32), (0.1, -0.18), (0.42, -0.3), (0.72, -0.12), (0.98, 0.12)]
    fine = []
    for a, b in zip(path, path[1:]):
        fine += [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for t in np.linspace(0, 1, 6)[:-1]]
    fine.append(path[-1])
    s.poly(_rect(-1, 0.4, -0.45, 0.7), width=2)
    s.poly(_band(fine, 0.05), width=2)
    s.circle((0.42, -0.4), 0.09, width=2)
    s.circle((-0.72, 0.32), 0.07, width=2)
    return {"part": (-0.2, 0.1), "contact point": (0.42, -0.49)}


def _p_wheel(s: Sketch, p: dict) -> Anchors:
    s.circle((0, 0), 1.0, width=2)
    for k in range(36):
        a = math.radians(k * 10)
        s.line([(0.9 * math.cos(a), 0.9 * math.sin(a)), (0.99 * math.cos(a), 0.99 * math.sin(a))], width=1)
    s.circle((0, 0), 0.84, width=2)
    s.circle((0, 0), 0.72, width=2, fill=False)
    spokes, holes = int(p.get("spokes", 0)), int(p.get("holes", 0))
    for k in range(spokes):
        a = 2 * math.pi * k / spokes - math.pi / 2
        d, nrm = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
        for sg in (-1, 1):
            s.line([tuple(0.2 * d + sg * 0.045 * nrm), tuple(0.72 * d + sg * 0.07 * nrm)], width=2)
    for k in range(holes):
        a = 2 * math.pi * k / holes + math.pi / 4
        s.circle((0.47 * math.cos(a), 0.47 * math.sin(a)), 0.11, width=2)
    if p.get("grooved"):
        s.dashed(_circle_pts(0, 0, 0.5), closed=True, pattern=HIDDEN_LINE)
        s.circle((0, 0), 0.36, width=2, fill=False)
    s.circle((0, 0), 0.22, width=2)
    s.circle((0, 0), 0.08, width=2)
    a = -math.pi / 2
    return {"part": (0.72 * math.cos(0.9), 0.72 * math.sin(0.9)),
            "tyre": (math.cos(2.3), math.sin(2.3)), "hub": (0.22 * math.cos(3.4), 0.22 * math.sin(3.4)),
            "spoke": (0.45 * math.cos(a) + 0.06, 0.45 * math.sin(a))}


def _p_hinge(s: Sketch, p: dict) -> Anchors:
    k = int(p["knuckles"])
    for sx in (-1, 1):
        x0, x1 = sorted((sx * 0.14, sx * 0.95))
        s.poly(_rect(x0, -0.85, x1, 0.85), width=2)
        for sy in (-0.5, 0.5):
            c = (sx * 0.56, sy)
            s.circle(c, 0.14, width=2)
            s.circle(c, 0.07, width=1)
    s.poly(_rect(-0.16, -1.0, 0.16, 1.0), width=2)
    for y in np.linspace(-1, 1, k + 1)[1:-1]:
        s.line([(-0.16, float(y)), (0.16, float(y))], width=2)
    for y in (-1.08, 1.0):
        s.poly(_rect(-0.09, y, 0.09, y + 0.08), width=2)
    return {"part": (-0.95, 0.15), "hinge leaf": (0.95, 0.15), "knuckle": (0.16, -0.2), "hinge pin": (0.09, -1.08)}


def _p_bolt(s: Sketch, p: dict) -> Anchors:
    r = 0.19
    if p["style"] == "hex":
        s.poly(_rect(-0.64, -r, 0.95, r), width=2)
        s.poly([(0.95, -r), (1.0, -r * 0.7), (1.0, r * 0.7), (0.95, r)], closed=False, width=2, fill=False)
        for i in range(12):
            x = 0.05 + i * 0.075
            s.line([(x, -r), (x + 0.035, r)], width=1)
        s.line([(0.02, -r * 0.74), (0.98, -r * 0.74)], width=1)
        s.line([(0.02, r * 0.74), (0.98, r * 0.74)], width=1)
        if p.get("washer"):
            s.poly(_rect(-0.64, -0.46, -0.56, 0.46), width=2)
        s.poly(_rect(-1.0, -0.38, -0.64, 0.38), width=2)
        for y in (-0.13, 0.13):
            s.line([(-1.0, y), (-0.64, y)], width=2)
        out: Anchors = {"part": (-1.0, -0.25), "bolt head": (-0.82, -0.38), "thread": (0.7, r),
                        "washer": (-0.6, 0.46)}
        if p.get("nut"):
            s.poly(_rect(0.28, -0.38, 0.52, 0.38), width=2)
            for y in (-0.13, 0.13):
                s.line([(0.28, y), (0.52, y)], width=2)
            out["nut"] = (0.4, 0.38)
        return out
    # countersunk screw with a slotted head and a pointed tip
    s.poly([(-0.72, -r), (0.7, -r), (1.0, 0.0), (0.7, r), (-0.72, r)], width=2)
    for i in range(10):
        x = -0.2 + i * 0.09
        s.line([(x, -r), (x + 0.045, r)], width=1)
    s.poly([(-1.0, -0.42), (-0.72, -r), (-0.72, r), (-1.0, 0.42)], width=2)
    s.line([(-1.0, -0.06), (-0.9, -0.06)], width=2)
    s.line([(-1.0, 0.06), (-0.9, 0.06)], width=2)
    return {"part": (-0.4, -r), "screw head": (-0.86, -0.31), "thread": (0.4, r)}


def _p_pulley(s: Sketch, p: dict) -> Anchors:
    out: Anchors = {}
    if p.get("rope"):
        s.poly(_rect(0.87, 0.0, 1.03, 1.7), width=2)
        for y in np.arange(0.1, 1.65, 0.16):
            s.line([(0.87, float(y)), (1.03, float(y) + 0.08)], width=1)
        out["rope"] = (1.03, 1.3)
    s.circle((0, 0), 1.0, width=2)
    s.circle((0, 0), 0.88, width=2, fill=False)
    s.circle((0, 0), 0.8, width=2, fill=False)
    if p.get("rope"):
        s.poly(_rect(0.87, 0.02, 1.03, 0.5), width=2)
        s.circle((0, 0), 0.8, width=2)
    for k in range(int(p.get("holes", 0))):
        a = 2 * math.pi * k / int(p["holes"]) + math.pi / 4
        s.circle((0.52 * math.cos(a), 0.52 * math.sin(a)), 0.12, width=2)
    spokes = int(p.get("spokes", 0))
    for k in range(spokes):
        a = 2 * math.pi * k / spokes
        d, nrm = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
        for sg in (-1, 1):
            s.line([tuple(0.26 * d + sg * 0.04 * nrm), tuple(0.8 * d + sg * 0.06 * nrm)], width=2)
    s.circle((0, 0), 0.26, width=2)
    s.circle((0, 0), 0.1, width=2)
    out.update({"part": (0.8 * math.cos(3.7), 0.8 * math.sin(3.7)), "groove": (0.94 * math.cos(4.2), 0.94 * math.sin(4.2)),
                "spoke": (0.55 + 0.0, 0.04), "hub": (-0.26, 0.0)})
    return out


def _p_bearing(s: Sketch, p: dict) -> Anchors:
    s.circle((0, 0), 1.0, width=2)
    s.circle((0, 0), 0.84, width=2, fill=False)
    s.dashed(_circle_pts(0, 0, 0.67), closed=True)
    n = int(p["n"])
    first: Pt = (0, 0)
    for k in range(n):
        a = 2 * math.pi * k / n - math.pi / 2
        c = (0.67 * math.cos(a), 0.67 * math.sin(a))
        if k == 0:
            first = c
        if p["style"] == "ball":
            s.circle(c, 0.14, width=2)
        else:
            sq = np.array(_rect(-0.1, -0.1, 0.1, 0.1))
            s.poly([tuple(q) for q in _tf(sq, c, 1.0, math.degrees(a))], width=2)
    s.circle((0, 0), 0.5, width=2)
    s.circle((0, 0), 0.32, width=2)
    name = "ball" if p["style"] == "ball" else "roller"
    return {"part": (0.92 * math.cos(2.6), 0.92 * math.sin(2.6)), "outer race": (-0.92, 0.0),
            name: (first[0] + 0.1, first[1] - 0.1), "inner race": (0.41 * math.cos(0.8), 0.41 * math.sin(0.8))}


def _p_lever(s: Sketch, p: dict) -> Anchors:
    style = p["style"]
    if style == "straight":
        s.poly(_stadium(-0.8, 0.8, 0, 0.2), width=2)
        for x, r in ((-0.8, 0.09), (0.8, 0.09), (0.0, 0.06)):
            s.circle((x, 0), r, width=2)
        return {"part": (-0.3, -0.2), "pivot hole": (-0.71, 0.0)}
    if style == "taper":
        pts = _arc(-0.74, 0, 0.26, 90, 270, 14) + _arc(0.84, 0, 0.14, -90, 90, 10)
        s.poly(pts, width=2)
        s.circle((-0.74, 0), 0.16, width=2, fill=False)
        s.circle((-0.74, 0), 0.09, width=2)
        s.circle((0.84, 0), 0.06, width=2)
        return {"part": (0.2, -0.19), "pivot hole": (-0.65, 0.0)}
    s.poly(_stadium(-0.85, 0.1, 0, 0.12), width=2)
    s.poly(_stadium(0.05, 0.86, 0, 0.2), width=2)
    for x in np.arange(0.12, 0.84, 0.1):
        s.line([(float(x), -0.17), (float(x), 0.17)], width=1)
    s.circle((-0.85, 0), 0.07, width=2)
    return {"part": (-0.4, -0.12), "grip": (0.55, -0.2), "pivot hole": (-0.78, 0.0)}


def _p_piston(s: Sketch, p: dict) -> Anchors:
    s.poly(_rect(0.2, -0.085, 0.92, 0.085), width=2)
    s.circle((0.98, 0), 0.13, width=2)
    s.circle((0.98, 0), 0.055, width=2)
    s.poly(_rect(-1, -0.42, 0.25, 0.42), width=2)
    for r in (_rect(-1, -0.42, 0.25, -0.31), _rect(-1, 0.31, 0.25, 0.42), _rect(-1, -0.31, -0.89, 0.31)):
        s.hatch(r, width=2)
    s.poly(_rect(-0.89, -0.31, 0.25, 0.31), width=1, fill=True)
    s.poly(_rect(-0.42, -0.31, -0.2, 0.31), width=2)
    for x in (-0.36, -0.26):
        s.line([(x, -0.31), (x, 0.31)], width=1)
    s.poly(_rect(-0.2, -0.085, 0.25, 0.085), width=2)
    s.poly(_rect(0.25, -0.2, 0.37, 0.2), width=2)
    if p.get("port"):
        s.poly(_rect(-0.74, -0.58, -0.58, -0.42), width=2)
    return {"part": (-0.1, 0.42), "cylinder": (-0.55, -0.42), "piston head": (-0.31, 0.31),
            "piston rod": (0.62, 0.085), "fluid port": (-0.58, -0.52)}


def _p_coil(s: Sketch, p: dict) -> Anchors:
    n = int(p["turns"])
    s.poly(_rect(-0.88, -0.22, 0.88, 0.22), width=2)
    xs = np.linspace(-0.76, 0.76, n)
    rx = (xs[1] - xs[0]) * 0.62
    for x in xs:
        s.poly(_ellipse_pts(float(x), 0, rx, 0.5, 36), width=2, fill=False)
    s.line([(-0.76, -0.5), (-0.84, -0.9), (-1.15, -1.0)], width=2)
    s.line([(0.76, -0.5), (0.84, -0.9), (1.15, -1.0)], width=2)
    for x0 in (-1.0, 0.86):
        s.poly(_rect(x0, -0.62, x0 + 0.14, 0.62), width=2)
    return {"part": (0.0, 0.5), "winding": (0.0, -0.5), "bobbin": (-1.0, 0.4), "lead wire": (1.1, -0.99)}


def _p_terminal(s: Sketch, p: dict) -> Anchors:
    n = int(p["pins"])
    ys = np.linspace(-0.4, 0.4, n) if n > 2 else np.array([-0.28, 0.28])
    for y in ys:
        s.poly(_rect(0.3, float(y) - 0.07, 1.0, float(y) + 0.07), width=2)
    s.poly(_rect(-1, -0.65, 0.4, 0.65), width=2)
    out: Anchors = {"part": (-0.7, -0.65), "contact pin": (0.8, float(ys[0]) - 0.07)}
    if p.get("screws"):
        for i, y in enumerate(ys):
            if i:
                yy = float((ys[i - 1] + y) / 2)
                s.line([(-1, yy), (0.4, yy)], width=1)
            s.circle((-0.35, float(y)), 0.13, width=2)
            s.line([(-0.44, float(y) + 0.09), (-0.26, float(y) - 0.09)], width=2)
        out["clamping screw"] = (-0.35 + 0.13 * 0.7, float(ys[-1]) + 0.13 * 0.7)
    else:
        s.poly([(-0.7, -0.65), (-0.55, -0.85), (-0.2, -0.85), (-0.2, -0.65)], width=2)
        s.line([(-0.95, 0.45), (0.35, 0.45)], width=1)
        out["latch"] = (-0.38, -0.85)
    return out


def _p_blade(s: Sketch, p: dict) -> Anchors:
    if p.get("serrated"):
        edge = []
        for x in np.arange(0.84, -1.0, -0.12):
            edge += [(float(x), 0.26), (float(x) - 0.06, 0.37)]
        s.poly([(-1, -0.32), (0.5, -0.32), (1, 0.26)] + edge + [(-1, 0.26)], width=2)
        out: Anchors = {"serrated edge": (0.18, 0.37)}
    else:
        s.poly([(-1, -0.32), (0.5, -0.32), (1, 0.28), (-1, 0.28)], width=2)
        s.line([(-1, 0.12), (0.867, 0.12)], width=1)
        out = {"cutting edge": (0.1, 0.28), "bevel": (0.45, 0.12)}
    for x in (-0.75, -0.4):
        s.circle((x, -0.06), 0.07, width=2)
    out.update({"part": (-0.1, -0.32), "mounting hole": (-0.68, -0.06)})
    return out


def _p_impeller(s: Sketch, p: dict) -> Anchors:
    n = int(p["vanes"])
    out: Anchors = {}
    if p.get("style") == "paddle":
        for k in range(n):
            a = 360 * k / n - 90
            blade = _tf(np.array(_rrect(0.15, -0.13, 0.98, 0.13, 0.06, 3)), (0, 0), 1.0, a)
            s.poly([tuple(q) for q in blade], width=2)
            hole = _tf(np.array([(0.7, 0.0)]), (0, 0), 1.0, a)[0]
            s.circle(tuple(hole), 0.05, width=2)
        s.circle((0, 0), 0.24, width=2)
        s.circle((0, 0), 0.1, width=2)
        out.update({"part": (0.13, -0.5), "paddle blade": (0.13, -0.6), "hub": (-0.24, 0.0)})
        return out
    s.circle((0, 0), 1.0, width=2)
    s.circle((0, 0), 0.93, width=2, fill=False)
    first: list[Pt] = []
    for k in range(n):
        a0 = 2 * math.pi * k / n
        rs = np.linspace(0.25, 0.92, 10)
        pts = [(r * math.cos(a0 + 1.1 * (r - 0.25)), r * math.sin(a0 + 1.1 * (r - 0.25))) for r in rs]
        if not first:
            first = pts
        s.poly(_band(pts, np.linspace(0.05, 0.03, 10)), width=2)
    s.circle((0, 0), 0.25, width=2)
    s.circle((0, 0), 0.1, width=2)
    return {"part": (math.cos(0.9), math.sin(0.9)), "vane": first[5],
            "hub": (0.25 * math.cos(2.2), 0.25 * math.sin(2.2)), "shroud": (0.965 * math.cos(3.9), 0.965 * math.sin(3.9))}


def _p_nozzle(s: Sketch, p: dict) -> Anchors:
    s.poly([(-0.82, -0.5), (0.05, -0.5), (0.92, -0.17), (0.92, 0.17), (0.05, 0.5), (-0.82, 0.5)], width=2)
    s.poly(_rect(0.92, -0.21, 1.0, 0.21), width=2)
    s.poly(_rect(-1, -0.74, -0.82, 0.74), width=2)
    for sg in (-1, 1):
        s.dashed([(-1, sg * 0.3), (0.05, sg * 0.3), (1.0, sg * 0.08)], pattern=HIDDEN_LINE)
        s.dashed([(-1, sg * 0.52), (-0.82, sg * 0.52)], pattern=HIDDEN_LINE)
        s.dashed([(-1, sg * 0.64), (-0.82, sg * 0.64)], pattern=HIDDEN_LINE)
    s.line([(0.05, -0.5), (0.05, 0.5)], width=1)
    if p.get("insert"):
        s.poly(_rect(0.12, -0.22, 0.42, 0.22), width=2)
        for x in (0.2, 0.28, 0.36):
            s.line([(x, -0.22), (x + 0.05, 0.22)], width=1)
    s.dashed([(-1.15, 0), (1.15, 0)])
    return {"part": (-0.4, -0.5), "outlet": (1.0, -0.12), "flange": (-0.91, -0.74), "swirl insert": (0.3, -0.22)}


def _p_plate(s: Sketch, p: dict) -> Anchors:
    s.poly(_rect(-0.9, -0.7, 1.1, 0.5), width=2)
    s.poly(_rect(-1, -0.6, 1, 0.6), width=2)
    out: Anchors = {"part": (-1.0, 0.25), "panel edge": (0.4, 0.6)}
    rows, cols = int(p.get("rows", 0)), int(p.get("cols", 0))
    for i in range(rows):
        for j in range(cols):
            x = -0.7 + 1.4 * j / max(cols - 1, 1)
            y = -0.3 + 0.6 * i / max(rows - 1, 1) if rows > 1 else 0.0
            s.circle((x, y), 0.09, width=2)
            if (i, j) == (0, 0):
                out["fixing hole"] = (x - 0.09, y)
    if p.get("slot"):
        s.poly(_stadium(-0.45, 0.45, 0.0, 0.13), width=2)
        for x in (-0.78, 0.78):
            s.circle((x, 0.0), 0.08, width=2)
        out["slot"] = (0.58, 0.0)
    return out


def _p_spool(s: Sketch, p: dict) -> Anchors:
    fh = 0.8 if p.get("narrow") else 1.0
    for x0 in (-1.0, 0.82):
        s.poly(_rect(x0, -0.1, x0 + 0.18, 0.1), width=2)
    s.poly(_rect(-0.68, -0.68 * fh, 0.68, 0.68 * fh), width=2)
    for y in np.arange(-0.68 * fh + 0.09, 0.68 * fh - 0.05, 0.09):
        s.line([(-0.68, float(y)), (0.68, float(y))], width=1)
    for x in np.arange(-0.6, 0.65, 0.3):
        s.line([(float(x), -0.68 * fh), (float(x) + 0.12, 0.68 * fh)], width=1)
    for x0 in (-0.84, 0.68):
        s.poly(_rect(x0, -fh, x0 + 0.16, fh), width=2)
    return {"part": (-0.84, fh * 0.6), "spool flange": (0.84, -fh * 0.7), "thread winding": (0.25, -0.68 * fh)}


def _p_disc(s: Sketch, p: dict) -> Anchors:
    n = int(p["slots"])
    s.circle((0, 0), 1.0, width=2)
    slot = np.array(_rect(0.7, -0.045, 0.9, 0.045))
    for k in range(n):
        s.poly([tuple(q) for q in _tf(slot, (0, 0), 1.0, 360 * k / n)], width=2)
    s.circle((0, 0), 0.3, width=2)
    s.circle((0, 0), 0.1, width=2)
    for k in range(3):
        a = 2 * math.pi * k / 3 + 0.5
        s.circle((0.2 * math.cos(a), 0.2 * math.sin(a)), 0.035, width=1)
    return {"part": (0.5 * math.cos(2.0), 0.5 * math.sin(2.0)), "slot": (0.9, 0.0),
            "hub": (0.3 * math.cos(4.0), 0.3 * math.sin(4.0))}


def _p_hook(s: Sketch, p: dict) -> Anchors:
    s.poly(_rect(-0.39, -0.65, -0.21, 0.1), width=2)
    arc = _arc(0.05, 0.1, 0.35, 180, -30, 20)
    s.poly(_band(arc, np.linspace(0.09, 0.035, 20)), width=2)
    s.circle((-0.3, -0.8), 0.2, width=2)
    s.circle((-0.3, -0.8), 0.09, width=2)
    out: Anchors = {"part": (-0.21, -0.3), "hook": (0.05, 0.54), "eye": (-0.3, -1.0)}
    if p.get("latch"):
        s.poly(_band([(-0.21, -0.25), (0.36, -0.1)], 0.025), width=2)
        out["safety latch"] = (0.1, -0.2)
    return out


_DRAWERS: dict[str, Callable[[Sketch, dict], Anchors]] = {
    "gear": _p_gear, "shaft": _p_shaft, "spring": _p_spring, "wheel": _p_wheel, "hinge": _p_hinge,
    "bolt": _p_bolt, "pulley": _p_pulley, "bearing": _p_bearing, "lever": _p_lever, "piston": _p_piston,
    "coil": _p_coil, "terminal": _p_terminal, "blade": _p_blade, "impeller": _p_impeller,
    "nozzle": _p_nozzle, "plate": _p_plate, "spool": _p_spool, "disc": _p_disc, "hook": _p_hook,
}


def draw_part(design: PartDesign) -> tuple[Sketch, Anchors]:
    """Line art of one part design in its unit frame, and its leader anchors."""
    s = Sketch()
    anchors = _DRAWERS[design.kind](s, design.p)
    return s, anchors
