"""Models page: adapted CLIP models, their provenance and curves, before/after scores and joint maps."""
import streamlit as st

from core import config
from core.adapt import list_adapted
from core.encoders import get_encoder
from core.metrics import DEFAULT_MEASURES, canonical
from core.protocols import PROTOCOLS, default_protocol_for
from dashboard import serve, services, sidebar
from dashboard.components.status import load_or_stop
from pages import models_widgets

ctx = sidebar.context()
st.title("Models")
st.caption(f"CLIP models adapted to patent figures here (`{config.cli()} adapt`): each figure paired with its "
           "description or component labels and fine-tuned contrastively with open_clip's training code, as "
           "UPAIR did for CLIP-desc and CLIP-labels. Each appears as an encoder in the sidebar.")
models = list_adapted()
if not serve.served():  # served mode: models are read-only (training would block everyone's CPU)
    models_widgets.train_form(ctx.corpus_spec, expanded=not models)
if not models and serve.served():
    st.info("No adapted models on this server (models are read-only here).", icon=":material/model_training:")
    st.stop()
if not models:
    st.info("No adapted models yet. Make one above, or with\n\n"
            f"`{config.cli()} adapt --corpus <figures with descriptions> --text desc --out my-clip-desc`\n\n"
            "(UPAIR's settings are the defaults; `--help` lists every option). It is saved under "
            "`cache/weights/` and listed here.", icon=":material/model_training:")
    st.stop()

names = [m.name for m in models]
health = services.model_health()
name = st.selectbox("Adapted model", names, key="models_name",
                    format_func=lambda n: f"{n} — {models[names.index(n)].provenance.get('text_field', '?')}, "
                                          f"{models[names.index(n)].arch}"
                                          + (" — ⚠ degenerate" if health.get(models[names.index(n)].spec)
                                             and health[models[names.index(n)].spec].degenerate else ""))
model = models[names.index(name)]
models_widgets.health(model, ctx.corpus_spec)
models_widgets.provenance(model)

st.subheader("Training")
models_widgets.curves(model)

st.subheader("Before and after on the benchmark")
corpus = load_or_stop(ctx.corpus_spec)
before_ok = bool(model.init_spec) and get_encoder(model.init_spec).availability()
if corpus.benchmark is None:
    st.info("The corpus chosen in the sidebar has no judgements; choose the demo, the UPAIR samples or a UPAIR "
            "folder to score the model before and after.", icon=":material/info:")
elif not model.init_spec:
    st.info(f"{model.name} started from random weights: there is no 'before' model to compare with.")
elif not before_ok:
    st.warning(f"The starting model `{model.init_spec}` is not available here: {before_ok.reason}. "
               f"Fix: {before_ok.fix}", icon=":material/block:")
else:
    leaked = services.models.leaked_patents(ctx.corpus_spec, model)
    if leaked:
        st.error(f"**{len(leaked)} patent(s) of this benchmark were in {model.name}'s training or validation "
                 f"data** ({', '.join(leaked[:8])}{' …' if len(leaked) > 8 else ''}); its scores here are "
                 "optimistic. Retrain with `--benchmark` pointing at this corpus to leave them out.",
                 icon=":material/warning:")
    c1, c2, c3 = st.columns([2, 2, 3])
    test = c1.selectbox("Significance test", ["randomization", "t"], key="models_test",
                        format_func=lambda t: "Paired randomization" if t == "randomization" else "Paired t-test")
    dp = default_protocol_for(corpus)
    protocol = c2.selectbox("Protocol", list(PROTOCOLS), index=list(PROTOCOLS).index(dp), key="models_protocol",
                            format_func=lambda p: PROTOCOLS[p].title)
    flag = f"models_scored_{model.name}_{ctx.corpus_spec}"
    if c3.button("Score before and after", key="models_score", icon=":material/leaderboard:"):
        st.session_state[flag] = True
    if st.session_state.get(flag):
        with st.spinner(f"Encoding {len(corpus):,} figures with both models and scoring…"):
            res = services.models.scored(ctx.corpus_spec, model.name, model.provenance.get("finished_at", ""), test, protocol)
        for spec, reason in res.skipped:
            st.caption(f":material/block: {spec}: {reason}")
        if res.table.empty:
            st.warning("Nothing could be scored.")
        else:
            st.caption(f"**Before** `{res.before}` → **after** `{res.after}`, runs "
                       f"{', '.join(services.models.comparison_runs(model))}, "
                       f"protocol {PROTOCOLS[res.protocol].title}. "
                       "▲/▼: significantly better/worse after adaptation (paired "
                       f"{'randomization' if test == 'randomization' else 't'} test on per-query values, "
                       "Holm-corrected over runs and axes, α = 0.05).")
            models_widgets.before_after_table(res.table, [canonical(m) for m in DEFAULT_MEASURES])

st.subheader("Images and texts in one space, before and after")
st.caption("UMAP of the figures' image embeddings (green) and their texts' embeddings (blue) together, as in "
           "UPAIR's supplementary Figure 1: adaptation should bring each figure closer to its own text.")
if not (model.init_spec and before_ok):
    st.caption("Needs the starting model to draw the 'before' map.")
else:
    mflag = f"models_maps_{model.name}_{ctx.corpus_spec}"
    if st.button("Draw both maps", key="models_maps", icon=":material/scatter_plot:"):
        st.session_state[mflag] = True
    if st.session_state.get(mflag):
        field = model.provenance.get("text_field", "desc")
        left, right = st.columns(2)
        for col, spec, title in ((left, model.init_spec, "Before adaptation"), (right, model.spec, "After adaptation")):
            with col, st.spinner(f"Projecting {services.encoder_label(spec)}…"):
                frame = services.maps.joint_frame(ctx.corpus_spec, spec, field)
                st.markdown(f"**{title}**")
                st.caption(f"`{spec}`")
                models_widgets.joint_map(frame, title, key=f"models_map_{title[:5]}")
