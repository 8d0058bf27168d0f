"""Search page: family copies folded into one card, and the reference numerals of the hits
(hover a numeral for the part it names; a part query marks where that part is drawn)."""
from __future__ import annotations

import base64
import html

import streamlit as st

from core.corpora import Corpus
from core.families import MAX_HASH_BITS, MIN_COSINE
from core.numerals import part_matches
from dashboard import services

FOLD_HELP = (f"Near-identical figures — the same drawing in a family's US/EP/WO/CN publications, or a re-scan: "
             f"perceptual hash within {MAX_HASH_BITS} of 64 bits and the encoder's cosine ≥ {MIN_COSINE:.2f} — "
             "are shown as one card, the best-ranked, with “+N family figures”. Off: every copy has its row.")
#: Hits whose numerals are read and drawn, best first across encoders.
NUMERAL_HITS = 6


def fold_families(corpus_spec: str, results: dict[str, dict], where=st) -> dict[str, dict]:
    """``results`` with each encoder's family copies folded into their best-ranked member (the
    switch, on by default, drawn in ``where``); a folded result carries ``families``
    {lead: [(copy, rank), ...]}."""
    if not where.toggle("Fold family copies", value=True, key="fold_families", help=FOLD_HELP):
        return results
    out = {}
    for spec, r in results.items():
        if r["error"] or len(r["ids"]) < 2:
            out[spec] = r
            continue
        fams = services.numerals.families(corpus_spec, spec, tuple(r["ids"]))
        rank = {fid: i + 1 for i, fid in enumerate(r["ids"])}
        leads = {lead for lead, _ in fams}
        keep = [i for i, fid in enumerate(r["ids"]) if fid in leads]
        out[spec] = dict(r, ids=[r["ids"][i] for i in keep], scores=[r["scores"][i] for i in keep],
                         families={lead: [(c, rank[c]) for c in copies] for lead, copies in fams if copies})
    return out


def family_badge(result: dict, fid: str) -> str:
    """The “+N family figures” mark of a folded hit ("" when it has no copies among the hits)."""
    copies = result.get("families", {}).get(fid)
    if not copies:
        return ""
    tip = html.escape("; ".join(f"{c} (rank {r})" for c, r in copies))
    n = len(copies)
    return f" · <b class='family' title='{tip}'>+{n} family figure{'s' * (n != 1)}</b>"


def _hits(results: dict[str, dict], n: int) -> list[str]:
    """The best ``n`` distinct figures across encoders, taken rank by rank."""
    out: list[str] = []
    depth = max((len(r["ids"]) for r in results.values() if not r["error"]), default=0)
    for rank in range(depth):
        for r in results.values():
            if not r["error"] and rank < len(r["ids"]) and r["ids"][rank] not in out:
                out.append(r["ids"][rank])
    return out[:n]


def numeral_figure(png: bytes, info: dict, query: str = ""):
    """A plotly figure of a drawing (``png``: the figure centred on a white square of its long
    side) with a hover marker on each numeral read (``14: spring``); numerals whose part
    matches ``query`` are boxed in red."""
    import plotly.graph_objects as go

    w, h = info["size"]
    side = max(w, h, 1)
    dx, dy = (side - w) // 2, (side - h) // 2
    fig = go.Figure()
    fig.add_layout_image(source="data:image/png;base64," + base64.b64encode(png).decode(), xref="x", yref="y",
                         x=0, y=0, sizex=side, sizey=side, sizing="stretch", layer="below")
    xs, ys, tips, colours = [], [], [], []
    for n in info["numerals"]:
        x0, y0, x1, y1 = (n["box"][0] + dx, n["box"][1] + dy, n["box"][2] + dx, n["box"][3] + dy)
        label = n["label"] or "not named in the description"
        hit = part_matches(n["label"], query)
        xs.append((x0 + x1) / 2)
        ys.append((y0 + y1) / 2)
        tips.append(f"<b>{html.escape(n['text'])}</b>: {html.escape(label)}")
        colours.append("#d62728" if hit else ("#1f77b4" if n["label"] else "#999999"))
        fig.add_shape(type="rect", x0=x0 - 2, y0=y0 - 2, x1=x1 + 2, y1=y1 + 2,
                      line={"color": colours[-1], "width": 3 if hit else 1.5},
                      fillcolor="rgba(214,39,40,0.18)" if hit else "rgba(0,0,0,0)")
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", hovertemplate="%{text}<extra></extra>", text=tips,
                                 marker={"size": 18, "color": colours, "opacity": 0.5, "symbol": "square-open",
                                         "line": {"width": 1}}))
    fig.update_yaxes(range=[side, 0], visible=False, scaleanchor="x", fixedrange=True)
    fig.update_xaxes(range=[0, side], visible=False, fixedrange=True)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=260, showlegend=False,
                      plot_bgcolor="white", dragmode=False)
    return fig


def _parts_line(info: dict) -> str:
    parts = info["parts"]
    if info["error"]:
        return f":material/broken_image: {info['error']}"
    if not info["numerals"]:
        return "No reference numerals read in this drawing."
    if not parts:
        return f"{len(info['numerals'])} numeral(s) read, none named in the description."
    return "**Parts:** " + " · ".join(f"{k} {v}" for k, v in parts)


def numerals_section(corpus_spec: str, corpus: Corpus, results: dict[str, dict]) -> None:
    """The switch "Reference numerals" and, when on, the best hits drawn with their numerals."""
    if not st.toggle("Reference numerals", value=False, key="show_numerals",
                     help="Read the numerals printed in the best hits' drawings (OCR, once per image) and name "
                          "each from the figure's description (“a housing 10 having a lid 12”). Hover a "
                          "numeral for its part; type a part to see where it is drawn."):
        return
    why = services.numerals.ocr_unavailable()
    if why:
        st.info(f"Reference numerals need an OCR engine: {why}", icon=":material/info:")
        return
    hits = _hits(results, NUMERAL_HITS)
    if not hits:
        return
    query = st.text_input("Find a part in the hits", key="numeral_part", placeholder="e.g. spring",
                          help="Marks, in red, the numerals whose part name has every word you type.").strip()
    with st.spinner(f"Reading the numerals of {len(hits)} figures…"):
        infos = services.numerals.figure_numerals(corpus_spec, tuple(hits))
    if query:
        found = [fid for fid in hits if any(part_matches(n["label"], query) for n in infos[fid]["numerals"])]
        st.caption(f"“{query}” is drawn (numeral read and named) in {len(found)} of {len(hits)} hits"
                   + (": " + ", ".join(corpus.by_id[f].patent or f for f in found) if found else "."))
    cols = st.columns(3)
    for i, fid in enumerate(hits):
        info, fig = infos[fid], corpus.by_id[fid]
        with cols[i % 3].container(border=True):
            st.markdown(f"**{html.escape(fig.patent or fid)}** · {html.escape(fid)}", help=fig.description or None)
            if not info["error"]:
                png = services.thumbnail(str(fig.path), max(info["size"]))
                st.plotly_chart(numeral_figure(png, info, query),
                                key=f"numerals-{fid}", config={"displayModeBar": False},
                                width="stretch")
            st.markdown(_parts_line(info))

