"""The Models page's work: the before/after comparison (cached) and training a model on a corpus
(checked at once, then run as a background job the page polls)."""
from __future__ import annotations

import streamlit as st

from .. import jobs
from ..jobs import Job
from .corpora import corpus


@st.cache_data(show_spinner=False, max_entries=16)
def scored(corpus_spec: str, name: str, finished_at: str, test: str, protocol: str):
    """``core.adapt.compare.before_after`` for the model ``name`` (``finished_at`` keys a retrained one)."""
    from core.adapt import list_adapted
    from core.adapt.compare import before_after

    model = next(m for m in list_adapted() if m.name == name)
    return before_after(corpus(corpus_spec), model, test=test, protocol=protocol)


def leaked_patents(corpus_spec: str, model) -> list[str]:
    """Patents of the corpus's benchmark that were in the model's training or validation data."""
    from core.adapt.compare import leaked_patents as leaked

    return leaked(corpus(corpus_spec), model)


def comparison_runs(model) -> tuple[str, ...]:
    """The runs the before/after comparison scores for the model."""
    from core.adapt.compare import comparison_runs as runs

    return tuple(runs(model))


def preflight(corpus_spec: str, name: str, cfg):
    """Every check a training run makes before it trains (``core.adapt.train.preflight``: the name,
    the settings, the pair sizes, the starting weights, a name clash); the pairs it would use."""
    from core.adapt.train import preflight as check

    return check(corpus(corpus_spec), name, cfg)


def training_key(corpus_spec: str, name: str) -> str:
    """The job key of training ``name`` on a corpus (one such job per process)."""
    return f"adapt:{corpus_spec}:{name}"


def start_training(corpus_spec: str, name: str, cfg, **meta) -> Job:
    """Adapt a model ``name`` on the corpus in a background job (``dashboard.jobs``); the page polls
    it and calls ``refresh_encoders`` once it is done, so the sidebar lists the new model."""
    from core.adapt import adapt

    c = corpus(corpus_spec)  # resolved here, in the script's thread (a cached resource)
    return jobs.start(training_key(corpus_spec, name), f"Training {name}",
                      lambda progress: adapt(c, name, cfg, progress=progress), **meta)
