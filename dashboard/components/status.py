"""The preamble pages share: load the corpus, ensure indices with progress, keep ready encoders."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import Corpus, DatasetError

from .. import services


def corpus_error(spec: str, exc: Exception) -> str:
    """A user-facing message for a corpus that cannot be loaded."""
    path = spec.partition(":")[2] if ":" in spec and not spec.startswith("/") else spec
    if not spec.startswith("webdataset:") and path and ("/" in path or path.startswith("~")) and not Path(path).expanduser().exists():
        return (f"Folder not found: `{Path(path).expanduser()}`. Check the spelling, or type an absolute "
                "path (for example `/data/upair`).")
    return f"Could not load corpus **{spec}**: {exc}"


def load_or_stop(spec: str) -> Corpus:
    """The corpus, or a clear message on the page and stop."""
    if not spec:
        st.info("Type the path of a folder of figures under **Other folder…** in the sidebar "
                "(a UPAIR folder, a query-patents folder, or any folder of images).", icon=":material/folder_open:")
        st.stop()
    try:
        return services.corpus(spec)
    except (DatasetError, OSError, ValueError) as exc:
        from dashboard import serve

        if serve.served():  # no server path, and nothing a visitor could fix: the operator's log has the detail
            st.error(f"The corpus **{serve.url_corpus(spec)}** cannot be opened on this server (incident "
                     f"**{serve.incident(exc)}**); please tell the person running it.", icon=":material/folder_off:")
        else:
            st.error(corpus_error(spec, exc), icon=":material/folder_off:")
        st.stop()


def progress_text(label: str, done: int, total: int, n_figures: int | None, eta: float) -> str:
    """The progress line: what is encoded, and why fewer images than figures when so."""
    why = ""
    if n_figures and total < n_figures:
        why = (f" ({n_figures - total} of the {n_figures} figures need no encoding: "
               "already cached, or exact copies of another figure)")
    return f"Encoding {label}: {done}/{total} images{why} · about {eta:.0f} s left"


def ensure_indices(corpus_spec: str, specs: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Load every index; one not in memory yet is encoded (or read from the vector cache) in a
    background job (``services.encoders.index_job``) the page waits ``jobs.WAIT_S`` for.
    Returns ({spec: error}, [job keys still running])."""
    from core.embed import EncoderUnavailable

    from . import waiting

    errors: dict[str, str] = {}
    pending: list[str] = []
    for spec in specs:
        try:
            job = services.encoders.index_job(corpus_spec, spec)
            outcome = waiting.settle(job)
            if outcome == "running":
                pending.append(job.key)
                continue
            if outcome is not None:
                errors[spec] = outcome
                continue
            services.index(corpus_spec, spec)
        except (EncoderUnavailable, ValueError, RuntimeError, OSError) as exc:
            errors[spec] = str(exc)
    return errors, pending


def ready_encoders(corpus: Corpus, corpus_spec: str, encoders: tuple[str, ...]) -> tuple[str, ...]:
    """Ensure every selected encoder's index, show why any failed, return those that are ready.

    Stops the page with a hint when no encoder is selected, and while every selected encoder is
    still being encoded (their progress is on the page; the page redraws itself when they are done).
    """
    if not encoders:
        st.warning("Select at least one encoder in the sidebar.", icon=":material/tune:")
        st.stop()
    from . import waiting

    errors, pending = ensure_indices(corpus_spec, encoders)
    for spec, err in errors.items():
        st.error(f"{services.encoder_label(spec)}: {err}", icon=":material/block:")
    if pending:
        waiting.progress_panel(tuple(pending))
    ready = tuple(e for e in encoders if e not in errors and services.encoders.index_key(corpus_spec, e) not in pending)
    if pending and not ready:
        st.stop()
    if ready and all(e in BASELINES for e in ready):
        st.caption(baseline_note(ready))
    return ready


#: The training-free baselines (hand-made descriptors, word counts): what works before any download.
BASELINES = ("hog", "ahdh", "tfidf")
#: The trained model one step away: UPAIR's baseline CLIP.
TRAINED = "clip:ViT-B-16:laion400m_e32"


def baseline_note(ready: tuple[str, ...]) -> str:
    """One line: these are training-free baselines, and the one step that gives a trained model."""
    from core import config

    from dashboard import serve

    names = ", ".join(services.encoder_label(e) for e in ready)
    if serve.served():  # examiners cannot fetch weights here; the command is the operator's
        return (f":material/info: {names} {'is a' if len(ready) == 1 else 'are'} training-free baseline"
                f"{'' if len(ready) == 1 else 's'} (hand-made descriptors / word counts, no learning): expect weak "
                "matches on real drawings. A trained model (CLIP) is added by the person running this server.")
    return (f":material/info: {names} {'is a' if len(ready) == 1 else 'are'} training-free baseline"
            f"{'' if len(ready) == 1 else 's'} (hand-made descriptors / word counts, no learning): expect weak "
            f"matches on real drawings. For a trained model run `{config.cli()} fetch-weights {TRAINED}` once "
            "(needs the network), then select CLIP in the sidebar.")
