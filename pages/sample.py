"""Sample page: how a query's candidate pool is drawn — bands, merge, deduplication, cited."""
import streamlit as st

from core.annotation.sampling import METHODS
from dashboard import serve, services, session, sidebar
from dashboard.components.cards import fig_label, figure_details_compact
from dashboard.components.status import load_or_stop
from pages import sample_export, sample_waiting, sample_widgets

ctx = sidebar.context()
corpus = load_or_stop(ctx.corpus_spec)
st.title("Sample")
st.caption("Draw a UPAIR-style candidate pool for a query from this corpus: per index the query's similarity "
           "to every figure, percentile bands per group, candidates merged across indices, near-duplicates "
           "dropped, plus figures of the patents the query's patent cites.")
if corpus.synthetic:
    st.caption(":material/science: Synthetic demo corpus — the pools test the tool, not encoders on real patents.")

choices = services.sampling.config_choices()
session.persist("sample_config", services.sampling.DEFAULT)
session.persist("sample_seed", 1)
session.persist("sample_method", "upair")
session.persist("sample_protocol", "upair")
top = st.columns([4, 3], vertical_alignment="bottom")
row = st.columns([5, 1.3, 1.2], vertical_alignment="bottom")
cfg_key = top[0].selectbox("Config", list(choices), format_func=choices.get, key="sample_config",
                           help="Which encoder serves which index (title, description, labels, images) and the "
                                "percentile bands of each group.")
protocol = top[1].selectbox("Sampling protocol", list(sample_widgets.PROTOCOL_LABELS), key="sample_protocol",
                            format_func=sample_widgets.PROTOCOL_LABELS.get, help=sample_widgets.protocol_help())
method = row[0].segmented_control("Deduplication", list(METHODS), key="sample_method",
                                  format_func={"upair": "UPAIR: in group", "strict": "Strict: across"}.get,
                                  help="\n\n".join(f"**{k}**: {v}" for k, v in METHODS.items())) or "upair"
families = st.toggle("One copy per drawing (families)", value=False, key="sample_families",
                     help="Labelled option families=one-per-family: a figure that is a near-identical copy of "
                          "one already drawn for the query (the same drawing in another family member's "
                          "publication, a re-scan: pHash within 10 bits and cosine ≥ 0.90 on the dedup index) "
                          "is left out. Off (the default, and the reference's behaviour under UPAIR): both "
                          "copies can be drawn, so UPAIR pools come out exactly as the reference's.")
seed = row[1].number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="sample_seed")


def _redraw() -> None:
    st.session_state["sample_seed"] = int(st.session_state["sample_seed"]) + 1


row[2].button("Redraw", icon=":material/casino:", on_click=_redraw, width="stretch",
              help="Draw again with the next seed.")

missing = services.sampling.missing_encoders(cfg_key)
if missing:
    st.error("This config needs encoders that cannot run here:\n\n" + "\n".join(f"- {m}" for m in missing),
             icon=":material/block:")
    st.stop()

qids = services.sampling.query_ids(ctx.corpus_spec)
session.persist("sample_query", qids[0])
if st.session_state.get("sample_query") not in qids:
    st.session_state["sample_query"] = qids[0]
qid = row[0].selectbox("Query", qids, key="sample_query", format_func=lambda q: fig_label(corpus, q),
                   help="The corpus's benchmark queries, else any of its figures.")

run = sample_waiting.draw_or_wait(ctx.corpus_spec, qid, cfg_key, int(seed), method, protocol, families)
qd = run.draws[0]
order = [r.name for r in run.config.indices]

left, right = st.columns([1, 3])
with left:
    figure_details_compact(qd.query)
with right:
    _, where = services.sampling.citations(ctx.corpus_spec, cfg_key)
    diff = run.config.options.differences()
    st.caption(f"Protocol **{sample_widgets.PROTOCOL_LABELS.get(protocol, protocol)}**"
               + (f" ({', '.join(diff)})" if diff else " (every choice as the reference)")
               + f" · Seed {seed} · {METHODS[method]} · duplicate when cosine ≥ {run.config.dedup_threshold:g} on "
               f"**{run.config.dedup_index}** · citations: {serve.shown_text(str(where))}. Bands are percentiles of this query's "
               "similarities to every other figure (upper, lower]. Merge cases: " + sample_widgets.CASE_HELP)

# Full width, in two tables, so that no column scrolls out of sight at 1280 px: the pool per group,
# then how many figures fell inside each index's band.
rows = [{"group": sample_widgets.GROUP_TITLES[g.name], "text band": sample_widgets.band_label(g.spec.text),
         "image band": sample_widgets.band_label(g.spec.image),
         "wanted": g.spec.size, "kept": len(g.kept), "short": g.shortfall, "dropped (dup.)": len(g.dropped),
         "merged": g.merged, "merge case": sample_widgets.CASE_SHORT.get(g.case, g.case),
         **({"left out (family copy)": len(g.family_copies)} if families else {})} for g in qd.groups]
rows.insert(0, {"group": "Cited", "text band": "—", "image band": "—", "wanted": run.config.cited_sample_size,
                "kept": len(qd.cited),
                "short": max(0, min(qd.cited_found, run.config.cited_sample_size) - len(qd.cited)),
                "dropped (dup.)": len(qd.cited_dropped), "merged": qd.cited_found, "merge case": "—"})
st.dataframe(rows, hide_index=True, width="stretch")
st.caption("Figures inside each index's band, per group (before merging and deduplication):")
st.dataframe([{"group": sample_widgets.GROUP_TITLES[g.name], **{n: g.in_band[n] for n in order}}
              for g in qd.groups], hide_index=True, width="content")

st.subheader("Similarities and bands")
st.markdown(sample_widgets.legend_html(run), unsafe_allow_html=True)
cols = st.columns(3)
for i, name in enumerate(order):
    with cols[i % 3]:
        st.plotly_chart(sample_widgets.band_chart(qd, run, name), key=f"band-{name}", width="stretch",
                        config={"displayModeBar": False})

st.subheader("Best match and the top band")
best = sample_widgets.best_match_rows(qd, run)
if best:
    st.dataframe(best, hide_index=True, width="stretch")
    st.caption("The top threshold is the highest similarity itself, rounded to 6 decimals as the reference rounds "
               "it. Whenever the best match's float32 score lies above its rounded value, the best match falls "
               "outside its own top band (in about half of the query × index cases, as in the reference); under "
               "the UPAIR protocol the query's own figure, when it is in the corpus, is that best match.")

st.subheader("Drawn candidates")
st.caption("Σ = summed score the group was merged on; per index the figure's similarity, **bold** where it lies "
           "inside that index's band (the indices that drew it).")
tabs = st.tabs([f"{sample_widgets.GROUP_TITLES[g.name]} ({len(g.kept)}/{g.spec.size})" for g in qd.groups]
               + [f"{sample_widgets.GROUP_TITLES['cited']} ({len(qd.cited)})"])
for tab, g in zip(tabs, qd.groups):
    with tab:
        if g.shortfall:
            already = f", {g.excluded} already kept as cited or in an earlier group" if g.excluded else ""
            st.warning(f"{g.shortfall} short of {g.spec.size}: {g.merged} candidates after merging "
                       f"({g.case}), {len(g.dropped)} dropped as near-duplicates{already}.", icon=":material/info:")
        sample_widgets.grid(corpus, [(c, sample_widgets.why_kept(g, c)) for c in g.kept], order, g.name)
        if g.dropped:
            with st.expander(f"Dropped as near-duplicates ({len(g.dropped)})"):
                sample_widgets.grid(corpus, [(d.candidate, f"duplicate of {corpus.by_id[d.of].patent or d.of[:12]} "
                                               f"({d.of[:10]}…, cos {d.cosine:.3f})") for d in g.dropped],
                        order, f"{g.name}-drop")
with tabs[-1]:
    if not qd.cited:
        st.info("No cited candidates: " + (f"{qd.cited_found} figures of cited patents, none kept."
                if qd.cited_found else "no figure of a patent the query's patent cites is in this corpus "
                "(or there is no citation data)."))
    sample_widgets.grid(corpus, [(c, f"cited patent {c.patent}") for c in qd.cited], order, "cited")
    if qd.cited_dropped:
        with st.expander(f"Dropped as near-duplicates ({len(qd.cited_dropped)})"):
            sample_widgets.grid(corpus, [(d.candidate, f"duplicate of {d.of[:16]} (cos {d.cosine:.3f})")
                                         for d in qd.cited_dropped],
                                order, "cited-drop")

st.subheader("Export")
st.caption(f"Draws every query of this corpus ({len(qids)}) with this config, seed and method: per-query JSON in "
           "the reference's layout, a trace of why, and a UPAIR-layout pool folder (metadata.json, images, empty "
           "qrels) that the app and `python -m core evaluate` read as a corpus.")
if serve.served():  # served mode is read-only: the export draws every query and writes a run folder
    st.info("Exporting pools draws every query (minutes of CPU for the whole room) and writes a run folder on "
            "the server, so it is the workbench's (`make run`); here the pool above is for reading.",
            icon=":material/lock:")
    st.stop()
sample_export.export_section(ctx.corpus_spec, cfg_key, int(seed), method, protocol, families)
