"""The Scores page's evaluation of a ``Selection``: tables, significance, run files, per-query scores.

Each cached function takes the selection (``core.evaluation.selection.Selection``) and is
keyed by its content key: the selection itself is passed as ``_selection`` (not hashed).
"""
from __future__ import annotations

import io
from pathlib import Path

import streamlit as st

from core.evaluation.selection import Selection

from .corpora import corpus


def judgement_qrels(corpus_spec: str, judgements: str):
    """The qrels of a judgement set (``core.annotation``); None for the corpus's own ("official")."""
    if judgements == "official":
        return None
    from core.annotation.agreement import judgement_set
    from core.annotation.judgements import JudgementStore

    return judgement_set(judgements, JudgementStore(corpus(corpus_spec).name), corpus(corpus_spec))


def evaluation(selection: Selection):
    """(table, per_query, skipped) of ``core.evaluation.evaluate`` for the selection (cached on disk too),
    scored by its judgement set under its evaluation protocol."""
    return _evaluation(selection.key, selection)


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluation(key: str, _selection: Selection):
    from core.evaluation import DEFAULT_MEASURES, evaluate
    from core.metrics import INCOMPLETE_MEASURES

    s = _selection
    res = evaluate(corpus(s.corpus), list(s.encoders), runs=s.runs, fusion_weight=s.weight,
                   metrics=(*DEFAULT_MEASURES, *INCOMPLETE_MEASURES),
                   qrels=judgement_qrels(s.corpus, s.judgements), protocol=s.protocol or None)
    return res.table, res.per_query, list(res.skipped)


def benchmark_problems(corpus_spec: str) -> tuple:
    """What the corpus loader found wrong in the benchmark (``core.evaluation.loader_problems``):
    ``Problem`` rows with ``where`` (file:line), ``axis`` and ``message``; each may change a score."""
    from core.evaluation import loader_problems

    return loader_problems(corpus(corpus_spec))


def problem_counts(corpus_spec: str, axes) -> dict[str, int]:
    """Per axis, the loader problems that touch its numbers (its qrels file's and the corpus-wide ones)."""
    from core.evaluation.problems import axis_problem_counts

    return axis_problem_counts(benchmark_problems(corpus_spec), axes)


def significance_vs_best(selection: Selection, metric: str, test: str):
    """Every system against the best one per axis (Holm-corrected), as a frame."""
    return _significance_vs_best(selection.key, metric, test, selection)


@st.cache_data(show_spinner=False, max_entries=64)
def _significance_vs_best(key: str, metric: str, test: str, _selection: Selection):
    from core.evaluation import significance

    _, per_query, _ = evaluation(_selection)
    return significance(per_query, against="best", metric=metric, test=test)


def run_files_zip(selection: Selection) -> bytes:
    """A zip of the TREC run files, the qrels (of the judgement set) and the result CSVs of the selection."""
    return _run_files_zip(selection.key, selection)


@st.cache_data(show_spinner=False, max_entries=16)
def _run_files_zip(key: str, _selection: Selection) -> bytes:
    import tempfile
    import zipfile

    from core.evaluation import evaluate

    s = _selection
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        evaluate(corpus(s.corpus), list(s.encoders), runs=s.runs, fusion_weight=s.weight, out_dir=tmp,
                 protocol=s.protocol or None, qrels=judgement_qrels(s.corpus, s.judgements))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(tmp).as_posix())
    return buf.getvalue()


def query_run_scores(selection: Selection, spec: str, run: str, qid: str) -> dict[str, float]:
    """Scores of one query's candidates under one run of the selection (for the drill-down)."""
    return _query_run_scores(selection.corpus, spec, run, selection.weight, qid, selection.protocol)


@st.cache_data(show_spinner=False, max_entries=256)
def _query_run_scores(corpus_spec: str, spec: str, run: str, weight: float, qid: str,
                      protocol: str) -> dict[str, float]:
    from core.evaluation import run_scores

    return run_scores(corpus(corpus_spec), spec, run, weight, protocol=protocol or None).get(qid, {})
