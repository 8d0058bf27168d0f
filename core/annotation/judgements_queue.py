"""The judging queue of one annotator: blind order, progress, where to resume."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..store import key_of
from .judgements import Pair, PairJudgement


def blind_order(pairs: Sequence[Pair], annotator: str, pool: str = "") -> list[Pair]:
    """The pool's pairs grouped by query, queries and candidates shuffled with a seed taken from
    the annotator and pool names (the same annotator always sees the same order; ranks and
    systems are not recoverable from it)."""
    rng = random.Random(key_of("blind", annotator, pool))
    by_q: dict[str, list[str]] = {}
    for q, c in dict.fromkeys(pairs):
        by_q.setdefault(q, []).append(c)
    queries = list(by_q)
    rng.shuffle(queries)
    out = []
    for q in queries:
        cands = list(by_q[q])
        rng.shuffle(cands)
        out.extend((q, c) for c in cands)
    return out


@dataclass(frozen=True)
class Progress:
    """Completed pairs overall and per query (skipped pairs count as done)."""

    done: int
    total: int
    per_query: Mapping[str, tuple[int, int]]  # query -> (done, total)

    @property
    def queries_done(self) -> int:
        return sum(d == n for d, n in self.per_query.values())


def progress(order: Sequence[Pair], judged: Mapping[Pair, PairJudgement]) -> Progress:
    """How much of ``order`` is complete (every axis answered, or skipped)."""
    per: dict[str, list[int]] = {}
    done = 0
    for p in order:
        ok = p in judged and judged[p].complete
        done += ok
        slot = per.setdefault(p[0], [0, 0])
        slot[0] += ok
        slot[1] += 1
    return Progress(done, len(order), {q: (d, n) for q, (d, n) in per.items()})


def resume_at(order: Sequence[Pair], judged: Mapping[Pair, PairJudgement]) -> int:
    """Index of the first incomplete pair (``len(order)`` when all are done)."""
    for i, p in enumerate(order):
        if p not in judged or not judged[p].complete:
            return i
    return len(order)
