"""Pools of (query, candidate) pairs to judge: TREC-style pooling of unjudged top-k hits,
judged@k, and pools saved for the Judge page's queue."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ..corpora.base import Corpus
from ..qrels import top_docs
from ..store import atomic_write_json, load_json
from .judgements import JudgementStore, Pair

Qrels = Mapping[str, Mapping[str, Mapping[str, int]]]


@dataclass(frozen=True)
class Pool:
    """Pairs queued for judging, in the order they were pooled."""

    name: str
    pairs: tuple[Pair, ...]
    source: str = ""
    created: str = ""

    @property
    def queries(self) -> tuple[str, ...]:
        """Queries of the pool in first-appearance order."""
        return tuple(dict.fromkeys(q for q, _ in self.pairs))


def judged_docs(qrels: Qrels) -> dict[str, set[str]]:
    """Per query, the candidates judged on at least one axis."""
    out: dict[str, set[str]] = {}
    for per_q in qrels.values():
        for q, docs in per_q.items():
            out.setdefault(q, set()).update(docs)
    return out


def judged_at_k(ranked: Sequence[str], judged: set[str] | frozenset[str], k: int) -> float:
    """Share of the top ``k`` of a ranking that is judged (k larger than the list: of the list)."""
    top = list(ranked)[:k]
    return sum(d in judged for d in top) / len(top) if top else 0.0


def top_k(scores: Mapping[str, Mapping[str, float]], k: int) -> dict[str, list[str]]:
    """``{qid: {docid: score}}`` → each query's ``k`` best docids, in trec_eval order."""
    return {q: [d for d, _ in top_docs(docs, k)] for q, docs in scores.items()}


def mean_judged_at_k(rankings: Mapping[str, Sequence[str]], qrels: Qrels, k: int) -> float:
    """judged@k of one system averaged over its queries (0 without queries)."""
    judged = judged_docs(qrels)
    vals = [judged_at_k(r, judged.get(q, set()), k) for q, r in rankings.items()]
    return sum(vals) / len(vals) if vals else 0.0


def unjudged_top_k(rankings: Mapping[str, Mapping[str, Sequence[str]]], qrels: Qrels, k: int) -> list[Pair]:
    """TREC-style pool: the union over systems of each query's top ``k`` that no judgement covers.

    ``rankings`` is ``{system: {qid: [docid, …] best first}}``. Pairs come grouped by query
    (queries in first-seen order), candidates by their best rank in any system, ties in system order.
    """
    judged = judged_docs(qrels)
    best: dict[str, dict[str, tuple[int, int]]] = {}
    for s, (_, per_q) in enumerate(rankings.items()):
        for q, ranked in per_q.items():
            for r, d in enumerate(list(ranked)[:k]):
                if d == q or d in judged.get(q, ()):
                    continue
                slot = best.setdefault(q, {})
                slot[d] = min(slot.get(d, (r, s)), (r, s))
    return [(q, d) for q, docs in best.items() for d in sorted(docs, key=docs.get)]


def benchmark_pool(corpus: Corpus) -> Pool:
    """Every (query, candidate) pair of the corpus's benchmark, for (re-)judging it."""
    if corpus.benchmark is None:
        raise ValueError(f"corpus {corpus.name} has no benchmark queries; make a pool first (Sample or 'judge these')")
    pairs = tuple((q, c) for q in corpus.benchmark.queries if q in corpus.by_id for c in corpus.candidates_for(q))
    return Pool("benchmark", pairs, source="all benchmark candidates")


def _pool_dir(store: JudgementStore) -> Path:
    d = store.dir / "pools"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")[:60]
    if not slug:
        raise ValueError(f"pool name {name!r} has no letters or digits; give it a name like 'topk-hog-10'")
    return slug


def save_pool(store: JudgementStore, name: str, pairs: Sequence[Pair], source: str = "") -> Pool:
    """Save a pool (atomically; duplicate pairs dropped, order kept) and return it."""
    pool = Pool(_slug(name), tuple(dict.fromkeys((str(q), str(c)) for q, c in pairs)), source,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if not pool.pairs:
        raise ValueError("the pool is empty: every pooled pair is judged already")
    atomic_write_json(_pool_dir(store) / f"{pool.name}.json",
                      {"name": pool.name, "source": source, "created": pool.created,
                       "pairs": [list(p) for p in pool.pairs]})
    return pool


def load_pool(store: JudgementStore, name: str) -> Pool:
    """A saved pool; ValueError listing the saved ones when missing or damaged."""
    raw = load_json(_pool_dir(store) / f"{_slug(name)}.json")
    try:
        pairs = tuple((str(q), str(c)) for q, c in raw["pairs"])
        return Pool(str(raw["name"]), pairs, str(raw.get("source", "")), str(raw.get("created", "")))
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"no usable pool {name!r}; saved pools: {', '.join(list_pools(store)) or 'none'}") from exc


def list_pools(store: JudgementStore) -> list[str]:
    """Names of the saved pools, newest first."""
    files = sorted(_pool_dir(store).glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.stem for p in files]
