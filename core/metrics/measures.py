"""Measures equal to trec_eval: measure names, qrels summaries, trec_eval ordering, the numpy
measures and the ir_measures call (conventions in ``core.metrics``)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np

#: The metrics reported by default (named as ir_measures names them).
DEFAULT_MEASURES: tuple[str, ...] = ("AP", "nDCG@10", "RR", "R@1")

#: Measures built for incomplete judgements: bpref, infAP, and condensed-list AP and nDCG@10
#: (unjudged documents removed from the run first). bpref and the condensed measures are numpy
#: here (equal to pytrec_eval, tested against it); infAP, and any of them on qrels holding a
#: negative judgement (which trec_eval gives its own meaning), go to ir_measures / pytrec_eval.
INCOMPLETE_MEASURES: tuple[str, ...] = ("Bpref", "infAP", "AP(judged_only=True)", "nDCG(judged_only=True)@10")

#: Display names of the default and incomplete-judgement metrics.
MEASURE_LABELS = {"AP": "MAP", "nDCG@10": "nDCG@10", "RR": "MRR", "R@1": "Recall@1",
                  "Bpref": "bpref", "infAP": "infAP", "AP(judged_only=True)": "condensed MAP",
                  "nDCG(judged_only=True)@10": "condensed nDCG@10"}

_NATIVE = {"AP", "nDCG", "RR", "R", "P", "Success", "Bpref"}
#: Families computed natively on the condensed list (``judged_only=True``) as well.
_NATIVE_JUDGED_ONLY = {"AP", "nDCG"}
_NEEDS_CUTOFF = {"R", "P", "Success"}


# --------------------------------------------------------------------------- measures
@dataclass(frozen=True)
class MeasureSpec:
    """A parsed measure: its canonical ir_measures name, and how we compute it."""

    name: str  # canonical, e.g. "nDCG@10"
    family: str  # ir_measures NAME, e.g. "nDCG"
    cutoff: int | None
    native: bool
    #: Unjudged documents are removed from the run before the measure (trec_eval -J).
    judged_only: bool = False

    @property
    def needs_judged(self) -> bool:
        """Whether the measure tells judged non-relevant from unjudged documents."""
        return self.judged_only or self.family == "Bpref"


@lru_cache(maxsize=256)
def parse_measure(name: str) -> MeasureSpec:
    """Parse an ir_measures-style measure name ("AP", "nDCG@10", "P(rel=2)@5", ...).

    Raises ValueError for a name ir_measures does not know.
    """
    import ir_measures

    text = str(name).strip()
    try:
        m = ir_measures.parse_measure(text)
    except Exception:  # noqa: BLE001 - ir_measures raises various errors for bad names
        try:
            found = ir_measures.parse_trec_measure(text)
        except Exception:  # noqa: BLE001
            found = []
        if len(found) != 1:
            raise ValueError(
                f"unknown measure {name!r}; use ir_measures names such as AP, nDCG@10, RR, R@1, P@5"
            ) from None
        m = found[0]
    params = dict(m.params)
    cutoff = params.pop("cutoff", None)
    if params.get("rel", 1) == 1:
        params.pop("rel", None)
    judged_only = params.pop("judged_only", False) is True
    native = m.NAME in _NATIVE and not params and (not judged_only or m.NAME in _NATIVE_JUDGED_ONLY)
    if m.NAME in _NEEDS_CUTOFF and cutoff is None:
        native = False
    return MeasureSpec(name=str(m), family=m.NAME, cutoff=int(cutoff) if cutoff is not None else None, native=native,
                       judged_only=judged_only)


def canonical(name: str) -> str:
    """The canonical ir_measures spelling of a measure name."""
    return parse_measure(name).name


# --------------------------------------------------------------------------- qrels
@dataclass(frozen=True, eq=False)
class QrelsStats:
    """Per-query facts of one qrels mapping that every run evaluated against it shares."""

    qids: tuple[str, ...]
    index: Mapping[str, int]
    num_rel: np.ndarray  # (nq,) judgements >= 1
    ideal_q: np.ndarray  # positive gains of all queries, flat: query index ...
    ideal_rank: np.ndarray  # ... 1-based rank in the ideal ranking of that query ...
    ideal_gain: np.ndarray  # ... and the gain (the judgement)
    qrels: Mapping[str, Mapping[str, int]]
    num_nonrel: np.ndarray | None = None  # (nq,) judgements == 0 (judged not relevant)
    has_negative: bool = False  # a judgement < 0 somewhere (trec_eval's own meaning; not native)

    def idcg(self, cutoff: int | None) -> np.ndarray:
        """Ideal DCG of every query at ``cutoff`` (None = all judged documents)."""
        mask = self.ideal_rank <= cutoff if cutoff is not None else slice(None)
        w = self.ideal_gain[mask] / np.log2(self.ideal_rank[mask] + 1.0)
        return np.bincount(self.ideal_q[mask], weights=w, minlength=len(self.qids)).astype(np.float64)


def qrels_stats(qrels: Mapping[str, Mapping[str, int]]) -> QrelsStats:
    """Summarise ``{qid: {docid: rel}}`` (queries kept in their order)."""
    qids = tuple(qrels)
    lens = np.fromiter((len(qrels[q]) for q in qids), dtype=np.int64, count=len(qids))
    qof = np.repeat(np.arange(len(qids), dtype=np.int64), lens)
    rels = np.fromiter((int(r) for q in qids for r in qrels[q].values()), dtype=np.int64, count=int(lens.sum()))
    num_rel = np.bincount(qof[rels >= 1], minlength=len(qids)).astype(np.float64)
    pos = rels > 0
    gq, gg = qof[pos], rels[pos].astype(np.float64)
    order = np.lexsort((-gg, gq))  # by query, gain descending
    gq, gg = gq[order], gg[order]
    return QrelsStats(qids=qids, index={q: i for i, q in enumerate(qids)}, num_rel=num_rel,
                      ideal_q=gq, ideal_rank=_ranks(gq), ideal_gain=gg, qrels=qrels,
                      num_nonrel=np.bincount(qof[rels == 0], minlength=len(qids)).astype(np.float64),
                      has_negative=bool((rels < 0).any()))


# --------------------------------------------------------------------------- ranking
def trec_order(qidx: np.ndarray, doc_keys: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Permutation sorting pairs by query, then score descending, then docid descending.

    ``doc_keys`` must sort like the docids (strings, or integer codes of the docids'
    sorted order).
    """
    qidx = np.asarray(qidx)
    scores = np.asarray(scores, dtype=np.float64)
    doc_keys = np.asarray(doc_keys)
    if doc_keys.dtype.kind not in "iu":
        _, doc_keys = np.unique(doc_keys, return_inverse=True)
    # lexsort: last key is primary. Negate so that "descending" becomes ascending.
    return np.lexsort((-doc_keys.astype(np.int64), -scores, qidx))


def _ranks(q_sorted: np.ndarray) -> np.ndarray:
    """1-based rank of each pair within its query (pairs already grouped by query)."""
    n = len(q_sorted)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(q_sorted[1:], q_sorted[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    return np.arange(n, dtype=np.int64) - starts[group] + 1


def metrics_sorted(stats: QrelsStats, q_sorted: np.ndarray, rel_sorted: np.ndarray,
                   measures: Sequence[str], judged_sorted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Native measures for pairs already in trec_eval order.

    ``q_sorted`` indexes ``stats.qids``; ``rel_sorted`` holds the judgement of each pair
    (0 when unjudged); ``judged_sorted`` (bool) whether each pair is in the qrels, needed by
    bpref and the ``judged_only`` measures. Returns ``{canonical measure: (nq,) values}``.
    """
    specs = [parse_measure(m) for m in measures]
    needs = [sp for sp in specs if sp.needs_judged]
    if needs and judged_sorted is None:
        raise ValueError(f"{needs[0].name} needs to know which pairs are judged (judged_sorted)")
    if needs and stats.has_negative:
        raise ValueError(f"{needs[0].name}: negative judgements are not computed natively (use ir_measures)")
    out: dict[str, np.ndarray] = {}
    condensed = [sp for sp in specs if sp.judged_only]
    if condensed:  # trec_eval -J: the run without its unjudged documents, ranks renumbered
        j = np.asarray(judged_sorted, dtype=bool)
        plain = {str(sp.family) + (f"@{sp.cutoff}" if sp.cutoff is not None else ""): sp for sp in condensed}
        vals = metrics_sorted(stats, np.asarray(q_sorted)[j], np.asarray(rel_sorted)[j], list(plain))
        out.update({sp.name: vals[parse_measure(name).name] for name, sp in plain.items()})
    if any(sp.family == "Bpref" for sp in specs):
        out["Bpref"] = _bpref(stats, np.asarray(q_sorted, dtype=np.int64), np.asarray(rel_sorted, dtype=np.float64),
                              np.asarray(judged_sorted, dtype=bool))
    rest = [sp.name for sp in specs if not sp.judged_only and sp.family != "Bpref"]
    out.update(_plain_sorted(stats, q_sorted, rel_sorted, rest))
    return {sp.name: out[sp.name] for sp in specs}


def split_native(stats: QrelsStats, measures: Sequence[str]) -> tuple[list[str], list[str]]:
    """``measures`` (native ones) split into those computed here on ``stats`` and those left to
    ir_measures: bpref and the condensed measures when a judgement is negative (trec_eval gives
    negative judgements its own meaning there)."""
    if not stats.has_negative:
        return list(measures), []
    slow = [m for m in measures if parse_measure(m).needs_judged]
    return [m for m in measures if m not in slow], slow


def _bpref(stats: QrelsStats, q_sorted: np.ndarray, rel_sorted: np.ndarray, judged: np.ndarray) -> np.ndarray:
    """trec_eval's bpref: over the judged retrieved documents in order, each relevant one adds
    1 - min(n, R) / min(N, R), n the judged non-relevant ranked above it (1 when n = 0),
    R / N the query's relevant / judged non-relevant counts in the qrels; divided by R."""
    nq = len(stats.qids)
    q, rel = q_sorted[judged], rel_sorted[judged]
    nonrel = rel < 1
    c = np.cumsum(nonrel)
    rank = _ranks(q)
    start = np.arange(len(q)) - rank + 1
    before = c - np.where(start > 0, c[np.maximum(start - 1, 0)], 0) - nonrel  # non-relevant above, same query
    r, n = stats.num_rel[q], stats.num_nonrel[q]
    denom = np.minimum(n, r)
    term = np.where(before > 0, 1.0 - np.minimum(before, r) / np.where(denom > 0, denom, 1.0), 1.0)
    s = np.bincount(q[~nonrel], weights=term[~nonrel], minlength=nq).astype(np.float64)[:nq]
    return np.where(stats.num_rel > 0, s / np.where(stats.num_rel > 0, stats.num_rel, 1.0), 0.0)


def _plain_sorted(stats: QrelsStats, q_sorted: np.ndarray, rel_sorted: np.ndarray,
                  measures: Sequence[str]) -> dict[str, np.ndarray]:
    """The measures that need only the judgements (unjudged = 0), pairs in trec_eval order."""
    nq = len(stats.qids)
    q_sorted = np.asarray(q_sorted, dtype=np.int64)
    rel_sorted = np.asarray(rel_sorted, dtype=np.float64)
    rank = _ranks(q_sorted)
    is_rel = rel_sorted >= 1
    num_rel = stats.num_rel
    safe = np.where(num_rel > 0, num_rel, 1.0)
    out: dict[str, np.ndarray] = {}

    cum = None
    if any(parse_measure(m).family == "AP" for m in measures):
        # relevant documents up to and including each pair, within its query
        c = np.cumsum(is_rel)
        start = np.arange(len(rank)) - rank + 1
        cum = c - np.where(start > 0, c[np.maximum(start - 1, 0)], 0)

    def per_query(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(q_sorted[mask], weights=w, minlength=nq).astype(np.float64)[:nq]

    for name in measures:
        spec = parse_measure(name)
        k = spec.cutoff
        in_cut = rank <= k if k is not None else np.ones(len(rank), dtype=bool)
        if spec.family == "AP":
            mask = is_rel & in_cut
            s = per_query(mask, cum / rank)
            val = np.where(num_rel > 0, s / safe, 0.0)
        elif spec.family == "RR":
            val = np.zeros(nq)
            qs = q_sorted[is_rel & in_cut]
            if len(qs):
                uq, first_i = np.unique(qs, return_index=True)
                val[uq] = 1.0 / rank[is_rel & in_cut][first_i]
        elif spec.family == "R":
            s = per_query(is_rel & in_cut)
            val = np.where(num_rel > 0, s / safe, 0.0)
        elif spec.family == "P":
            val = per_query(is_rel & in_cut) / float(k)
        elif spec.family == "Success":
            val = (per_query(is_rel & in_cut) > 0).astype(np.float64)
        elif spec.family == "nDCG":
            gain = np.maximum(rel_sorted, 0.0)
            mask = in_cut & (gain > 0)
            dcg = per_query(mask, gain / np.log2(rank + 1.0))
            idcg = stats.idcg(k)
            val = np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)
        else:  # pragma: no cover - guarded by parse_measure().native
            raise ValueError(f"{name} is not computed natively")
        out[spec.name] = val
    return out


def compute_with_ir_measures(run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]],
                             names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per-query values of measures we do not implement, computed by ir_measures."""
    import ir_measures

    measures = [ir_measures.parse_measure(n) for n in names]
    by_str = {str(m): str(m) for m in measures}
    out: dict[str, dict[str, float]] = {str(m): {} for m in measures}
    clean_qrels = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    clean_run = {q: {d: float(s) for d, s in docs.items()} for q, docs in run.items() if docs}
    for metric in ir_measures.iter_calc(measures, clean_qrels, clean_run):
        out[by_str[str(metric.measure)]][metric.query_id] = float(metric.value)
    for m in measures:  # queries with no judgement line at all get the measure's default
        for q in qrels:
            out[str(m)].setdefault(q, float(m.DEFAULT))
    return out


def flatten_run(run: Mapping[str, Mapping[str, float]], stats: QrelsStats):
    """``(qidx, docids, scores, rels, judged)`` arrays of the run pairs whose query is judged
    (``judged``: the pair's document is in the query's qrels)."""
    qidx: list[int] = []
    docs: list[str] = []
    scores: list[float] = []
    rels: list[int] = []
    judged_mask: list[bool] = []
    for q, ranked in run.items():
        i = stats.index.get(q)
        if i is None or not ranked:
            continue
        judged = stats.qrels[q]
        qidx.extend([i] * len(ranked))
        docs.extend(ranked.keys())
        scores.extend(ranked.values())
        rels.extend(int(judged.get(d, 0)) for d in ranked)
        judged_mask.extend(d in judged for d in ranked)
    return (np.asarray(qidx, dtype=np.int64), np.asarray(docs, dtype=str),
            np.asarray(scores, dtype=np.float64), np.asarray(rels, dtype=np.float64),
            np.asarray(judged_mask, dtype=bool))


def mean(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Mean over the evaluated queries of each measure (0.0 for an empty qrels)."""
    return {m: (float(np.mean(list(v.values()))) if v else 0.0) for m, v in per_query.items()}
