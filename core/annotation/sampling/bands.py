"""Exact similarity rows, percentile thresholds and percentile bands.

A query's thresholds need its score against every corpus figure. Here they come from one
matrix product per query batch (float32, rows L2-normalised, so scores are cosines), then
``numpy.percentile`` on the rounded row, as the reference computes them from a full
``search_top_k`` per query. A band (lower, upper] keeps the figures whose score is above the
lower threshold (faiss ``range_search`` is strict on inner products) and at most the upper.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import numpy as np

#: Decimals the reference rounds every score to before taking percentiles and summing.
SCORE_DECIMALS = 6
#: Bytes of float32 scores one batch may hold (queries × corpus size).
BATCH_BYTES = 256 << 20


@lru_cache(maxsize=1)
def _reference_grid() -> dict[str, float]:
    """The reference's percentile grid ``np.arange(100, 80, -0.001)``, keyed "%.3f"."""
    values = np.arange(100.0, 80.0, -0.001)
    return {f"{p:.3f}": float(p) for p in values}


def percentile_value(key: str) -> float:
    """The exact float the reference evaluates for a percentile key (its arange value when
    the key is on its grid, 100 → 80.001, else the key itself)."""
    return _reference_grid().get(key, float(key))


def batches(n: int, corpus_size: int, budget: int = BATCH_BYTES) -> Iterator[slice]:
    """Query slices whose score block stays under ``budget`` bytes (at least one query)."""
    step = max(1, budget // max(1, 4 * corpus_size))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def score_block(queries: np.ndarray, corpus: np.ndarray) -> np.ndarray:
    """(q, n) float32 inner products of L2-normalised rows: one matrix product."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    x = np.ascontiguousarray(corpus, dtype=np.float32)
    return q @ x.T


@dataclass(frozen=True)
class Thresholds:
    """One query's percentile thresholds on one index, and its score histogram."""

    values: dict[str, float]  # percentile key → score
    hist_edges: tuple[float, ...]
    hist_counts: tuple[int, ...]


def thresholds(row: np.ndarray, keys: tuple[str, ...], bins: int = 60) -> Thresholds:
    """Percentile thresholds of one score row (rounded as the reference rounds) and a histogram."""
    rounded = np.round(row.astype(np.float64), SCORE_DECIMALS)
    if rounded.size == 0:
        return Thresholds({k: float("nan") for k in keys}, (), ())
    ps = np.percentile(rounded, [percentile_value(k) for k in keys])
    counts, edges = np.histogram(rounded, bins=bins)
    return Thresholds(
        {k: float(v) for k, v in zip(keys, ps)},
        tuple(round(float(e), SCORE_DECIMALS) for e in edges), tuple(int(c) for c in counts),
    )


def in_band(row: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Column positions with ``lower < score <= upper`` (compared in float32, as faiss does),
    ordered by score descending, then position."""
    r = np.asarray(row, dtype=np.float32)
    hit = np.flatnonzero((r > np.float32(lower)) & (r <= np.float32(upper)))
    order = np.lexsort((hit, -r[hit]))
    return hit[order]


def rounded(score: float) -> float:
    """A score as the reference reports it (6 decimals)."""
    return round(float(score), SCORE_DECIMALS)
