"""Map page: UMAP of each encoder's embedding space, side by side, with linked selection."""
import streamlit as st

from core.corpora import AXES, AXIS_LABELS
from core.maps import MAX_DRAWN
from dashboard import services, session, sidebar
from dashboard.components.cards import fig_label
from dashboard.components.grids import figure_grid, pager
from dashboard.components.status import load_or_stop, ready_encoders
from pages import map_agreement, map_export, map_interaction, map_pictures, map_waiting, map_widgets

ctx = sidebar.context()
corpus = load_or_stop(ctx.corpus_spec)
st.title("Map")
st.caption("Each point is a figure; nearby points are figures the encoder considers similar. "
           "Box- or lasso-select points to see them, in both maps; hover a point for its drawing, "
           "click it to make it the query.")
if corpus.synthetic:
    st.caption(":material/science: Synthetic demo corpus — generated drawings and judgements.")
if ctx.note:
    st.info(ctx.note, icon=":material/swap_horiz:")

map_interaction.new_query_note(corpus)
image_encoders = list(ready_encoders(corpus, ctx.corpus_spec, ctx.encoders))
if not image_encoders:
    st.stop()
session.keep_valid(set(corpus.by_id))

c1, c2, c3, c4 = st.columns([2, 2, 2, 2])
left_spec = c1.selectbox("Encoder", image_encoders, format_func=services.encoder_label, key="map_left")
others = ["(none)"] + [e for e in image_encoders if e != left_spec]
right_spec = c2.selectbox("Compare with", others, index=min(1, len(others) - 1), key="map_right",
                          format_func=lambda s: s if s == "(none)" else services.encoder_label(s))
colour = c3.selectbox("Colour by", list(map_widgets.COLOURINGS) + [map_agreement.COLOURING], key="map_colour",
                      persist_state="session")
axis = None
if colour == "Relevance to the query":
    axis = c4.selectbox("Axis", list(AXES), key="map_axis", format_func=AXIS_LABELS.get, persist_state="session")
elif colour == map_agreement.COLOURING and right_spec != "(none)":
    with c4:
        map_agreement.k_control(len(corpus))
with st.expander("UMAP parameters"):
    p1, p2 = st.columns(2)
    nn = p1.slider("Neighbours", 2, 100, 15, key="map_nn", help="Larger values keep more global structure.")
    md = p2.slider("Minimum distance", 0.0, 0.99, 0.3, step=0.05, key="map_md",
                   help="Larger values spread tight clusters (e.g. identical drawings) apart.")

query = session.current_query()
query_text = session.upload_text(query) if query and query not in corpus.by_id else ""
specs = [left_spec] + ([right_spec] if right_spec != "(none)" else [])
frames = map_waiting.frames_or_wait(ctx.corpus_spec, specs, nn, md)  # a first fit: its progress, then st.stop()

agree_groups = None
if colour == map_agreement.COLOURING:
    no_data = None if right_spec != "(none)" else "it compares two encoders: choose one under **Compare with**."
    if not no_data:
        agree = map_agreement.agreement(ctx.corpus_spec, left_spec, right_spec,
                                        int(st.session_state[map_agreement.K_KEY]), len(corpus))
        if agree is not None:
            agree_groups = {spec: map_agreement.groups(frames[spec], agree) for spec in specs}
else:
    _, no_data = map_widgets.colour_groups(corpus, frames[left_spec], colour, axis, query)
if no_data:
    st.info(f"**Colour by {colour.lower()}:** {no_data} All points are drawn in grey.", icon=":material/format_color_reset:")

selected: set[str] = set(st.session_state.get("map_selection", [])) & set(corpus.by_id)
overlay = map_pictures.controls(corpus, ctx.corpus_spec, bool(selected))
query_name = fig_label(corpus, query) if query else "query"
cols = st.columns(len(specs))
for col, spec in zip(cols, specs):
    with col:
        st.markdown(f"#### {services.encoder_label(spec)}")
        qxy = services.maps.query_xy(ctx.corpus_spec, spec, query, nn, md, query_text or None) if query else None
        if query and qxy is None:
            st.caption("The query cannot be placed on this map: a text encoder needs a description "
                       "(add one to the upload on the Search page).")
        fig = map_widgets.map_figure(corpus, frames[spec], colour, axis, query, qxy, selected, query_name,
                                     *((agree_groups[spec], map_agreement.PALETTE) if agree_groups else ()))
        drawn = map_pictures.decorate(fig, ctx.corpus_spec, frames[spec], overlay, selected)
        event = st.plotly_chart(fig, key=f"map-{spec}", on_select="rerun", selection_mode=("box", "lasso"),
                                width="stretch")
        if drawn:
            st.caption(drawn)
        picked = map_widgets.selected_ids(event)
        if picked and set(picked) != selected:
            st.session_state["map_selection"] = picked
            st.session_state.pop("map_sel_page", None)
            st.rerun()
map_interaction.hover_and_click(ctx.corpus_spec, list(frames[left_spec]["id"]))
st.caption(f"{len(frames[left_spec])} figures on each map." +
           (f" Above {MAX_DRAWN:,} figures a sample that keeps every region is drawn as points (hover, "
            "box and lasso act on those) over a grey density of all of them." if len(frames[left_spec]) > MAX_DRAWN
            else "") +
           (f" ★ marks the current query ({query_name})." if query else ""))

if selected:
    h1, h2 = st.columns([4, 1])
    h1.subheader(f"Selection · {len(selected)} figures")
    h2.button("Clear selection", key="map_clear", on_click=lambda: session.forget("map_selection", "map_sel_page"))
    ids = [i for i in frames[left_spec]["id"] if i in selected]
    map_export.actions(corpus, ctx.corpus_spec, ids, frames[left_spec], query, left_spec)
    figure_grid(corpus, ids[pager(len(ids), 48, "map_sel_page")], key="mapsel")

map_agreement.section(corpus, ctx.corpus_spec, left_spec, None if right_spec == "(none)" else right_spec,
                      show_k=colour != map_agreement.COLOURING)

clip_specs = [s for s in image_encoders if services.can(s, "text-to-image")]
if clip_specs:
    st.subheader("Figures and their descriptions in one CLIP space")
    st.caption("As in the UPAIR supplementary material: a joint UMAP of image and text embeddings. "
               "Lines join a figure to its own description; long lines mean the encoder keeps them apart.")
    spec = st.selectbox("CLIP encoder", clip_specs, format_func=services.encoder_label, key="joint_spec")
    field = st.radio("Text", ["desc", "labels"], horizontal=True, key="joint_field",
                     format_func=lambda f: "Figure descriptions" if f == "desc" else "Component labels")
    joint = map_waiting.joint_or_wait(ctx.corpus_spec, spec, field)  # a first fit: its progress meanwhile
    if joint is not None:
        st.plotly_chart(map_widgets.joint_figure(joint), key="joint", width="stretch")
