"""Map page: pictures drawn at the points (a spread-out sample of the map, or of the selected
region, zoomed in), and judged pairs drawn as lines between their two figures.

Pictures are Plotly layout images (PNG data URIs) placed at the points' data coordinates,
one grid cell wide (``core.map_overlays.spread_sample``), at most ``MAX_PICTURES`` a map.
A Plotly zoom reports nothing to Python in Streamlit, so "the visible region" is the region of
the current box/lasso selection: the map zooms to it and the pictures are drawn there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core import Corpus
from core.corpora import AXES, AXIS_LABELS
from core.map_overlays import FILL, MAX_PICTURES, segments, spread_sample
from dashboard import services

DOTS, SPREAD, REGION = "Dots", "Pictures", "Selection, zoomed"
SIZES = {"small": 12, "medium": 8, "large": 5}  # pictures across the map's longer side
PICTURE_PX = 96


@dataclass(frozen=True)
class Overlay:
    """What to draw over each map."""

    points: str = DOTS
    across: int = SIZES["medium"]
    pairs: tuple[tuple[str, str], ...] = ()
    pair_note: str = ""


def controls(corpus: Corpus, corpus_spec: str, has_selection: bool) -> Overlay:
    """The 'Points as' and 'Judged pairs' controls above the maps."""
    c1, c2, c3, c4 = st.columns([3.4, 1.3, 2.2, 1.8], vertical_alignment="bottom")
    points = c1.segmented_control("Points as", [DOTS, SPREAD, REGION], default=DOTS, key="map_points",
                                  help=f"Pictures: at most {MAX_PICTURES} drawings a map, spread over it so that they do "
                                       "not overlap. 'Selection, zoomed': box- or lasso-select an area first; the "
                                       "map zooms to it and draws its pictures.") or DOTS
    across = SIZES[c2.selectbox("Picture size", list(SIZES), index=1, key="map_picture_size",
                                disabled=points == DOTS)]
    if points == REGION and not has_selection:
        st.caption("Box- or lasso-select an area of a map to see its pictures (pictures across the map until then).")
    pairs, note = (), ""
    b = corpus.benchmark
    if b is not None:
        choice = c3.selectbox("Judged pairs as lines", ["(none)"] + list(AXES), key="map_pairs_axis",
                              format_func=lambda a: a if a == "(none)" else f"relevant on {AXIS_LABELS[a].lower()}",
                              help="Join each benchmark query to every candidate judged relevant on this axis: "
                                   "short lines mean the encoder places them close.")
        if choice != "(none)":
            kind = c4.radio("Which", ["relevant", "not relevant"], key="map_pairs_kind", horizontal=True,
                            label_visibility="collapsed")
            pairs = tuple(services.map_agreement.judged_pairs(corpus_spec, choice, kind == "relevant"))
            note = f"{kind} on {AXIS_LABELS[choice].lower()}"
    return Overlay(points, across, pairs, note)


def _region(frame: pd.DataFrame, selected: set[str]) -> tuple[float, float, float, float] | None:
    part = frame[frame["id"].isin(selected)][["x", "y"]].to_numpy(dtype=np.float64)
    part = part[np.isfinite(part).all(axis=1)]
    if len(part) == 0:
        return None
    lo, hi = part.min(axis=0), part.max(axis=0)
    pad = max(0.04, 0.08 * float(max(hi - lo)))
    return lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad


def decorate(fig, corpus_spec: str, frame: pd.DataFrame, overlay: Overlay, selected: set[str]) -> str:
    """Draw the overlay on one map's figure; returns a caption line saying what was drawn."""
    notes = []
    if overlay.pairs:
        notes.append(add_pair_lines(fig, frame, overlay))
    if overlay.points != DOTS:
        box = _region(frame, selected) if overlay.points == REGION and selected else None
        notes.append(add_pictures(fig, corpus_spec, frame, overlay.across, box))
    return " ".join(n for n in notes if n)


def add_pictures(fig, corpus_spec: str, frame: pd.DataFrame, across: int,
                 box: tuple[float, float, float, float] | None) -> str:
    """Layout images at a spread sample of the points (of ``box`` when given, zoomed to it)."""
    xy = frame[["x", "y"]].to_numpy(dtype=np.float64)
    rows, side = spread_sample(xy, box, across=across)
    ids = frame["id"].to_numpy()[rows]
    uris = services.map_agreement.point_thumbs(corpus_spec, tuple(ids), PICTURE_PX)
    n = place_images(fig, xy[rows], ids, side, uris)
    if box is not None:
        fig.update_xaxes(range=[box[0], box[1]], autorange=False)
        fig.update_yaxes(range=[box[2], box[3]], autorange=False)
        return f"{n} pictures of the selected region (double-click the map to zoom back out)."
    return f"{n} pictures spread over the map."


def place_images(fig, xy: np.ndarray, ids, side: float, uris: dict[str, str]) -> int:
    """Put the pictures ``uris[id]`` on ``fig`` centred at ``xy``, ``side`` map units wide
    (a little less, so neighbouring pictures keep a gap); returns how many were placed."""
    images = [dict(source=uris[i], xref="x", yref="y", x=float(x), y=float(y),
                   sizex=side * FILL, sizey=side * FILL, xanchor="center", yanchor="middle",
                   layer="above", sizing="contain", opacity=1.0)
              for (x, y), i in zip(xy, ids) if i in uris]
    fig.update_layout(images=images)
    return len(images)


def add_pair_lines(fig, frame: pd.DataFrame, overlay: Overlay) -> str:
    """A line per judged pair (query → candidate), under the points, and how long they are."""
    import plotly.graph_objects as go

    position = {i: r for r, i in enumerate(frame["id"])}
    xy = frame[["x", "y"]].to_numpy(dtype=np.float64)
    xs, ys, n = segments(overlay.pairs, position, xy)
    if not n:
        return f"No {overlay.pair_note} pair has both figures on this map."
    fig.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", name=f"judged pairs ({overlay.pair_note})",
                               line=dict(width=1.2, color="rgba(213,94,0,0.55)"), hoverinfo="skip"))
    fig.data = (fig.data[-1],) + tuple(fig.data[:-1])  # below every point
    lengths = [np.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]) for i in range(0, len(xs), 3)]
    ok = xy[np.isfinite(xy).all(axis=1)]
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(ok), 2000), rng.integers(0, len(ok), 2000)
    typical = float(np.median(np.hypot(*(ok[a] - ok[b]).T))) if len(ok) > 1 else 0.0
    return (f"{n} judged pairs ({overlay.pair_note}) drawn: median line {np.median(lengths):.2f} "
            f"map units, against {typical:.2f} between two random figures.")
