"""Corpus page: what is loaded, a thumbnail grid, and the encoders' status."""
import streamlit as st

from dashboard import state, widgets

ctx = state.context()
corpus = state.load_or_stop(ctx.corpus_spec)

st.title("Corpus")
if corpus.synthetic:
    st.warning("**Synthetic demo corpus** — procedurally drawn patent-style figures with generated "
               "judgements. Numbers shown for it test the tool, not real encoders on real patents.",
               icon=":material/science:")
widgets.corpus_summary(corpus)
if corpus.warnings:
    with st.expander(f"{len(corpus.warnings)} record(s) skipped or repaired while loading"):
        st.code("\n".join(corpus.warnings[:200]), language=None)

st.subheader("Encoders")
widgets.encoder_table(state.encoder_status(), ctx.encoders)

st.subheader("Figures")
widgets.figure_browser(corpus, key="overview")
