"""Scores page: can this comparison be trusted? Bootstrap intervals of the difference to the best,
the pool-bias panel, where the axes disagree, and the A-against-B drill-down (render only;
the numbers come from ``dashboard.services.scores``, computed in ``core``)."""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core.corpora import AXES, AXIS_LABELS
from core.evaluation.selection import Selection
from dashboard import services
from dashboard.components.cards import badges, fig_label
from pages.scores_widgets import _data_uri, metric_label, system_name

#: Resamples of the page's bootstrap (stated under every chart that uses it).
RESAMPLES = 1000
#: The widget naming the encoders that sampled the pool, where the corpus does not record them.
POOL_ENCODERS_KEY = "pool_encoders"
SEED = 0
#: Queries listed in the axis-disagreement view.
DISAGREEMENTS_SHOWN = 15
#: Figures shown per side in the A-against-B drill-down (the side that explains the win / loss, the other).
GAPS_SHOWN, GAPS_SHOWN_OTHER = 5, 3


def diff_to_best(iv: pd.DataFrame, metric: str) -> None:
    """Per axis: best − system on ``metric`` with its paired interval; ✓ where it excludes 0."""
    from core.metrics.bootstrap import method_note

    d = iv[(iv["metric"] == metric)]
    if d.empty:
        return
    rows = []
    for r in d.itertuples():
        if (r.encoder, r.run) == (r.best_encoder, r.best_run):
            continue
        rows.append({"axis": AXIS_LABELS.get(r.axis, r.axis), "system": system_name(r.encoder, r.run),
                     "best": system_name(r.best_encoder, r.best_run), "best − system": r.diff_to_best,
                     "CI low": r.diff_low, "CI high": r.diff_high,
                     "excludes 0": "✓" if r.diff_low > 0 or r.diff_high < 0 else ""})
    st.markdown(f"**Difference to the best system** — {metric_label(metric)}")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="diff_best",
                     height=min(320, 38 + 35 * len(rows)),
                     column_config={c: st.column_config.NumberColumn(format="%+.4f", width="small")
                                    for c in ("best − system", "CI low", "CI high")})
    r0 = d.iloc[0]
    st.caption(method_note(int(r0["resamples"]), int(r0["seed"]), float(r0["confidence"]))
               + f"; n = {int(r0['n'])} queries. Error bars above show the same intervals of each mean.")


def pool_bias_panel(corpus, selection: Selection) -> tuple[str, ...]:
    """Per system: the share of its top 10 that is unjudged, against the encoders that sampled the pool;
    a warning on every pair that plain and condensed measures rank differently. Returns the encoders
    the user stated sampled the pool (none where the corpus records them)."""
    st.subheader("Pool bias", anchor="pool-bias")
    source = services.scores.sampling_source(selection.corpus)
    stated: tuple[str, ...] = ()
    if source.known:
        st.caption(f"Pool sampled with **{', '.join(services.encoder_label(e) for e in source.encoders)}** — "
                   f"from {source.source}.")
    else:
        stated = tuple(st.columns([3, 2])[0].multiselect(
            "The pool was sampled with", list(selection.encoders), key=POOL_ENCODERS_KEY,
            format_func=services.encoder_label,
            help="Not recorded for this corpus (no `python -m core sample` run.json beside the pool). "
                 "State the encoders whose candidates were judged."))
    with st.spinner("Ranking every system's top 10…"):
        pb = services.scores.pool_bias(selection, stated)
    if pb.frame.empty:
        st.caption("No system could be ranked.")
        return stated
    known = source.known or bool(stated)
    axes = [a for a in (*AXES, "any") if a in set(pb.frame["axis"])]
    rows = []
    for (enc, run), g in pb.frame.groupby(["encoder", "run"], sort=False):
        by = dict(zip(g["axis"], g["unjudged"]))
        row = {"system": system_name(enc, run),
               "sampled the pool": ("yes" if g["in_pool"].iloc[0] else "no") if known else "?"}
        row.update({f"unjudged {AXIS_LABELS.get(a, 'any axis')}": by.get(a, 0.0) for a in axes})
        rows.append(row)
    df = pd.DataFrame(rows)
    st.dataframe(df, hide_index=True, width="stretch", key="pool_bias_table",
                 column_config={"sampled the pool": st.column_config.TextColumn(width="medium"),
                                **{c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0,
                                                                      format="percent")
                                   for c in df.columns if c.startswith("unjudged")}})
    anyax = pb.frame[pb.frame["axis"] == "any"]
    pooled, others = anyax[anyax["in_pool"].astype(bool)], anyax[~anyax["in_pool"].astype(bool)]
    note = (f"Share of each system's top {pb.k} (per query, averaged) with no judgement on that axis; "
            "unjudged hits count as not relevant in MAP and nDCG, so a system that did not sample the pool is "
            "penalised for every relevant figure nobody judged.")
    if float(pb.frame["unjudged"].max()) == 0.0:
        note += f" Here every system's top {pb.k} is fully judged on every axis: no system is penalised."
    elif known and len(pooled) and len(others):
        note += (f" Mean unjudged (any axis): sampling systems {pooled['unjudged'].mean():.1%}, "
                 f"the others {others['unjudged'].mean():.1%}.")
    st.caption(note)
    if pb.flips.empty:
        st.caption(":material/check: Plain and condensed MAP / nDCG@10 rank every pair of systems the same way.")
        return stated
    items = [f"- **{AXIS_LABELS.get(r.axis, r.axis)}**: {system_name(r.encoder_a, r.run_a)} vs "
             f"{system_name(r.encoder_b, r.run_b)} — {metric_label(r.plain)} {r.plain_a:.4f} vs {r.plain_b:.4f}, "
             f"{metric_label(r.other)} {r.other_a:.4f} vs {r.other_b:.4f}" for r in pb.flips.itertuples()]
    st.warning(f"**Plain and condensed measures rank {len(pb.flips)} pair(s) of systems differently**: "
               "unjudged hits decide these comparisons; judge them before trusting the order.\n\n"
               + "\n".join(items), icon=":material/balance:")
    return stated


def _pick(key: str, frame: pd.DataFrame, state: str) -> None:
    ev = st.session_state.get(key)
    rows = getattr(getattr(ev, "selection", None), "rows", None) if ev is not None else None
    if rows is None and isinstance(ev, dict):
        rows = ev.get("selection", {}).get("rows")
    if rows:
        st.session_state[state] = frame.index[rows[0]]
        st.session_state["drill_q"] = frame.index[rows[0]]  # the per-query table below follows


def axis_disagreement(corpus, selection: Selection, per_query: pd.DataFrame, qrels) -> None:
    """Queries where A wins on one axis and loses on another, sorted by the gap; a row opens A vs B."""
    st.subheader("Where the axes disagree", anchor="axis-disagreement")
    systems = list(dict.fromkeys(zip(per_query["encoder"], per_query["run"])))
    if len(systems) < 2:
        st.caption("Select at least two encoders or runs to see where they disagree across axes.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    a = c1.selectbox("System A", systems, key="ax_a", format_func=lambda s: system_name(*s))
    b = c2.selectbox("System B", [s for s in systems if s != a], key="ax_b", format_func=lambda s: system_name(*s))
    metric = c3.selectbox("Metric", [m for m in ("AP", "nDCG@10", "RR") if m in set(per_query["metric"])],
                          key="ax_metric", format_func=metric_label)
    dis = services.scores.axis_disagreements(selection, a, b, metric)
    if dis.empty:
        st.info(f"On no query does {system_name(*a)} win on one axis and lose on another against "
                f"{system_name(*b)}.", icon=":material/drag_handle:")
        return
    axes = [x for x in AXES if x in dis.columns]
    top = dis.head(DISAGREEMENTS_SHOWN)
    view = pd.DataFrame({"query": [fig_label(corpus, q) for q in top.index], "gap": top["gap"].astype(float),
                         "A up on": [AXIS_LABELS[x] for x in top["up"]],
                         "A down on": [AXIS_LABELS[x] for x in top["down"]],
                         **{AXIS_LABELS[x]: top[x].astype(float) for x in axes}},
                        index=top.index)
    st.caption(f"{len(dis)} queries where **A = {system_name(*a)}** beats **B = {system_name(*b)}** on one "
               f"axis and loses on another ({metric_label(metric)}, A − B per axis), largest gap first"
               + (f"; the first {DISAGREEMENTS_SHOWN} shown" if len(dis) > DISAGREEMENTS_SHOWN else "")
               + ". Click a row to see which figures cause it.")
    st.dataframe(view, hide_index=True, width="stretch", on_select=lambda: _pick("ax_table", view, "ax_q"),
                 selection_mode="single-row", key="ax_table",
                 column_config={**{AXIS_LABELS[x]: st.column_config.NumberColumn(format="%+.3f", width="small")
                                   for x in axes},
                                "gap": st.column_config.NumberColumn(format="%.3f", width="small"),
                                "query": st.column_config.TextColumn(width="medium")})
    q = st.session_state.get("ax_q")
    if q not in top.index:
        q = top.index[0]
    a_vs_b(corpus, selection, a, b, q, top.loc[q], qrels)


def _cells(corpus, qid: str, items, judgements, who: str) -> str:
    cells = []
    for doc, ra, rb in items:
        f = corpus.by_id.get(doc)
        if f is None:
            continue
        cells.append(
            f"<div style='display:inline-block;width:120px;margin:0 6px 8px 0;vertical-align:top;font-size:0.75em'>"
            f"<img src='{_data_uri(f.path, 128)}' style='width:120px;height:120px;border:1px solid #ddd'/>"
            f"<div><b>A #{ra}</b> · <b>B #{rb}</b> ({who} +{abs(rb - ra)})</div>"
            f"<div>{badges({ax: judgements(ax, doc) for ax in AXES})}</div>"
            f"<div title='{html.escape(f.title)}' style='white-space:nowrap;overflow:hidden;"
            f"text-overflow:ellipsis'>{html.escape(f.patent or f.id)}</div></div>")
    return "".join(cells)


def a_vs_b(corpus, selection: Selection, a, b, qid: str, row, qrels) -> None:
    """The relevant figures of ``qid`` that one system ranks much higher than the other, with both ranks."""
    def judgement(ax, doc):
        v = (qrels.get(ax) or {}).get(qid, {}).get(doc)
        return None if v is None else int(v >= 1)

    st.markdown(f"**{fig_label(corpus, qid)}** — A = {system_name(*a)}, B = {system_name(*b)}")
    cols = st.columns(2)
    for col, ax in zip(cols, (row["up"], row["down"])):
        relevant = [d for d, r in (qrels.get(ax) or {}).get(qid, {}).items() if r >= 1]
        a_hi, b_hi = services.scores.rank_gaps(selection, a, b, qid, relevant, n=GAPS_SHOWN)
        with col:
            won = ax == row["up"]
            st.markdown(f"A **{'wins' if won else 'loses'}** on **{AXIS_LABELS[ax]}** ({row[ax]:+.3f}) — "
                        f"{len(relevant)} figures relevant on this axis")
            first, second = ((a_hi, "A"), (b_hi, "B")) if won else ((b_hi, "B"), (a_hi, "A"))
            for i, (items, who) in enumerate((first, second)):
                items = items if i == 0 else items[:GAPS_SHOWN_OTHER]
                st.caption(f"Ranked higher by {who}, largest rank gap first" if items
                           else f"None ranked higher by {who}")
                if items:
                    st.markdown(_cells(corpus, qid, items, judgement, who), unsafe_allow_html=True)
