"""The shared sidebar (corpus, encoders, k) and the ``Context`` it hands to the pages."""
from __future__ import annotations

import html
from dataclasses import dataclass

import streamlit as st

from core import known_corpora
from core.corpora import kinds_markdown

from . import fetch_notice, serve, services, session, urlstate, workspace

CTX_KEY = "_upair_ctx"
CUSTOM = "custom"
DEFAULT_K = 10


@dataclass(frozen=True)
class Context:
    """What the sidebar selected for this run (``corpus_spec`` is '' while a folder is
    still to be typed)."""

    corpus_spec: str
    encoders: tuple[str, ...]
    k: int
    note: str | None = None
    #: a container at the top of the sidebar for the page's own controls (above the long lists)
    slot: object = None


def _served_corpus_picker(pol) -> str:
    """Served mode: the allow-listed corpora only; no typed paths, no "Other folder…"."""
    options = list(pol.corpus_specs)
    session.persist("corpus_pick", options[0])
    picked = st.session_state.get("corpus_pick")
    if picked not in options:  # a ?corpus= link or a stale value naming a corpus this server does not serve
        st.session_state["corpus_pick"] = options[0]
        st.session_state["_corpus_refused"] = True
        if "corpus" in st.query_params:  # the link's value (perhaps a path) does not stay in the address bar
            st.query_params["corpus"] = pol.corpus_label(options[0])
    if st.session_state.pop("_corpus_refused", False):
        st.warning("The link names a corpus this server does not serve; showing "
                   f"{pol.corpus_label(options[0])} instead.", icon=":material/block:")
    return st.selectbox("Corpus", options, format_func=pol.corpus_label, key="corpus_pick",
                        label_visibility="collapsed")


def _corpus_picker() -> str:
    """The corpus selectbox (a typed path is accepted) and, for "Other folder…", a path box."""
    if (pol := serve.policy()).served:
        return _served_corpus_picker(pol)
    choices = known_corpora()
    labels = {c.spec: c.label for c in choices}
    options = [c.spec for c in choices] + [CUSTOM]
    session.persist("corpus_pick", options[0])
    session.persist("corpus_custom", "")
    picked = st.session_state.get("corpus_pick")
    if picked is not None and picked not in options:  # typed into the box, or a spec set from outside
        st.session_state["corpus_custom"] = picked
        st.session_state["corpus_pick"] = CUSTOM
    short = {s: lab.split(" (")[0] for s, lab in labels.items()}
    pick = st.selectbox("Corpus", options, format_func=lambda s: short.get(s, "Other folder…"),
                        key="corpus_pick", label_visibility="collapsed", accept_new_options=True,
                        help="Pick a corpus, or type a folder path here or under 'Other folder…'.")
    if pick != CUSTOM:
        if labels.get(pick, "") != short.get(pick, ""):
            st.caption(labels[pick][len(short[pick]):].strip(" ()").capitalize())
        return pick
    return st.text_input("Folder or spec", key="corpus_custom",
                         placeholder="/data/upair  ·  query-patents:/data/qp",
                         help="A folder (its layout is detected) or a spec of one of these kinds:\n\n"
                              + kinds_markdown()).strip()


def _encoder_picker() -> tuple[str, ...]:
    status = services.encoder_status()
    available = [r["spec"] for r in status if r["available"]]
    session.persist("encoders", services.default_encoders(available))  # adapted models: only when picked
    st.session_state["encoders"] = [e for e in st.session_state["encoders"] if e in available]
    health = services.model_health()
    chosen = st.multiselect("Encoders", available, key="encoders", label_visibility="collapsed",
                            format_func=lambda s: services.encoder_label(s) + (" ⚠ degenerate" if s in health
                                                                                and health[s].degenerate else ""))
    fetch_notice.baseline_notice(tuple(chosen))  # the baseline CLIP `make run` fetches in the background
    for s in chosen:
        if s in health and health[s].degenerate:
            st.warning(f"**{services.encoder_label(s)}** is a degenerate model: {health[s].problems[0]}. "
                       "The Models page has the details.", icon=":material/warning:")
    off = [r for r in status if not r["available"]]
    if off and not serve.served():  # served: the reasons name server paths; the operator reads them
        with st.expander(f"{len(off)} unavailable", expanded=False):
            for r in off:
                st.markdown(f"<span style='color:#666'><b>{html.escape(r['label'])}</b> — "
                            f"{html.escape(r['reason'])}</span>", unsafe_allow_html=True)
            st.caption("The Corpus page has a download button and the exact commands.")
    return tuple(chosen)


def sidebar() -> Context:
    """Render the shared sidebar and return the selection; a corpus switch starts clean."""
    urlstate.restore_corpus()
    with st.sidebar:
        slot = st.container()
        st.markdown("### Corpus")
        spec = _corpus_picker()
        workspace.restore(spec)  # the examiner's saved workspace of this corpus (first visit in a session)
        if not serve.served():  # re-encoding is the server operator's business in served mode
            st.button("Reload from disk", key="reload_corpus", on_click=services.reload_corpus,
                      icon=":material/refresh:",
                      help="Re-read the corpus folder (new or changed figures are encoded; the rest comes from "
                           "the cache).")
        st.markdown("### Encoders")
        chosen = _encoder_picker()
        session.persist("k", DEFAULT_K)
        k = st.slider("Neighbours (k)", 1, 50, key="k", help="How many nearest figures each encoder lists.")
    note = None
    active = st.session_state.get("_corpus_active")
    if spec and spec != active:
        note = session.switch_corpus(active, spec)
        st.session_state["_corpus_active"] = spec
    return Context(spec, chosen, int(k), note, slot)


def context() -> Context:
    """The selection made in the sidebar by ``dashboard/app.py`` for this run."""
    return st.session_state[CTX_KEY]
