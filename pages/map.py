"""Map page: UMAP of each encoder's embedding space, side by side, with linked selection."""
import streamlit as st

from dashboard import state, widgets

ctx = state.context()
corpus = state.load_or_stop(ctx.corpus_spec)
st.title("Map")
st.caption("Each point is a figure; nearby points are figures the encoder considers similar. "
           "Box- or lasso-select points to see them, in both maps.")
if corpus.synthetic:
    st.caption(":material/science: Synthetic demo corpus — generated drawings and judgements.")

image_encoders = list(ctx.encoders)
if not image_encoders:
    st.warning("Select at least one encoder in the sidebar.")
    st.stop()
errors = state.ensure_indices(ctx.corpus_spec, tuple(image_encoders))
for spec, err in errors.items():
    st.error(f"{state.encoder_label(spec)}: {err}")
image_encoders = [e for e in image_encoders if e not in errors]

c1, c2, c3, c4 = st.columns([2, 2, 2, 2])
left_spec = c1.selectbox("Encoder", image_encoders, format_func=state.encoder_label, key="map_left")
others = ["(none)"] + [e for e in image_encoders if e != left_spec]
right_spec = c2.selectbox("Compare with", others, index=min(1, len(others) - 1), key="map_right",
                          format_func=lambda s: s if s == "(none)" else state.encoder_label(s))
colour_opts = ["CPC section", "Patent"] + (["Relevance to the query"] if corpus.benchmark else [])
colour = c3.selectbox("Colour by", colour_opts, key="map_colour")
axis = None
if colour == "Relevance to the query":
    axis = c4.selectbox("Axis", ["visual", "semantic", "part_whole"], key="map_axis",
                        format_func=lambda a: a.replace("_", "-").capitalize())
with st.expander("UMAP parameters"):
    p1, p2 = st.columns(2)
    nn = p1.slider("Neighbours", 2, 100, 15, key="map_nn", help="Larger values keep more global structure.")
    md = p2.slider("Minimum distance", 0.0, 0.99, 0.3, step=0.05, key="map_md",
                   help="Larger values spread tight clusters (e.g. identical drawings) apart.")

query = state.current_query()
specs = [left_spec] + ([right_spec] if right_spec != "(none)" else [])
frames = {}
for spec in specs:
    if not state.map_is_cached(ctx.corpus_spec, spec, nn, md):
        from core.maps import estimate_seconds

        eta = estimate_seconds(len(corpus))
        with st.spinner(f"Computing the {state.encoder_label(spec)} map of {len(corpus)} figures (about {eta:.0f} s, once; cached after)…"):
            frames[spec] = state.map_frame(ctx.corpus_spec, spec, nn, md)
    else:
        frames[spec] = state.map_frame(ctx.corpus_spec, spec, nn, md)

selected: set[str] = set(st.session_state.get("map_selection", []))
cols = st.columns(len(specs))
for col, spec in zip(cols, specs):
    with col:
        st.markdown(f"#### {state.encoder_label(spec)}")
        qxy = state.query_xy(ctx.corpus_spec, spec, query, nn, md) if query else None
        if query and qxy is None:
            st.caption("The query cannot be placed on this map (a text encoder needs a description).")
        fig = widgets.map_figure(corpus, frames[spec], colour, axis, query, qxy, selected)
        event = st.plotly_chart(fig, key=f"map-{spec}", on_select="rerun", selection_mode=("box", "lasso"),
                                width="stretch")
        picked = widgets.selected_ids(event, frames[spec])
        if picked is not None and set(picked) != selected and picked:
            st.session_state["map_selection"] = picked
            st.rerun()
st.caption(f"{len(frames[left_spec])} figures on each map." + (" ★ marks the current query." if query else ""))

if selected:
    h1, h2 = st.columns([4, 1])
    h1.subheader(f"Selection · {len(selected)} figures")
    h2.button("Clear selection", on_click=lambda: st.session_state.pop("map_selection", None))
    widgets.figure_grid(corpus, [i for i in frames[left_spec]["id"] if i in selected][:48], key="mapsel")

clip_specs = [s for s in image_encoders if state.encoder_kind(s) == "clip"]
if clip_specs:
    st.subheader("Figures and their descriptions in one CLIP space")
    st.caption("As in the UPAIR supplementary material: a joint UMAP of image and text embeddings. "
               "Lines join a figure to its own description; long lines mean the encoder keeps them apart.")
    spec = st.selectbox("CLIP encoder", clip_specs, format_func=state.encoder_label, key="joint_spec")
    field = st.radio("Text", ["desc", "labels"], horizontal=True, key="joint_field",
                     format_func=lambda f: "Figure descriptions" if f == "desc" else "Component labels")
    with st.spinner("Computing the joint map…"):
        joint = state.joint_frame(ctx.corpus_spec, spec, field)
    st.plotly_chart(widgets.joint_figure(joint), key="joint", width="stretch")
