"""Widgets of the Sample page: band charts, legend, candidate cards (the draws: ``dashboard.services.sampling``)."""
from __future__ import annotations

import html

import streamlit as st

from core import Corpus
from core.annotation.sampling import QueryDraw, SampleRun
from core.annotation.sampling.options import SAMPLING_PROTOCOLS
from core.annotation.sampling.sampler import Candidate, GroupDraw
from dashboard import services
from dashboard.components.palette import OKABE_ITO

#: Colour of each group's band, and of the cited candidates.
GROUP_COLOURS = {"easy_positive": OKABE_ITO["blue"], "hard_positive": OKABE_ITO["sky"],
                 "easy_negative": OKABE_ITO["vermillion"], "hard_negative": OKABE_ITO["orange"],
                 "cited": OKABE_ITO["green"]}
#: Short names of the merge cases for the table, and what they mean.
CASE_SHORT = {"all-index intersection": "in every index", "intersection + description ∩ visual":
              "in every index + desc & visual", "union of samples per index": "union"}
CASE_HELP = ("**in every index**: at least 5 figures in every index's band, scores summed over all indices; "
             "**in every index + desc & visual**: fewer, plus figures in both the description and the visual band "
             "(description score only); **union**: none, so up to 1000 sampled per index, scores summed where "
             "they meet.")
#: Sampling protocol → label for the selector.
PROTOCOL_LABELS = {"upair": "UPAIR (reference)", "fast-scores": "Fast scores", "clean": "Clean (project)"}
GROUP_TITLES = {"cited": "Cited", "easy_positive": "Easy positive", "hard_positive": "Hard positive",
                "easy_negative": "Easy negative", "hard_negative": "Hard negative"}


def band_label(band) -> str:
    """A percentile band as a reader writes it: "97–100", not the config's "97.000–100.000"."""
    return f"{float(band.lower):g}–{float(band.upper):g}"


def band_chart(qd: QueryDraw, run: SampleRun, index: str):
    """Plotly bar chart of one index's similarity histogram with each group's band shaded."""
    import plotly.graph_objects as go

    t = qd.thresholds[index]
    role = run.config.index(index)
    edges, counts = t.hist_edges, t.hist_counts
    mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(x=mids, y=counts, width=[b - a for a, b in zip(edges[:-1], edges[1:])],
                           marker_color="#bdbdbd", hovertemplate="similarity %{x:.3f}<br>%{y} figures<extra></extra>",
                           showlegend=False))
    for g in run.config.groups:
        band = g.band_for(role)
        fig.add_vrect(x0=t.values[band.lower], x1=t.values[band.upper], fillcolor=GROUP_COLOURS[g.name],
                      opacity=0.3, line_width=0, layer="below")
    kind = "text" if role.is_text else "image"
    fig.update_layout(title=dict(text=f"{index} · {role.encoder} · {role.field} ({kind} bands)", font=dict(size=13)),
                      height=250, margin=dict(l=10, r=10, t=36, b=36), bargap=0, plot_bgcolor="white",
                      xaxis=dict(title=dict(text="similarity to the query", font=dict(size=10)), showgrid=False,
                                 zeroline=False, linecolor="#999"),
                      yaxis=dict(title=dict(text="figures", font=dict(size=10)), showgrid=True, gridcolor="#eee"))
    return fig


def legend_html(run: SampleRun) -> str:
    """Colour chips naming each group's bands (text band / image band)."""
    chips = []
    for g in run.config.groups:
        chips.append(f"<span style='display:inline-block;margin:0 14px 4px 0;font-size:0.85em'>"
                     f"<span style='display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:5px;"
                     f"background:{GROUP_COLOURS[g.name]};opacity:0.55;border-radius:2px'></span>"
                     f"<b>{GROUP_TITLES[g.name]}</b> text {band_label(g.text)} · image {band_label(g.image)}</span>")
    return ("<div>" + "".join(chips) + "<span style='font-size:0.8em;color:#666'>percentiles; bands that share a "
            "range overlap and their colours mix</span></div>")


def _scores_html(c: Candidate, order: list[str]) -> str:
    cells = []
    for name in order:
        s = c.scores.get(name)
        txt = f"{name} {s:.2f}" if s is not None else name
        cells.append(f"<b>{html.escape(txt)}</b>" if name in c.drawn_by else html.escape(txt))
    return " · ".join(cells)


def candidate_card(corpus: Corpus, c: Candidate, order: list[str], why: str, key: str) -> None:
    """A candidate's thumbnail, summed score, its score on every index (bold: drew it) and why."""
    fig = corpus.by_id[c.id]
    st.image(services.thumbnail(str(fig.path), 220), width="stretch", output_format="PNG")
    st.markdown(f"<div style='font-size:0.8em;line-height:1.3'><b>Σ {c.score:.3f}</b> · "
                f"{html.escape(fig.patent or c.id[:12])}<br>{_scores_html(c, order)}<br>"
                f"<span style='color:#555'>{html.escape(why)}</span></div>", unsafe_allow_html=True)
    st.markdown(f"<div title='{html.escape(fig.title)}' style='font-size:0.75em;color:#333;"
                f"white-space:nowrap;overflow:hidden;text-overflow:ellipsis'>{html.escape(fig.title)}</div>",
                unsafe_allow_html=True)


def why_kept(g: GroupDraw, c: Candidate) -> str:
    """One line: which bands admitted the candidate and under which merge case."""
    return (f"in band: {', '.join(c.drawn_by)} · {CASE_SHORT.get(g.case, g.case)}"
            + ("" if g.deduplicated else " · ≤ 5 candidates, kept without dedup"))


def grid(corpus: Corpus, items: list[tuple[Candidate, str]], order: list[str], key: str, columns: int = 6) -> None:
    """Candidate cards in rows of ``columns``."""
    for start in range(0, len(items), columns):
        cols = st.columns(columns)
        for col, (c, why) in zip(cols, items[start:start + columns]):
            with col:
                candidate_card(corpus, c, order, why, f"{key}-{c.id}")


def protocol_help() -> str:
    """What each sampling protocol changes, for the selector's help."""
    out = []
    for name, opts in SAMPLING_PROTOCOLS.items():
        diff = opts.differences()
        out.append(f"**{PROTOCOL_LABELS.get(name, name)}**: " + (", ".join(diff) if diff else
                                                                 "every choice as the reference (faiss scores)"))
    return "\n\n".join(out)


def best_match_rows(qd: QueryDraw, run: SampleRun) -> list[dict]:
    """Per index: the query's best-scoring figure, its float32 score, the top percentile
    threshold (rounded to 6 decimals, as the reference rounds it) and where the figure fell."""
    rows = []
    for r in run.config.indices:
        b = qd.best.get(r.name)
        if b is None:
            continue
        where = ("above the threshold: in no band" if b.above_top else
                 "in " + ", ".join(GROUP_TITLES[g] for g in b.bands) if b.bands else "in no band")
        rows.append({"index": r.name, "best match": ("the query itself" if b.id == qd.query.id else b.id),
                     "score (float32)": f"{b.score:.7f}",
                     f"{run.config.percentiles[0]} pct. threshold": "—" if b.top is None else f"{b.top:.6f}",
                     "where it fell": where})
    return rows
