"""Encoders and their indices: what is available, labels, capabilities, the in-memory indices."""
from __future__ import annotations

import streamlit as st

from core import get_encoder, known_encoders

from .. import jobs
from ..jobs import Job
from .corpora import corpus


def encoder_status() -> list[dict]:
    """One row per known encoder: spec, label, kind, available, reason, fix."""
    from core import config

    return _encoder_status(str(config.cache_dir()), ",".join(config.env_at_import("UPAIR_ENCODERS") or ()))


@st.cache_data(show_spinner=False, ttl=300)
def _encoder_status(cache_root: str, extra: str) -> list[dict]:
    rows = []
    for spec in known_encoders():
        try:
            enc = get_encoder(spec)
        except ValueError as exc:  # a bad entry of $UPAIR_ENCODERS: listed, everything else works
            rows.append({"spec": spec, "label": spec, "kind": "invalid", "available": False,
                         "reason": f"invalid entry in UPAIR_ENCODERS: {exc}",
                         "fix": "correct or remove it in the UPAIR_ENCODERS environment variable"})
            continue
        av = enc.availability()
        rows.append({"spec": spec, "label": enc.label or spec, "kind": enc.kind,
                     "available": av.ok, "reason": av.reason, "fix": av.fix})
    return rows


def encoder_label(spec: str) -> str:
    """Short display name of an encoder."""
    return get_encoder(spec).label or spec


def can(spec: str, capability: str) -> bool:
    """Whether encoder ``spec`` declares ``capability`` (``core.encoders.has_capability``)."""
    from core.encoders import has_capability

    return has_capability(spec, capability)


def default_encoders(available: list[str]) -> list[str]:
    """The encoders a new session starts with: every available one except models adapted
    here (a user picks those; ``core.adapt.health``)."""
    from core.adapt.health import default_specs
    from core.encoders import sidecar_checkpoint_specs

    return default_specs(available, sidecar_checkpoint_specs())


def model_health() -> dict:
    """``{encoder spec: core.adapt.health.Health}`` of every adapted model."""
    from core import config

    return _model_health(str(config.cache_dir()))


@st.cache_data(show_spinner=False, ttl=60)
def _model_health(cache_root: str) -> dict:
    from core.adapt.health import health_by_spec

    return health_by_spec()


model_health.clear = _model_health.clear


def refresh_encoders() -> None:
    """Forget the cached encoder status (after weights arrived), so no restart is needed."""
    _encoder_status.clear()


@st.cache_resource(show_spinner=False, max_entries=32)
def index(corpus_spec: str, spec: str):
    """Embeddings + faiss index of a corpus for one encoder (built on first use)."""
    from core.search import get_index

    idx = get_index(corpus(corpus_spec), spec, show_bar=False)
    _loaded().add((corpus_spec, spec))
    if spec.startswith("clip:") and "cache/weights/" in spec:  # an adapted model: are its vectors collapsed?
        from core.adapt.health import check_embeddings

        if check_embeddings(spec, corpus(corpus_spec), idx.embeddings):
            model_health.clear()
    return idx


@st.cache_resource(show_spinner=False)
def _loaded() -> set[tuple[str, str]]:
    return set()


def forget_indices() -> None:
    """Forget the indices in memory (the corpus was reloaded)."""
    index.clear()
    _loaded().clear()


def index_key(corpus_spec: str, spec: str) -> str:
    """The job key of encoding a corpus with one encoder (one such job per process)."""
    return f"index:{corpus_spec}:{spec}"


def index_job(corpus_spec: str, spec: str) -> Job | None:
    """None when the index is in memory already; else the background job encoding the corpus's
    figures (``core.embed.build_embeddings``, into the vector cache; vectors already cached are
    only read), started here or shared with the session that started it. Once it is done,
    ``index`` loads the vectors from the cache. ``meta`` holds ``label`` and ``n`` (figures)."""
    if index_loaded(corpus_spec, spec):
        return None
    key = index_key(corpus_spec, spec)
    known = jobs.get(key)
    if known is not None:  # running, or ended and not yet taken by a page (which forgets it)
        return known
    from core.embed import build_embeddings

    c = corpus(corpus_spec)  # resolved here, in the script's thread (a cached resource)
    label = encoder_label(spec)
    return jobs.start(key, f"Encoding with {label}",
                      lambda progress: build_embeddings(c, spec, "image", progress=progress, show_bar=False) is None,
                      label=label, n=len(c))


def index_loaded(corpus_spec: str, spec: str) -> bool:
    """Whether the index is in memory already (nothing to encode or load)."""
    return (corpus_spec, spec) in _loaded()


def loaded_indices(corpus_spec: str, encoders: tuple[str, ...]) -> dict:
    """The in-memory indices of the encoders that can run (the others report why in search)."""
    from core.embed import EncoderUnavailable

    out = {}
    for spec in encoders:
        try:
            out[spec] = index(corpus_spec, spec)
        except (EncoderUnavailable, ValueError, RuntimeError, OSError):
            continue
    return out
