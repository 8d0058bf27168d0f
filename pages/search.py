"""Search page: one query, every selected encoder's neighbours side by side."""
import streamlit as st

from core.config import MAX_UPLOAD_MB
from core.figures import IMAGE_EXTENSIONS, ImageError, store_upload
from dashboard import serve, services, session, sidebar, urlstate, workspace
from dashboard.components import judging
from dashboard.components.status import load_or_stop, ready_encoders
from pages import search_examiner, search_examiner_panels, search_explain, search_numerals, search_widgets

ctx = sidebar.context()
corpus = load_or_stop(ctx.corpus_spec)
st.title("Search")
if corpus.synthetic:
    st.caption(":material/science: Synthetic demo corpus — generated drawings and judgements.")
note = session.carried_note()
if note or ctx.note:
    st.info(note or ctx.note, icon=":material/swap_horiz:")
encoders = ready_encoders(corpus, ctx.corpus_spec, ctx.encoders)
session.keep_valid(set(corpus.by_id))
urlstate.restore_query(corpus)
st.html(search_widgets.COMPACT_CSS)


def _on_upload() -> None:
    """Store a new upload and make it the query; a bad file leaves an error (and no new query)."""
    up = st.session_state.get(session.upload_key())
    st.session_state.pop("upload_error", None)
    if up is None:
        return
    try:
        data = up.getvalue()
        if why := serve.session_upload_refused(data):  # served mode's limits per session
            raise ImageError(why)
        path = str(store_upload(data, up.name))
    except ImageError as exc:
        st.session_state["upload_error"] = f"**{up.name}** cannot be used: {serve.shown_error(exc)}"
        return
    session.note_upload(path, up.name)
    same = services.figure_with_bytes(ctx.corpus_spec, data)
    if same:
        st.session_state.setdefault("upload_same_as", {})[path] = same
    session.push_query(path)


text_encoders = tuple(e for e in encoders if services.can(e, "text"))
query = session.current_query()
with st.expander("New query: upload a figure, pick one, or describe it", expanded=query is None,
                 icon=":material/add_photo_alternate:"):
    search_examiner_panels.examples_row(corpus)  # demo: one example per examiner feature
    src_upload, src_example, src_text = st.tabs(["Upload a figure", "Pick a figure", "Describe it (text)"])
    with src_upload:
        st.file_uploader("Patent figure", type=[e.lstrip(".") for e in IMAGE_EXTENSIONS], key=session.upload_key(),
                         on_change=_on_upload,
                         help=f"PNG, JPEG, TIFF, GIF, BMP or WebP; at most {MAX_UPLOAD_MB} MB. A .json "
                              "sidecar is not needed: type a description below instead.")
    with src_example:
        search_widgets.example_picker(corpus)
    with src_text:
        if not text_encoders:
            st.info("Text search needs an encoder that reads text (TF-IDF or CLIP); select one in the sidebar.",
                    icon=":material/info:")
        else:
            st.text_input("Text query", key="text_query", placeholder="e.g. gear train with a spring damper",
                          help="Searched by " + ", ".join(services.encoder_label(e) for e in text_encoders))

text_query = st.session_state.get("text_query", "").strip()
if text_query and text_encoders:
    st.subheader(f"Figures matching “{text_query}”")
    results = services.search.text_results(ctx.corpus_spec, text_query, text_encoders, ctx.k)
    search_widgets.result_columns(corpus, None, results, ctx.k, key="txt", score_kind="text")
    st.divider()



@st.fragment
def query_view() -> None:
    """Everything that follows the query: a click here (a star, '+ query', 'Use as query', a crumb,
    the view switch) reruns only this part, not the sidebar and the query pickers above."""
    try:
        _query_view()
    finally:  # what app.py does after a whole-page run: persisted widgets, the workspace on disk
        session.remember()
        workspace.save(ctx.corpus_spec)


def _query_view() -> None:
    error = st.session_state.get("upload_error")
    if error:
        st.error(error, icon=":material/broken_image:")
    query = session.current_query()
    trail = st.session_state.get(session.TRAIL) or []
    if len(trail) > 1:
        search_widgets.breadcrumb(corpus, trail)
    if query is None:
        st.info("Upload a figure, pick one, or press **Search with this** on the Corpus page.", icon=":material/info:")
        return
    urlstate.store_query(query, ctx.corpus_spec)
    workspace.store_region(query)

    same_as = None
    if query not in corpus.by_id:
        same_fid = st.session_state.get("upload_same_as", {}).get(query)
        if same_fid in corpus.by_id:
            same_as = same_fid
        with st.popover("Describe this upload (for text encoders)", icon=":material/edit_note:"):
            qk = urlstate.token(query)  # widget keys reach the browser: the upload's token, not its server path
            side = st.session_state.get(f"sidecar-{qk}")
            if side is not None and st.session_state.get(f"_sidecar_used-{qk}") != side.file_id:
                st.session_state[f"desc-{qk}"] = search_widgets.sidecar_text(side.getvalue())
                st.session_state[f"_sidecar_used-{qk}"] = side.file_id
            st.session_state.setdefault(f"desc-{qk}", session.upload_text(query))
            desc = st.text_area("Description", key=f"desc-{qk}",
                                help="Text encoders (TF-IDF) search with it; e.g. the figure's caption or claims.")
            session.set_upload_text(query, desc)
            st.file_uploader("…or read it from a sidecar file (.txt, or .json with fig_desc / description)",
                             type=["txt", "json"], key=f"sidecar-{qk}")
    # an upload byte-identical to a corpus figure is searched as that figure: its own text, itself left out
    searched = same_as or query
    upload_text = session.upload_text(query) if searched not in corpus.by_id else ""
    search_examiner.region_tool(corpus, searched)
    try:  # the ordinary search, or the examiner's (region, added figures, earlier art only)
        results, facts = search_examiner.results(ctx.corpus_spec, corpus, searched, encoders, ctx.k, upload_text or None)
    except ImageError as exc:
        st.error(serve.shown_error(exc))
        return
    if searched not in corpus.by_id and not upload_text:
        results = {s: (dict(r, error="Reads text, not drawings: describe this upload (button above).")
                       if r["error"] and not services.can(s, "image") else r) for s, r in results.items()}

    container = st.expander("Results of your previous query (the file above was not used)", expanded=False) \
        if error else st.container()
    with container:
        left, right = st.columns([1, 4], gap="medium")
        with left:
            search_widgets.query_panel(corpus, same_as or query, same_as=session.upload_name(query) if same_as else None)
            combine, _ = search_examiner.query_tools(ctx.corpus_spec, corpus, searched)
            search_widgets.overlap_summary(results)
            _, jqrels = judging.judgement_picker(corpus)
        with right:
            m1, m3, m2 = st.columns([3, 1.6, 2], vertical_alignment="center")
            m1.caption("Scores are cosine similarities in each encoder's own space (not comparable across encoders)."
                       if facts["combination"] != "rrf" else "Scores are reciprocal-rank fusion scores.")
            search_examiner.search_facts(facts)
            search_examiner.tie_warnings(results, facts)
            mode = m2.segmented_control("View", ["Compact", "Cards"], key="result_view", persist_state="session",
                                        default="Compact", label_visibility="collapsed")
            shown = search_numerals.fold_families(ctx.corpus_spec, results, m3)  # family copies: one card
            search_widgets.result_columns(corpus, same_as or query, shown, ctx.k, compact=(mode != "Cards"),
                                          self_hit=same_as, qrels=jqrels)
            search_numerals.numerals_section(ctx.corpus_spec, corpus, shown)
            judging.search_section(corpus, same_as or query, results, jqrels, ctx.k)
        search_explain.part_search_panel(ctx.corpus_spec, corpus, searched, encoders, ctx.k)
        search_examiner_panels.panels(ctx.corpus_spec, corpus, searched, results, ctx.k, combine)
    urlstate.scroll_to_top_if_asked()  # last, after the new results are on the page


query_view()
