"""Matching a query against the cell grids of figures: per-cell heat and best-matching windows.

Two measures, both on the L2-normalised, ink-only cell features of ``core.explain.grids``:

* **cell heat** (a whole figure as the query): each ink cell ``j`` of the hit gets
  ``max_i cos(q_i, h_j)`` over the query's ink cells — "this part of the hit looks like some
  part of the query"; cells without ink get 0.
* **window match** (a region, a drawn component): the query is drawn alone on a white canvas
  at several sizes (``SCALES``: its longer side spanning that share of the grid, cell-aligned at
  the top-left), its cells form a template ``T`` of ``mh x mw`` cells, and every window ``W``
  of the same size on the hit scores ``<T, W> / (|T| |W|)``: the cosine of the concatenated
  cell features (blank cells are zero, so ink where the query has none lowers the score). The
  best window over all sizes is the match; its box is where the query is found.

Everything here is numpy on arrays the grids give; nothing is cached (``core.explain.parts``
and the dashboard cache).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grids import CellGrid, cell_grid

__all__ = ["SCALES", "Template", "WindowMatch", "canvas_size", "query_templates", "cell_heat", "window_scores",
           "best_windows", "window_heat", "match_in"]

#: Sizes at which a query is searched for: its longer side spans this share of the grid.
SCALES: tuple[float, ...] = (1.0, 0.75, 0.5, 0.375, 0.25)
#: A template spans at least this many cells on its longer side.
MIN_CELLS = 2


@dataclass(frozen=True)
class Template:
    """The query drawn at one size: ``feats`` ``(mh, mw, d)`` (blank cells zero)."""

    feats: np.ndarray
    scale: float

    @property
    def size(self) -> tuple[int, int]:
        return int(self.feats.shape[0]), int(self.feats.shape[1])


@dataclass(frozen=True)
class WindowMatch:
    """The best window on one figure: its cosine, template size and cell position."""

    score: float
    scale: float
    r0: int
    c0: int
    rows: int
    cols: int

    def box(self, grid_or_frame, shape: tuple[int, int] | None = None) -> tuple[float, float, float, float]:
        """The window as a box in the figure's normalised coordinates."""
        if isinstance(grid_or_frame, CellGrid):
            return grid_or_frame.cell_box(self.r0, self.c0, self.r0 + self.rows, self.c0 + self.cols)
        grid = CellGrid(np.zeros((*shape, 1), np.float32), np.zeros(shape, bool), tuple(grid_or_frame), "")
        return grid.cell_box(self.r0, self.c0, self.r0 + self.rows, self.c0 + self.cols)


def canvas_size(enc) -> int:
    """The side of the square image the encoder's grid is computed on."""
    from .grids import HOG_SIZE, spatial_support

    source, _ = spatial_support(enc)
    if source == "cells":
        return HOG_SIZE
    if source == "tokens":
        return int(enc.image_size)
    model = enc.load()
    if enc.protocol == "upair":
        return int(enc.upair_input()[0])
    from timm.data import resolve_model_data_config

    return int(resolve_model_data_config(model)["input_size"][-1])


def _ink_crop(image):
    """The image cropped to its ink (pixels darker than the grids' ink level); blank: as it is."""
    from ..encoders.classic import ink_bbox
    from .grids import INK_LEVEL

    gray = np.asarray(image.convert("L"))
    box = ink_bbox(gray < INK_LEVEL)
    if box is None:
        return image
    y0, y1, x0, x1 = box
    return image.crop((x0, y0, x1, y1))


def query_templates(enc, image, scales: tuple[float, ...] = SCALES, grid_shape: tuple[int, int] | None = None
                    ) -> list[Template]:
    """The query (a PIL image, cropped to its ink) drawn alone at each scale: one template each.

    At scale ``s`` its longer side spans ``round(s * g)`` cells of the ``g``-cell grid (at least
    ``MIN_CELLS``), its top-left corner on a cell corner, on a white canvas the encoder's size;
    the template is the cells it covers."""
    from PIL import Image

    side = canvas_size(enc)
    if grid_shape is None:
        grid_shape = cell_grid(enc, [Image.new("RGB", (side, side), "white")])[0].shape
    g = grid_shape[0]
    cell = side / g
    crop = _ink_crop(image.convert("RGB"))
    w, h = crop.size
    sizes = sorted({max(MIN_CELLS, min(g, round(s * g))) for s in scales}, reverse=True)
    canvases, blocks = [], []
    for m in sizes:
        longer = m * cell
        f = longer / max(w, h)
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        mw, mh = max(1, int(np.ceil(nw / cell - 1e-9))), max(1, int(np.ceil(nh / cell - 1e-9)))
        canvas = Image.new("RGB", (side, side), "white")
        canvas.paste(crop if (nw, nh) == (w, h) else crop.resize((nw, nh), Image.Resampling.BICUBIC), (0, 0))
        canvases.append(canvas)
        blocks.append((mh, mw, m / g))
    grids = cell_grid(enc, canvases)
    return [Template(np.ascontiguousarray(gr.feats[:mh, :mw]), s) for gr, (mh, mw, s) in zip(grids, blocks)]


def cell_heat(query: CellGrid, hit: CellGrid) -> np.ndarray:
    """``(rows, cols)`` heat over the hit: each ink cell's best cosine with a query ink cell (0..1)."""
    q = query.feats[query.ink]
    if not len(q) or not hit.ink.any():
        return np.zeros(hit.shape, np.float32)
    sims = hit.feats.reshape(-1, hit.feats.shape[-1]) @ q.T
    heat = sims.max(axis=1).reshape(hit.shape)
    return np.where(hit.ink, np.clip(heat, 0.0, 1.0), 0.0).astype(np.float32)


def _window_sums(a: np.ndarray, mh: int, mw: int) -> np.ndarray:
    """Sums of ``a`` ``(n, H, W)`` over every ``mh x mw`` window: ``(n, H-mh+1, W-mw+1)``."""
    t = np.zeros((a.shape[0], a.shape[1] + 1, a.shape[2] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(a, axis=1), axis=2, out=t[:, 1:, 1:])
    return t[:, mh:, mw:] - t[:, :-mh, mw:] - t[:, mh:, :-mw] + t[:, :-mh, :-mw]


def window_scores(tpl: Template, feats: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Cosine of the template with every window of its size on each figure.

    ``feats`` ``(n, H, W, d)`` and ``ink`` ``(n, H, W)`` of figures on one grid; returns float32
    ``(n, H-mh+1, W-mw+1)`` (0 where the window or the template has no ink)."""
    n, H, W, d = feats.shape
    mh, mw = tpl.size
    if mh > H or mw > W:
        return np.zeros((n, 0, 0), np.float32)
    U, V = H - mh + 1, W - mw + 1
    t = tpl.feats.reshape(mh * mw, d).astype(np.float32)
    keep = np.flatnonzero(np.abs(t).sum(1) > 0)
    tnorm = float(np.sqrt(len(keep)))
    if not len(keep):
        return np.zeros((n, U, V), np.float32)
    sims = feats.reshape(n * H * W, d).astype(np.float32, copy=False) @ t[keep].T  # (n*H*W, k)
    sims = sims.reshape(n, H, W, len(keep))
    acc = np.zeros((n, U, V), np.float32)
    for j, ab in enumerate(keep):
        a, b = divmod(int(ab), mw)
        acc += sims[:, a:a + U, b:b + V, j]
    wnorm = np.sqrt(_window_sums(ink.astype(np.float64), mh, mw))
    return np.where(wnorm > 0, acc / np.maximum(wnorm * tnorm, 1e-12), 0.0).astype(np.float32)


def best_windows(templates: list[Template], feats: np.ndarray, ink: np.ndarray) -> list[WindowMatch]:
    """Per figure the best window over every template (ties: the larger template, then the first)."""
    n = feats.shape[0]
    best = [WindowMatch(-np.inf, 0.0, 0, 0, 0, 0) for _ in range(n)]
    for tpl in templates:
        sc = window_scores(tpl, feats, ink)
        if sc.size == 0:
            continue
        flat = sc.reshape(n, -1)
        arg = flat.argmax(axis=1)
        for i in range(n):
            v = float(flat[i, arg[i]])
            if v > best[i].score + 1e-6:
                r0, c0 = divmod(int(arg[i]), sc.shape[2])
                best[i] = WindowMatch(v, tpl.scale, r0, c0, *tpl.size)
    return [b if np.isfinite(b.score) else WindowMatch(0.0, 0.0, 0, 0, 0, 0) for b in best]


def window_heat(templates: list[Template], hit: CellGrid) -> tuple[np.ndarray, WindowMatch]:
    """``(heat, best)`` over one hit: at the best template's size, each cell's heat is the best
    score of a window covering it (ink cells only); ``best`` is the best window."""
    feats, ink = hit.feats[None], hit.ink[None]
    best = best_windows(templates, feats, ink)[0]
    heat = np.zeros(hit.shape, np.float32)
    tpl = next((t for t in templates if t.scale == best.scale and t.size == (best.rows, best.cols)), None)
    if tpl is None or best.rows == 0:
        return heat, best
    sc = window_scores(tpl, feats, ink)[0]
    for r in range(sc.shape[0]):
        for c in range(sc.shape[1]):
            block = heat[r:r + best.rows, c:c + best.cols]
            np.maximum(block, sc[r, c], out=block)
    return np.where(hit.ink, np.clip(heat, 0.0, 1.0), 0.0).astype(np.float32), best


def match_in(enc, query_image, hit_image) -> tuple[np.ndarray, WindowMatch, CellGrid]:
    """Where the query (a component or region image) is found on one hit: (heat, best window, grid)."""
    hit = cell_grid(enc, [hit_image])[0]
    return (*window_heat(query_templates(enc, query_image, grid_shape=hit.shape), hit), hit)
