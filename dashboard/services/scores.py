"""The Scores page's evaluation: tables, significance, run files, per-query scores (cached)."""
from __future__ import annotations

import io
from pathlib import Path

import streamlit as st

from .corpora import corpus


def judgement_qrels(corpus_spec: str, judgements: str):
    """The qrels of a judgement set (``core.annotation``); None for the corpus's own ("official")."""
    if judgements == "official":
        return None
    from core.annotation.agreement import judgement_set
    from core.annotation.judgements import JudgementStore

    return judgement_set(judgements, JudgementStore(corpus(corpus_spec).name), corpus(corpus_spec))


@st.cache_data(show_spinner=False, max_entries=64)
def evaluation(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
               judgements: str = "official", judged_digest: str = "", protocol: str = ""):
    """(table, per_query, skipped) of ``core.evaluation.evaluate`` for the selection (cached on disk too),
    scored by the judgement set ``judgements`` (``core.annotation``; ``judged_digest``, its
    content key, makes a new judgement a new cache entry), under the evaluation ``protocol``
    (``core.protocols``; "" = the corpus's default)."""
    from core.evaluation import evaluate

    qrels = judgement_qrels(corpus_spec, judgements)
    res = evaluate(corpus(corpus_spec), list(encoders), runs=runs, fusion_weight=weight, qrels=qrels,
                   protocol=protocol or None)
    return res.table, res.per_query, list(res.skipped)


@st.cache_data(show_spinner=False, max_entries=64)
def significance_vs_best(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
                         metric: str, test: str, judgements: str = "official", judged_digest: str = "",
                         protocol: str = ""):
    """Every system against the best one per axis (Holm-corrected), as a frame."""
    from core.evaluation import significance

    _, per_query, _ = evaluation(corpus_spec, encoders, runs, weight, judgements, judged_digest, protocol)
    return significance(per_query, against="best", metric=metric, test=test)


@st.cache_data(show_spinner=False, max_entries=16)
def run_files_zip(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
                  protocol: str = "", judgements: str = "official", judged_digest: str = "") -> bytes:
    """A zip of the TREC run files, the qrels (of the judgement set) and the result CSVs of the selection."""
    import tempfile
    import zipfile

    from core.evaluation import evaluate

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        evaluate(corpus(corpus_spec), list(encoders), runs=runs, fusion_weight=weight, out_dir=tmp,
                 protocol=protocol or None, qrels=judgement_qrels(corpus_spec, judgements))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(tmp).as_posix())
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=256)
def query_run_scores(corpus_spec: str, spec: str, run: str, weight: float, qid: str,
                     protocol: str = "") -> dict[str, float]:
    """Scores of one query's candidates under one run (for the drill-down)."""
    from core.evaluation import run_scores

    return run_scores(corpus(corpus_spec), spec, run, weight, protocol=protocol or None).get(qid, {})
