"""Judging: the Scores page's judgement coverage (every system's top-k on the benchmark queries,
cached) and what the Judge page writes and reads through core (adjudication, imports, exports).

Every write here (an adjudication, an import into a set, the undo of an import) asks
``dashboard.identity.may_write`` first: in served mode a session writes only the sets its signed-in
annotator may write, whatever the page showed (a stale button, a forged widget event); refused
writes raise ``WriteRefused`` (a ValueError) and change nothing. The workbench writes every set."""
from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path

import streamlit as st

from core.evaluation.selection import Selection

from .encoders import encoder_label


def run_rankings(selection: Selection, k: int) -> dict[str, dict[str, list[str]]]:
    """``{system label: {qid: top-k docids}}`` of every (encoder, run) of the selection on the
    benchmark queries (keyed by what ranks: the judgements do not change a ranking)."""
    return _run_rankings(selection.runs_key, k, selection)


@st.cache_data(show_spinner=False, max_entries=64)
def _run_rankings(key: str, k: int, _selection: Selection) -> dict[str, dict[str, list[str]]]:
    from core.annotation.pooling import top_k
    from core.embed import EncoderUnavailable
    from core.metrics import system_label

    from .scores import run_scores

    s = _selection
    out = {}
    for spec in s.encoders:
        for run in s.runs:
            try:
                scores = run_scores(s.corpus, spec, run, s.weight, s.protocol)
            except (EncoderUnavailable, ValueError, RuntimeError, OSError):
                continue  # a run the encoder does not have: the scores table says why
            out[system_label(encoder_label(spec), run)] = top_k(scores, k)
    return out


class WriteRefused(ValueError):
    """This session may not write that judgement set (served mode)."""


def write_refusal(judgement_set: str) -> str:
    """Why this session may not write ``judgement_set`` ('' when it may)."""
    from core.annotation.judgements import ADJUDICATOR
    from dashboard import identity

    if identity.may_write(judgement_set):
        return ""
    if judgement_set == ADJUDICATOR:
        return f"On this server only the adjudicators may write the set '{ADJUDICATOR}'."
    return f"On this server you may not write the set '{judgement_set}' (only your own)."


def require_write(judgement_set: str) -> None:
    """Raise ``WriteRefused`` unless this session may write ``judgement_set``."""
    why = write_refusal(judgement_set)
    if why:
        raise WriteRefused(why)


def adjudicate(journal, query: str, candidate: str, axis: str, value: int) -> None:
    """Record an adjudicator's decision on one axis of a pair, keeping its other axes
    (``WriteRefused`` unless this session may write the adjudicated set)."""
    require_write(journal.annotator)
    before = journal.judgements().get((query, candidate))
    axes = dict(before.axes) if before and not before.skip else {}
    axes[axis] = value
    journal.record(query, candidate, axes)


def import_target(store, name: str) -> tuple[str, str]:
    """(set name, "") for a usable import target; ("", why) otherwise (nothing typed: ("", ""))."""
    from core.annotation.judgements import ADJUDICATOR

    if not (name or "").strip():
        return "", ""
    try:
        target = store.journal(name).annotator
    except ValueError as exc:
        from dashboard import serve

        return "", serve.shown_error(exc)  # served mode: no server path
    if target == ADJUDICATOR:
        return "", f"'{ADJUDICATOR}' holds adjudication decisions; choose another name"
    return target, ""


def import_qrels(store, corpus_obj, target: str, files, *, add: bool, by: str):
    """Import uploaded qrels ``files`` ((name, bytes) pairs) or, with ``files`` None, the corpus's
    own qrels into the set ``target``; the import batch. ValueError (nothing written) when refused,
    ``WriteRefused`` when this session may not write ``target``."""
    from core.annotation.judgements_check import check_qrels, check_qrels_files, uploaded_files
    from core.annotation.judgements_sets import import_set

    require_write(store.journal(target).annotator)
    if files is not None:
        qrels = check_qrels_files(uploaded_files(files), corpus_obj)
        where = "upload: " + ", ".join(sorted(name for name, _ in files))
    else:
        where = f"{corpus_obj.name} qrels"
        qrels = check_qrels(corpus_obj.benchmark.qrels, corpus_obj, where)
    return import_set(store, target, qrels, where, add=add, by=by)


def undo_import(store, name: str, *, by: str):
    """Undo the latest import into the set ``name`` (core's ``undo_import``: byte for byte);
    ``WriteRefused`` unless this session may write it, ValueError when there is nothing to undo."""
    from core.annotation.judgements_sets import undo_import as undo

    require_write(store.journal(name).annotator)
    return undo(store, name, by=by)


def qrels_zip(store, corpus_obj, chosen: str) -> bytes:
    """A zip of TREC qrels files (one per axis) of the judgement set ``chosen``."""
    from core.annotation.agreement import judgement_set
    from core.annotation.judgements_qrels import export_qrels

    qrels = judgement_set(chosen, store, corpus_obj)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w") as zf:
        for p in export_qrels(qrels, tmp):
            zf.write(p, Path(p).name)
    return buf.getvalue()


def write_upair_export(store, corpus_obj, chosen: str) -> Path:
    """The judgement set ``chosen`` as a new UPAIR-layout folder under the store's ``exports/``."""
    from core.annotation.agreement import judgement_set
    from core.annotation.judgements_qrels import export_upair

    out = store.dir / "exports" / f"{chosen.replace(':', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    export_upair(corpus_obj, judgement_set(chosen, store, corpus_obj), out)
    return out
