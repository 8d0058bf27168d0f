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


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's linear interpolation, same operations in the same order (``numpy._lerp``)."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def rounded_percentiles(row: np.ndarray, ps: list[float]) -> list[float]:
    """``np.percentile(round(row, 6), ps)`` (linear method) from the few order statistics it
    needs (``np.partition``), rounding only those: rounding is monotone, so it commutes with
    taking order statistics, and no rounded copy of the whole row is made."""
    n = row.size
    virtual = [(n - 1) * (p / 100.0) for p in ps]
    below = [min(n - 1, max(0, int(np.floor(v)))) for v in virtual]
    kth = sorted({k for b in below for k in (b, min(n - 1, b + 1))})
    part = np.partition(row, kth)
    value = {k: round(float(part[k]), SCORE_DECIMALS) for k in kth}
    return [_lerp(value[b], value[min(n - 1, b + 1)], v - np.floor(v)) for b, v in zip(below, virtual)]


def thresholds(row: np.ndarray, keys: tuple[str, ...], bins: int = 60) -> Thresholds:
    """Percentile thresholds of one score row (scores rounded as the reference rounds them)
    and a histogram of the row."""
    if row.size == 0:
        return Thresholds({k: float("nan") for k in keys}, (), ())
    ps = rounded_percentiles(row, [percentile_value(k) for k in keys])
    counts, edges = np.histogram(row, bins=bins)
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
