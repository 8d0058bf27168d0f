"""Rendering: composing planned figures into sketches and rasterising them (stroke font, leaders, hatching)."""
from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np

from .catalog import CATALOG, ROUND_KINDS
from .geometry import Pt, Sketch, _band, _tf
from .housings import HOUSINGS, Housing
from .parts import draw_part
from .plan import FigurePlan, Invention

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
    h = HOUSINGS[inv.family](inv.ja, inv.jb, alt)
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


def png_bytes(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
