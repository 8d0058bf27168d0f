"""The pair table of a benchmark: every (query, candidate) pair, flat and grouped by query,
and each pair's judgement on every axis."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from ..corpora.base import AXES, Benchmark, Corpus
from ..metrics import QrelsStats, qrels_stats
from ..store import key_of

#: Judgements ``{axis: {qid: {docid: rel}}}`` (a benchmark's, or a judgement set's).
Qrels = Mapping[str, Mapping[str, Mapping[str, int]]]

__all__ = ["Pairs", "AxisData", "Qrels", "benchmark_of", "benchmark_qrels", "build_pairs", "build_axis_data", "qrels_digest",
           "axis_order", "pairs_to_dict"]


@dataclass(frozen=True, eq=False)
class Pairs:
    """Every (query, candidate) pair of a benchmark, flat, grouped by query."""

    qids: tuple[str, ...]  # benchmark queries present in the corpus, in order
    qrow: np.ndarray  # (nq,) corpus row of each query
    offsets: np.ndarray  # (nq + 1,) pairs of query i are offsets[i]:offsets[i+1]
    qof: np.ndarray  # (n,) query index of each pair
    cand: np.ndarray  # (n,) corpus row of each candidate
    doc_code: np.ndarray  # (n,) rank of the candidate id in sorted id order (for ties)
    key: str  # content address: corpus fingerprint + candidate lists

    def __len__(self) -> int:
        return len(self.cand)


@dataclass(frozen=True, eq=False)
class AxisData:
    """The judgements of one axis aligned with a ``Pairs`` table."""

    stats: QrelsStats
    qmap: np.ndarray  # benchmark query index -> index in stats (-1 when not judged on the axis)
    rel: np.ndarray  # (n pairs,) judgement of each pair on this axis (0 when unjudged)
    judged: np.ndarray | None = None  # (n pairs,) bool: the pair's candidate is in its query's qrels


def benchmark_of(corpus: Corpus, need_qrels: bool = True) -> Benchmark:
    """The corpus's benchmark; ValueError saying what is missing when it has none (or, with
    ``need_qrels``, when it has no judgements of its own)."""
    b = corpus.benchmark
    if b is None:
        raise ValueError(
            f"corpus {corpus.name} has no benchmark (no queries and relevance judgements); "
            "evaluation needs a UPAIR-layout corpus (upair:<folder>) or the demo"
        )
    if need_qrels and not b.qrels:
        raise ValueError(f"corpus {corpus.name} has queries but no relevance judgements (qrels_<axis>.txt)")
    return b


def build_pairs(corpus: Corpus) -> Pairs:
    """The benchmark's query×candidate pairs (queries missing from the corpus are left out)."""
    bench = benchmark_of(corpus, need_qrels=False)
    pos = corpus.position
    qids, qrow, lens, cands = [], [], [], []
    h = hashlib.sha256(corpus.fingerprint.encode())
    for q in bench.queries:
        if q not in pos:
            continue
        cs = corpus.candidates_for(q)
        qids.append(q)
        qrow.append(pos[q])
        lens.append(len(cs))
        cands.extend(pos[c] for c in cs)
        h.update(("\x1e" + q + "\x1f" + "\x1f".join(cs)).encode("utf-8", "surrogatepass"))
    order = sorted(range(len(corpus.figures)), key=lambda i: corpus.figures[i].id)
    code = np.empty(len(order), dtype=np.int64)
    code[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    cand = np.asarray(cands, dtype=np.int64)
    lens_a = np.asarray(lens, dtype=np.int64)
    return Pairs(
        qids=tuple(qids), qrow=np.asarray(qrow, dtype=np.int64),
        offsets=np.concatenate([[0], np.cumsum(lens_a)]).astype(np.int64),
        qof=np.repeat(np.arange(len(qids), dtype=np.int64), lens_a), cand=cand,
        doc_code=code[cand] if len(cand) else np.zeros(0, dtype=np.int64), key=h.hexdigest()[:24],
    )


def build_axis_data(corpus: Corpus, pairs: Pairs, axis: str, qrels: Qrels | None = None) -> AxisData:
    """The judgements of ``axis`` for every pair of ``pairs`` (from ``qrels`` when given, else
    the benchmark's own)."""
    qrels = (benchmark_qrels(corpus) if qrels is None else qrels).get(axis, {})
    stats = qrels_stats(qrels)
    qmap = np.asarray([stats.index.get(q, -1) for q in pairs.qids], dtype=np.int64)
    ids = [f.id for f in corpus.figures]
    rel = np.zeros(len(pairs), dtype=np.float64)
    in_qrels = np.zeros(len(pairs), dtype=bool)
    for i, q in enumerate(pairs.qids):
        judged = qrels.get(q)
        if not judged:
            continue
        a, b = pairs.offsets[i], pairs.offsets[i + 1]
        rel[a:b] = [judged.get(ids[c], 0) for c in pairs.cand[a:b]]
        in_qrels[a:b] = [ids[c] in judged for c in pairs.cand[a:b]]
    return AxisData(stats=stats, qmap=qmap, rel=rel, judged=in_qrels)


def benchmark_qrels(corpus: Corpus) -> Qrels:
    """The benchmark's own judgements ``{axis: {qid: {docid: rel}}}``."""
    return benchmark_of(corpus).qrels


def qrels_digest(corpus: Corpus, qrels: Qrels | None = None) -> str:
    """Content address of a set of judgements (every axis; default: the benchmark's)."""
    q = benchmark_qrels(corpus) if qrels is None else qrels
    return key_of({a: {k: dict(v) for k, v in q[a].items()} for a in q})


def axis_order(axes: Iterable[str]) -> list[str]:
    """Axes in display order (AXES first, then any other, sorted)."""
    present = list(axes)
    return [a for a in AXES if a in present] + sorted(a for a in present if a not in AXES)


def pairs_to_dict(pairs: Pairs, corpus: Corpus, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Flat pair scores as ``{qid: {docid: score}}`` (Python floats, full precision)."""
    ids = [f.id for f in corpus.figures]
    vals = np.asarray(scores, dtype=np.float64).tolist()
    out: dict[str, dict[str, float]] = {}
    for i, q in enumerate(pairs.qids):
        a, b = int(pairs.offsets[i]), int(pairs.offsets[i + 1])
        out[q] = {ids[c]: vals[j] for j, c in zip(range(a, b), pairs.cand[a:b].tolist())}
    return out
