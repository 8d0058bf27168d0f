"""What is drawn over a map besides the points: pictures at a spread-out sample of points,
and judged pairs as lines.

:func:`spread_sample` picks at most ``cap`` points of a region so that their pictures do not
overlap: the region is cut into square cells the size of one picture, each occupied cell offers
the point nearest its centre, and these candidates are taken cells nearest the region's centre
first, each only if its picture (a square of one cell's side centred on the point, drawn
``FILL`` of that size) overlaps none taken before. The pictures are then drawn at their points.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .corpora.base import AXES, Corpus

#: Pictures drawn on one map at most (each is a data URI in the page).
MAX_PICTURES = 150
#: A picture is drawn this share of a cell wide, so two accepted ones keep a small gap.
FILL = 0.94


def spread_sample(xy: np.ndarray, box: tuple[float, float, float, float] | None = None, across: int = 12,
                  cap: int = MAX_PICTURES) -> tuple[np.ndarray, float]:
    """(row indices of the points to draw as pictures, the picture's side in map units).

    ``box`` is (x0, x1, y0, y1), the whole map's extent when None; ``across`` pictures fit
    along its longer side. Points outside the box or with no position are never chosen.
    """
    if isinstance(across, bool) or not isinstance(across, (int, np.integer)) or across < 1:
        raise ValueError(f"across must be a whole number of at least 1 (got {across!r})")
    if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or cap < 0:
        raise ValueError(f"cap must be a non-negative whole number (got {cap!r})")
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    ok = np.isfinite(xy).all(axis=1)
    if box is None:
        if not ok.any():
            return np.zeros(0, dtype=np.int64), 0.0
        lo, hi = xy[ok].min(axis=0), xy[ok].max(axis=0)
    else:
        x0, x1, y0, y1 = (float(v) for v in box)
        lo, hi = np.array([min(x0, x1), min(y0, y1)]), np.array([max(x0, x1), max(y0, y1)])
    inside = ok & np.all(xy >= lo, axis=1) & np.all(xy <= hi, axis=1) if ok.any() else ok
    rows = np.flatnonzero(inside)
    side = float(max(hi - lo)) / across if len(rows) else 0.0
    if not len(rows) or cap == 0:
        return np.zeros(0, dtype=np.int64), side
    if side <= 0:  # every point at one place: one picture
        return rows[:1], 1.0 / across
    cell = np.floor((xy[rows] - lo) / side).astype(np.int64)
    centre = (cell + 0.5) * side + lo
    dist = np.hypot(*(xy[rows] - centre).T)
    cid = cell[:, 0] * (across + 2) + cell[:, 1]
    order = np.lexsort((rows, dist, cid))  # per cell: the point nearest its centre, then lower row
    first = order[np.r_[True, cid[order][1:] != cid[order][:-1]]]
    mid = (lo + hi) / 2.0
    offered = first[np.lexsort((rows[first], np.hypot(*(centre[first] - mid).T)))]
    taken: list[int] = []
    pts = xy[rows]
    for c in offered:
        if len(taken) >= cap:
            break
        if taken and np.abs(pts[taken] - pts[c]).max(axis=1).min() < side * FILL:
            continue  # its picture would overlap one already taken
        taken.append(int(c))
    return np.sort(rows[np.array(taken, dtype=np.int64)]), side


def judged_pairs(corpus: Corpus, axis: str, relevant: bool = True) -> list[tuple[str, str]]:
    """(query, candidate) pairs of the corpus's benchmark judged on ``axis``: the relevant
    ones (judgement > 0) or the judged-not-relevant ones; both figures must be in the corpus."""
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}; axes: {', '.join(AXES)}")
    b = corpus.benchmark
    if b is None:
        return []
    out = []
    for q, docs in b.qrels.get(axis, {}).items():
        for d, rel in docs.items():
            if (rel > 0) == relevant and q in corpus.by_id and d in corpus.by_id and d != q:
                out.append((q, d))
    return out


def segments(pairs: Sequence[tuple[str, str]], position: dict[str, int], xy: np.ndarray
             ) -> tuple[list[float | None], list[float | None], int]:
    """Plotly line coordinates (x, y with None between segments) of the pairs whose two figures
    both have a place on the map, and how many pairs that is."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    n = 0
    for q, d in pairs:
        i, j = position.get(q), position.get(d)
        if i is None or j is None or not (np.isfinite(xy[i]).all() and np.isfinite(xy[j]).all()):
            continue
        xs += [float(xy[i, 0]), float(xy[j, 0]), None]
        ys += [float(xy[i, 1]), float(xy[j, 1]), None]
        n += 1
    return xs, ys, n
