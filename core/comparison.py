"""Comparing systems: one query's candidates ranked by several systems, query-by-query
differences between two systems, and which scores are a unique best.

Ranks follow trec_eval: score descending, ties broken by document id descending.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

import pandas as pd

from .corpora.base import AXES, Benchmark
from .qrels import rank_docs

#: Two scores closer than this are a tie (scores are stored with 8 decimals).
TIE_TOL = 1e-9


@dataclass(frozen=True)
class CandidateRow:
    """One candidate of a query: its judgements per axis and its (rank, score) per system."""

    doc: str
    judgements: Mapping[str, int | None]
    ranks: Mapping[Hashable, tuple[int, float] | None]


def ranks_of(scores: Mapping[str, float]) -> dict[str, tuple[int, float]]:
    """``{doc: (rank, score)}`` in trec_eval's order (``qrels.rank_docs``): rank 1 is the
    highest score, ties by doc id descending."""
    return {d: (i + 1, s) for i, (d, s) in enumerate(rank_docs(scores))}


def query_candidates(benchmark: Benchmark, qid: str, candidates: Sequence[str],
                     scores_by_system: Mapping[Hashable, Mapping[str, float]], top: int = 10) -> list[CandidateRow]:
    """The candidates of ``qid`` worth a look: every one judged relevant on some axis and
    every one in some system's top ``top``, ordered by the first system's rank."""
    systems = list(scores_by_system)
    ranks = {s: ranks_of(scores_by_system[s]) for s in systems}
    rows = []
    for c in candidates:
        judged = {ax: benchmark.judgement(ax, qid, c) for ax in AXES}
        in_top = any(ranks[s].get(c, (top + 1,))[0] <= top for s in systems)
        if in_top or any(j == 1 for j in judged.values()):
            rows.append(CandidateRow(c, judged, {s: ranks[s].get(c) for s in systems}))
    if systems:
        first = systems[0]
        rows.sort(key=lambda r: r.ranks[first][0] if r.ranks[first] else 10**9)
    return rows


def top_k(scores: Mapping[str, float], k: int) -> list[tuple[str, float]]:
    """The ``k`` best (doc, score) pairs in rank order."""
    r = ranks_of(scores)
    return sorted(((d, s) for d, (rank, s) in r.items() if rank <= k), key=lambda p: r[p[0]][0])


def paired_values(per_query: pd.DataFrame, a: tuple[str, str], b: tuple[str, str], axis: str,
                  metric: str) -> pd.DataFrame:
    """Per query (index ``qid``): columns ``a``, ``b`` and ``diff`` = a − b, queries both scored."""
    sel = per_query[(per_query["axis"] == axis) & (per_query["metric"] == metric)]
    va = sel[(sel["encoder"] == a[0]) & (sel["run"] == a[1])].set_index("qid")["value"]
    vb = sel[(sel["encoder"] == b[0]) & (sel["run"] == b[1])].set_index("qid")["value"]
    both = pd.DataFrame({"a": va, "b": vb}).dropna()
    both["diff"] = both["a"] - both["b"]
    return both


def disagreements(both: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` queries with the largest |a − b|, ties (diff 0) left out."""
    d = both[both["diff"].abs() > TIE_TOL]
    return d.reindex(d["diff"].abs().sort_values(ascending=False, kind="mergesort").index).head(n)


def unique_best(values: Sequence[float]) -> int | None:
    """Position of the single highest value, or None when two or more share it (or none)."""
    vals = [float(v) for v in values if v == v]
    if not vals:
        return None
    top = max(vals)
    winners = [i for i, v in enumerate(values) if v == v and abs(float(v) - top) <= TIE_TOL]
    return winners[0] if len(winners) == 1 else None


@dataclass(frozen=True)
class Separability:
    """Whether a benchmark can tell systems apart on one axis."""

    n_queries: int
    candidates_per_query: float
    all_tied: bool
    reason: str


def separability(table: pd.DataFrame, per_query: pd.DataFrame, axis: str,
                 candidates_per_query: float) -> Separability:
    """Can the systems be told apart on ``axis``? Not when every system has the same value on
    every measure, or when each query has a single candidate (every ranking is the same)."""
    t = table[table["axis"] == axis]
    n = int(per_query[per_query["axis"] == axis]["qid"].nunique()) if len(per_query) else 0
    spread = t.groupby("metric")["value"].agg(lambda v: float(v.max() - v.min())) if len(t) else pd.Series(dtype=float)
    tied = bool(len(spread)) and bool((spread <= TIE_TOL).all())
    reason = ""
    if candidates_per_query <= 1:
        reason = (f"each query has {candidates_per_query:.0f} candidate, so every system ranks it first: "
                  "this benchmark cannot separate systems")
    elif tied:
        reason = "every system scores the same on every measure: this benchmark cannot separate them"
    return Separability(n, candidates_per_query, tied, reason)
