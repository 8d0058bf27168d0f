"""Retrieval metrics equal to trec_eval, vectorised with numpy, and paired significance tests.

Conventions (identical to trec_eval / pytrec_eval, which the tests check to 1e-9):

* Documents of a query are ranked by score descending, ties broken by docid descending
  (byte order), exactly as trec_eval sorts them (see ``core.qrels.rank_docs``).
* A document is relevant when its judgement is >= 1; unjudged documents are non-relevant.
  nDCG uses the judgement itself as gain (binary UPAIR judgements give gains 0/1) and the
  ideal ranking of every judged document of the query.
* The evaluated queries are the queries of the qrels. A qrels query the run does not
  rank scores 0 on every measure (``trec_eval -c``; ir_measures does the same). Run
  queries absent from the qrels are ignored.
* A qrels query whose judgements are all 0 (no relevant document) is *kept* and scores 0
  on every measure — that is what pytrec_eval (trec_eval 9) returns for such a query, and
  it is included in the mean. It is never dropped silently.

Measures are computed by *providers* tried in order (``PROVIDERS``), as ir_measures'
FallbackProvider does: each declares which measures it supports and whether it can run here.
``NATIVE`` (numpy) computes ``AP``, ``AP@k``, ``nDCG``, ``nDCG@k``, ``RR``, ``RR@k`` (0 when
the first relevant document is below rank k), ``R@k``, ``P@k`` and ``Success@k`` (default
relevance level 1); ``IR_MEASURES`` computes any other ir_measures measure
(``ir_measures.iter_calc``) with the same per-query output. ``INCOMPLETE_MEASURES`` (bpref,
infAP, condensed AP and nDCG@10 via ir_measures' ``judged_only``) go through the latter.

Layout: ``measures`` (names, qrels summaries, trec_eval order, numpy measures), ``providers``
(the dispatch and ``compute``), ``paired`` (significance tests between systems, Holm).
"""
from __future__ import annotations

from .measures import (
    DEFAULT_MEASURES,
    INCOMPLETE_MEASURES,
    MEASURE_LABELS,
    MeasureSpec,
    QrelsStats,
    canonical,
    compute_with_ir_measures,
    flatten_run,
    mean,
    metrics_sorted,
    parse_measure,
    qrels_stats,
    split_native,
    trec_order,
)
from .paired import SIGNIFICANCE_COLUMNS, compare_systems, holm, randomization_test, system_label, t_test
from .providers import (
    IR_MEASURES,
    NATIVE,
    PROVIDERS,
    IrMeasuresProvider,
    MeasureProvider,
    NativeProvider,
    compute,
    plan_measures,
    provider_for,
)

#: Former name of ``compare_systems``, kept for callers written against it (tests/test_metrics.py).
significance = compare_systems

__all__ = [
    "DEFAULT_MEASURES", "INCOMPLETE_MEASURES", "MEASURE_LABELS", "MeasureSpec", "QrelsStats", "canonical", "compute_with_ir_measures",
    "flatten_run", "mean", "metrics_sorted", "parse_measure", "qrels_stats", "split_native", "trec_order",
    "SIGNIFICANCE_COLUMNS", "compare_systems", "holm", "randomization_test", "system_label", "t_test",
    "IR_MEASURES", "NATIVE", "PROVIDERS", "IrMeasuresProvider", "MeasureProvider", "NativeProvider",
    "compute", "plan_measures", "provider_for", "significance",
]
