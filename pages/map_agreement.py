"""Map page: neighbourhood agreement of the two encoders shown (colouring, histogram, the
figures they disagree on most, with A's and B's neighbours side by side)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import Corpus
from dashboard import services
from dashboard.components.cards import fig_label

COLOURING = "Shared neighbours"
K_KEY = "map_agree_k"
ON_KEY = "map_agree_on"
#: Jaccard bands, from disagreement (warm) to agreement (blue); colour-blind-safe RdBu.
BANDS = (("none shared (0)", "#b2182b"), ("< 0.25", "#ef8a62"), ("0.25 – 0.5", "#fddbc7"),
         ("0.5 – 0.75", "#92c5de"), ("≥ 0.75", "#2166ac"), ("not in both spaces", "#cfcfcf"))
PALETTE = dict(BANDS)
MOST = 24


def band_of(j: float) -> str:
    """The colour band of a Jaccard value."""
    if not np.isfinite(j):
        return BANDS[5][0]
    if j == 0:
        return BANDS[0][0]
    return BANDS[1 + min(3, int(j * 4))][0] if j < 0.75 else BANDS[4][0]


def k_control(n: int, where=st) -> int:
    """The neighbourhood size k (shared by the colouring and the section below), at most n - 1."""
    top = max(1, min(50, n - 1))
    if st.session_state.get(K_KEY, 0) > top:
        st.session_state[K_KEY] = top
    return int(where.number_input("Neighbours k", 1, top, min(10, top), key=K_KEY,
                                  help="How many nearest neighbours (in each encoder's own embedding space, "
                                       "exact cosine) are compared per figure."))


def agreement(corpus_spec: str, spec_a: str, spec_b: str, k: int, n: int) -> pd.DataFrame | None:
    """The agreement frame, with a spinner the first time (n² similarities per encoder); None,
    with the reason on the page, when it cannot be computed (too few figures)."""
    with st.spinner(f"Finding the {k} nearest neighbours of {n} figures in both spaces "
                    f"(about {services.map_agreement.agreement_seconds(corpus_spec):.0f} s, once; cached after)…"):
        try:
            return services.map_agreement.agreement_frame(corpus_spec, spec_a, spec_b, k)
        except ValueError as exc:
            st.info(f"Neighbourhood agreement: {exc}.", icon=":material/info:")
            return None


def groups(frame: pd.DataFrame, agree: pd.DataFrame) -> pd.Series:
    """Colour band of every map point (by figure id)."""
    j = dict(zip(agree["id"], agree["jaccard"]))
    return pd.Series([band_of(j.get(i, np.nan)) for i in frame["id"]])


def histogram(agree: pd.DataFrame, k: int):
    """Histogram of the Jaccard values (one bar per possible value s / (2k - s))."""
    import plotly.graph_objects as go

    j = agree["jaccard"].dropna()
    values = [s / (2 * k - s) for s in range(k + 1)]
    counts = [int((agree["shared"][agree["jaccard"].notna()] == s).sum()) for s in range(k + 1)]
    colours = [PALETTE[band_of(v)] for v in values]
    fig = go.Figure(go.Bar(x=values, y=counts, marker=dict(color=colours, line=dict(color="#555", width=0.5)),
                           width=0.8 / (k + 1) if k > 1 else 0.3,
                           customdata=list(range(k + 1)),
                           hovertemplate="%{customdata} of k shared · Jaccard %{x:.2f}<br>%{y} figures<extra></extra>"))
    fig.add_vline(x=float(j.mean()) if len(j) else 0, line=dict(color="#222", dash="dot"),
                  annotation_text=f"mean {j.mean():.2f}" if len(j) else "", annotation_position="top")
    fig.update_layout(height=260, margin=dict(l=0, r=0, t=24, b=0), plot_bgcolor="#fbfbfd", bargap=0.1)
    fig.update_xaxes(title="Jaccard of the two neighbour sets", range=[-0.05, 1.05])
    fig.update_yaxes(title="figures")
    return fig


def section(corpus: Corpus, corpus_spec: str, spec_a: str, spec_b: str | None, show_k: bool = True) -> None:
    """The 'Where the encoders agree on neighbours' section of the Map page (its own k control
    unless the colouring above shows it)."""
    st.subheader("Do the two encoders agree on each figure's neighbours?")
    if not spec_b:
        st.caption("Choose a second encoder under **Compare with** to compare neighbourhoods.")
        return
    if show_k and not st.toggle("Compare the neighbourhoods", key=ON_KEY,
                                help="Finds every figure's nearest neighbours in both embedding spaces (exact; "
                                     "once per corpus and encoder, then cached)."):
        st.caption(f"Per figure, how many of its nearest neighbours {services.encoder_label(spec_a)} and "
                   f"{services.encoder_label(spec_b)} share — and the figures where they disagree most. "
                   "Also a colouring of the maps (**Colour by**).")
        return
    la, lb = services.encoder_label(spec_a), services.encoder_label(spec_b)
    if show_k:
        c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
        with c1:
            k = k_control(len(corpus))
    else:  # the colouring above holds k
        k, c2 = int(st.session_state[K_KEY]), st
    c2.caption(f"For every figure: its {k} nearest neighbours under **{la}** and under **{lb}**, found in each "
               "encoder's own embedding space (exact cosine, not the 2-D map), and their overlap "
               "|A ∩ B| / |A ∪ B| (Jaccard): 1 = the same neighbours, 0 = none in common.")
    agree = agreement(corpus_spec, spec_a, spec_b, k, len(corpus))
    if agree is None:
        return
    valid = agree.dropna(subset=["jaccard"])
    if valid.empty:
        st.info("No figure is embedded by both encoders.")
        return
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Mean Jaccard", f"{valid['jaccard'].mean():.3f}")
    m2.metric("Median", f"{valid['jaccard'].median():.3f}")
    m3.metric("No neighbour shared", f"{(valid['shared'] == 0).mean():.0%}")
    m4.metric(f"All {k} shared", f"{(valid['shared'] == k).mean():.0%}")
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(histogram(valid, k), key="agree-hist", width="stretch")
    with right:
        disagreement_list(corpus, corpus_spec, valid, k)
    compare_neighbours(corpus, corpus_spec, spec_a, spec_b, valid, k)


def _worst(valid: pd.DataFrame) -> list[str]:
    order = np.lexsort((np.arange(len(valid)), valid["jaccard"].to_numpy()))
    return [valid["id"].iloc[i] for i in order[:MOST]]


def disagreement_list(corpus: Corpus, corpus_spec: str, valid: pd.DataFrame, k: int) -> None:
    """The figures whose neighbourhoods differ most (lowest Jaccard first)."""
    worst = _worst(valid)
    pictures = services.map_agreement.point_thumbs(corpus_spec, tuple(worst), 64)
    j = dict(zip(valid["id"], valid["jaccard"]))
    s = dict(zip(valid["id"], valid["shared"]))
    table = pd.DataFrame({
        "picture": [pictures.get(i) for i in worst],
        "Jaccard": [round(float(j[i]), 3) for i in worst],
        "shared": [f"{s[i]} of {k}" for i in worst],
        "figure": [fig_label(corpus, i) for i in worst],
    })
    st.markdown(f"**The {len(worst)} figures the encoders disagree on most**")
    st.dataframe(table, hide_index=True, width="stretch", height=300, row_height=56,
                 column_config={"picture": st.column_config.ImageColumn(" ", width="small")})


def compare_neighbours(corpus: Corpus, corpus_spec: str, spec_a: str, spec_b: str, valid: pd.DataFrame,
                       k: int) -> None:
    """A figure of the list with its neighbours under A and under B, side by side."""
    from dashboard.components.cards import figure_card

    worst = _worst(valid)
    fid = st.selectbox("Open a figure's neighbours", worst, key="map_agree_open",
                       format_func=lambda i: f"{fig_label(corpus, i)} — Jaccard "
                                             f"{float(valid.set_index('id').loc[i, 'jaccard']):.2f}")
    if not fid:
        return
    na, nb = services.map_agreement.neighbour_ids(corpus_spec, spec_a, spec_b, fid, k)
    both = set(na) & set(nb)
    q, a, b = st.columns([1, 3, 3])
    with q:
        st.markdown("**The figure**")
        figure_card(corpus.by_id[fid], key="agree-q", size=160, title_lines=2)
    for col, spec, ids in ((a, spec_a, na), (b, spec_b, nb)):
        with col:
            st.markdown(f"**{services.encoder_label(spec)}**: its {k} nearest · "
                        f"<span style='color:#2166ac'>■</span> also a neighbour under the other", unsafe_allow_html=True)
            per_row = 4
            show = ids[:12]
            for r in range(0, len(show), per_row):
                cells = st.columns(per_row)
                for cell, (rank, nid) in zip(cells, list(enumerate(show, 1))[r:r + per_row]):
                    with cell:
                        mark = "■ " if nid in both else ""
                        figure_card(corpus.by_id[nid], key=f"agree-{spec}", size=110, title_lines=1,
                                    header=f"{mark}#{rank}")
            if len(ids) > len(show):
                st.caption(f"… and {len(ids) - len(show)} more (first 12 shown).")
