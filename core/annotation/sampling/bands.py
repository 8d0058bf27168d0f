"""Exact similarity rows, percentile thresholds and percentile bands.

A query's thresholds need its score against every corpus figure, then ``numpy.percentile``
on the row rounded to 6 decimals. Two arithmetics give the scores:

* ``FaissRows`` (option ``scores=faiss``, the ``upair`` protocol): the reference's own calls,
  made as it makes them — a ``faiss.IndexFlatIP`` over the float32 vectors, one query per
  call, ``search`` with k = every figure for the percentiles and ``range_search`` from the
  lower threshold, kept where ``score <= upper`` (compared as the reference compares), for
  each band. Bit-equal to the reference on the same machine.
* ``score_block`` + ``in_band`` (``scores=fast``): one numpy matrix product per query batch.
  BLAS sums the float32 products in another order than faiss, so a score can differ in
  its last bit, which moves a rounded threshold by one 6-decimal unit now and then.

A band (lower, upper] keeps the figures whose score is above the lower threshold (faiss
``range_search`` is strict on inner products) and at most the upper.
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


class FaissRows:
    """One index's vectors in a ``faiss.IndexFlatIP``, asked one query at a time as the
    reference's ``PatentIndex`` asks it (a single query never takes faiss's BLAS path)."""

    def __init__(self, vectors: np.ndarray):
        import faiss

        x = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n = len(x)
        self.index = faiss.IndexFlatIP(int(x.shape[1]))
        if self.n:
            self.index.add(x)

    @staticmethod
    def _query(q: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1)

    def row(self, q: np.ndarray) -> np.ndarray:
        """Scores of every figure by position: ``search`` with k = every figure (the
        reference's ``search_top_k``), float32."""
        out = np.empty(self.n, dtype=np.float32)
        if self.n:
            D, I = self.index.search(self._query(q), self.n)
            out[I[0]] = D[0]
        return out

    def band(self, q: np.ndarray, lower: float, upper: float) -> tuple[np.ndarray, np.ndarray]:
        """(positions, float32 scores) of ``lower < score <= upper``: ``range_search`` from
        ``lower`` (faiss compares in float32, strictly), then each score ``<= upper`` compared
        as the reference compares it (a numpy float32 scalar against a Python float). Ordered
        by score descending, then position."""
        if not self.n:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        lims, D, I = self.index.range_search(self._query(q), float(lower))
        upper = float(upper)
        keep = [i for i in range(int(lims[0]), int(lims[1])) if D[i] <= upper]
        hits, scores = I[keep].astype(np.int64), D[keep]
        order = np.lexsort((hits, -scores))
        return hits[order], scores[order]


def faiss_missing() -> str | None:
    """Why faiss cannot be imported here (None when it can)."""
    try:
        import faiss  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - reported to the user with the fix
        return f"faiss is not importable ({type(exc).__name__}: {exc})"
    return None


def rounded(score: float) -> float:
    """A score as the reference reports it (6 decimals)."""
    return round(float(score), SCORE_DECIMALS)
