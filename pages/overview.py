"""Corpus page: what is loaded, where to start, a thumbnail grid, and the encoders' status."""
import streamlit as st

from dashboard import serve, services, sidebar
from dashboard.components.status import load_or_stop
from pages import overview_widgets

ctx = sidebar.context()
corpus = load_or_stop(ctx.corpus_spec)

st.title("Corpus")
if ctx.note:
    st.info(ctx.note, icon=":material/swap_horiz:")
if corpus.synthetic:
    st.warning("**Synthetic demo corpus** — procedurally drawn patent-style figures with generated "
               "judgements. Numbers shown for it test the tool, not real encoders on real patents.",
               icon=":material/science:")
overview_widgets.start_here(corpus)
overview_widgets.corpus_summary(corpus)
SERVED = serve.served()  # served mode: counts only (the details name server paths), no downloads
if corpus.warnings:
    with st.expander(f"{len(corpus.warnings)} record(s) skipped or repaired while loading"):
        if SERVED:
            st.caption("The server's operator sees which ones (`python -m core info`).")
        else:
            st.code("\n".join(corpus.warnings[:200]), language=None)
unreadable = services.unreadable_figures(corpus)
if unreadable:
    with st.expander(f"{len(unreadable)} unreadable figure(s) — left out of indices, maps and evaluation",
                     expanded=not SERVED, icon=":material/broken_image:"):
        if SERVED:
            st.caption("The server's operator sees which ones (`python -m core info`).")
        else:
            st.code("\n".join(list(unreadable.values())[:200]), language=None, wrap_lines=True)

st.subheader("Figures")
overview_widgets.figure_browser(corpus, key="overview")

st.subheader("Encoders")
overview_widgets.encoder_table(services.encoder_status(), ctx.encoders)
if not SERVED:
    overview_widgets.weights_panel(services.encoder_status())
