"""The embedded demo corpus: procedurally drawn patent-style line drawings with exhaustive qrels.

Everything is deterministic from a seed (PIL ``ImageDraw`` without antialiasing, a stroke
font for numerals, ``numpy.random.default_rng``, PNGs without metadata), so the same seed
gives byte-identical files.

The corpus holds 48 fake "inventions" across the CPC sections A..H. Each invention is a
housing of one *outline family* (its silhouette: round body, rectangular box, ...) holding
4-6 parts taken from a shared catalogue of part designs (gears, shafts, springs, wheels,
hinges, bolts, ...), and it serves one *function* ("power transmission", "lifting loads",
...). Families and functions are assigned independently, so the visual and semantic axes
differ. Every invention has 7-8 figures: a front view (FIG. 1), a cross-section, an
exploded view, three enlarged detail views of single parts, an alternative embodiment
(modified housing, one part swapped for another design) and sometimes a detail of the
swapped-in part.

Ground truth, judged for every (query, other figure) pair on every axis:

* **visual** — both figures have the same silhouette class: for whole views (front,
  section, exploded, alternative) the invention's outline family; for detail views the
  part kind (a gear detail looks like another gear detail). Whole vs detail is never
  visually relevant.
* **semantic** — the two figures' inventions serve the same function.
* **part_whole** — one figure is a whole view and the other is a detail view of a part
  design that is drawn in that whole view (part designs are shared across inventions, so
  this also links different patents that use the same part).
"""
from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import config
from ..figures import Figure, parse_labels
from ..qrels import read_qrels, write_qrels
from ..store import atomic_write_json, atomic_write_text, exclusive, load_json
from .base import AXES, Benchmark, Corpus, DatasetError

#: Seed of the default demo corpus.
DEMO_SEED = 0
#: Bump whenever the drawing or ground-truth code changes (it names the cache folder).
DEMO_VERSION = "1"

N_INVENTIONS = 48
N_NONRELEVANT = 20

# ----------------------------------------------------------------------------------------
# Geometry helpers (model coordinates, y pointing down like image rows)
# ----------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------
# Part catalogue: each design is drawn identically wherever it appears
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartDesign:
    """One reusable part design; ``features`` are the sub-features labelled in detail views."""

    key: str
    kind: str
    name: str
    features: tuple[str, ...]
    params: tuple[tuple[str, object], ...] = ()

    @property
    def p(self) -> dict:
        return dict(self.params)


def _d(kind: str, name: str, features: tuple[str, ...], **params: object) -> tuple:
    return kind, name, features, tuple(sorted(params.items()))


_CATALOG_SPEC = [
    _d("gear", "pinion", ("teeth", "hub"), teeth=9, hub=0.36),
    _d("gear", "spur gear", ("teeth", "hub", "lightening hole"), teeth=14, hub=0.3, holes=4),
    _d("gear", "drive gear", ("teeth", "hub", "lightening hole"), teeth=18, hub=0.28, holes=6),
    _d("gear", "worm wheel", ("teeth", "hub"), teeth=24, hub=0.42),
    _d("shaft", "output shaft", ("shoulder", "keyway"), dia=0.28, stepped=True, keyed=True),
    _d("shaft", "drive shaft", ("keyway", "chamfered end"), dia=0.24, keyed=True),
    _d("shaft", "axle", ("chamfered end",), dia=0.32),
    _d("spring", "compression spring", ("spring coil", "spring seat"), style="compression", coils=7),
    _d("spring", "return spring", ("spring coil", "spring seat"), style="compression", coils=4),
    _d("spring", "tension spring", ("spring coil", "hook end"), style="tension", coils=8),
    _d("spring", "leaf spring", ("spring leaf", "spring eye", "centre clamp"), style="leaf", leaves=3),
    _d("spring", "contact spring", ("contact point",), style="contact"),
    _d("wheel", "wheel", ("tyre", "hub", "spoke"), spokes=5),
    _d("wheel", "castor wheel", ("tyre", "hub"), holes=4),
    _d("wheel", "guide roller", ("tyre", "hub"), grooved=True),
    _d("hinge", "hinge", ("hinge leaf", "knuckle", "hinge pin"), knuckles=3),
    _d("hinge", "pivot hinge", ("hinge leaf", "knuckle", "hinge pin"), knuckles=5),
    _d("bolt", "mounting bolt", ("bolt head", "thread", "nut"), style="hex", nut=True),
    _d("bolt", "screw", ("screw head", "thread"), style="countersunk"),
    _d("bolt", "clamping bolt", ("bolt head", "thread", "washer"), style="hex", washer=True),
    _d("pulley", "pulley", ("groove", "rope"), rope=True, holes=4),
    _d("pulley", "sheave", ("groove", "spoke"), spokes=6),
    _d("bearing", "ball bearing", ("outer race", "ball", "inner race"), style="ball", n=8),
    _d("bearing", "roller bearing", ("outer race", "roller", "inner race"), style="roller", n=11),
    _d("lever", "lever", ("pivot hole",), style="straight"),
    _d("lever", "crank arm", ("pivot hole",), style="taper"),
    _d("lever", "handle", ("grip", "pivot hole"), style="grip"),
    _d("piston", "piston assembly", ("cylinder", "piston head", "piston rod")),
    _d("piston", "damper cylinder", ("cylinder", "piston rod", "fluid port"), port=True),
    _d("coil", "coil", ("winding", "bobbin", "lead wire"), turns=8),
    _d("coil", "solenoid", ("winding", "bobbin"), turns=12),
    _d("terminal", "terminal block", ("contact pin", "clamping screw"), pins=3, screws=True),
    _d("terminal", "plug connector", ("contact pin", "latch"), pins=2),
    _d("blade", "cutting blade", ("cutting edge", "bevel", "mounting hole")),
    _d("blade", "serrated blade", ("serrated edge", "mounting hole"), serrated=True),
    _d("impeller", "impeller", ("vane", "hub", "shroud"), vanes=6),
    _d("impeller", "mixing paddle", ("paddle blade", "hub"), style="paddle", vanes=3),
    _d("nozzle", "nozzle", ("outlet", "flange")),
    _d("nozzle", "spray nozzle", ("outlet", "flange", "swirl insert"), insert=True),
    _d("plate", "mounting plate", ("fixing hole",), rows=2, cols=3),
    _d("plate", "clamping plate", ("slot",), slot=True),
    _d("plate", "panel", ("panel edge", "fixing hole"), rows=1, cols=4),
    _d("spool", "spool", ("spool flange", "thread winding")),
    _d("spool", "thread reel", ("spool flange", "thread winding"), narrow=True),
    _d("disc", "encoder disc", ("slot", "hub"), slots=16),
    _d("disc", "slotted disc", ("slot", "hub"), slots=8),
    _d("hook", "load hook", ("hook", "eye", "safety latch"), latch=True),
    _d("hook", "lifting hook", ("hook", "eye")),
]


def _make_catalog() -> dict[str, PartDesign]:
    out: dict[str, PartDesign] = {}
    count: dict[str, int] = {}
    for kind, name, feats, params in _CATALOG_SPEC:
        i = count.get(kind, 0)
        count[kind] = i + 1
        key = f"{kind}-{i}"
        out[key] = PartDesign(key, kind, name, feats, params)
    return out


CATALOG: dict[str, PartDesign] = _make_catalog()
ROUND_KINDS = frozenset({"gear", "wheel", "pulley", "bearing", "impeller", "disc"})


def _designs_of(kind: str) -> list[PartDesign]:
    return [d for d in CATALOG.values() if d.kind == kind]


# --- part drawers: unit frame, part fits roughly in [-1, 1]²; return leader anchors -----

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


# ----------------------------------------------------------------------------------------
# Housings: one outline family each, with an alternative-embodiment variant
# ----------------------------------------------------------------------------------------

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


_HOUSINGS: dict[str, Callable[[float, float, bool], Housing]] = {
    "round-body": _h_round, "rectangular box": _h_box, "elongated shaft-like": _h_tube, "L-shaped": _h_l,
    "tall column": _h_column, "U-shaped frame": _h_u, "triangular frame": _h_tri, "tapered hopper": _h_hopper,
}


# ----------------------------------------------------------------------------------------
# Inventions and their figures
# ----------------------------------------------------------------------------------------

#: function → (CPC sections, device nouns, part kinds to pick from)
FUNCTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "power transmission": (("F", "B"), ("GEARBOX", "DRIVE UNIT", "TRANSMISSION ASSEMBLY", "POWER TAKE-OFF UNIT"),
                           ("gear", "gear", "shaft", "bearing", "pulley", "bolt")),
    "damping vibrations": (("F", "B"), ("VIBRATION DAMPER", "SHOCK-ABSORBING MOUNT", "ANTI-VIBRATION SUPPORT",
                                        "DAMPING UNIT"), ("spring", "piston", "plate", "bolt", "hinge", "bearing")),
    "fastening panels": (("E", "F"), ("PANEL FASTENING DEVICE", "PANEL CLAMP", "FIXING BRACKET FOR WALL PANELS",
                                      "PANEL CONNECTOR"), ("bolt", "hinge", "plate", "lever", "spring")),
    "lifting loads": (("B", "E"), ("LIFTING DEVICE", "HOIST", "LOAD LIFTING APPARATUS", "WINCH"),
                      ("pulley", "hook", "gear", "lever", "wheel", "shaft")),
    "conducting current": (("H",), ("ELECTRICAL CONNECTOR", "CURRENT COLLECTOR", "TERMINAL ASSEMBLY",
                                    "BUSBAR COUPLING"), ("coil", "terminal", "spring", "bolt", "plate")),
    "pumping fluid": (("F", "A"), ("PUMP", "FLUID DELIVERY UNIT", "DOSING PUMP", "CIRCULATION PUMP"),
                      ("impeller", "shaft", "nozzle", "piston", "bearing")),
    "cutting material": (("B", "A"), ("CUTTING TOOL", "SHEARING APPARATUS", "TRIMMING DEVICE", "CUTTING HEAD"),
                         ("blade", "lever", "hinge", "spring", "shaft", "wheel")),
    "mixing liquids": (("B", "C"), ("MIXING DEVICE", "AGITATOR", "STIRRING APPARATUS", "BLENDING UNIT"),
                       ("impeller", "shaft", "gear", "nozzle", "bearing")),
    "measuring rotation": (("G",), ("ROTARY ENCODER", "SPEED SENSOR", "ROTATION MEASURING DEVICE",
                                    "TACHOMETER UNIT"), ("disc", "shaft", "bearing", "terminal", "coil")),
    "winding thread": (("D", "B"), ("YARN WINDING DEVICE", "SPOOL HOLDER", "THREAD TENSIONING UNIT",
                                    "WINDING MACHINE"), ("spool", "shaft", "gear", "lever", "spring", "wheel")),
}
_GENERIC_KINDS = ("bolt", "plate", "shaft", "bearing", "spring", "lever")
_TITLE_ADJ = {"gear": "GEAR-DRIVEN", "spring": "SPRING-LOADED", "lever": "LEVER-OPERATED", "piston": "HYDRAULIC",
              "coil": "ELECTROMAGNETIC", "pulley": "PULLEY-TYPE", "impeller": "ROTARY", "bolt": "BOLTED",
              "hinge": "HINGED", "wheel": "WHEELED", "blade": "BLADED", "disc": "OPTICAL", "spool": "REEL-TYPE",
              "bearing": "BEARING-MOUNTED", "hook": "HOOK-TYPE", "terminal": "PLUG-IN", "nozzle": "JET-TYPE"}
_VIEW_NAMES = ("front view", "front elevation", "side elevation")

#: view kinds that show the whole invention (vs "detail" views of one part)
WHOLE_VIEWS = frozenset({"full", "section", "exploded", "alternative"})


@dataclass
class FigurePlan:
    """One figure to draw, with its record texts and generation facts."""

    id: str
    invention: int
    number: int
    view: str  # full | section | exploded | detail | alternative
    part_index: int = -1  # detail views: index into the parts drawn (alt parts for alt detail)
    alt: bool = False
    description: str = ""
    labels: tuple[str, ...] = ()
    parts_shown: frozenset[str] = frozenset()  # part design keys visible in the figure
    part_key: str = ""  # detail views: the design shown


@dataclass
class Invention:
    """A fake patent: housing family, function, parts, alternative embodiment and figures."""

    index: int
    patent: str
    family: str
    function: str
    section: str
    device: str
    title: str
    ja: float
    jb: float
    parts: list[PartDesign]
    alt_parts: list[PartDesign]
    swapped: int
    view_name: str
    figures: list[FigurePlan] = field(default_factory=list)


def _pick_designs(rng: np.random.Generator, pool: Sequence[str], n: int) -> list[PartDesign]:
    kinds = [str(k) for k in rng.permutation(np.array(pool))]
    kinds += [k for k in rng.permutation(np.array(_GENERIC_KINDS)).tolist()]
    chosen: list[PartDesign] = []
    for kind in kinds:
        if len(chosen) >= n:
            break
        free = [d for d in _designs_of(kind) if d not in chosen]
        if free:
            chosen.append(free[int(rng.integers(len(free)))])
    return chosen


def _title(rng: np.random.Generator, noun: str, parts: list[PartDesign]) -> str:
    adj = _TITLE_ADJ.get(parts[0].kind, "")
    second = parts[1].name.upper()
    third = parts[2].name.upper()
    style = int(rng.integers(3))
    if style == 0 and adj:
        return f"{adj} {noun} WITH {second}"
    if style == 1:
        return f"{noun} HAVING A {parts[0].name.upper()} AND A {second}"
    return f"{noun} COMPRISING A {second} AND A {third}"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def build_spec(seed: int = DEMO_SEED) -> list[Invention]:
    """Plan every invention and figure (no drawing); deterministic from ``seed``."""
    rng = np.random.default_rng([seed, 7])
    fam_idx = rng.permutation(np.arange(N_INVENTIONS) % len(FAMILIES))
    fun_names = list(FUNCTIONS)
    fun_idx = rng.permutation(np.arange(N_INVENTIONS) % len(fun_names))
    used_numbers: set[int] = set()
    seen_function: dict[str, int] = {}
    inventions: list[Invention] = []
    for idx in range(N_INVENTIONS):
        r = np.random.default_rng([seed, 1000 + idx])
        family, function = FAMILIES[int(fam_idx[idx])], fun_names[int(fun_idx[idx])]
        sections, nouns, pool = FUNCTIONS[function]
        occurrence = seen_function.get(function, 0)
        seen_function[function] = occurrence + 1
        section = sections[occurrence % len(sections)]
        while True:
            num = int(rng.integers(1_000_000, 9_999_999))
            if num not in used_numbers:
                used_numbers.add(num)
                break
        kind_code = ("A1", "A1", "A2", "B1")[int(rng.integers(4))]
        ja, jb = (float(x) for x in r.uniform(0.9, 1.1, 2))
        n_slots = len(_HOUSINGS[family](ja, jb, False).slots)
        n_parts = min(int(r.integers(4, 7)), n_slots)
        parts = _pick_designs(r, pool, n_parts)
        noun = str(nouns[int(r.integers(len(nouns)))])
        # alternative embodiment: one part swapped for another design (same kind when possible)
        swappable = [i for i, d in enumerate(parts) if any(o not in parts for o in _designs_of(d.kind))]
        swapped = int(swappable[int(r.integers(len(swappable)))]) if swappable else 0
        options = [o for o in _designs_of(parts[swapped].kind) if o not in parts] or \
                  [o for k in _GENERIC_KINDS for o in _designs_of(k) if o not in parts]
        alt_parts = list(parts)
        alt_parts[swapped] = options[int(r.integers(len(options)))]
        inv = Invention(idx, f"XX{num}{kind_code}", family, function, section, noun.lower(),
                        _title(r, noun, parts), ja, jb, parts, alt_parts, swapped,
                        str(_VIEW_NAMES[int(r.integers(len(_VIEW_NAMES)))]))
        details = sorted(int(i) for i in r.choice(len(parts), 3, replace=False))
        alt_detail = bool(r.random() < 0.5)
        _plan_figures(inv, details, alt_detail)
        inventions.append(inv)
    return inventions


def _housing_labels(h: Housing) -> list[str]:
    return [h.name] + list(h.features)[:2]


def _plan_figures(inv: Invention, details: list[int], alt_detail: bool) -> None:
    dev = inv.device
    base_h = _HOUSINGS[inv.family](inv.ja, inv.jb, False)
    alt_h = _HOUSINGS[inv.family](inv.ja, inv.jb, True)
    whole_labels = tuple(_housing_labels(base_h) + [d.name for d in inv.parts])
    keys = frozenset(d.key for d in inv.parts)
    plans: list[FigurePlan] = []

    def add(view: str, **kw: object) -> FigurePlan:
        n = len(plans) + 1
        fp = FigurePlan(id=f"demo-{inv.index:02d}-{n}", invention=inv.index, number=n, view=view, **kw)  # type: ignore[arg-type]
        plans.append(fp)
        return fp

    f1 = add("full", labels=whole_labels, parts_shown=keys)
    f1.description = (f"FIG. 1 is a {inv.view_name} of the {dev} according to a first embodiment of the "
                      f"invention, shown with the front cover removed.")
    fs = add("section", labels=whole_labels + ("wall",), parts_shown=keys)
    fs.description = f"FIG. {fs.number} is a cross-sectional view of the {dev} taken along line A-A of FIG. 1."
    fe = add("exploded", labels=whole_labels, parts_shown=keys)
    names = [d.name for d in inv.parts]
    fe.description = (f"FIG. {fe.number} is an exploded view of the {dev} of FIG. 1, showing the "
                      f"{', the '.join(names[:-1])} and the {names[-1]} separated from the {base_h.name}.")
    for i in details:
        d = inv.parts[i]
        fd = add("detail", part_index=i, labels=(d.name,) + d.features, parts_shown=frozenset({d.key}), part_key=d.key)
        fd.description = f"FIG. {fd.number} is a detail view of the {d.name} of FIG. 1."
    fa = add("alternative", alt=True, labels=tuple(_housing_labels(alt_h) + [d.name for d in inv.alt_parts]),
             parts_shown=frozenset(d.key for d in inv.alt_parts))
    old, new = inv.parts[inv.swapped], inv.alt_parts[inv.swapped]
    fa.description = (f"FIG. {fa.number} is a {inv.view_name} of an alternative embodiment of the {dev}, in which "
                      f"the {old.name} is replaced by {_article(new.name)} {new.name} and the {alt_h.name} is modified.")
    if alt_detail:
        fx = add("detail", part_index=inv.swapped, alt=True, labels=(new.name,) + new.features,
                 parts_shown=frozenset({new.key}), part_key=new.key)
        fx.description = f"FIG. {fx.number} is an enlarged detail view of the {new.name} of the embodiment of FIG. {fa.number}."
    inv.figures = plans


# ----------------------------------------------------------------------------------------
# Ground truth
# ----------------------------------------------------------------------------------------


def _visual_key(inv: Invention, fp: FigurePlan) -> tuple[str, str]:
    if fp.view in WHOLE_VIEWS:
        return ("family", inv.family)
    return ("kind", CATALOG[fp.part_key].kind)


def judge(q: tuple[Invention, FigurePlan], c: tuple[Invention, FigurePlan]) -> dict[str, int]:
    """0/1 judgements of candidate ``c`` for query ``q`` on every axis (see module docstring)."""
    (qi, qf), (ci, cf) = q, c
    visual = int(_visual_key(qi, qf) == _visual_key(ci, cf))
    semantic = int(qi.function == ci.function)
    pw = 0
    if qf.view in WHOLE_VIEWS and cf.view == "detail":
        pw = int(cf.part_key in qf.parts_shown)
    elif qf.view == "detail" and cf.view in WHOLE_VIEWS:
        pw = int(qf.part_key in cf.parts_shown)
    return {"visual": visual, "semantic": semantic, "part_whole": pw}


def _choose_queries(inventions: list[Invention]) -> list[tuple[Invention, FigurePlan]]:
    """FIG. 1 of most inventions; a detail view for every sixth one (part-to-whole queries)."""
    detail_kinds: dict[str, int] = {}
    for inv in inventions:
        for fp in inv.figures:
            if fp.view == "detail":
                k = CATALOG[fp.part_key].kind
                detail_kinds[k] = detail_kinds.get(k, 0) + 1
    out = []
    for inv in inventions:
        pick = inv.figures[0]
        if inv.index % 6 == 5:
            for fp in inv.figures:
                if fp.view == "detail" and not fp.alt and detail_kinds[CATALOG[fp.part_key].kind] >= 2:
                    pick = fp
                    break
        out.append((inv, pick))
    return out


# ----------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------

# Stroke font on a 4 x 6 grid (drafting-style lettering, identical on every machine).
_GLYPHS: dict[str, list[list[Pt]]] = {
    "0": [[(1, 0), (3, 0), (4, 1), (4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0)]],
    "1": [[(0.8, 1.2), (2, 0), (2, 6)], [(0.8, 6), (3.2, 6)]],
    "2": [[(0, 1), (1, 0), (3, 0), (4, 1), (4, 2.2), (0, 6), (4, 6)]],
    "3": [[(0, 0.6), (1, 0), (3, 0), (4, 1), (4, 2), (3, 2.8), (1.5, 2.8)], [(3, 2.8), (4, 3.7), (4, 5), (3, 6), (1, 6), (0, 5.4)]],
    "4": [[(3, 6), (3, 0), (0, 4.2), (4, 4.2)]],
    "5": [[(4, 0), (0.3, 0), (0, 2.8), (3, 2.6), (4, 3.6), (4, 5), (3, 6), (1, 6), (0, 5.3)]],
    "6": [[(3.6, 0.4), (3, 0), (1, 0), (0, 1.2), (0, 5), (1, 6), (3, 6), (4, 5), (4, 3.6), (3, 2.6), (1, 2.6), (0, 3.6)]],
    "7": [[(0, 0), (4, 0), (1.4, 6)]],
    "8": [[(1, 0), (3, 0), (4, 0.9), (4, 2), (3, 2.8), (1, 2.8), (0, 2), (0, 0.9), (1, 0)],
          [(1, 2.8), (0, 3.7), (0, 5), (1, 6), (3, 6), (4, 5), (4, 3.7), (3, 2.8)]],
    "9": [[(0.4, 5.6), (1, 6), (3, 6), (4, 4.8), (4, 1), (3, 0), (1, 0), (0, 1), (0, 2.4), (1, 3.4), (3, 3.4), (4, 2.4)]],
    "F": [[(4, 0), (0, 0), (0, 6)], [(0, 2.8), (3, 2.8)]],
    "I": [[(2, 0), (2, 6)], [(1, 0), (3, 0)], [(1, 6), (3, 6)]],
    "G": [[(4, 1), (3, 0), (1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 3.2), (2.2, 3.2)]],
    "A": [[(0, 6), (2, 0), (4, 6)], [(0.7, 4), (3.3, 4)]],
    ".": [[(1.6, 5.4), (2.2, 5.4), (2.2, 6), (1.6, 6), (1.6, 5.4)]],
    "-": [[(0.6, 3), (3.4, 3)]],
}


def _text_width(s: str, height: float) -> float:
    k = height / 6
    return sum((2.6 if ch == " " else 5.6) * k for ch in s) - 1.6 * k


def _draw_text(draw, s: str, cx: float, cy: float, height: float, width: int, slant: float = 0.0) -> None:
    k = height / 6
    x = cx - _text_width(s, height) / 2
    top = cy - height / 2
    for ch in s:
        for stroke in _GLYPHS.get(ch, []):
            pts = [(x + gx * k + slant * (6 - gy) * k, top + gy * k) for gx, gy in stroke]
            draw.line(pts, fill=0, width=width, joint="curve")
        x += (2.6 if ch == " " else 5.6) * k


def _dashed_px(draw, pts: np.ndarray, pattern: tuple[int, ...], width: int) -> None:
    """Dashed polyline in pixel space; the pattern alternates on/off lengths."""
    i, left, on = 0, float(pattern[0]), True
    for a, b in zip(pts[:-1], pts[1:]):
        seg = float(np.hypot(*(b - a)))
        pos = 0.0
        while pos < seg - 1e-9:
            step = min(left, seg - pos)
            if on:
                p0, p1 = a + (b - a) * (pos / seg), a + (b - a) * ((pos + step) / seg)
                draw.line([tuple(p0), tuple(p1)], fill=0, width=width)
            pos += step
            left -= step
            if left <= 1e-9:
                i = (i + 1) % len(pattern)
                left, on = float(pattern[i]), not on


_HATCH_CACHE: dict[tuple[int, int], object] = {}


def _hatch_image(w: int, h: int):
    from PIL import Image

    key = (w, h)
    if key not in _HATCH_CACHE:
        yy, xx = np.mgrid[0:h, 0:w]
        arr = np.where((xx + yy) % 7 == 0, 0, 255).astype(np.uint8)
        _HATCH_CACHE[key] = Image.fromarray(arr, "L")
    return _HATCH_CACHE[key]


MARGIN_X, MARGIN_Y, CAPTION_H = 54, 38, 44


def render(sketch: Sketch, labels: Sequence[tuple[str, Pt]], caption: str):
    """Rasterise a sketch with numbered leader lines and a "FIG. n" caption (mode "L")."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    x0, y0, x1, y1 = sketch.bbox()
    bw, bh = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    aspect = bw / bh
    if aspect >= 1:
        W = 512
        H = int(min(512, max(352, (512 - 2 * MARGIN_X) / aspect + 2 * MARGIN_Y + CAPTION_H)) // 8 * 8)
    else:
        H = 512
        W = int(min(512, max(352, (512 - 2 * MARGIN_Y - CAPTION_H) * aspect + 2 * MARGIN_X)) // 8 * 8)
    avail_w, avail_h = W - 2 * MARGIN_X, H - 2 * MARGIN_Y - CAPTION_H
    scale = min(avail_w / bw, avail_h / bh)
    off = np.array([(W - bw * scale) / 2 - x0 * scale, MARGIN_Y + (avail_h - bh * scale) / 2 - y0 * scale])

    def px(pts: np.ndarray) -> list[Pt]:
        q = np.asarray(pts, float).reshape(-1, 2) * scale + off
        return [(float(a), float(b)) for a, b in q]

    im = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(im)
    for op in sketch.ops:
        kind = op[0]
        if kind == "poly":
            _, pts, closed, width, fill = op
            q = px(pts)
            if fill and len(q) >= 3:
                draw.polygon(q, fill=255)
            draw.line(q + q[:1] if closed else q, fill=0, width=width, joint="curve")
        elif kind == "circle":
            _, c, r, width, fill = op
            (cx, cy), rp = px(c)[0], max(r * scale, 1.0)
            draw.ellipse([cx - rp, cy - rp, cx + rp, cy + rp], fill=255 if fill else None, outline=0, width=width)
        elif kind == "dash":
            _dashed_px(draw, np.asarray(px(op[1])), op[3], op[2])
        elif kind == "hatch":
            q = px(op[1])
            mask = Image.new("L", (W, H), 0)
            ImageDraw.Draw(mask).polygon(q, fill=255)
            im.paste(_hatch_image(W, H), (0, 0), mask)
            draw.line(q + q[:1], fill=0, width=op[2], joint="curve")
        elif kind == "wall":
            q = px(op[1])
            t = max(4, int(round(op[2] * scale)))
            outer = Image.new("L", (W, H), 0)
            ImageDraw.Draw(outer).polygon(q, fill=255)
            inner = outer.copy()
            ImageDraw.Draw(inner).line(q + q[:1], fill=0, width=2 * t, joint="curve")
            ring = ImageChops.subtract(outer, inner)
            im.paste(_hatch_image(W, H), (0, 0), ring)
            edge = ImageChops.subtract(inner, inner.filter(ImageFilter.MinFilter(5)))
            im.paste(0, (0, 0, W, H), edge)
            draw.line(q + q[:1], fill=0, width=3, joint="curve")
        elif kind == "text":
            (cx, cy) = px(op[1])[0]
            _draw_text(draw, op[2], cx, cy, op[3], 2)
    keep = [float(op[1][0, 1] * scale + off[1]) for op in sketch.ops if op[0] == "keepout"]
    _draw_labels(draw, [(t, px(np.asarray(p))[0]) for t, p in labels], keep,
                 (off[0] + x0 * scale, off[1] + y0 * scale, off[0] + x1 * scale, off[1] + y1 * scale), W, H)
    _draw_text(draw, caption, W / 2, H - CAPTION_H / 2 - 2, 22, 3, slant=0.18)
    return im


def _spread(vals: list[float], gap: float, lo: float, hi: float, keepout: Sequence[float] = ()) -> list[float]:
    """Positions for sorted wishes ``vals`` on a grid of pitch ``gap`` within [lo, hi], order kept.

    Grid slots closer than ``gap`` to a ``keepout`` position are not used; the assignment
    minimises the total displacement (small dynamic programme).
    """
    n, sub = len(vals), 4
    step = gap / sub
    slots = [lo + k * step for k in range(int((hi - lo) // step) + 1)]
    slots = [y for y in slots if all(abs(y - k) >= gap * 0.8 for k in keepout)]
    m = len(slots)
    if n == 0 or (m - 1) * step < (n - 1) * gap:
        out = [min(max(v, lo), hi) for v in vals]
        for i in range(1, n):
            out[i] = max(out[i], out[i - 1] + gap)
        if n and out[-1] > hi:
            out[-1] = hi
            for i in range(n - 2, -1, -1):
                out[i] = max(min(out[i], out[i + 1] - gap), lo)
        return out
    inf = math.inf
    best = [[inf] * m for _ in range(n)]
    back = [[-1] * m for _ in range(n)]
    for j in range(m):
        best[0][j] = abs(vals[0] - slots[j])
    for i in range(1, n):
        run, arg = inf, -1
        k = 0
        for j in range(m):
            while k < j and slots[k] <= slots[j] - gap + 1e-6:
                if best[i - 1][k] < run:
                    run, arg = best[i - 1][k], k
                k += 1
            if arg >= 0:
                best[i][j] = run + abs(vals[i] - slots[j])
                back[i][j] = arg
    j = min(range(m), key=lambda k: (best[n - 1][k], k))
    if best[n - 1][j] == inf:
        return _spread(vals, gap, lo, hi)
    out = [0.0] * n
    for i in range(n - 1, -1, -1):
        out[i] = slots[j]
        j = back[i][j]
    return out


def _draw_labels(draw, labels: Sequence[tuple[str, Pt]], keepout: Sequence[float],
                 box: tuple[float, float, float, float], W: int, H: int) -> None:
    """Reference numerals around the drawing, each with a gently curved leader to its target."""
    if not labels:
        return
    th, pad = 13.0, 14.0
    bx0, by0, bx1, by1 = box
    X0, Y0 = max(bx0 - pad, 6.0), max(by0 - pad, th / 2 + 4)
    X1, Y1 = min(bx1 + pad, W - 6.0), min(by1 + pad, H - CAPTION_H - th / 2)
    sides: dict[str, list[tuple[float, str, Pt]]] = {"l": [], "r": [], "t": [], "b": []}
    for text, (tx, ty) in labels:
        # nearest edge of the label ring; top/bottom are slightly penalised (numerals are wide)
        dist = {"l": tx - X0, "r": X1 - tx, "t": (ty - Y0) * 1.3 + 8, "b": (Y1 - ty) * 1.3 + 8}
        side = min(dist, key=lambda k: (dist[k], k))
        sides[side].append((ty if side in "lr" else tx, text, (tx, ty)))
    n = 0
    for side, items in sides.items():
        items.sort()
        if side in "lr":
            pos = _spread([a for a, _, _ in items], th + 7, th, H - CAPTION_H - th, keepout=keepout)
        else:
            wmax = max(_text_width(t, th) for _, t, _ in items) if items else 0
            pos = _spread([a for a, _, _ in items], wmax + 12, wmax / 2 + 6, W - wmax / 2 - 6)
        for (_, text, (tx, ty)), p in zip(items, pos):
            tw = _text_width(text, th)
            if side == "l":
                lx, ly = max(X0 - tw / 2, tw / 2 + 4), p
            elif side == "r":
                lx, ly = min(X1 + tw / 2, W - tw / 2 - 4), p
            elif side == "t":
                lx, ly = p, max(Y0 - th / 2, th / 2 + 3)
            else:
                lx, ly = p, min(Y1 + th / 2, H - CAPTION_H - th / 2)
            _draw_text(draw, text, lx, ly, th, 2)
            # leader from the numeral's edge to the target
            dx, dy = tx - lx, ty - ly
            dist = math.hypot(dx, dy)
            if dist < 1:
                continue
            ux, uy = dx / dist, dy / dist
            ex = min((tw / 2 + 4) / abs(ux) if ux else math.inf, (th / 2 + 4) / abs(uy) if uy else math.inf)
            sx0, sy0 = lx + ux * ex, ly + uy * ex
            length = math.hypot(tx - sx0, ty - sy0)
            bend = 0.12 * length * (1 if n % 2 else -1)
            mx, my = (sx0 + tx) / 2 - uy * bend, (sy0 + ty) / 2 + ux * bend
            curve = [((1 - t) ** 2 * sx0 + 2 * (1 - t) * t * mx + t * t * tx,
                      (1 - t) ** 2 * sy0 + 2 * (1 - t) * t * my + t * t * ty) for t in np.linspace(0, 1, 12)]
            draw.line(curve, fill=0, width=1)
            n += 1


def _whole_sketch(inv: Invention, fp: FigurePlan) -> tuple[Sketch, list[tuple[str, Pt]]]:
    """Housing plus parts (front, section, exploded or alternative view) and its numerals."""
    alt = fp.view == "alternative"
    h = _HOUSINGS[inv.family](inv.ja, inv.jb, alt)
    parts = inv.alt_parts if alt else inv.parts
    base = 100 if alt else 0
    sk = Sketch()
    sk.extend(h.back)
    sk.poly(h.body, width=3)
    if fp.view == "section":
        sk.wall(h.body, 0.4)
    sk.extend(h.front)
    labels: list[tuple[str, Pt]] = [(str(base + 10), h.anchor)]
    for j, (_, pt) in enumerate(list(h.features.items())[:2]):
        labels.append((str(base + 12 + 2 * j), pt))
    centers = [(x, y) for x, y, _, _ in h.slots[: len(parts)]]
    if fp.view == "exploded":
        bx0, by0, bx1, by1 = Sketch.bbox(_only_body(h))
        d = np.array(h.explode)
        placed: list[tuple[np.ndarray, float]] = []
        new_centers = []
        for (x, y, r0, _), part in zip(h.slots, parts):
            r = r0 * (1.0 if part.kind in ROUND_KINDS else 1.2)
            c0 = np.array([x, y])
            edge = (by0 - y) if d[1] < 0 else (bx1 - x)
            t = abs(edge) + r + 0.9
            while True:
                c = c0 + d * t
                if all(np.linalg.norm(c - pc) >= r + pr + 0.35 for pc, pr in placed):
                    break
                t += 0.35
            placed.append((c, r))
            new_centers.append((float(c[0]), float(c[1])))
            sk.circle((x, y), r0 * 0.16, width=2)
            sk.dashed([(x, y), (float(c[0]), float(c[1]))])
        centers = new_centers
    else:
        _links(sk, h, len(parts))
    for i, (design, (x, y), slot) in enumerate(zip(parts, centers, h.slots)):
        psk, anchors = draw_part(design)
        size = slot[2] * (1.0 if design.kind in ROUND_KINDS else 1.15)
        sk.extend(psk, (x, y), size, slot[3])
        labels.append((str(base + 20 + 10 * i), tuple(_tf(np.array([anchors["part"]]), (x, y), size, slot[3])[0])))
    if fp.view == "full":
        bx0, by0, bx1, by1 = Sketch.bbox(_only_body(h))
        ymid = (by0 + by1) / 2 + (by1 - by0) * 0.08
        span = (bx1 - bx0) * 0.08 + 0.6
        sk.dashed([(bx0 - span, ymid), (bx1 + span, ymid)])
        for dy in (0.0, -0.7, -1.45):
            sk.keepout(ymid + dy)
        for x in (bx0 - span, bx1 + span):
            sk.line([(x, ymid), (x, ymid - 0.9)], width=3)
            sk.poly([(x - 0.22, ymid - 0.55), (x, ymid - 1.0), (x + 0.22, ymid - 0.55)], width=2)
            sk.text((x, ymid - 1.45), "A")
    return sk, labels


def _links(sk: Sketch, h: Housing, n: int) -> None:
    """Connecting rods between assembled parts: each part joins its nearest earlier part."""
    slots = h.slots[:n]
    width = 0.09 * min(r for _, _, r, _ in slots)
    for i in range(1, n):
        x, y = slots[i][:2]
        j = min(range(i), key=lambda k: (math.dist(slots[k][:2], (x, y)), k))
        sk.poly(_band([slots[j][:2], (x, y)], width), width=2)


def _only_body(h: Housing) -> Sketch:
    s = Sketch()
    s.poly(h.body)
    return s


def _detail_sketch(inv: Invention, fp: FigurePlan) -> tuple[Sketch, list[tuple[str, Pt]]]:
    """One part enlarged, with its numeral and its sub-feature numerals."""
    design = CATALOG[fp.part_key]
    num = (100 if fp.alt else 0) + 20 + 10 * fp.part_index
    sk, anchors = draw_part(design)
    if design.kind in ROUND_KINDS:
        sk.dashed([(-1.2, 0), (1.2, 0)])
        sk.dashed([(0, -1.2), (0, 1.2)])
    labels: list[tuple[str, Pt]] = [(str(num), anchors["part"])]
    for j, feat in enumerate(design.features):
        labels.append((str(num + 2 + 2 * j), anchors[feat]))
    return sk, labels


def render_figure(inv: Invention, fp: FigurePlan):
    """Draw one planned figure as a PIL image."""
    if fp.view == "detail":
        sk, labels = _detail_sketch(inv, fp)
    else:
        sk, labels = _whole_sketch(inv, fp)
    return render(sk, labels, f"FIG. {fp.number}")


def _png_bytes(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------
# Writing, caching and loading
# ----------------------------------------------------------------------------------------


def _record(inv: Invention, fp: FigurePlan) -> dict:
    return {"hashcode": fp.id, "patent": inv.patent, "title": inv.title, "description": fp.description,
            "component_labels": list(fp.labels), "section": inv.section}


_README = """UPAIR Explorer demo corpus (SYNTHETIC).

These drawings, patent numbers (country code XX), titles, descriptions and relevance
judgements are procedurally generated by core/corpora/demo.py (version {version}, seed {seed}).
They are not real patents. The layout mirrors the UPAIR benchmark: metadata.json,
test/images/<id>.png and test/qrels_<axis>.txt (TREC qrels, every query x figure pair judged).
figures.json lists every figure (the "demo" key holds the generation facts).

Ground truth:
  visual      same silhouette class: whole views (front, section, exploded, alternative)
              of inventions of the same outline family; detail views of the same part kind.
  semantic    the two inventions serve the same function.
  part_whole  a whole view and a detail view of a part design drawn in that whole view.
"""


def generate_demo(dest: Path, seed: int = DEMO_SEED, progress: bool = False) -> Path:
    """Generate the demo corpus into ``dest`` atomically (built in a temp sibling, then renamed)."""
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        os.chmod(tmp, 0o755)
        inventions = build_spec(seed)
        img_dir = tmp / "test" / "images"
        img_dir.mkdir(parents=True)
        pairs = [(inv, fp) for inv in inventions for fp in inv.figures]
        for inv, fp in tqdm(pairs, desc="Drawing demo corpus", unit="fig", disable=not progress):
            (img_dir / f"{fp.id}.png").write_bytes(_png_bytes(render_figure(inv, fp)))
        queries = _choose_queries(inventions)
        qrels: dict[str, dict[str, dict[str, int]]] = {a: {} for a in AXES}
        meta: dict[str, dict] = {}
        pick = np.random.default_rng([seed, 99])
        for q in queries:
            qid = q[1].id
            relevant, other = [], []
            for c in pairs:
                if c[1].id == qid:
                    continue
                j = judge(q, c)
                for a in AXES:
                    qrels[a].setdefault(qid, {})[c[1].id] = j[a]
                (relevant if any(j.values()) else other).append(c)
            extra = [other[int(i)] for i in sorted(pick.choice(len(other), min(N_NONRELEVANT, len(other)), replace=False))]
            cands = sorted(relevant + extra, key=lambda c: (c[0].index, c[1].number))
            meta[qid] = {"query": _record(*q), "candidates": [_record(*c) for c in cands]}
        for a in AXES:
            write_qrels(tmp / "test" / f"qrels_{a}.txt", qrels[a])
        atomic_write_json(tmp / "metadata.json", meta)
        figs = []
        for inv, fp in pairs:
            rec = _record(inv, fp)
            rec["demo"] = {"invention": inv.index, "figure": fp.number, "view": fp.view, "alternative": fp.alt,
                           "outline_family": inv.family, "function": inv.function,
                           "part": CATALOG[fp.part_key].name if fp.part_key else "",
                           "query": any(fp.id == q[1].id for q in queries)}
            figs.append(rec)
        atomic_write_json(tmp / "figures.json", figs)
        atomic_write_text(tmp / "README.txt", _README.format(version=DEMO_VERSION, seed=seed))
        if dest.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, trash / "old")
            os.replace(tmp, dest)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def demo_root(seed: int = DEMO_SEED) -> Path:
    """The cached demo corpus folder for ``seed``, generated on first use."""
    root = config.cache_dir() / f"demo-v{DEMO_VERSION}-seed{seed}"
    if not (root / "figures.json").is_file():
        with exclusive(f"demo:{root.name}"):
            if not (root / "figures.json").is_file():
                # leftovers of a killed generation (we hold the lock, so none is running)
                for stale in root.parent.glob(f".{root.name}.*-*"):
                    shutil.rmtree(stale, ignore_errors=True)
                generate_demo(root, seed, progress=True)
    return root


def load_demo(root: Path | None = None, seed: int = DEMO_SEED) -> Corpus:
    """Load the demo corpus (generating it into the cache when ``root`` is None)."""
    root = Path(root) if root is not None else demo_root(seed)
    figs_path = root / "figures.json"
    records = load_json(figs_path)
    if not isinstance(records, list):
        raise DatasetError(f"{figs_path} is missing or unreadable; delete {root} to regenerate the demo corpus.")
    meta = load_json(root / "metadata.json")
    if not isinstance(meta, dict):
        raise DatasetError(f"{root / 'metadata.json'} is missing or unreadable; delete {root} to regenerate it.")
    figures = []
    for rec in records:
        figures.append(Figure(
            id=str(rec["hashcode"]), path=root / "test" / "images" / f"{rec['hashcode']}.png",
            patent=str(rec.get("patent", "")), section=str(rec.get("section", "")),
            title=str(rec.get("title", "")), description=str(rec.get("description", "")),
            labels=parse_labels(rec.get("component_labels")), source="demo",
        ))
    order = {f.id: i for i, f in enumerate(figures)}
    queries = tuple(sorted((q for q in meta if q in order), key=order.__getitem__))
    qrels, files = {}, {}
    for axis in AXES:
        path = root / "test" / f"qrels_{axis}.txt"
        qrels[axis], _ = read_qrels(path)
        files[axis] = str(path)
    bench = Benchmark(queries=queries, candidates={}, qrels=qrels, qrels_files=files)
    return Corpus(name="demo", kind="demo", root=root, figures=tuple(figures), benchmark=bench, synthetic=True)
