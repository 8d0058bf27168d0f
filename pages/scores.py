"""Scores page: the UPAIR protocol per axis, significance, fusion weight, per-query drill-down."""
import streamlit as st

from core.comparison import separability
from core.corpora import AXES, AXIS_LABELS
from core.evaluation import DEFAULT_RUNS
from core.evaluation.selection import Selection
from core.protocols import PROTOCOLS, default_protocol_for
from dashboard import services, session, sidebar, urlstate
from dashboard.components import judging
from dashboard.components.status import load_or_stop, ready_encoders
from pages import scores_fairness, scores_widgets

#: The fusion-weight slider's range and step (a step's neighbours are warmed in the background).
WEIGHT_MIN, WEIGHT_MAX, WEIGHT_STEP = 0.0, 3.0, 0.1

ctx = sidebar.context()
corpus = load_or_stop(ctx.corpus_spec)
st.title("Scores")
if corpus.benchmark is None:
    st.info("This corpus has no judgements. Choose the demo, the UPAIR samples or a UPAIR folder in the "
            "sidebar to see benchmark scores.", icon=":material/info:")
    st.stop()
if corpus.synthetic:
    st.warning("**Synthetic demo benchmark** — judgements are derived from how the drawings were generated. "
               "These numbers check the tool, not encoders on real patents.", icon=":material/science:")
st.caption("Each query ranks its own candidate list by cosine similarity, as the UPAIR evaluation does. "
           "Fused runs add per-query min-max normalised image and text scores: "
           "minmax(image) + w · minmax(text). Unjudged candidates count as not relevant, as in trec_eval.")


def _controls():
    """The run, weight, test, protocol and judgement pickers and the evaluation they ask for:
    (selection, table, per_query, sig, test, protocol note, the judgement set's qrels), or None
    when there is nothing to show."""
    c1, c2, c3, c4 = st.columns([3.5, 1.9, 2, 2.2])
    runs = c1.pills("Runs", list(DEFAULT_RUNS), selection_mode="multi", default=list(DEFAULT_RUNS), key="score_runs",
                    help="image: the drawing alone; image+desc / image+labels: fused with the description / labels.")
    runs = [r for r in DEFAULT_RUNS if r in (runs or [])]
    weight = c2.slider("Text weight w", WEIGHT_MIN, WEIGHT_MAX, 1.0, step=WEIGHT_STEP, key="fusion_w",
                       help="Weight of the text score in fused runs; 1.0 is the published 1:1 fusion.")
    test = c3.selectbox("Paired test", ["randomization", "t"], key="sig_test",
                        format_func=lambda t: "Randomization" if t == "randomization" else "t-test",
                        help="Paired randomization (sign-flip permutation) test or paired t-test, Holm-corrected.")
    default_protocol = default_protocol_for(corpus)
    protocol = c4.selectbox(
        "Protocol", list(PROTOCOLS), index=list(PROTOCOLS).index(default_protocol), key="score_protocol",
        format_func=lambda p: PROTOCOLS[p].title,
        help="How images and texts are prepared before encoding. **UPAIR (official)**: exactly the official "
             "evaluation/run.py (ImageNet mean/std, alpha ignored, its text cleaning) — the paper's numbers. "
             "**clean**: this project's preprocessing (model mean/std, transparency on white, figure references "
             f"recognised before digits are removed). Default for this corpus: {default_protocol}.")
    protocol_note = f"Protocol **{PROTOCOLS[protocol].title}**: {PROTOCOLS[protocol].summary}."
    if not runs:
        st.warning("Select at least one run.")
        return None
    encoders = ready_encoders(corpus, ctx.corpus_spec, tuple(ctx.encoders))

    judging.require_judgements(corpus)
    jset, jqrels = judging.judgement_picker(corpus, st.columns([2, 5])[0])
    selection = Selection(ctx.corpus_spec, encoders, tuple(runs), weight, jset,
                          judging.digest(jqrels) if jset != "official" else "", protocol)
    with st.spinner("Scoring runs…"):
        table, per_query, skipped = services.scores.evaluation(selection)
        sig = services.scores.significance_vs_best(selection, "AP", test)
    problems = services.scores.benchmark_problems(ctx.corpus_spec)
    scores_widgets.problems_warning(problems)
    for enc, reason in skipped:
        st.caption(f":material/block: {services.encoder_label(enc) if enc in encoders else enc}: {reason}")
    if table.empty:
        st.warning("Nothing could be evaluated with this selection.")
        return None
    return selection, table, per_query, sig, test, protocol_note, jqrels


def _scores_view() -> None:
    picked = _controls()
    if picked is None:
        return
    selection, table, per_query, sig, test, protocol_note, jqrels = picked
    protocol = selection.protocol
    st.subheader("Results per axis")
    st.caption("The best value of a measure is **highlighted** only when one system alone reaches it. "
               "▼ = significantly worse than the best system of that axis on AP (Holm-corrected, α = 0.05). "
               + protocol_note)
    axes_shown = [a for a in AXES if a in set(table["axis"])]
    n_cands = [len(corpus.candidates_for(q)) for q in corpus.benchmark.queries]
    per_q_cands = sum(n_cands) / max(len(n_cands), 1)
    n_by_axis = {}
    tabs = st.tabs([AXIS_LABELS[a] for a in axes_shown])
    for tab, axis in zip(tabs, axes_shown):
        with tab:
            sep = separability(table, per_query, axis, per_q_cands)
            n_by_axis[axis] = sep.n_queries
            if sep.reason:
                st.warning(f"**Cannot separate systems** on this axis: {sep.reason} "
                           f"(n = {sep.n_queries} queries, {per_q_cands:.1f} candidates per query).",
                           icon=":material/balance:")
            scores_widgets.score_table(table, sig, axis, sep.n_queries)
    judging.scores_section(corpus, selection, jqrels, ctx.k)

    st.subheader("Compare visually")
    metric = st.selectbox("Metric", list(dict.fromkeys(table["metric"])), key="bar_metric",
                          format_func=scores_widgets.metric_label)
    intervals = services.scores.intervals(selection, scores_fairness.RESAMPLES, scores_fairness.SEED, (metric,))
    st.plotly_chart(scores_widgets.score_bars(table, metric, intervals), key="bars", width="stretch")
    st.caption(protocol_note)
    scores_fairness.diff_to_best(intervals, metric)

    d1, d2 = st.columns(2)
    problem_counts = services.scores.problem_counts(ctx.corpus_spec, AXES)
    # both files are built when their button is pressed (the run files took seconds of every slider step)
    d1.download_button("Download results (CSV)",
                       lambda: scores_widgets.results_csv(table, sig, corpus=ctx.corpus_spec, protocol=protocol,
                                                          weight=selection.weight, test=test, n_by_axis=n_by_axis,
                                                          problems_by_axis=problem_counts,
                                                          intervals=services.scores.intervals(
                                                              selection, scores_fairness.RESAMPLES, scores_fairness.SEED)),
                       "upair_results.csv", "text/csv", icon=":material/download:", key="dl_results")
    d2.download_button("Download TREC run files (zip)", lambda: services.scores.run_files_zip(selection),
                       "upair_runs.zip", "application/zip", icon=":material/folder_zip:", key="dl_runs")

    stated = scores_fairness.pool_bias_panel(corpus, selection)

    st.divider()
    scores_fairness.axis_disagreement(corpus, selection, per_query, jqrels or corpus.benchmark.qrels)

    st.divider()
    st.subheader("Two systems, query by query")
    st.caption(protocol_note)
    pair = scores_widgets.compare_two(corpus, per_query)
    st.subheader("Per query", anchor="per-query")
    st.caption(protocol_note)
    scores_widgets.drilldown(corpus, selection, per_query, pair)
    urlstate.scroll_to_anchor_if_asked("_scroll_drill", "per-query")
    _warm_next_steps(selection, test, metric, stated)


def _warm_next_steps(selection, test: str, metric: str, stated: tuple[str, ...]) -> None:
    """The slider's two neighbouring weights, computed in the background while the user reads;
    the one in the direction of the last step is warmed first."""
    w, last = selection.weight, st.session_state.get("_fusion_w_last")
    st.session_state["_fusion_w_last"] = w
    ahead = -1 if last is not None and w < last else 1
    near = [round(w - ahead * WEIGHT_STEP, 2), round(w + ahead * WEIGHT_STEP, 2)]
    services.scores.prefetch_weights(selection, [x for x in near if WEIGHT_MIN <= x <= WEIGHT_MAX], test=test,
                                     metric=metric, resamples=scores_fairness.RESAMPLES, seed=scores_fairness.SEED,
                                     k=ctx.k, stated=stated)


@st.fragment
def scores_view() -> None:
    """Everything below the title: a slider step or any other choice here reruns only this part
    (not the shell, the sidebar and the corpus checks above)."""
    try:
        _scores_view()
    finally:  # what app.py does after a whole-page run: the widgets' values kept for the next visit
        session.remember()


scores_view()
