"""Why a hit matches a query: one explanation per (encoder, query, hit), and its picture.

``explain(enc, query_image, hit_image, region=None)``:

* the whole query figure → **cell heat** (each ink cell of the hit: its best cosine with any ink
  cell of the query) and, as the box, the best window of the query drawn alone (``match_in``);
* a region of the query (``region``, normalised box) → the region is cut out and searched for on
  the hit as a component (**window match**): the heat is the best window score covering each
  cell, the box is the best window.

``overlay(hit_image, explanation)`` draws the heat over the hit (transparent → yellow → red, its
opacity growing with the heat; only the better half of the hit's ink cells is coloured, relative to
its own best cell) and the box in blue, as a PNG the page and the CLI show.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .grids import spatial_support
from .match import cell_heat, match_in
from .grids import cell_grid

__all__ = ["Explanation", "explain", "overlay", "overlay_png", "HEAT_MEANING"]

#: One line for the page and the CLI: what the colours are.
HEAT_MEANING = {
    "cells": "red = cells of this figure whose local features match some part of the query best; "
             "blue box = where the query, drawn alone, fits best",
    "window": "red = cells covered by the best-matching windows for the region; blue box = the best window",
}


@dataclass(frozen=True)
class Explanation:
    """Heat ``(rows, cols)`` in 0..1 over the hit's grid, the grid's frame on the hit, the box
    (normalised x0, y0, x1, y1) where the query fits best with its cosine, and the mode."""

    heat: np.ndarray
    frame: tuple[float, float, float, float]
    box: tuple[float, float, float, float]
    score: float
    mode: str  # "cells" (whole query) or "window" (a region / component)
    source: str  # tokens, feature map, cells

    @property
    def peak(self) -> tuple[float, float]:
        """Centre (x, y, normalised on the hit) of the hottest cell (first in row order on ties)."""
        rows, cols = self.heat.shape
        r, c = np.unravel_index(int(np.argmax(self.heat)), self.heat.shape)
        fx0, fy0, fx1, fy1 = self.frame
        return fx0 + (fx1 - fx0) * (c + 0.5) / cols, fy0 + (fy1 - fy0) * (r + 0.5) / rows


def explain(enc, query_image, hit_image, region=None) -> Explanation:
    """The explanation of one hit for one query (see the module docstring).

    ``region`` is a ``core.examiner.Region`` (or anything with ``crop``) of the query, or None.
    Raises ``core.explain.NoSpatialMap`` for an encoder without a spatial map."""
    source, why = spatial_support(enc)
    if not source:
        from .grids import NoSpatialMap

        raise NoSpatialMap(why)
    part = region.crop(query_image) if region is not None else query_image
    heat, best, hit = match_in(enc, part, hit_image)
    box = best.box(hit)
    if region is None:
        qgrid = cell_grid(enc, [query_image])[0]
        return Explanation(cell_heat(qgrid, hit), hit.frame, box, best.score, "cells", source)
    return Explanation(heat, hit.frame, box, best.score, "window", source)


def _heat_rgba(heat: np.ndarray, size: tuple[int, int], frame, alpha: float):
    """The heat as an RGBA layer of ``size`` (w, h) over the image, placed by the grid's frame."""
    from PIL import Image

    h = np.clip(heat.astype(np.float32), 0.0, 1.0)
    # relative to this hit: the better half of its ink cells is coloured, the best one darkest
    lo = float(np.median(h[h > 0])) if (h > 0).any() else 0.0
    hi = float(h.max())
    t = np.clip((h - lo) / (hi - lo), 0.0, 1.0) if hi > lo else (h > 0).astype(np.float32)
    t = np.where(h > 0, t, 0.0)
    # transparent → yellow (255, 200, 0) → red (214, 39, 40)
    r = 255 + (214 - 255) * t
    g = 200 + (39 - 200) * t
    b = 0 + 40 * t
    a = np.where(t > 0, alpha * (0.2 + 0.8 * t), 0.0)
    layer = np.stack([r, g, b, a * 255], axis=-1).round().clip(0, 255).astype(np.uint8)
    w, hgt = size
    fx0, fy0, fx1, fy1 = frame
    px = (round(fx0 * w), round(fy0 * hgt), round(fx1 * w), round(fy1 * hgt))
    big = Image.fromarray(layer, "RGBA").resize((max(1, px[2] - px[0]), max(1, px[3] - px[1])),
                                                Image.Resampling.NEAREST)
    out = Image.new("RGBA", (w, hgt), (0, 0, 0, 0))
    out.paste(big, (px[0], px[1]))
    return out


def overlay(hit_image, ex: Explanation, alpha: float = 0.55, max_side: int = 640, box: bool = True):
    """The hit with the heat laid over it and the best box outlined: an RGB PIL image."""
    from PIL import Image, ImageDraw

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in 0..1, got {alpha}")
    im = hit_image.convert("RGB")
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side))
    base = im.convert("RGBA")
    base.alpha_composite(_heat_rgba(ex.heat, base.size, ex.frame, alpha))
    if box and ex.box[2] > ex.box[0] and ex.box[3] > ex.box[1]:
        w, h = base.size
        x0, y0, x1, y1 = ex.box
        width = max(2, round(max(w, h) / 160))
        ImageDraw.Draw(base).rectangle([x0 * w, y0 * h, x1 * w - 1, y1 * h - 1], outline=(0, 114, 178, 255),
                                       width=width)
    return base.convert("RGB")


def overlay_png(hit_image, ex: Explanation, alpha: float = 0.55, max_side: int = 640, box: bool = True) -> bytes:
    """``overlay`` as PNG bytes."""
    buf = io.BytesIO()
    overlay(hit_image, ex, alpha, max_side, box).save(buf, "PNG")
    return buf.getvalue()
