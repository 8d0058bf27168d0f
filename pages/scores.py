"""Scores page: the UPAIR protocol per axis, significance, fusion weight, per-query drill-down."""
import streamlit as st

from core.corpora import AXES, AXIS_LABELS
from dashboard import state, widgets

ctx = state.context()
corpus = state.load_or_stop(ctx.corpus_spec)
st.title("Scores")
if corpus.benchmark is None:
    st.info("This corpus has no judgements. Choose the demo, the UPAIR samples or a UPAIR folder in the "
            "sidebar to see benchmark scores.", icon=":material/info:")
    st.stop()
if corpus.synthetic:
    st.warning("**Synthetic demo benchmark** — judgements are derived from how the drawings were generated. "
               "These numbers check the tool, not encoders on real patents.", icon=":material/science:")
st.caption("Each query ranks its own candidate list by cosine similarity (the UPAIR protocol). "
           "Fused runs add per-query min-max normalised image and text scores: "
           "minmax(image) + w · minmax(text). Unjudged candidates count as not relevant, as in trec_eval.")

c1, c2, c3 = st.columns([3, 2, 2])
runs = c1.multiselect("Runs", ["image", "image+desc", "image+labels"], default=["image", "image+desc", "image+labels"],
                      key="score_runs")
weight = c2.slider("Text weight w", 0.0, 3.0, 1.0, step=0.1, key="fusion_w",
                   help="Weight of the text score in fused runs; 1.0 is the published 1:1 fusion.")
test = c3.selectbox("Significance test", ["randomization", "t"], key="sig_test",
                    format_func=lambda t: "Paired randomization" if t == "randomization" else "Paired t-test")
encoders = tuple(ctx.encoders)
if not encoders or not runs:
    st.warning("Select at least one encoder (sidebar) and one run.")
    st.stop()
errors = state.ensure_indices(ctx.corpus_spec, encoders)
encoders = tuple(e for e in encoders if e not in errors)
for spec, err in errors.items():
    st.error(f"{state.encoder_label(spec)}: {err}")

with st.spinner("Scoring runs…"):
    table, per_query, skipped = state.evaluation(ctx.corpus_spec, encoders, tuple(runs), round(weight, 2))
    sig = state.significance_vs_best(ctx.corpus_spec, encoders, tuple(runs), round(weight, 2), "AP", test)
for enc, reason in skipped:
    st.caption(f":material/block: {state.encoder_label(enc) if enc in encoders else enc}: {reason}")
if table.empty:
    st.warning("Nothing could be evaluated with this selection.")
    st.stop()

st.subheader("Results per axis")
st.caption("Best value per axis and metric in **bold green**. "
           "▼ = significantly worse than the best system of that axis on AP (Holm-corrected, α = 0.05).")
tabs = st.tabs([AXIS_LABELS[a] for a in AXES if a in set(table["axis"])])
for tab, axis in zip(tabs, [a for a in AXES if a in set(table["axis"])]):
    with tab:
        widgets.score_table(table, sig, axis)

st.subheader("Compare visually")
metric = st.selectbox("Metric", list(dict.fromkeys(table["metric"])), key="bar_metric",
                      format_func=widgets.metric_label)
st.plotly_chart(widgets.score_bars(table, metric), key="bars", width="stretch")

d1, d2 = st.columns(2)
d1.download_button("Download results (CSV)", table.to_csv(index=False).encode(), "upair_results.csv", "text/csv",
                   icon=":material/download:")
d2.download_button("Download TREC run files (zip)",
                   state.run_files_zip(ctx.corpus_spec, encoders, tuple(runs), round(weight, 2)),
                   "upair_runs.zip", "application/zip", icon=":material/folder_zip:")

st.divider()
st.subheader("Per query")
widgets.per_query_section(corpus, ctx.corpus_spec, per_query, round(weight, 2))
