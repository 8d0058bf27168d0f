"""Benchmark evaluation as the official UPAIR evaluation does it, with trec_eval-equal metrics.

Protocol
--------
* Every benchmark query ranks **its own candidate list** (``Corpus.candidates_for``; the
  whole corpus minus the query when the benchmark gives none) by cosine similarity of
  L2-normalised embeddings, computed for all query×candidate pairs at once from the
  cached embeddings (nothing is re-encoded).
* Images and texts are prepared as an **evaluation protocol** says (``core.protocols``):
  ``upair`` (the default for UPAIR-layout corpora) reproduces the official
  ``evaluation/run.py`` — its image preprocessing, its text cleaning, its label joining;
  ``clean`` (the default elsewhere) is this project's own. The protocol is part of every
  cache key, of the run-file tag and of ``results.csv``.
* Runs of an encoder with an image tower: ``image``; ``image+desc`` / ``image+labels`` =
  late fusion ``minmax(image) + w * minmax(text)``, min-max taken per query over its
  candidates (a constant list becomes zeros). CLIP models use their own text tower;
  training-free visual encoders (hog, ahdh) use TF-IDF (``tfidf``). Text-only encoders
  give ``desc`` and ``labels`` runs.
* Scores keep full float precision; run files write them with ``repr`` as the official
  script does, so trec_eval on the written files reproduces every number exactly.
* Metrics per judgement axis (``core.metrics``): default AP, nDCG@10, RR, R@1, equal to
  trec_eval (ties: score desc, docid desc; unjudged = non-relevant; a judged query that
  is missing from the run scores 0; a query whose judgements on an axis are all 0 is
  kept and scores 0, as pytrec_eval does).

Layout (as ranx splits it): ``fusion`` (min-max, fuse, segment-wise min-max), ``pairs``
(the query×candidate table and its judgements), ``runs`` (run plans and pair scores),
``runfiles`` (TREC run files), ``cache`` (the explicit per-corpus and result caches),
``significance`` (cached paired tests), ``selection`` (``Selection``: what an evaluation is of,
one frozen value with one content key) and ``evaluator`` (the orchestrating ``evaluate``).
"""
from __future__ import annotations

from ..metrics import DEFAULT_MEASURES, MEASURE_LABELS, system_label
from .cache import CORPUS_CACHE, RESULT_CACHE, CorpusCache, CorpusMemo, ResultCache
from .evaluator import RESULTS_VERSION, EvalResult, evaluate
from .fusion import fuse, minmax, segment_minmax
from .pairs import AxisData, Pairs, axis_order, benchmark_of, build_axis_data, build_pairs, qrels_digest
from .problems import UPAIR_OFFICIAL_NOTE, Problem, loader_problems, problems_frame
from .runfiles import run_tag, write_run_file
from .runs import (
    DEFAULT_RUNS,
    FUSION_TEXT_ENCODER,
    RUNS,
    SCORE_DECIMALS,
    RunPlan,
    axis_data,
    embeddings,
    pairs_of,
    plan_run,
    protocol_spec,
    rank_candidates,
    raw_scores,
    run_array,
    run_scores,
    slug,
)
from .selection import Selection
from .significance import significance

__all__ = [
    "RUNS", "DEFAULT_RUNS", "DEFAULT_MEASURES", "MEASURE_LABELS", "SCORE_DECIMALS", "FUSION_TEXT_ENCODER",
    "RESULTS_VERSION", "EvalResult", "evaluate", "run_scores", "rank_candidates", "minmax", "fuse",
    "segment_minmax", "significance", "system_label", "RunPlan", "plan_run", "protocol_spec", "pairs_of",
    "axis_data", "embeddings", "raw_scores", "run_array", "slug", "Pairs", "AxisData", "build_pairs",
    "build_axis_data", "benchmark_of", "qrels_digest", "axis_order", "run_tag", "write_run_file",
    "CorpusMemo", "CorpusCache", "ResultCache", "CORPUS_CACHE", "RESULT_CACHE", "Selection",
    "Problem", "loader_problems", "problems_frame", "UPAIR_OFFICIAL_NOTE",
]
