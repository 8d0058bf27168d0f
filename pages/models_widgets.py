"""Widgets of the Models page: provenance, training curves, before/after table, joint maps."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import config
from core.adapt import UNPUBLISHED, AdaptConfig, AdaptedModel
from core.corpora import AXIS_LABELS
from dashboard import serve

#: UPAIR's published value of each setting (supplementary A.1.1); others are "not published".
_UPAIR = {f: getattr(AdaptConfig(), f) for f in ("arch", "pretrained", "lr", "batch_size", "max_steps")}
_LABELS = {"arch": "Architecture", "pretrained": "Started from", "text": "Text field", "protocol": "Text cleaning",
           "lr": "Learning rate", "batch_size": "Batch size", "max_steps": "Iteration cap", "epochs": "Epochs (set)",
           "wd": "AdamW weight decay", "warmup": "Warm-up steps", "schedule": "LR schedule",
           "patience": "Early-stopping patience", "keep": "Published epoch", "val_fraction": "Validation patents",
           "seed": "Seed", "device": "Device", "precision": "Precision", "workers": "Loader workers"}
IMAGE_COLOUR, TEXT_COLOUR = "#2e9d5b", "#2f6fd6"  # as UPAIR's supplementary Fig. 1: green images, blue texts


def _fmt(v) -> str:
    if v is None:
        return "default"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def provenance(m: AdaptedModel) -> None:
    """Headline numbers, then every setting next to UPAIR's published value."""
    p = m.provenance
    start, kept = p.get("start_val", {}), p.get("kept_val", {})
    c = st.columns(5)
    c[0].metric("Training pairs", f"{p.get('train_pairs', 0):,}", help=f"{p.get('train_patents', 0):,} patents")
    c[1].metric("Validation pairs", f"{p.get('val_pairs', 0):,}", help=f"{p.get('val_patents', 0):,} patents")
    c[2].metric("Patents left out", f"{len(p.get('excluded_patents', [])):,}",
                help=f"Benchmark patents left out of training: {p.get('excluded_figures', 0):,} figures of patents "
                     "among benchmark queries or candidates")
    c[3].metric("Epochs", f"{p.get('epochs_trained', 0)} / {p.get('epochs_planned', 0)}",
                help="trained / planned" + (" — stopped early" if p.get("stopped_early") else ""))
    if kept and start:
        c[4].metric("Validation loss", f"{kept['val_loss']:.3f}", f"{kept['val_loss'] - start['val_loss']:+.3f}",
                    delta_color="inverse", help=f"before training {start['val_loss']:.3f}; epoch {p.get('kept_epoch')}")
    corpus = p.get("corpus", {})
    st.caption(f"Trained on **{corpus.get('name', '?')}** ({corpus.get('figures', 0):,} figures, digest "
               f"`{str(corpus.get('fingerprint', ''))[:12]}`) · text **{p.get('text_field')}** cleaned by "
               f"`{p.get('cleaning')}` · {p.get('device')} {p.get('precision')} · "
               f"{p.get('pairs_per_second') or 0:.1f} pairs/s · finished {p.get('finished_at', '?')} · "
               f"encoder `{m.spec}`")
    hp = p.get("hyperparameters", {})
    rows = [{"setting": _LABELS.get(k, k), "value": _fmt(v),
             "UPAIR": _fmt(_UPAIR[k]) if k in _UPAIR else ("not published" if k in UNPUBLISHED else "")}
            for k, v in hp.items()]
    if p.get("warmup_steps") is not None:
        rows.append({"setting": "Warm-up steps (used)", "value": str(p["warmup_steps"]), "UPAIR": "not published"})
    with st.expander("Settings, and UPAIR's published values"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption("UPAIR tuned the weight decay over 0.1 and 0.2 and did not publish the value it chose.")
    if p.get("excluded_patents"):
        with st.expander(f"Left out: {len(p['excluded_patents'])} benchmark patents"):
            st.write(", ".join(p["excluded_patents"]))


def health(m: AdaptedModel, corpus_spec: str) -> None:
    """The model's health: degenerate (why) or not, and a check of its embeddings on the corpus."""
    from core.adapt.health import CHANCE_MARGIN, COLLAPSE_COSINE, COLLAPSE_PAIRS, COLLAPSE_SHARE
    from dashboard import services

    h = services.model_health().get(m.spec)
    if h is not None and h.degenerate:
        st.error("**Degenerate model** — " + " · ".join(h.problems) + ". It is never selected by default; "
                 "retrain it (another learning rate, a pretrained start, more pairs) or delete it.",
                 icon=":material/report:")
    a, b = st.columns([3, 1], vertical_alignment="center")
    n = h.checked_corpora if h else 0
    a.caption(f"Checks: validation loss against chance (ln of the pairs per validation batch, within "
              f"{CHANCE_MARGIN:.0%}); embeddings collapsed when ≥ {COLLAPSE_SHARE:.0%} of {COLLAPSE_PAIRS:,} random "
              f"figure pairs have cosine > {COLLAPSE_COSINE} — "
              + ("not checked on any corpus yet." if not n else f"checked on {n} {'corpus' if n == 1 else 'corpora'}."))
    if corpus_spec and b.button("Check embeddings", key=f"models_health_{m.name}",
                                icon=":material/troubleshoot:", help="Encodes the sidebar's corpus with it (once)"):
        st.session_state[f"models_checking_{m.name}"] = corpus_spec
    if st.session_state.get(f"models_checking_{m.name}") == corpus_spec:
        _check_embeddings(m, corpus_spec)


def _check_embeddings(m: AdaptedModel, corpus_spec: str) -> None:
    """Encode the corpus with the model in a background job (``services.encoders.index_job``, shared with
    the Search page's encoding), its progress meanwhile; once done, load the vectors (the health check
    runs as they load) and redraw the page."""
    from core.embed import EncoderUnavailable
    from dashboard import services
    from dashboard.components import waiting

    try:
        job = services.encoders.index_job(corpus_spec, m.spec)
        outcome = waiting.settle(job)
        if outcome == "running":
            waiting.progress_panel((job.key,))
            return
        if outcome is None:
            services.index(corpus_spec, m.spec)
    except (EncoderUnavailable, ValueError, RuntimeError, OSError) as exc:
        outcome = serve.shown_error(exc).strip().splitlines()[0]
    st.session_state.pop(f"models_checking_{m.name}", None)
    if outcome is not None:
        st.error(f"{m.name} could not encode this corpus: {outcome}", icon=":material/block:")
        return
    services.model_health.clear()
    st.rerun()


def _epoch_means(steps: list, per_epoch: int) -> tuple[list, list]:
    xs, ys = [], []
    for i in range(0, len(steps) - per_epoch + 1, per_epoch):
        chunk = steps[i:i + per_epoch]
        xs.append(chunk[-1][0])
        ys.append(sum(v for _, v in chunk) / len(chunk))
    return xs, ys


def curves(m: AdaptedModel) -> None:
    """Training and validation loss by step; validation recall by epoch."""
    h, p = m.history, m.provenance
    steps, val = h.get("steps", []), h.get("val", [])
    per_epoch = max(1, int(p.get("batches_per_epoch") or 1))
    left, right = st.columns(2)
    fig = go.Figure()
    if steps:
        fig.add_scatter(x=[s for s, _ in steps], y=[v for _, v in steps], mode="lines", name="training (per step)",
                        line=dict(color="#b7c4d6", width=1))
        xs, ys = _epoch_means(steps, per_epoch)
        fig.add_scatter(x=xs, y=ys, mode="lines+markers", name="training (epoch mean)", line=dict(color="#2f6fd6"))
    if val:
        fig.add_scatter(x=[r["step"] for r in val], y=[r["val_loss"] for r in val], mode="lines+markers",
                        name="validation", line=dict(color="#d9534f"))
    if p.get("kept_epoch"):
        fig.add_vline(x=p["kept_epoch"] * per_epoch, line_dash="dot", line_color="#777",
                      annotation_text=f"published (epoch {p['kept_epoch']})", annotation_position="top left")
    fig.update_layout(title="Contrastive loss", xaxis_title="step", yaxis_title="loss", height=340,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    left.plotly_chart(fig, width="stretch", key="models_loss")
    fig = go.Figure()
    series = (("image_to_text_R@1", "image→text R@1", None), ("image_to_text_R@5", "image→text R@5", "dot"),
              ("text_to_image_R@1", "text→image R@1", None), ("text_to_image_R@5", "text→image R@5", "dot"))
    for key, name, dash in series:
        if val and key in val[0]:
            colour = IMAGE_COLOUR if key.startswith("image") else TEXT_COLOUR
            fig.add_scatter(x=[r["epoch"] for r in val], y=[r[key] for r in val], mode="lines+markers", name=name,
                            line=dict(color=colour, dash=dash))
    fig.update_layout(title=f"Validation recall ({p.get('val_pairs', 0)} held-out pairs)", xaxis_title="epoch",
                      yaxis_title="recall", yaxis_range=[0, 1.02], height=340,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    right.plotly_chart(fig, width="stretch", key="models_recall")
    b = int(p.get("hyperparameters", {}).get("batch_size") or 0)
    vb = min(b, int(p.get("val_pairs") or 0))
    if b and vb:
        st.caption(f"The two losses are on different scales: a contrastive loss at chance is ln(batch size), "
                   f"{math.log(b):.2f} for training batches of {b} and {math.log(vb):.2f} for validation "
                   f"batches of {vb}. Recall is over the {p.get('val_pairs', 0)} held-out pairs (patents never "
                   "trained on).")


def before_after_table(table: pd.DataFrame, metric_order: list[str]) -> None:
    """One table per axis: run × measure, before → after, difference, Holm-corrected p."""
    axes = list(dict.fromkeys(table["axis"]))
    tabs = st.tabs([AXIS_LABELS.get(a, a) for a in axes])
    for tab, axis in zip(tabs, axes):
        t = table[table["axis"] == axis].copy()
        t["order"] = t["metric"].map({m: i for i, m in enumerate(metric_order)}).fillna(99)
        t = t.sort_values(["run", "order"])
        t["change"] = [f"{d:+.3f}" + (" ▲" if s and d > 0 else " ▼" if s and d < 0 else "")
                       for d, s in zip(t["diff"], t["significant"].fillna(False))]
        shown = t[["run", "metric", "before", "after", "change", "p_holm"]].rename(
            columns={"metric": "measure", "p_holm": "p (Holm)"})
        with tab:
            st.dataframe(shown.style.format({"before": "{:.4f}", "after": "{:.4f}", "p (Holm)": "{:.4f}"}),
                         hide_index=True, width="stretch")


def joint_map(frame: pd.DataFrame, title: str, key: str) -> None:
    """Figures (green circles) and their texts (blue triangles) in one 2-D projection."""
    fig = go.Figure()
    for kind, colour, symbol in (("figure", IMAGE_COLOUR, "circle"), (None, TEXT_COLOUR, "triangle-up")):
        sub = frame[frame["kind"] == kind] if kind else frame[frame["kind"] != "figure"]
        if sub.empty:
            continue
        fig.add_scattergl(x=sub["x"], y=sub["y"], mode="markers", name="Images" if kind else "Text",
                          marker=dict(color=colour, symbol=symbol, size=7, opacity=0.75),
                          text=sub["title"], customdata=sub["text"],
                          hovertemplate="%{text}<br>%{customdata}<extra></extra>")
    fig.update_layout(meta=title, height=420, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(showticklabels=False, title="UMAP 1"),
                      yaxis=dict(showticklabels=False, title="UMAP 2"),
                      legend=dict(orientation="h", y=-0.1))
    st.plotly_chart(fig, width="stretch", key=key)


def train_form(corpus_spec: str, expanded: bool) -> None:
    """Adapt a model on the sidebar's corpus from the page (UPAIR's settings preset): a background
    job whose progress the page polls, so the session stays usable while it trains."""
    d = AdaptConfig()
    if "adapt_done" in st.session_state:
        st.success(st.session_state.pop("adapt_done"), icon=":material/check_circle:")
    if "adapt_failed" in st.session_state:
        st.error(st.session_state.pop("adapt_failed"), icon=":material/block:")
    with st.expander("Adapt a model on this corpus", expanded=expanded, icon=":material/model_training:"):
        st.caption("Pairs every figure of the corpus chosen in the sidebar with its text and fine-tunes CLIP with "
                   "open_clip's training code. Patents among this corpus's benchmark queries and candidates are "
                   f"left out; to leave out another benchmark's, use `{config.cli()} adapt --benchmark`. The "
                   "defaults are UPAIR's published settings (a GPU job); on a CPU pick a small model and batch.")
        with st.form("adapt_form", border=False):
            c = st.columns(4)
            name = c[0].text_input("Name", value="my-clip-desc", key="adapt_name")
            text = c[1].selectbox("Text", ["desc", "labels"], key="adapt_text",
                                  format_func=lambda t: "figure description" if t == "desc" else "component labels")
            arch = c[2].text_input("Architecture", value=d.arch, key="adapt_arch")
            pretrained = c[3].text_input("Start from", value=d.pretrained, key="adapt_pre",
                                         help="an open_clip tag with downloaded weights, a checkpoint path, or none")
            c = st.columns(4)
            batch = c[0].number_input("Batch size", 2, 4096, d.batch_size, key="adapt_batch")
            lr = c[1].number_input("Learning rate", 1e-9, 1.0, d.lr, format="%.2e", key="adapt_lr")
            epochs = c[2].number_input("Epochs (0: up to 33,000 steps)", 0, 10_000, 0, key="adapt_epochs")
            wd = c[3].number_input("Weight decay", 0.0, 1.0, d.wd, key="adapt_wd",
                                   help="UPAIR tuned 0.1 and 0.2; the chosen value is not published")
            go_ = st.form_submit_button("Train", icon=":material/play_arrow:")
        if go_:
            _start_training(corpus_spec, name.strip(), d, text=text, arch=arch.strip(), pretrained=pretrained.strip(),
                            batch_size=int(batch), lr=float(lr), epochs=int(epochs) or None, wd=float(wd))
        if st.session_state.get(TRAINING_KEY):
            training_status()


#: Session key of the training job this session started (``dashboard.jobs``).
TRAINING_KEY = "adapt_job"


def _start_training(corpus_spec: str, name: str, d: AdaptConfig, **settings) -> None:
    """Check the settings at once (an error is shown here), then train in a background job."""
    from core.adapt import AdaptError
    from dashboard import services

    try:
        cfg = d.with_(**settings).validate()
        split = services.models.preflight(corpus_spec, name, cfg)
    except AdaptError as exc:
        st.error(serve.shown_error(exc), icon=":material/block:")
        return
    job = services.models.start_training(
        corpus_spec, name, cfg,
        pairs=(f"{len(split.train):,} training pairs, {len(split.val):,} validation pairs; "
               f"{len(split.excluded_patents)} benchmark patent(s) left out."))
    st.session_state[TRAINING_KEY] = job.key


@st.fragment(run_every=1.0)
def training_status() -> None:
    """The running training job's progress and a Cancel button, redrawn every second; when it
    ends, the page reruns to list the new model (or says why it stopped)."""
    from dashboard import jobs, services

    key = st.session_state.get(TRAINING_KEY)
    job = jobs.get(key) if key else None
    if job is None:
        st.session_state.pop(TRAINING_KEY, None)
        return
    st.caption(job.meta.get("pairs", ""))
    if job.active:
        st.progress(job.fraction, text=job.message or "Preparing the training files…")
        st.button("Cancel training", key="adapt_cancel", on_click=job.cancel, disabled=job.cancelling,
                  icon=":material/stop_circle:",
                  help="Stops after the current step; the last completed epoch is kept and training again "
                       "with the same settings resumes from it.")
        return
    st.session_state.pop(TRAINING_KEY, None)
    jobs.forget(key)
    if job.state == jobs.FAILED:
        st.session_state["adapt_failed"] = str(job.error) if job.error is not None else job.message
    elif job.state == jobs.CANCELLED:
        st.session_state["adapt_failed"] = (f"Training {key.rsplit(':', 1)[-1]} was cancelled; the last completed "
                                            "epoch is kept and training again with the same settings resumes from it.")
    else:
        res = job.result
        services.refresh_encoders()
        st.session_state["adapt_done"] = (f"**{res.model.name}** saved as `{res.model.spec}`"
                                          + (" (it was already trained with these settings)" if res.already_done
                                             else "") + ". It is not switched on in any session: pick it "
                                          "under *Encoders* in the sidebar to search with it.")
        st.session_state["models_name"] = res.model.name
    st.rerun()  # the whole page: list the new model (and offer it in the sidebar)
