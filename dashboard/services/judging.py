"""Judgement coverage of the Scores page: every system's top-k on the benchmark queries (cached)."""
from __future__ import annotations

import streamlit as st

from core.evaluation.selection import Selection

from .corpora import corpus
from .encoders import encoder_label


def run_rankings(selection: Selection, k: int) -> dict[str, dict[str, list[str]]]:
    """``{system label: {qid: top-k docids}}`` of every (encoder, run) of the selection on the
    benchmark queries (keyed by what ranks: the judgements do not change a ranking)."""
    return _run_rankings(selection.runs_key, k, selection)


@st.cache_data(show_spinner=False, max_entries=64)
def _run_rankings(key: str, k: int, _selection: Selection) -> dict[str, dict[str, list[str]]]:
    from core.annotation.pooling import top_k
    from core.embed import EncoderUnavailable
    from core.evaluation import run_scores
    from core.metrics import system_label

    s = _selection
    c = corpus(s.corpus)
    out = {}
    for spec in s.encoders:
        for run in s.runs:
            try:
                scores = run_scores(c, spec, run, s.weight, protocol=s.protocol or None)
            except (EncoderUnavailable, ValueError, RuntimeError, OSError):
                continue  # a run the encoder does not have: the scores table says why
            out[system_label(encoder_label(spec), run)] = top_k(scores, k)
    return out
