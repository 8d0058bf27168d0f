"""Reusable display pieces: figure cards and grids, judgement badges, summaries."""
from __future__ import annotations

import html
from typing import Callable

import pandas as pd
import streamlit as st

from core import Corpus, Figure
from core.corpora import AXES, AXIS_LABELS

from . import state

BADGE_COLOURS = {1: "#1b7f3b", 0: "#b3261e", None: "#9e9e9e"}


def corpus_summary(corpus: Corpus) -> None:
    """Headline numbers of a corpus."""
    cols = st.columns(5)
    cols[0].metric("Figures", f"{len(corpus):,}")
    cols[1].metric("Patents", f"{len({f.patent for f in corpus.figures if f.patent}):,}")
    cols[2].metric("CPC sections", "".join(corpus.sections) or "—")
    b = corpus.benchmark
    cols[3].metric("Benchmark queries", f"{len(b.queries):,}" if b else "—")
    cols[4].metric("Judged axes", len(b.qrels) if b else "—")
    st.caption(f"`{corpus.name}` · {corpus.kind}")


def encoder_table(status: list[dict], selected: tuple[str, ...]) -> None:
    """Status of every known encoder, unavailable ones with the reason and the fix."""
    df = pd.DataFrame(status)
    df["status"] = df.apply(lambda r: ("in use" if r["spec"] in selected else "available")
                            if r["available"] else "unavailable", axis=1)
    st.dataframe(df[["label", "kind", "status", "reason", "fix", "spec"]], hide_index=True,
                 width="stretch",
                 column_config={"label": "Encoder", "reason": "Why not", "fix": "How to fix", "spec": "Spec"})


def badges(judgements: dict[str, int | None]) -> str:
    """HTML V / S / P badges: green relevant, red not relevant, grey unjudged."""
    out = []
    for axis in AXES:
        j = judgements.get(axis)
        word = {1: "relevant", 0: "not relevant", None: "unjudged"}[j]
        out.append(f"<span title='{AXIS_LABELS[axis]}: {word}' style='display:inline-block;min-width:1.4em;"
                   f"text-align:center;border-radius:4px;margin-right:2px;font-size:0.75em;font-weight:600;"
                   f"color:white;background:{BADGE_COLOURS[j]}'>{axis[0].upper()}</span>")
    return "".join(out)


def figure_caption(fig: Figure) -> str:
    """Patent number (linked to Espacenet) and CPC section as markdown."""
    pat = f"[{fig.patent}]({fig.espacenet_url})" if fig.patent else "—"
    return f"{pat}" + (f" · {fig.section}" if fig.section else "")


def figure_card(fig: Figure, *, header: str = "", extra_html: str = "", button: str | None = None,
                key: str = "", on_click: Callable[[str], None] | None = None) -> None:
    """A thumbnail with header line, patent link, title on hover and an optional button."""
    if header or extra_html:
        st.markdown(f"<div style='font-size:0.85em'>{header} {extra_html}</div>", unsafe_allow_html=True)
    st.image(state.thumbnail(str(fig.path)), width="stretch")
    st.markdown(f"<div title='{html.escape(fig.title)}' style='font-size:0.8em;line-height:1.2'>"
                f"{html.escape(fig.title[:60]) + ('…' if len(fig.title) > 60 else '')}</div>",
                unsafe_allow_html=True)
    st.caption(figure_caption(fig))
    if button and on_click:
        st.button(button, key=f"{key}-{fig.id}", on_click=on_click, args=(fig.id,), width="stretch")


def figure_details(fig: Figure) -> None:
    """Full metadata of one figure."""
    st.markdown(f"**{fig.title or fig.id}**")
    st.markdown(figure_caption(fig))
    if fig.description:
        st.markdown(f"_{fig.description.strip()}_")
    if fig.labels:
        st.caption("Components: " + ", ".join(fig.labels[:30]) + (" …" if len(fig.labels) > 30 else ""))
    st.caption(f"id `{fig.id}`")


def use_as_query(fid: str) -> None:
    """Callback: make a corpus figure the current search query and go to the search page."""
    state.push_query(fid)
    st.session_state["_goto_search"] = True


def follow_search_request() -> None:
    """Go to the search page when a card's button asked for it in this run."""
    if st.session_state.pop("_goto_search", False):
        st.switch_page(state.pages()["search"])


def figure_browser(corpus: Corpus, key: str, per_page: int = 24, columns: int = 6) -> None:
    """Filterable, paginated thumbnail grid; each card can become the search query."""
    c1, c2, c3 = st.columns([2, 1, 1])
    text = c1.text_input("Filter by title, description or label", key=f"{key}-filter")
    sections = c2.multiselect("CPC section", corpus.sections, key=f"{key}-sections")
    only_q = c3.toggle("Benchmark queries only", key=f"{key}-onlyq", disabled=corpus.benchmark is None)
    figs = list(corpus.figures)
    if text:
        t = text.lower()
        figs = [f for f in figs if t in f.title.lower() or t in f.description.lower()
                or any(t in lab.lower() for lab in f.labels) or t in f.patent.lower()]
    if sections:
        figs = [f for f in figs if f.section in sections]
    if only_q and corpus.benchmark:
        qs = set(corpus.benchmark.queries)
        figs = [f for f in figs if f.id in qs]
    pages = max(1, -(-len(figs) // per_page))
    page = st.number_input(f"Page (of {pages}; {len(figs)} figures)", 1, pages, 1, key=f"{key}-page")
    show = figs[(page - 1) * per_page: page * per_page]
    for row in range(0, len(show), columns):
        cols = st.columns(columns)
        for col, fig in zip(cols, show[row:row + columns]):
            with col:
                figure_card(fig, button="Search with this", key=f"{key}-use", on_click=use_as_query)
    follow_search_request()


def _fig_label(corpus: Corpus, fid: str) -> str:
    f = corpus.by_id.get(fid)
    if f is None:
        return "uploaded figure"
    return f"{f.patent or f.id[:12]} · {f.title[:60]}"


def example_picker(corpus: Corpus) -> None:
    """Pick a query from the corpus (benchmark queries first)."""
    qs = list(corpus.benchmark.queries) if corpus.benchmark else []
    others = [f.id for f in corpus.figures if f.id not in set(qs)]
    options = qs + others
    st.caption(f"{len(qs)} benchmark queries (with judgements) listed first." if qs else
               "This corpus has no judgements; any figure can be a query.")

    def picked() -> None:
        state.push_query(st.session_state["example_pick"])

    st.selectbox("Figure", options, index=None, key="example_pick", on_change=picked,
                 format_func=lambda fid: ("★ " if fid in set(qs) else "") + _fig_label(corpus, fid),
                 placeholder="Choose a figure…")
    st.caption("Or press **Search with this** under any figure on the Corpus page.")
    examples = state.bundled_examples()
    if examples:
        st.markdown("**Bundled examples** (synthetic drawings that are not in any corpus)")
        cols = st.columns(max(len(examples), 4))
        for col, path in zip(cols, examples):
            with col:
                st.image(state.thumbnail(str(path), 160), width="stretch")
                st.button("Use", key=f"example-{path.stem}", on_click=state.use_example, args=(str(path),),
                          width="stretch")


def breadcrumb(corpus: Corpus, trail: list[str]) -> None:
    """The previous queries; clicking one goes back to it."""
    st.caption("Query trail — click to go back")
    cols = st.columns(min(len(trail), 8))
    for i, (col, fid) in enumerate(zip(cols, trail[-8:])):
        last = i == min(len(trail), 8) - 1
        with col:
            label = ("▶ " if last else "") + _fig_label(corpus, fid)[:28]
            st.button(label, key=f"crumb-{i}-{fid}", disabled=last, width="stretch",
                      on_click=state.back_to, args=(fid,))


def query_panel(corpus: Corpus, query: str) -> None:
    """The query image and its metadata."""
    fig = corpus.by_id.get(query)
    st.markdown("**Query**")
    st.image(state.thumbnail(fig.path if fig else query, 384), width="stretch")
    if fig is None:
        st.caption("Uploaded figure (not in the corpus)")
        return
    figure_details(fig)
    b = corpus.benchmark
    if b is not None and query in b.queries:
        judged = {d for ax in b.qrels.values() for d in ax.get(query, {})}
        st.success(f"Benchmark query · {len(judged)} judged candidates", icon=":material/fact_check:")


def overlap_summary(results: dict[str, dict]) -> None:
    """How many of the top-k each pair of encoders shares (heatmap)."""
    specs = [s for s, r in results.items() if not r["error"]]
    if len(specs) < 2:
        return
    import plotly.graph_objects as go

    names = [state.encoder_label(s) for s in specs]
    sets = [set(results[s]["ids"]) for s in specs]
    z = [[len(a & b) for b in sets] for a in sets]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="%{y} ∩ %{x}: %{z} shared<extra></extra>", showscale=False))
    fig.update_layout(height=60 + 34 * len(specs), margin=dict(l=0, r=0, t=24, b=0), font=dict(size=10),
                      title=dict(text="Shared top-k neighbours", font=dict(size=12)))
    fig.update_xaxes(tickangle=-30)
    st.plotly_chart(fig, width="stretch", key="overlap", config={"displayModeBar": False})


def result_columns(corpus: Corpus, query: str | None, results: dict[str, dict], k: int, key: str = "res") -> None:
    """One column per encoder: rank, score, V/S/P badges, agreement marks, 'use as query'."""
    specs = list(results)
    counts: dict[str, int] = {}
    for r in results.values():
        for fid in r["ids"]:
            counts[fid] = counts.get(fid, 0) + 1
    b = corpus.benchmark
    judged_query = b is not None and query is not None and any(query in ax for ax in b.qrels.values())
    cols = st.columns(len(specs))
    for col, spec in zip(cols, specs):
        r = results[spec]
        with col:
            st.markdown(f"#### {state.encoder_label(spec)}")
            if r["error"]:
                st.warning(r["error"], icon=":material/block:")
                continue
            for rank, (fid, score) in enumerate(zip(r["ids"], r["scores"]), start=1):
                fig = corpus.by_id[fid]
                extra = ""
                if judged_query:
                    extra += badges({ax: b.judgement(ax, query, fid) for ax in AXES})
                n = counts.get(fid, 0)
                if n > 1:
                    extra += (f" <span title='in the top-{k} of {n} encoders' style='color:#1f4e8c;"
                              f"font-weight:600'>⬤ {n}</span>")
                with st.container(border=True):
                    figure_card(fig, header=f"<b>#{rank}</b> · {score:.3f}", extra_html=extra,
                                button="Use as query", key=f"{key}-{spec}-{rank}", on_click=state.push_query)


SECTION_COLOURS = {"A": "#1f77b4", "B": "#ff7f0e", "C": "#2ca02c", "D": "#d62728", "E": "#9467bd",
                   "F": "#8c564b", "G": "#e377c2", "H": "#17becf", "Y": "#7f7f7f", "?": "#bbbbbb"}
RELEVANCE_COLOURS = {"relevant": "#1b7f3b", "not relevant": "#b3261e", "unjudged": "#c9c9c9"}


def map_figure(corpus: Corpus, frame: pd.DataFrame, colour: str, axis: str | None, query: str | None,
               query_xy: tuple[float, float] | None, selected: set[str]):
    """Plotly scatter of one encoder's map, coloured as asked, query starred, selection ringed."""
    import plotly.graph_objects as go

    frame = frame.copy()
    if colour == "Patent":
        frame["group"] = frame["patent"]
    elif colour == "Relevance to the query" and axis:
        b = corpus.benchmark
        frame["group"] = [{1: "relevant", 0: "not relevant", None: "unjudged"}[b.judgement(axis, query or "", i)]
                          for i in frame["id"]]
    else:
        frame["group"] = frame["section"]
    palette = RELEVANCE_COLOURS if colour.startswith("Relevance") else (SECTION_COLOURS if colour == "CPC section" else {})
    fig = go.Figure()
    groups = sorted(frame["group"].unique(), key=lambda g: (g == "unjudged", str(g)))
    for g in groups:
        part = frame[frame["group"] == g]
        fig.add_trace(go.Scattergl(
            x=part["x"], y=part["y"], mode="markers", name=str(g),
            marker=dict(size=7 if g != "unjudged" else 5, color=palette.get(g), opacity=0.85,
                        line=dict(width=0.5, color="white")),
            customdata=part[["id", "patent", "title"]].to_numpy(),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[2]}<extra></extra>",
        ))
    if selected:
        part = frame[frame["id"].isin(selected)]
        fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name="selected", hoverinfo="skip",
                                   marker=dict(size=11, color="rgba(0,0,0,0)", line=dict(width=1.2, color="#222"))))
    if query_xy is not None:
        fig.add_trace(go.Scatter(x=[query_xy[0]], y=[query_xy[1]], mode="markers", name="query", hoverinfo="name",
                                 marker=dict(symbol="star", size=20, color="gold", line=dict(width=1.5, color="black"))))
    fig.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0), dragmode="lasso",
                      legend=dict(orientation="h", y=-0.05, font=dict(size=10)),
                      showlegend=len(groups) <= 20, plot_bgcolor="#fbfbfd",
                      shapes=[dict(type="rect", xref="paper", yref="paper", x0=0, y0=0, x1=1, y1=1,
                                   line=dict(color="#e3e3e8", width=1))])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig


def selected_ids(event, frame: pd.DataFrame) -> list[str] | None:
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


def figure_grid(corpus: Corpus, ids: list[str], key: str, columns: int = 8) -> None:
    """A compact grid of thumbnails with patent links; each can become the search query."""
    for row in range(0, len(ids), columns):
        cols = st.columns(columns)
        for col, fid in zip(cols, ids[row:row + columns]):
            with col:
                figure_card(corpus.by_id[fid], button="Search", key=key, on_click=use_as_query)
    follow_search_request()


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
    for part, name, symbol, colour in ((figs, "figure image", "circle", "#1f4e8c"),
                                       (texts, f"{texts['kind'].iloc[0] if len(texts) else 'text'} text", "x", "#d2691e")):
        fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name=name,
                                   marker=dict(size=7, symbol=symbol, color=colour, opacity=0.8),
                                   customdata=part[["title", "text"]].to_numpy(),
                                   hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"))
    fig.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0), plot_bgcolor="white",
                      legend=dict(orientation="h", y=-0.05))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig


METRIC_LABELS = {"AP": "MAP", "nDCG@10": "nDCG@10", "RR": "MRR", "R@1": "Recall@1"}


def metric_label(m: str) -> str:
    """Display name of an ir_measures-style measure (AP → MAP, RR → MRR)."""
    return METRIC_LABELS.get(m, m)


def system_name(encoder: str, run: str) -> str:
    """"HOG · image+desc"."""
    return f"{state.encoder_label(encoder)} · {run}"


def score_table(table: pd.DataFrame, sig: pd.DataFrame, axis: str) -> None:
    """Systems × metrics on one axis, best per column highlighted, ▼ where worse than the best."""
    t = table[table["axis"] == axis]
    worse = set()
    if sig is not None and not sig.empty:
        s = sig[(sig["axis"] == axis) & sig["significant"].astype(bool)]
        for _, r in s.iterrows():
            loser = (r["encoder_b"], r["run_b"]) if r["diff"] > 0 else (r["encoder_a"], r["run_a"])
            worse.add(loser)
    t = t.assign(system=[system_name(e, r) + (" ▼" if (e, r) in worse else "") for e, r in zip(t["encoder"], t["run"])],
                 metric=t["metric"].map(metric_label))
    p = t.pivot_table(index="system", columns="metric", values="value", sort=False)
    p = p[[metric_label(m) for m in dict.fromkeys(table["metric"]) if metric_label(m) in p.columns]]
    styled = p.style.format("{:.4f}").highlight_max(axis=0, props="font-weight:700;background-color:#d8f0de;color:#0b4d1f")
    st.dataframe(styled, width="stretch")


def score_bars(table: pd.DataFrame, metric: str):
    """Grouped bars: one group per axis, one bar per system."""
    import plotly.graph_objects as go

    t = table[table["metric"] == metric]
    fig = go.Figure()
    for (enc, run), g in t.groupby(["encoder", "run"], sort=False):
        g = g.set_index("axis").reindex([a for a in AXES if a in set(t["axis"])])
        fig.add_trace(go.Bar(name=system_name(enc, run), x=[AXIS_LABELS[a] for a in g.index], y=g["value"],
                             hovertemplate="%{x}: %{y:.4f}<extra>" + system_name(enc, run) + "</extra>"))
    fig.update_layout(barmode="group", height=380, margin=dict(l=0, r=0, t=10, b=0), yaxis_title=metric_label(metric),
                      yaxis_range=[0, 1], legend=dict(orientation="h", y=-0.15), plot_bgcolor="white")
    fig.update_yaxes(gridcolor="#eee")
    return fig


def _mark(j: int | None) -> str:
    return {1: "✓", 0: "✗", None: "–"}[j]


def _data_uri(path) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(state.thumbnail(str(path), 96)).decode()


def per_query_section(corpus: Corpus, corpus_spec: str, per_query: pd.DataFrame, weight: float) -> None:
    """Drill into one query; compare two systems query by query; list the disagreements."""
    import plotly.graph_objects as go

    b = corpus.benchmark
    systems = list(dict.fromkeys(zip(per_query["encoder"], per_query["run"])))
    names = {s: system_name(*s) for s in systems}
    qids = [q for q in b.queries if q in corpus.by_id]
    q = st.selectbox("Query", qids, key="drill_q", format_func=lambda x: _fig_label(corpus, x))
    left, right = st.columns([1, 4])
    with left:
        figure_details_compact(corpus.by_id[q])
    with right:
        rows = []
        ranks = {}
        for s in systems:
            scores = state.query_run_scores(corpus_spec, s[0], s[1], weight, q)
            order = sorted(scores, key=lambda d: (scores[d], d), reverse=True)
            ranks[s] = {d: (i + 1, scores[d]) for i, d in enumerate(order)}
        cands = corpus.candidates_for(q)
        keep = [c for c in cands if any(b.judgement(ax, q, c) == 1 for ax in AXES)
                or any(ranks[s].get(c, (10**9,))[0] <= 10 for s in systems)]
        for c in keep:
            f = corpus.by_id[c]
            row = {"figure": _data_uri(f.path), "patent": f.patent, "title": f.title[:70]}
            for ax in AXES:
                row[AXIS_LABELS[ax][0]] = _mark(b.judgement(ax, q, c))
            for s in systems:
                r = ranks[s].get(c)
                row[f"{names[s]} rank"] = r[0] if r else None
            rows.append(row)
        df = pd.DataFrame(rows)
        if not df.empty and systems:
            df = df.sort_values(f"{names[systems[0]]} rank")
        st.caption(f"{len(keep)} of {len(cands)} candidates: every one judged relevant on some axis, "
                   "and every one in some system's top 10. V / S / P: visual, semantic, part-whole "
                   "(✓ relevant, ✗ not, – unjudged).")
        st.dataframe(df, hide_index=True, width="stretch", height=min(420, 40 + 70 * len(df)), row_height=64,
                     column_config={"figure": st.column_config.ImageColumn("figure", width="small")})

    st.markdown("##### Two systems, query by query")
    if len(systems) < 2:
        st.caption("Select at least two encoders or runs to compare them.")
        return
    c1, c2, c3, c4 = st.columns(4)
    a = c1.selectbox("System A", systems, key="cmp_a", format_func=names.get)
    bsys = c2.selectbox("System B", [s for s in systems if s != a], key="cmp_b", format_func=names.get)
    axis = c3.selectbox("Axis", [x for x in AXES if x in set(per_query["axis"])], key="cmp_axis",
                        format_func=AXIS_LABELS.get)
    metric = c4.selectbox("Metric", list(dict.fromkeys(per_query["metric"])), key="cmp_metric", format_func=metric_label)
    sel = per_query[(per_query["axis"] == axis) & (per_query["metric"] == metric)]
    va = sel[(sel["encoder"] == a[0]) & (sel["run"] == a[1])].set_index("qid")["value"]
    vb = sel[(sel["encoder"] == bsys[0]) & (sel["run"] == bsys[1])].set_index("qid")["value"]
    both = pd.DataFrame({"a": va, "b": vb}).dropna()
    both["title"] = [corpus.by_id[x].title[:60] if x in corpus.by_id else x for x in both.index]
    both["diff"] = both["a"] - both["b"]
    s1, s2 = st.columns([3, 2])
    with s1:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbb", dash="dot"),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=both["a"], y=both["b"], mode="markers", showlegend=False,
                                 marker=dict(size=9, color=both["diff"], colorscale="RdBu", cmin=-1, cmax=1,
                                             line=dict(width=0.5, color="#333")),
                                 customdata=both[["title"]].to_numpy(),
                                 hovertemplate="%{customdata[0]}<br>A %{x:.3f} · B %{y:.3f}<extra></extra>"))
        fig.update_layout(height=380, margin=dict(l=0, r=0, t=10, b=0), plot_bgcolor="white",
                          xaxis_title=f"{names[a]} — {metric_label(metric)}",
                          yaxis_title=f"{names[bsys]} — {metric_label(metric)}")
        fig.update_xaxes(range=[-0.03, 1.03], gridcolor="#eee")
        fig.update_yaxes(range=[-0.03, 1.03], gridcolor="#eee", scaleanchor="x")
        st.plotly_chart(fig, key="cmp_scatter", width="stretch")
    with s2:
        st.markdown("**Where they disagree most**")
        top = both.reindex(both["diff"].abs().sort_values(ascending=False).index).head(10)
        st.dataframe(top.rename(columns={"a": "A", "b": "B", "diff": "A − B"})[["title", "A", "B", "A − B"]],
                     width="stretch", hide_index=True,
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("A", "B", "A − B")})
        st.caption(f"A wins {int((both['diff'] > 0).sum())}, B wins {int((both['diff'] < 0).sum())}, "
                   f"ties {int((both['diff'] == 0).sum())} of {len(both)} queries.")


def figure_details_compact(fig: Figure) -> None:
    """Thumbnail and key metadata of a figure, for narrow columns."""
    st.image(state.thumbnail(str(fig.path), 256), width="stretch")
    st.markdown(f"**{fig.title[:80] or fig.id}**")
    st.caption(figure_caption(fig))
