"""The Models page's work: the before/after comparison (cached) and training a model on a corpus."""
from __future__ import annotations

from typing import Callable

import streamlit as st

from .corpora import corpus


@st.cache_data(show_spinner=False, max_entries=16)
def scored(corpus_spec: str, name: str, finished_at: str, test: str, protocol: str):
    """``core.adapt.compare.before_after`` for the model ``name`` (``finished_at`` keys a retrained one)."""
    from core.adapt import list_adapted
    from core.adapt.compare import before_after

    model = next(m for m in list_adapted() if m.name == name)
    return before_after(corpus(corpus_spec), model, test=test, protocol=protocol)


def split(corpus_spec: str, cfg):
    """The training/validation split ``core.adapt.plan`` makes of the corpus (benchmark patents left out)."""
    from core.adapt import plan

    return plan(corpus(corpus_spec), cfg)


def train(corpus_spec: str, name: str, cfg, progress: Callable[[int, int, str], None]):
    """Adapt a model ``name`` on the corpus (``core.adapt.adapt``); afterwards the sidebar lists it."""
    from core.adapt import adapt

    from .encoders import refresh_encoders

    res = adapt(corpus(corpus_spec), name, cfg, progress=progress)
    refresh_encoders()
    return res
