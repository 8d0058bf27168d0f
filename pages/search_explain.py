"""Where two figures agree, on the Search page: an "Explain" button per hit (the hit with a heatmap
of where it matches the query and the best-matching box), the same beside a whole patent's
figure, and part-level search (the query or its region found inside every figure, with the box).
``pages/search.py`` / ``search_widgets.py`` / ``search_examiner_panels.py`` call these in one line."""
from __future__ import annotations

import html

import streamlit as st

from core import Corpus
from core.explain.pair import HEAT_MEANING
from dashboard import examiner, services, session

OPEN = "_explain_open"
SOURCES = {"cells": "HOG cells", "tokens": "ViT patch tokens", "feature map": "the model's feature map"}  # {(query, spec, fid)} whose explanation is shown


def _region(query: str) -> tuple[float, float, float, float] | None:
    reg = examiner.region(query)
    return reg.as_tuple() if reg else None


def _toggle(key: tuple) -> None:
    opened = st.session_state.setdefault(OPEN, set())
    opened.symmetric_difference_update({key})


def explain_button(query: str | None, spec: str, fig, key: str) -> None:
    """A small "Explain" button among a hit's actions (nothing for a text query)."""
    if query is None:
        return
    on = (query, spec, fig.id) in st.session_state.get(OPEN, set())
    st.button("Hide" if on else "Explain", key=f"xp-{key}-{fig.id}", type="tertiary",
              icon=":material/visibility_off:" if on else ":material/center_focus_strong:",
              help="Hide the heatmap" if on else "Show where this hit matches the query (heatmap and box)",
              on_click=_toggle, args=((query, spec, fig.id),))


def hit_panel(corpus_spec: str, query: str | None, spec: str, fid: str) -> None:
    """The explanation of one hit, drawn under it when its Explain button is on."""
    if query is None or (query, spec, fid) not in st.session_state.get(OPEN, set()):
        return
    _picture(corpus_spec, query, spec, fid)


def _picture(corpus_spec: str, query: str, spec: str, fid: str, width="stretch") -> None:
    source, why = services.explain.support(spec)
    if not source:
        st.caption(f":material/block: No heatmap: {why}")
        return
    region = _region(query)
    with st.spinner("Matching regions…"):
        res = services.explain.explanation(corpus_spec, spec, query, region, fid)
    if "none" in res:
        st.caption(f":material/block: No heatmap: {res['none']}")
        return
    x0, y0, x1, y1 = res["box"]
    import base64

    # an <img>, not st.image: the compact grid caps its images at thumbnail height
    src = "data:image/png;base64," + base64.b64encode(res["png"]).decode("ascii")
    size = f"width:{width}px;max-width:100%" if isinstance(width, int) else "width:100%"
    st.markdown(f"<img src='{src}' alt='heatmap of where {html.escape(fid)} matches the query' "
                f"style='{size};border:1px solid #ddd;border-radius:4px'>", unsafe_allow_html=True)
    st.caption(f"{'Region' if region else 'Query'} best found at x {x0 * 100:.0f}–{x1 * 100:.0f} %, "
               f"y {y0 * 100:.0f}–{y1 * 100:.0f} % (window cosine {res['score']:.2f}; {SOURCES[source]}). "
               + HEAT_MEANING["window" if region else "cells"].capitalize() + ".")


def patent_compare(corpus: Corpus, query: str, fid: str) -> None:
    """In the whole-patent view: where the chosen figure agrees with the query, by one encoder
    (those of the results shown)."""
    corpus_spec = st.session_state.get("_ex_corpus", "")
    specs = list(st.session_state.get(examiner.RESULTS) or {})
    if not corpus_spec or fid == query:
        return
    usable = [s for s in specs if services.explain.support(s)[0]]
    if not st.toggle("Where this figure agrees with the query (heatmap)", key="xp-patent-on"):
        return
    if not usable:
        st.caption("None of the selected encoders has a spatial map (HOG, CLIP ViTs and timm models do).")
        return
    spec = st.selectbox("Encoder", usable, key="xp-patent-enc", format_func=services.encoder_label)
    _picture(corpus_spec, query, spec, fid, width=560)


# --------------------------------------------------------------------------- part-level search
def part_search_panel(corpus_spec: str, corpus: Corpus, query: str, encoders: tuple[str, ...], k: int) -> None:
    """The query (or its region) looked for inside every figure; each hit shows the matching box."""
    region = _region(query)
    what = "the region" if region else "the query"
    # a toggle, not an expander: an expander's body runs (and would search) even when closed
    if not st.toggle(f"Find {what} inside other figures (part-level search)", key="xp_parts_on"):
        return
    with st.container(border=True):
        usable = [s for s in encoders if services.explain.support(s)[0]]
        if not usable:
            st.caption("None of the selected encoders has a spatial map; select HOG, a CLIP ViT or a timm model.")
            return
        st.caption(f"Each figure's regions are compared with {what}, drawn at five sizes (100 % to 25 % of a "
                   "figure); the best window per figure is its score, and its box is drawn. A drawn component "
                   "finds figures where it is one small part.")
        missing = []
        for s in usable:
            have, total = services.explain.part_index_ready(corpus_spec, s)
            if have < total:
                missing.append((s, have, total))
        if missing:
            names = ", ".join(f"{services.encoder_label(s)} ({h}/{t} figures ready)" for s, h, t in missing)
            st.info(f"Part index needed for {names}: built once, cached on disk, resumable.",
                    icon=":material/build:")
            if not st.button("Build the part index", key="xp-build", icon=":material/build:"):
                return
            bar = st.progress(0.0, text="Reading figure regions…")
            for s, _, _ in missing:
                services.explain.build_with_progress(
                    corpus_spec, s, lambda d, t, s=s: bar.progress(d / max(t, 1),
                                                                   text=f"{services.encoder_label(s)}: {d}/{t} figures"))
            bar.empty()
            st.rerun()  # draw the panel again, now with every index ready
        cols = st.columns(max(len(usable), 3))  # one encoder: a third of the width, not thumbnails page-wide
        for col, spec in zip(cols, usable):
            with col:
                st.markdown(f"**{html.escape(services.encoder_label(spec))}**")
                with st.spinner("Searching regions…"):
                    res = services.explain.part_results(corpus_spec, spec, query, region, k)
                if "none" in res:
                    st.caption(f":material/block: {res['none']}")
                    continue
                for rank, h in enumerate(res["hits"], 1):
                    _part_hit(corpus_spec, corpus, rank, h, f"{spec}-{rank}")


def _part_hit(corpus_spec: str, corpus: Corpus, rank: int, h: dict, key: str) -> None:
    fig = corpus.by_id[h["figure"]]
    a, b = st.columns([1, 2], gap="small", vertical_alignment="center")
    a.image(services.explain.boxed_thumbnail(corpus_spec, fig.id, tuple(h["box"])), width="stretch",
            output_format="PNG")
    x0, y0, x1, y1 = h["box"]
    b.markdown(f"<div style='font-size:0.8em'><b>#{rank}</b> · <span title='cosine of the best window'>cosine "
               f"{h['score']:.3f}</span> · {html.escape(fig.patent or fig.id)}<br>box x {x0 * 100:.0f}–"
               f"{x1 * 100:.0f} %, y {y0 * 100:.0f}–{y1 * 100:.0f} %</div>", unsafe_allow_html=True)
    b.button("Use as query", key=f"xp-use-{key}-{fig.id}", type="tertiary", icon=":material/search:",
             on_click=session.push_query, args=(fig.id,))
