"""The Scores page's evaluation of a ``Selection``: tables, significance, run files, per-query scores.

Each cached function takes the selection (``core.evaluation.selection.Selection``) and is
keyed by its content key: the selection itself is passed as ``_selection`` (not hashed).
"""
from __future__ import annotations

import dataclasses
import functools
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
    return _plain_strings(res.table), _plain_strings(res.per_query), list(res.skipped)


def _plain_strings(frame):
    """``frame`` with its text columns as plain Python strings (object dtype): the page iterates
    them (systems, qids) many times per rerun, and pandas' Arrow strings cost ~2 µs per item."""
    text = [c for c in frame.columns if frame[c].dtype == "string" or frame[c].dtype == object]
    return frame.astype({c: object for c in text}) if text else frame


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


def run_scores(corpus_spec: str, spec: str, run: str, weight: float, protocol: str = "") -> dict:
    """``{qid: {docid: score}}`` of one run (``core.evaluation.run_scores``), computed once per process
    and shared read-only by every part of the Scores page (drill-down, pool bias, judged@k): a run
    without text is keyed without the weight, so a slider step recomputes only the fused runs.
    Raises as ``run_scores`` does for a run the encoder does not have."""
    from core.evaluation.runs import plan_run
    from core.protocols import default_protocol_for

    c = corpus(corpus_spec)
    fused = plan_run(spec, run, protocol or default_protocol_for(c)).fused
    return _run_scores(corpus_spec, c.fingerprint, spec, run, round(float(weight), 2) if fused else None,
                       protocol or "")


@st.cache_resource(show_spinner=False, max_entries=128)
def _run_scores(corpus_spec: str, fingerprint: str, spec: str, run: str, weight: float | None,
                protocol: str) -> dict:
    from core.evaluation import run_scores as scores_of

    return scores_of(corpus(corpus_spec), spec, run, 1.0 if weight is None else weight, protocol=protocol or None)


def query_run_scores(selection: Selection, spec: str, run: str, qid: str) -> dict[str, float]:
    """Scores of one query's candidates under one run of the selection (for the drill-down; a copy)."""
    return dict(run_scores(selection.corpus, spec, run, selection.weight, selection.protocol).get(qid, {}))


# --------------------------------------------------------------------------- can this comparison be trusted?
def intervals(selection: Selection, resamples: int, seed: int = 0, metrics: tuple[str, ...] | None = None):
    """Paired bootstrap intervals (``core.metrics.bootstrap``) of the selection's ``metrics`` (all when
    None). A metric's intervals do not depend on which other metrics are asked for (each resamples
    the same queries with the same seed), so the chart asks for its one metric and the CSV for all."""
    return _intervals(selection.key, int(resamples), int(seed), None if metrics is None else tuple(metrics),
                      selection)


@st.cache_data(show_spinner=False, max_entries=32)
def _intervals(key: str, resamples: int, seed: int, metrics: tuple[str, ...] | None, _selection: Selection):
    from core.metrics.bootstrap import bootstrap_intervals

    _, per_query, _ = evaluation(_selection)
    return bootstrap_intervals(per_query, resamples, seed, metrics=metrics)


def run_score_dicts(selection: Selection) -> dict:
    """``{(encoder, run): {qid: {docid: score}}}`` of every run of the selection (skips impossible runs);
    the dicts are the shared ones of ``run_scores`` (read only; no copy is pickled per call)."""
    from core.embed import EncoderUnavailable

    s = selection
    table, _, _ = evaluation(s)  # the systems evaluated (text-only encoders have desc / labels runs)
    out = {}
    for spec, run in dict.fromkeys(zip(table["encoder"], table["run"])):
        try:
            out[(spec, run)] = run_scores(s.corpus, spec, run, s.weight, s.protocol)
        except (EncoderUnavailable, ValueError, RuntimeError, OSError):
            continue
    return out


def sampling_source(corpus_spec: str):
    """The encoders the corpus's pool was sampled with and where that is recorded (``core.annotation.bias``)."""
    from core.annotation.bias import sampling_encoders

    return sampling_encoders(corpus(corpus_spec))


def pool_bias(selection: Selection, stated: tuple[str, ...] = (), k: int = 10):
    """``core.evaluation.report.PoolBias`` of the selection (judgement set's qrels; ``stated`` encoders
    override the recorded ones)."""
    return _pool_bias(selection.key, tuple(stated), int(k), selection)


@st.cache_data(show_spinner=False, max_entries=32)
def _pool_bias(key: str, stated: tuple[str, ...], k: int, _selection: Selection):
    from core.evaluation import EvalResult
    from core.evaluation.report import pool_bias as report

    s = _selection
    table, per_query, _ = evaluation(s)
    res = EvalResult(table=table, per_query=per_query, fusion_weight=s.weight, protocol=s.protocol or "")
    qrels = judgement_qrels(s.corpus, s.judgements)
    return report(corpus(s.corpus), res, qrels=qrels, pool_encoders=list(stated) or None, k=k,
                  rankings=run_score_dicts(s))


def axis_disagreements(selection: Selection, a: tuple[str, str], b: tuple[str, str], metric: str = "AP"):
    """Queries where A beats B on one axis and loses on another (``core.metrics.disagreement``)."""
    return _axis_disagreements(selection.key, tuple(a), tuple(b), metric, selection)


@st.cache_data(show_spinner=False, max_entries=64)
def _axis_disagreements(key: str, a: tuple[str, str], b: tuple[str, str], metric: str, _selection: Selection):
    from core.metrics.disagreement import axis_disagreements as find

    _, per_query, _ = evaluation(_selection)
    return find(per_query, a, b, metric)


def rank_gaps(selection: Selection, a: tuple[str, str], b: tuple[str, str], qid: str, relevant, n: int = 6):
    """(A ranks higher, B ranks higher): relevant figures of ``qid`` with both ranks, largest gap first."""
    from core.metrics.disagreement import rank_gaps as gaps

    sa = query_run_scores(selection, a[0], a[1], qid)
    sb = query_run_scores(selection, b[0], b[1], qid)
    return gaps(sa, sb, relevant, min_gap=1, n=n)


# --------------------------------------------------------------------------- the next slider step, ahead
def prefetch_weights(selection: Selection, weights, *, test: str, metric: str, resamples: int, seed: int,
                     k: int, stated: tuple[str, ...] = ()) -> int:
    """Warm, in the background (``services.prefetch``), everything the Scores page computes for
    the selection at each of ``weights`` (the slider's neighbours; the last one is warmed first):
    the evaluation, significance, the chart's intervals, judged@k rankings and pool bias. The
    page then finds a step to a neighbouring weight in the caches (a step costs what a step back
    to a weight already seen costs). Returns how many weights were queued."""
    from . import prefetch

    queued = 0
    for w in weights:
        sel = dataclasses.replace(selection, weight=float(w))
        if sel.key == selection.key:
            continue
        key = f"scores|{sel.key}|{test}|{metric}|{int(resamples)}|{int(seed)}|{int(k)}|{','.join(stated)}"
        queued += prefetch.submit(key, functools.partial(_warm, sel, test, metric, int(resamples), int(seed),
                                                         int(k), tuple(stated)))
    return queued


def _warm(selection: Selection, test: str, metric: str, resamples: int, seed: int, k: int,
          stated: tuple[str, ...]) -> None:
    from .judging import run_rankings

    evaluation(selection)
    significance_vs_best(selection, "AP", test)
    intervals(selection, resamples, seed, (metric,))
    run_rankings(selection, k)
    pool_bias(selection, stated)
