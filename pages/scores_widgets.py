"""Widgets of the Scores page: per-axis tables, bars, the per-query drill-down and the
two-system comparison. Ranking and comparison logic lives in ``core.comparison``."""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core import Corpus
from core.comparison import disagreements, paired_values, query_candidates, top_k, unique_best
from core.corpora import AXES, AXIS_LABELS
from core.evaluation.selection import Selection
from core.metrics import MEASURE_LABELS, system_label
from core.textio import frame_csv
from dashboard import services
from dashboard.components.cards import badges, fig_label, figure_details_compact
from dashboard.components.palette import JUDGEMENT_MARKS, OKABE_ITO

BEST_STYLE = "font-weight:700;background-color:#d6eaf8;color:#08306b"


def metric_label(m: str) -> str:
    """Display name of a measure (AP → MAP, RR → MRR), as on screen and in the CSV."""
    return MEASURE_LABELS.get(m, m)


def system_name(encoder: str, run: str) -> str:
    """"HOG · image+desc" (``core.metrics.system_label`` with the encoder's display name)."""
    return system_label(services.encoder_label(encoder), run)


def _worse(sig: pd.DataFrame | None, axis: str) -> set[tuple[str, str]]:
    if sig is None or sig.empty:
        return set()
    s = sig[(sig["axis"] == axis) & sig["significant"].astype(bool)]
    return {(r["encoder_b"], r["run_b"]) if r["diff"] > 0 else (r["encoder_a"], r["run_a"]) for _, r in s.iterrows()}


def _highlight_unique_best(col: pd.Series) -> list[str]:
    best = unique_best(list(col))
    return [BEST_STYLE if i == best else "" for i in range(len(col))]


def score_table(table: pd.DataFrame, sig: pd.DataFrame | None, axis: str, n_queries: int) -> pd.DataFrame:
    """Systems × measures on one axis; a best value is highlighted only when it is unique;
    ▼ where a system is significantly worse than the best. Returns the pivot shown."""
    t = table[table["axis"] == axis]
    worse = _worse(sig, axis)
    t = t.assign(system=[system_name(e, r) + (" ▼" if (e, r) in worse else "") for e, r in zip(t["encoder"], t["run"])],
                 metric=t["metric"].map(metric_label))
    p = t.pivot_table(index="system", columns="metric", values="value", sort=False)
    p = p[[metric_label(m) for m in dict.fromkeys(table["metric"]) if metric_label(m) in p.columns]]
    styled = p.style.format("{:.4f}").apply(_highlight_unique_best, axis=0)
    st.dataframe(styled, width="stretch")
    st.caption(f"n = {n_queries} queries · {len(p)} systems")
    return p


def score_bars(table: pd.DataFrame, metric: str, intervals: pd.DataFrame | None = None):
    """Grouped bars: one group per axis, one bar per system; with ``intervals``
    (``core.metrics.bootstrap``) each bar carries its bootstrap interval as an error bar."""
    import plotly.graph_objects as go

    t = table[table["metric"] == metric]
    iv = intervals[intervals["metric"] == metric] if intervals is not None and len(intervals) else None
    fig = go.Figure()
    for (enc, run), g in t.groupby(["encoder", "run"], sort=False):
        g = g.set_index("axis").reindex([a for a in AXES if a in set(t["axis"])])
        extra = {}
        hover = "%{x}: %{y:.4f}"
        if iv is not None:
            ci = iv[(iv["encoder"] == enc) & (iv["run"] == run)].set_index("axis").reindex(g.index)
            lo, hi = ci["ci_low"].to_numpy(), ci["ci_high"].to_numpy()
            extra = {"error_y": dict(type="data", symmetric=False, array=hi - g["value"].to_numpy(),
                                     arrayminus=g["value"].to_numpy() - lo, color="#444", thickness=1.2, width=4),
                     "customdata": list(zip(lo, hi))}
            hover += " (CI %{customdata[0]:.4f}–%{customdata[1]:.4f})"
        fig.add_trace(go.Bar(name=system_name(enc, run), x=[AXIS_LABELS[a] for a in g.index], y=g["value"],
                             hovertemplate=hover + "<extra>" + system_name(enc, run) + "</extra>", **extra))
    fig.update_layout(colorway=list(OKABE_ITO.values()), barmode="group", height=380, margin=dict(l=0, r=0, t=10, b=0), yaxis_title=metric_label(metric),
                      yaxis_range=[0, 1], legend=dict(orientation="h", y=-0.15), plot_bgcolor="white")
    fig.update_yaxes(gridcolor="#eee")
    return fig


def results_csv(table: pd.DataFrame, sig: pd.DataFrame | None, *, corpus: str, protocol: str, weight: float,
                test: str, n_by_axis: dict[str, int], problems_by_axis: dict[str, int] | None = None,
                intervals: pd.DataFrame | None = None) -> bytes:
    """The results as CSV: one row per system, axis and measure (named as on screen), with the
    corpus, protocol, fusion weight, test, n, the significance against the best system, the
    number of loader problems that touch the axis (``problems``) and, with ``intervals``, the
    bootstrap columns (``ci_low``/``ci_high``, ``diff_to_best`` and its ``diff_low``/``diff_high``,
    resamples, seed, confidence)."""
    rows = []
    ivs = ({(r.encoder, r.run, r.axis, r.metric): r for r in intervals.itertuples()}
           if intervals is not None and len(intervals) else {})
    for _, r in table.iterrows():
        row = {"corpus": corpus, "protocol": protocol, "fusion_weight": weight, "encoder": r["encoder"],
               "system": system_name(r["encoder"], r["run"]), "run": r["run"], "axis": r["axis"],
               "measure": metric_label(r["metric"]), "value": r["value"], "n": n_by_axis.get(r["axis"], 0),
               "test": test, "vs_best": "", "p_holm": None, "significantly_worse": False,
               "problems": (problems_by_axis or {}).get(r["axis"], 0)}
        if sig is not None and not sig.empty:
            s = sig[(sig["axis"] == r["axis"]) & (((sig["encoder_a"] == r["encoder"]) & (sig["run_a"] == r["run"]))
                                                 | ((sig["encoder_b"] == r["encoder"]) & (sig["run_b"] == r["run"])))]
            if len(s):
                s0 = s.iloc[0]
                is_a = s0["encoder_a"] == r["encoder"] and s0["run_a"] == r["run"]
                other = (s0["encoder_b"], s0["run_b"]) if is_a else (s0["encoder_a"], s0["run_a"])
                mine_better = (s0["diff"] > 0) == is_a
                row.update(vs_best=system_name(*other), p_holm=float(s0["p_holm"]),
                           significantly_worse=bool(s0["significant"]) and not mine_better,
                           significance_measure=metric_label(s0["metric"]))
        c = ivs.get((r["encoder"], r["run"], r["axis"], r["metric"]))
        if c is not None:
            row.update(ci_low=c.ci_low, ci_high=c.ci_high, best_system=system_name(c.best_encoder, c.best_run),
                       diff_to_best=c.diff_to_best, diff_low=c.diff_low, diff_high=c.diff_high,
                       ci_resamples=c.resamples, ci_seed=c.seed, ci_confidence=c.confidence)
        rows.append(row)
    return frame_csv(pd.DataFrame(rows), index=False).encode()


#: Loader problems listed on the page (all of them are in the run-files zip's problems.csv).
PROBLEMS_SHOWN = 50


def problems_warning(problems) -> None:
    """A warning that the loader found problems, with each one's file:line (render only)."""
    if not problems:
        return
    st.warning(f"**The loader found {len(problems)} problem(s) in this benchmark**; each can change the scores "
               "below (bad lines are left out, conflicting grades take the later line, unknown ids are dropped, "
               "an unusable qrels file leaves its axis out). Fix the files to get the scores of the data as meant.",
               icon=":material/report:")
    with st.expander(f"Problems ({len(problems)}), with file and line"):
        rows = [{"where": p.where, "axis": p.axis or "all",
                 "problem": p.message[len(p.where):].lstrip(": ") if p.message.startswith(p.where) else p.message}
                for p in problems[:PROBLEMS_SHOWN]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        if len(problems) > PROBLEMS_SHOWN:
            st.caption(f"… and {len(problems) - PROBLEMS_SHOWN} more: all are in problems.csv of the run-files zip.")


def _side_by_side(corpus: Corpus, qid: str, systems: list[tuple[str, str]], scores: dict, k: int) -> None:
    """The two systems' top-k for one query as image rows with V/S/P badges."""
    b = corpus.benchmark
    cols = st.columns(len(systems))
    for col, s in zip(cols, systems):
        with col:
            st.markdown(f"**{system_name(*s)}** — top {k}")
            cells = []
            for rank, (doc, score) in enumerate(top_k(scores[s], k), start=1):
                f = corpus.by_id[doc]
                uri = _data_uri(f.path, 160)
                cells.append(
                    f"<div style='display:inline-block;width:150px;margin:0 6px 8px 0;vertical-align:top;"
                    f"font-size:0.75em'><img src='{uri}' style='width:150px;height:150px;border:1px solid #ddd'/>"
                    f"<div><b>#{rank}</b> · {'cosine' if s[1] == 'image' else 'fused score'} {score:.3f}</div>"
                    f"<div>{badges({ax: b.judgement(ax, qid, doc) for ax in AXES})}</div>"
                    f"<div title='{html.escape(f.title)}' style='white-space:nowrap;overflow:hidden;"
                    f"text-overflow:ellipsis'>{html.escape(f.patent or f.id)}</div></div>")
            st.markdown("".join(cells), unsafe_allow_html=True)


def _data_uri(path, size: int = 96) -> str:
    return services.thumbnail_uri(path, size)


def _candidate_table(corpus: Corpus, qid: str, systems: list, names: dict, scores: dict) -> None:
    rows = []
    ranked = query_candidates(corpus.benchmark, qid, corpus.candidates_for(qid), {s: scores[s] for s in systems})
    for r in ranked:
        f = corpus.by_id[r.doc]
        row = {AXIS_LABELS[ax][0]: JUDGEMENT_MARKS[r.judgements[ax]] for ax in AXES}
        for s in systems:
            row[f"{names[s]} rank"] = r.ranks[s][0] if r.ranks[s] else None
        row.update({"figure": _data_uri(f.path, 128), "patent": f.patent, "title": f.title})
        rows.append(row)
    st.caption(f"{len(ranked)} of {len(corpus.candidates_for(qid))} candidates: every one judged relevant on "
               "some axis, and every one in some system's top 10. V / S / P: visual, semantic, part-whole "
               "(✓ relevant, ✗ not, – unjudged).")
    df = pd.DataFrame(rows)
    st.dataframe(df, hide_index=True, width="stretch", height=min(460, 40 + 90 * len(df)), row_height=84,
                 column_config={"figure": st.column_config.ImageColumn("figure", width="small"),
                                "title": st.column_config.TextColumn("title", width="large")},
                 key=f"drill-table-{qid}")


def drilldown(corpus: Corpus, selection: Selection, per_query: pd.DataFrame,
              pair: list[tuple[str, str]] | None = None) -> None:
    """One query: its candidates' judgements and ranks per system; two systems' top-k side by side."""
    b = corpus.benchmark
    systems = list(dict.fromkeys(zip(per_query["encoder"], per_query["run"])))
    names = {s: system_name(*s) for s in systems}
    qids = [q for q in b.queries if q in corpus.by_id]
    if st.session_state.get("drill_q") not in qids:
        st.session_state.pop("drill_q", None)
    q = st.selectbox("Query", qids, key="drill_q", format_func=lambda x: fig_label(corpus, x))
    scores = {s: services.scores.query_run_scores(selection, s[0], s[1], q) for s in systems}
    left, right = st.columns([1, 4])
    with left:
        figure_details_compact(corpus.by_id[q])
    with right:
        _candidate_table(corpus, q, systems, names, scores)
    shown = [s for s in (pair or systems[:2]) if s in scores]
    if shown:
        _side_by_side(corpus, q, shown, scores, k=min(5, max(len(scores[s]) for s in shown)))


def _pick_disagreement(top: pd.DataFrame) -> None:
    ev = st.session_state.get("cmp_disagree")
    rows = getattr(getattr(ev, "selection", None), "rows", None) if ev is not None else None
    if rows is None and isinstance(ev, dict):
        rows = ev.get("selection", {}).get("rows")
    if rows:
        st.session_state["drill_q"] = top.index[rows[0]]
        st.session_state["_scroll_drill"] = True


def compare_two(corpus: Corpus, per_query: pd.DataFrame) -> list[tuple[str, str]] | None:
    """Two systems query by query (scatter) and where they disagree most (rows open the query)."""
    import plotly.graph_objects as go

    systems = list(dict.fromkeys(zip(per_query["encoder"], per_query["run"])))
    names = {s: system_name(*s) for s in systems}
    if len(systems) < 2:
        st.caption("Select at least two encoders or runs to compare them.")
        return None
    c1, c2, c3, c4 = st.columns(4)
    a = c1.selectbox("System A", systems, key="cmp_a", format_func=names.get)
    bsys = c2.selectbox("System B", [s for s in systems if s != a], key="cmp_b", format_func=names.get)
    axis = c3.selectbox("Axis", [x for x in AXES if x in set(per_query["axis"])], key="cmp_axis",
                        format_func=AXIS_LABELS.get)
    metric = c4.selectbox("Metric", list(dict.fromkeys(per_query["metric"])), key="cmp_metric", format_func=metric_label)
    both = paired_values(per_query, a, bsys, axis, metric)
    both["title"] = [corpus.by_id[x].title if x in corpus.by_id else x for x in both.index]
    s1, s2 = st.columns([1, 1])  # room for the query titles beside the scatter
    with s1:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbb", dash="dot"),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=both["a"], y=both["b"], mode="markers", showlegend=False,
                                 marker=dict(size=9, color=both["diff"], colorscale="PuOr", cmin=-1, cmax=1,
                                             line=dict(width=0.5, color="#333")),
                                 customdata=both[["title"]].to_numpy(),
                                 hovertemplate="%{customdata[0]}<br>A %{x:.3f} · B %{y:.3f}<extra></extra>"))
        fig.update_layout(height=380, margin=dict(l=0, r=0, t=10, b=0), plot_bgcolor="white",
                          xaxis_title=f"A: {names[a]} — {metric_label(metric)}",
                          yaxis_title=f"B: {names[bsys]} — {metric_label(metric)}")
        fig.update_xaxes(range=[-0.03, 1.03], gridcolor="#eee")
        fig.update_yaxes(range=[-0.03, 1.03], gridcolor="#eee", scaleanchor="x")
        st.plotly_chart(fig, key="cmp_scatter", width="stretch")
    with s2:
        st.markdown("**Where they disagree most** — click a row to open that query below")
        top = disagreements(both)
        if top.empty:
            st.info(f"No query separates them: A and B score the same on all {len(both)} queries.",
                    icon=":material/drag_handle:")
        else:
            st.dataframe(top.rename(columns={"a": "A", "b": "B", "diff": "A − B"})[["A", "B", "A − B", "title"]],
                         width="stretch", hide_index=True, on_select=lambda: _pick_disagreement(top),
                         selection_mode="single-row", key="cmp_disagree",
                         column_config={**{c: st.column_config.NumberColumn(format="%.3f", width="small")
                                           for c in ("A", "B", "A − B")},
                                        "title": st.column_config.TextColumn("query", width="large")})
        st.caption(f"A wins {int((both['diff'] > 0).sum())}, B wins {int((both['diff'] < 0).sum())}, "
                   f"ties {int((both['diff'] == 0).sum())} of n = {len(both)} queries.")
    return [a, bsys]

