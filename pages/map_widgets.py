"""Widgets of the Map page: the encoder map (coloured, query starred, selection ringed),
point selection, and the joint image/text map."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import Corpus
from dashboard.components.palette import (CPC_SECTIONS, JUDGEMENT_COLOURS, JUDGEMENT_WORDS, OKABE_ITO,
                                          SECTION_COLOURS, section_name)

RELEVANCE_COLOURS = {JUDGEMENT_WORDS[j]: c for j, c in JUDGEMENT_COLOURS.items()}
RELEVANCE_COLOURS["unjudged"] = "#cfcfcf"
#: Colourings and what a figure needs for each to say something.
COLOURINGS = ("CPC section", "Patent", "Relevance to the query")


def colour_groups(corpus: Corpus, frame: pd.DataFrame, colour: str, axis: str | None,
                  query: str | None) -> tuple[pd.Series, str | None]:
    """(group of each point, None) or (…, why this colouring has no data here)."""
    if colour == "Patent":
        groups = frame["patent"]
        return groups, ("No figure has a patent number in this corpus." if (groups == "—").all() else None)
    if colour == "Relevance to the query":
        b = corpus.benchmark
        if b is None:
            return pd.Series(["unjudged"] * len(frame)), "This corpus has no judgements."
        if not query:
            return pd.Series(["unjudged"] * len(frame)), "Choose a query on the Search page to colour by relevance."
        if query not in b.queries or not any(query in ax for ax in b.qrels.values()):
            return pd.Series(["unjudged"] * len(frame)), \
                "The current query has no judgements (an upload, or not a benchmark query): nothing to colour."
        groups = pd.Series([JUDGEMENT_WORDS[b.judgement(axis or "visual", query, i)] for i in frame["id"]])
        return groups, None
    groups = frame["section"].map(section_name)
    return groups, ("No figure has a CPC section in this corpus." if (frame["section"] == "?").all() else None)


def thin_for_drawing(frame: pd.DataFrame):
    """(the rows drawn as markers, a density layer or None): above ``core.maps.MAX_DRAWN``
    points every point counts in a grey density layer and a bounded subset that keeps every
    region (outliers too) is drawn as markers, so hover and box/lasso act on what is drawn."""
    from dashboard.services.maps import thin_points

    xy = frame[["x", "y"]].to_numpy()
    drawn, dens = thin_points(xy)
    if dens is None:
        return frame, None
    import numpy as np
    import plotly.graph_objects as go

    counts, centres = dens
    layer = go.Heatmap(x=centres, y=centres, z=np.where(counts > 0, np.log1p(counts), np.nan), name="density",
                       colorscale="Greys", zmin=0, showscale=False, hoverinfo="skip", opacity=0.55)
    return frame.iloc[drawn], layer


def map_figure(corpus: Corpus, frame: pd.DataFrame, colour: str, axis: str | None, query: str | None,
               query_xy: tuple[float, float] | None, selected: set[str], query_name: str = "query",
               groups: pd.Series | None = None, palette: dict | None = None):
    """Plotly scatter of one encoder's map, coloured as asked (or by the given ``groups`` and
    ``palette``), selection ringed, the query a named star drawn last (above every point and ring)."""
    import plotly.graph_objects as go

    frame = frame.reset_index(drop=True).copy()
    if groups is None:
        groups, _ = colour_groups(corpus, frame, colour, axis, query)
    frame["group"] = groups.to_numpy()
    rank = {g: i for i, g in enumerate(palette)} if palette is not None else {}
    if palette is None:
        palette = (RELEVANCE_COLOURS if colour == "Relevance to the query" else
                   {section_name(k): v for k, v in SECTION_COLOURS.items()} if colour == "CPC section" else {})
    fig = go.Figure()
    drawn, layer = thin_for_drawing(frame)
    if layer is not None:
        fig.add_trace(layer)
    order = sorted(frame["group"].unique(), key=lambda g: (rank.get(g, len(rank)),
                                                           g in ("unjudged", section_name("?")), str(g)))
    # one pass over the drawn points (not a boolean mask and a frame copy per group: ~6 % of a served Map open)
    at = drawn.groupby("group", sort=False).indices
    xs, ys = drawn["x"].to_numpy(), drawn["y"].to_numpy()
    hover = drawn[["id", "patent", "title"]].to_numpy()
    none = np.zeros(0, dtype=np.intp)
    for g in order:
        rows = at.get(g, none)
        muted = g in ("unjudged", section_name("?"))
        fig.add_trace(go.Scattergl(
            x=xs[rows], y=ys[rows], mode="markers", name=str(g),
            marker=dict(size=(5 if muted else 7) if layer is None else 3, color=palette.get(g),
                        opacity=0.85 if layer is None else 0.5, line=dict(width=0.5 if layer is None else 0, color="white")),
            customdata=hover[rows],
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<extra></extra>",
        ))
    if selected:
        part = frame[frame["id"].isin(selected)]
        fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name="selected", hoverinfo="skip",
                                   marker=dict(size=11, color="rgba(0,0,0,0)", line=dict(width=1.2, color="#222"))))
    if query_xy is not None:
        # SVG scatter is drawn above the WebGL layer, so the star stays on top of dense clusters.
        short = query_name.split(" · ")[0][:28]
        fig.add_trace(go.Scatter(x=[query_xy[0]], y=[query_xy[1]], mode="markers", name="query",
                                 text=[query_name], hoverinfo="text",
                                 marker=dict(symbol="star", size=22, color=OKABE_ITO["yellow"],
                                             line=dict(width=2, color="black"))))
        fig.add_annotation(x=query_xy[0], y=query_xy[1], text=f"★ query: {short}", showarrow=True, arrowhead=0,
                           ax=0, ay=-34, bgcolor="rgba(255,255,255,0.9)", bordercolor="#333", borderwidth=1,
                           font=dict(size=12, color="black"))
    n_legend = len(order)
    fig.update_layout(height=560, margin=dict(l=0, r=0, t=10, b=0), dragmode="lasso",
                      legend=dict(orientation="h", y=-0.02, yanchor="top", font=dict(size=12),
                                  itemsizing="constant"),
                      showlegend=n_legend <= 24, plot_bgcolor="#fbfbfd",
                      shapes=[dict(type="rect", xref="paper", yref="paper", x0=0, y0=0, x1=1, y1=1,
                                   line=dict(color="#e3e3e8", width=1))])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig


def selected_ids(event) -> list[str] | None:
    """Figure ids of the points picked with box or lasso (None when nothing was picked)."""
    try:
        points = event.selection.points if event else []
    except AttributeError:
        points = (event or {}).get("selection", {}).get("points", [])
    if not points:
        return None
    ids = []
    for p in points:
        cd = p.get("customdata")
        if cd:
            ids.append(cd[0])
    return list(dict.fromkeys(ids))


def joint_figure(frame: pd.DataFrame):
    """Joint image/text map: figures as dots, texts as crosses, a faint line for each pair."""
    import plotly.graph_objects as go

    fig = go.Figure()
    figs = frame[frame["kind"] == "figure"].reset_index(drop=True)
    texts = frame[frame["kind"] != "figure"].reset_index(drop=True)
    xs, ys = [], []
    for (x0, y0), (x1, y1) in zip(figs[["x", "y"]].to_numpy(), texts[["x", "y"]].to_numpy()):
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    fig.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", line=dict(width=0.5, color="rgba(120,120,120,0.25)"),
                               hoverinfo="skip", showlegend=False))
    for part, name, symbol, colour in ((figs, "figure image", "circle", OKABE_ITO["blue"]),
                                       (texts, f"{texts['kind'].iloc[0] if len(texts) else 'text'} text", "x",
                                        OKABE_ITO["orange"])):
        fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name=name,
                                   marker=dict(size=7, symbol=symbol, color=colour, opacity=0.8),
                                   customdata=part[["title", "text"]].to_numpy(),
                                   hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"))
    fig.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0), plot_bgcolor="white",
                      legend=dict(orientation="h", y=-0.05, font=dict(size=12)))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig


__all__ = ["COLOURINGS", "CPC_SECTIONS", "colour_groups", "map_figure", "selected_ids", "joint_figure"]
