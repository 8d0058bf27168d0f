"""Search page: one query, every selected encoder's neighbours side by side."""
import streamlit as st

from core.config import MAX_UPLOAD_MB
from core.figures import IMAGE_EXTENSIONS, ImageError, store_upload
from dashboard import state, widgets

ctx = state.context()
corpus = state.load_or_stop(ctx.corpus_spec)
st.title("Search")
if corpus.synthetic:
    st.caption(":material/science: Synthetic demo corpus — generated drawings and judgements.")

encoders = ctx.encoders
if not encoders:
    st.warning("Select at least one encoder in the sidebar.")
    st.stop()
errors = state.ensure_indices(ctx.corpus_spec, encoders)
for spec, err in errors.items():
    st.error(f"{state.encoder_label(spec)}: {err}")
encoders = tuple(e for e in encoders if e not in errors)

# ---- the query -------------------------------------------------------------------------
src_upload, src_example, src_text = st.tabs(["Upload a figure", "Pick a figure", "Describe it (CLIP text)"])
with src_upload:
    up = st.file_uploader("Patent figure", type=[e.lstrip(".") for e in IMAGE_EXTENSIONS], key="upload",
                          help=f"PNG, JPEG, TIFF, GIF, BMP or WebP; at most {MAX_UPLOAD_MB} MB.")
    if up is not None and st.session_state.get("_last_upload") != up.file_id:
        try:
            state.push_query(str(store_upload(up.getvalue(), up.name)))
            st.session_state["_last_upload"] = up.file_id
        except ImageError as exc:
            st.error(f"**{up.name}** cannot be used: {exc}", icon=":material/broken_image:")
with src_example:
    widgets.example_picker(corpus)
with src_text:
    text_encoders = tuple(e for e in encoders if state.encoder_kind(e) == "clip")
    if not text_encoders:
        st.info("Text-to-image search needs a CLIP encoder; none is available or selected "
                "(see the sidebar for how to get the weights).", icon=":material/info:")
    else:
        text_query = st.text_input("Text query", key="text_query", placeholder="e.g. gear train with a spring damper")
        if text_query:
            results = state.text_results(ctx.corpus_spec, text_query, text_encoders, ctx.k)
            widgets.result_columns(corpus, None, results, ctx.k, key="txt")

query = state.current_query()
trail = st.session_state.get("query_trail") or []
if len(trail) > 1:
    widgets.breadcrumb(corpus, trail)
if query is None:
    st.info("Upload a figure, pick one, or press **Search with this** on the Corpus page.", icon=":material/info:")
    st.stop()

try:
    results = state.search_results(ctx.corpus_spec, query, encoders, ctx.k)
except ImageError as exc:
    st.error(str(exc))
    st.stop()
left, right = st.columns([1, 4], gap="medium")
with left:
    widgets.query_panel(corpus, query)
    widgets.overlap_summary(results)
with right:
    widgets.result_columns(corpus, query, results, ctx.k)
