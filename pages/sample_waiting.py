"""The Sample page's draw as a background job (``services.sampling.draw_job``): the first draw encodes
the corpus once per index, so the page shows its progress and stops, and redraws itself with the pool
once the draw is done; a failure is one line."""
from __future__ import annotations

import streamlit as st

from core.annotation.sampling.sampler import MissingCitations
from dashboard import serve, services
from dashboard.components import waiting

CLEAN_NOTE = "The Clean protocol gives a missing query patent an empty cited group and indexes every figure."


def draw_or_wait(corpus_spec: str, qid: str, cfg_key: str, seed: int, method: str, protocol: str, families: bool):
    """The query's draw; while it runs, its progress bar (and the line that the user may leave) and
    ``st.stop()``; a draw that failed is one line, then ``st.stop()``."""
    args = (corpus_spec, qid, cfg_key, int(seed), method, protocol, families)
    try:
        job = services.sampling.draw_job(*args)
    except (MissingCitations, ValueError) as exc:
        st.error(serve.shown_error(exc), icon=":material/block:")
        st.caption(CLEAN_NOTE)
        st.stop()
    outcome = waiting.settle(job)
    if outcome == "running":
        waiting.progress_panel((job.key,))
        st.stop()
    if outcome is not None:
        st.error(outcome, icon=":material/block:")
        if isinstance(job.error, (MissingCitations, ValueError)):
            st.caption(CLEAN_NOTE)
        st.stop()
    return services.sampling.drawn(*args)
