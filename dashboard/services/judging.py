"""Judgement coverage of the Scores page: every system's top-k on the benchmark queries (cached)."""
from __future__ import annotations

import streamlit as st

from .corpora import corpus
from .encoders import encoder_label


@st.cache_data(show_spinner=False, max_entries=64)
def run_rankings(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
                 k: int, protocol: str = "") -> dict[str, dict[str, list[str]]]:
    """``{system label: {qid: top-k docids}}`` of every (encoder, run) on the benchmark queries."""
    from core.annotation.pooling import top_k
    from core.embed import EncoderUnavailable
    from core.evaluation import run_scores
    from core.metrics import system_label

    c = corpus(corpus_spec)
    out = {}
    for spec in encoders:
        for run in runs:
            try:
                scores = run_scores(c, spec, run, weight, protocol=protocol or None)
            except (EncoderUnavailable, ValueError, RuntimeError, OSError):
                continue  # a run the encoder does not have: the scores table says why
            out[system_label(encoder_label(spec), run)] = top_k(scores, k)
    return out
