"""Judging: the Scores page's judgement coverage (every system's top-k on the benchmark queries,
cached) and what the Judge page writes and reads through core (adjudication, imports, exports)."""
from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path

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


def adjudicate(journal, query: str, candidate: str, axis: str, value: int) -> None:
    """Record an adjudicator's decision on one axis of a pair, keeping its other axes."""
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
    own qrels into the set ``target``; the import batch. ValueError (nothing written) when refused."""
    from core.annotation.judgements_check import check_qrels, check_qrels_files, uploaded_files
    from core.annotation.judgements_sets import import_set

    if files is not None:
        qrels = check_qrels_files(uploaded_files(files), corpus_obj)
        where = "upload: " + ", ".join(sorted(name for name, _ in files))
    else:
        where = f"{corpus_obj.name} qrels"
        qrels = check_qrels(corpus_obj.benchmark.qrels, corpus_obj, where)
    return import_set(store, target, qrels, where, add=add, by=by)


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
