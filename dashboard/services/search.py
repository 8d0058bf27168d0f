"""Search results of the Search page (per encoder: ranked ids, scores, error), cached."""
from __future__ import annotations

import streamlit as st

from .corpora import corpus
from .encoders import loaded_indices


def _as_dict(res) -> dict[str, dict]:
    return {s: {"ids": r.ids, "scores": [n.score for n in r.neighbours], "error": r.error} for s, r in res.items()}


@st.cache_data(show_spinner=False, max_entries=512)
def search_results(corpus_spec: str, query: str, encoders: tuple[str, ...], k: int,
                   text: str | None = None) -> dict[str, dict]:
    """Per encoder: ranked ids, scores and error for a query (figure id or upload path;
    ``text`` describes an upload for text encoders)."""
    from core.search import search

    return _as_dict(search(corpus(corpus_spec), query, list(encoders), k=k, text=text or None,
                           indices=loaded_indices(corpus_spec, encoders)))


@st.cache_data(show_spinner=False, max_entries=256)
def text_results(corpus_spec: str, text: str, encoders: tuple[str, ...], k: int) -> dict[str, dict]:
    """Per text-capable encoder: figures nearest to a text query."""
    from core.search import search_text

    return _as_dict(search_text(corpus(corpus_spec), text, list(encoders), k=k,
                                indices=loaded_indices(corpus_spec, encoders)))
