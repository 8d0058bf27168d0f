"""Candidate sampling: UPAIR-style annotation pools for new queries, and why each was drawn.

Typical use::

    from core.annotation.sampling import load_config, resolve_queries, sample_pools, write_run
    collection = load_corpus("demo")
    queries = resolve_queries("demo")
    run = sample_pools(collection, queries, load_config(None), seed=1)
    write_run(run, "pools/")

Parts: ``config`` (roles, groups, the reference's config.yaml), ``bands`` (exact scores and
percentile thresholds), ``select`` (merge, deduplication, cited), ``sampler`` (orchestration),
``export`` (reference-layout JSON, trace, UPAIR pool folder).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ...corpora import Corpus, load_corpus
from ...corpora.citations import find_citations_file, read_citations
from ...figures import Figure
from .config import (
    DEFAULT_YAML, METHODS, REFERENCE_INDICES, Band, GroupSpec, IndexRole, SamplingConfig, SamplingConfigError,
    load_config, parse_config,
)
from .export import pool_metadata, reference_layout, summary, trace, write_run
from .sampler import (
    Candidate, GroupDraw, QueryDraw, SampleRun, SamplingUnavailable, check_encoders, sample_pools,
)
from .select import Dropped

__all__ = [
    "DEFAULT_YAML", "METHODS", "REFERENCE_INDICES", "Band", "GroupSpec", "IndexRole", "SamplingConfig",
    "SamplingConfigError", "load_config", "parse_config", "Candidate", "Dropped", "GroupDraw", "QueryDraw",
    "SampleRun", "SamplingUnavailable", "check_encoders", "sample_pools", "write_run", "reference_layout",
    "trace", "pool_metadata", "summary", "resolve_queries", "load_citations", "find_citations",
]


def resolve_queries(spec: str | Corpus) -> list[Figure]:
    """The query figures of a corpus spec: its benchmark's queries, else every figure."""
    corpus = spec if isinstance(spec, Corpus) else load_corpus(spec)
    if corpus.benchmark is not None and corpus.benchmark.queries:
        return [corpus.by_id[q] for q in corpus.benchmark.queries if q in corpus.by_id]
    return list(corpus.figures)


def load_citations(path: Path | str) -> dict[str, list[str]]:
    """``citations_data.json`` (or CSV rows ``citing,cited``): citing patent → cited patents."""
    return {k: list(v) for k, v in read_citations(path).items()}


def find_citations(config: SamplingConfig, *corpora: Corpus, explicit: str | Path | None = None
                   ) -> tuple[Mapping[str, list[str]], str]:
    """(citations, where from): ``explicit``, else the file :func:`find_citations_file` finds
    (the config's ``citations_data``, else ``citations_data.json`` at a corpus root or one folder
    up); ({}, reason) when none."""
    if explicit:
        return load_citations(explicit), str(explicit)
    src = Path(config.source).parent if config.source and Path(config.source).is_file() else Path.cwd()
    path = find_citations_file([c.root for c in corpora], named=config.citations_data or None, beside=src)
    if path is None:
        return {}, "no citations_data.json found"
    return load_citations(path), str(path)
