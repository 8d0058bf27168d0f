"""The Map page's first fits: each map not on disk yet is fitted in a background job
(``services.maps.map_job``); the page draws its progress against the measured estimate and stops,
and redraws itself with the maps once the fits are done."""
from __future__ import annotations

import streamlit as st

from dashboard import services
from dashboard.components import waiting


def frames_or_wait(corpus_spec: str, specs: list[str], nn: int, md: float) -> dict:
    """``{spec: map frame}`` of every map; while a first fit runs, its progress bar (and the line
    that the user may leave) and ``st.stop()``; a fit that failed is one line, then ``st.stop()``."""
    pending, failed = [], []
    for spec in specs:
        job = services.maps.map_job(corpus_spec, spec, nn, md)
        outcome = waiting.settle(job)
        if outcome == "running":
            pending.append(job.key)
        elif outcome is not None:
            failed.append(f"The {services.encoder_label(spec)} map could not be computed: {outcome}")
    for line in failed:
        st.error(line, icon=":material/block:")
    if pending:  # the line that the user may leave is said once: above, while encoders are still encoded
        waiting.progress_panel(tuple(pending), note=not waiting.encoding(corpus_spec))
    if failed or pending:
        st.stop()
    return {spec: services.maps.map_frame(corpus_spec, spec, nn, md) for spec in specs}


def joint_or_wait(corpus_spec: str, spec: str, field: str):
    """The joint map's frame; while its first fit runs, its progress (and None); a failure is one line
    (and None)."""
    job = services.maps.joint_job(corpus_spec, spec, field)
    outcome = waiting.settle(job)
    if outcome == "running":
        waiting.progress_panel((job.key,))
        return None
    if outcome is not None:
        st.error(f"The joint map could not be computed: {outcome}", icon=":material/block:")
        return None
    return services.maps.joint_frame(corpus_spec, spec, field)
