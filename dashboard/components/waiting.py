"""Honest waits: long work a page started (a first map, a first encoding) runs as a background job
(``dashboard.jobs``); the page waits a moment for it, then draws its progress in a fragment that
redraws every second, with the estimate and a line saying the user may leave meanwhile. When the
job ends the whole page reruns and draws the result (or one line saying why it failed)."""
from __future__ import annotations

import streamlit as st

from .. import jobs
from ..jobs import Job

LEAVE_NOTE = ("It runs in the background: you can use other pages meanwhile, and it is ready when you "
              "come back (other sessions asking for the same work share it).")


def settle(job: Job | None) -> str | None:
    """Wait for the job until it has run ``jobs.WAIT_S``: None when there is nothing to wait for (no
    job, or it ended well, and is forgotten); ``"running"``; or the error's one line (the job is
    forgotten, so the next visit tries again)."""
    if job is None:
        return None
    if not job.wait(max(0.0, jobs.WAIT_S - job.elapsed)):  # a job running for a while is not waited for again
        return "running"
    jobs.forget(job.key)
    if job.state == jobs.DONE:
        return None
    return error_line(job)


def error_line(job: Job) -> str:
    """Why the job stopped, as one line (server paths hidden in served mode)."""
    from dashboard import serve

    if job.state == jobs.CANCELLED:
        return f"{job.title} was cancelled."
    return serve.shown_error(job.error if job.error is not None else job.message).strip().splitlines()[0]


def map_progress(job: Job) -> tuple[float, str]:
    """(fraction, text) of a map fit: the time spent against the measured estimate (a fit reports
    no steps of its own)."""
    eta, spent = float(job.meta.get("eta") or 0.0), job.elapsed
    what = f"Computing the {job.meta.get('label', '')} map of {job.meta.get('n', 0):,} figures"
    if eta <= 0:
        return 0.0, f"{what}: {spent:.0f} s so far…"
    if spent <= eta:
        how = "estimated from the fits measured on this machine" if job.meta.get("measured") else \
            "a first guess: no fit measured on this machine yet"
        return min(spent / eta, 0.99), f"{what}: {spent:.0f} s of about {eta:.0f} s ({how}; once, cached after)…"
    return 0.99, f"{what}: {spent:.0f} s, longer than the estimated {eta:.0f} s (the machine may be busy)…"


def index_progress(job: Job) -> tuple[float, str]:
    """(fraction, text) of an encoding: images done of those to encode, and the time left at the
    rate so far."""
    from .status import progress_text

    label = job.meta.get("label", "")
    if job.total <= 0:
        return 0.0, f"Preparing {label} (loading the encoder and the figures)…"
    rate = job.done / max(job.elapsed, 1e-6)
    eta = (job.total - job.done) / rate if rate > 0 else 0.0
    return job.fraction, progress_text(job.message or label, job.done, job.total, job.meta.get("n"), eta)


def sample_progress(job: Job) -> tuple[float, str]:
    """(fraction, text) of a pool's draw: the index being read (the first draw encodes the corpus
    once per index), then the query drawn."""
    what = f"Drawing the pool from {job.meta.get('n', 0):,} figures"
    if job.total <= 0:
        return 0.0, f"{what}: preparing…"
    return job.fraction, (f"{what}: reading {job.message} ({job.done} of {job.total} done) · the first draw encodes the corpus "
                          "once per index (cached after)…")


def export_progress(job: Job) -> tuple[float, str]:
    """(fraction, text) of an export: what the sampler reports (the index read, then each query drawn)."""
    what = f"Drawing all {job.meta.get('n', 0):,} queries and writing the pools"
    if job.total <= 0:
        return 0.0, f"{what}: preparing…"
    return job.fraction, f"{what}: {job.message} ({job.done} of {job.total}) · {job.elapsed:.0f} s so far…"


PROGRESS = {"map": map_progress, "index": index_progress, "sample": sample_progress, "export": export_progress}


@st.fragment(run_every=1.0)
def progress_panel(keys: tuple[str, ...], note: bool = True) -> None:
    """Each job's progress bar and (``note``) the line that the user may leave, redrawn every second;
    once any job has ended, the whole page reruns to draw its result."""
    found = [jobs.get(key) for key in keys]
    if any(job is None or not job.active for job in found):
        st.rerun()
    for job in found:
        fraction, text = PROGRESS[job.key.partition(":")[0]](job)
        st.progress(fraction, text=text)
    if note:
        st.caption(f":material/directions_run: {LEAVE_NOTE}")


def encoding(corpus_spec: str) -> bool:
    """Whether an encoding of the corpus is running (its panel, higher on the page, says the user may leave)."""
    return any(j.key.startswith(f"index:{corpus_spec}:") for j in jobs.running())
