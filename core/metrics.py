"""Retrieval metrics equal to trec_eval, vectorised with numpy, and paired significance tests.

Conventions (identical to trec_eval / pytrec_eval, which the tests check to 1e-9):

* Documents of a query are ranked by score descending, ties broken by docid descending
  (byte order), exactly as trec_eval sorts them (see ``core.qrels.rank_docs``).
* A document is relevant when its judgement is >= 1; unjudged documents are non-relevant.
  nDCG uses the judgement itself as gain (binary UPAIR judgements give gains 0/1) and the
  ideal ranking of every judged document of the query.
* The evaluated queries are the queries of the qrels. A qrels query the run does not
  rank scores 0 on every measure (``trec_eval -c``; ir_measures does the same). Run
  queries absent from the qrels are ignored.
* A qrels query whose judgements are all 0 (no relevant document) is *kept* and scores 0
  on every measure — that is what pytrec_eval (trec_eval 9) returns for such a query, and
  it is included in the mean. It is never dropped silently.

Natively implemented: ``AP``, ``AP@k``, ``nDCG``, ``nDCG@k``, ``RR``, ``RR@k`` (0 when the
first relevant document is below rank k), ``R@k``, ``P@k``,
``Success@k`` (default relevance level 1). Any other ir_measures measure is computed by
ir_measures itself (``ir_measures.iter_calc``) with the same per-query output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import numpy as np

#: The metrics reported by default (named as ir_measures names them).
DEFAULT_MEASURES: tuple[str, ...] = ("AP", "nDCG@10", "RR", "R@1")

#: Display names of the default metrics.
MEASURE_LABELS = {"AP": "MAP", "nDCG@10": "nDCG@10", "RR": "MRR", "R@1": "Recall@1"}

_NATIVE = {"AP", "nDCG", "RR", "R", "P", "Success"}
_NEEDS_CUTOFF = {"R", "P", "Success"}


# --------------------------------------------------------------------------- measures
@dataclass(frozen=True)
class MeasureSpec:
    """A parsed measure: its canonical ir_measures name, and how we compute it."""

    name: str  # canonical, e.g. "nDCG@10"
    family: str  # ir_measures NAME, e.g. "nDCG"
    cutoff: int | None
    native: bool


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
    if params.get("judged_only", False) is False:
        params.pop("judged_only", None)
    native = m.NAME in _NATIVE and not params
    if m.NAME in _NEEDS_CUTOFF and cutoff is None:
        native = False
    return MeasureSpec(name=str(m), family=m.NAME, cutoff=int(cutoff) if cutoff is not None else None, native=native)


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
                      ideal_q=gq, ideal_rank=_ranks(gq), ideal_gain=gg, qrels=qrels)


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
                   measures: Sequence[str]) -> dict[str, np.ndarray]:
    """Native measures for pairs already in trec_eval order.

    ``q_sorted`` indexes ``stats.qids``; ``rel_sorted`` holds the judgement of each pair
    (0 when unjudged). Returns ``{canonical measure: (nq,) values}``.
    """
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
    """``(qidx, docids, scores, rels)`` arrays of the run pairs whose query is judged."""
    qidx: list[int] = []
    docs: list[str] = []
    scores: list[float] = []
    rels: list[int] = []
    for q, ranked in run.items():
        i = stats.index.get(q)
        if i is None or not ranked:
            continue
        judged = stats.qrels[q]
        qidx.extend([i] * len(ranked))
        docs.extend(ranked.keys())
        scores.extend(ranked.values())
        rels.extend(int(judged.get(d, 0)) for d in ranked)
    return (np.asarray(qidx, dtype=np.int64), np.asarray(docs, dtype=str),
            np.asarray(scores, dtype=np.float64), np.asarray(rels, dtype=np.float64))


def compute(run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]],
            measures: Iterable[str] = DEFAULT_MEASURES) -> dict[str, dict[str, float]]:
    """Per-query values ``{measure: {qid: value}}`` of ``run`` against ``qrels``.

    Equal to pytrec_eval / trec_eval (see the module docstring for the conventions);
    measure keys are the canonical ir_measures names.
    """
    names = list(dict.fromkeys(canonical(m) for m in measures))
    stats = qrels_stats(qrels)
    native = [m for m in names if parse_measure(m).native]
    other = [m for m in names if not parse_measure(m).native]
    result: dict[str, dict[str, float]] = {}
    if native:
        qidx, docs, scores, rels = flatten_run(run, stats)
        order = trec_order(qidx, docs, scores) if len(qidx) else np.zeros(0, dtype=np.int64)
        vals = metrics_sorted(stats, qidx[order], rels[order], native)
        for m in native:
            result[m] = dict(zip(stats.qids, vals[m].tolist()))
    if other:
        result.update(compute_with_ir_measures(run, qrels, other))
    return {m: result[m] for m in names}


def mean(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Mean over the evaluated queries of each measure (0.0 for an empty qrels)."""
    return {m: (float(np.mean(list(v.values()))) if v else 0.0) for m, v in per_query.items()}


# --------------------------------------------------------------------------- significance
def randomization_test(a: np.ndarray, b: np.ndarray, n_permutations: int = 10_000,
                       seed: int = 0) -> float:
    """Two-sided paired randomization (sign-flip permutation) test of mean(a - b) = 0.

    p = (1 + #{permutations with |mean| >= observed}) / (1 + n_permutations); identical
    inputs give p = 1.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = len(d)
    if n == 0:
        return 1.0
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, min(n_permutations, 2_000_000 // max(n, 1)))
    done = 0
    while done < n_permutations:
        m = min(chunk, n_permutations - done)
        signs = rng.integers(0, 2, size=(m, n), dtype=np.int8) * 2 - 1
        means = np.abs(signs.astype(np.float64) @ d) / n
        hits += int(np.count_nonzero(means >= observed - tol))
        done += m
    return (hits + 1) / (n_permutations + 1)


def t_test(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value (scipy); 1 for identical inputs, 0 for a constant shift."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = a - b
    if len(d) == 0 or np.all(np.abs(d - d[0]) <= 1e-15):
        # zero variance of the differences: no evidence when they are all 0 (or n < 2),
        # certainty when every query moves by the same non-zero amount
        return 0.0 if len(d) >= 2 and abs(d[0]) > 1e-15 else 1.0
    p = float(stats.ttest_rel(a, b).pvalue)
    return 1.0 if math.isnan(p) else p


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given; each >= its raw p, <= 1)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out


def system_label(encoder: str, run: str) -> str:
    """How a system (encoder + run) is named in significance tables."""
    return f"{encoder} · {run}"


def _resolve_system(item, systems: list[tuple[str, str]]) -> tuple[str, str]:
    if isinstance(item, (tuple, list)) and len(item) == 2 and tuple(item) in systems:
        return tuple(item)  # type: ignore[return-value]
    if isinstance(item, str):
        for s in systems:
            if item == system_label(*s):
                return s
        matches = [s for s in systems if s[0] == item]
        if len(matches) == 1:
            return matches[0]
    raise ValueError(f"unknown system {item!r}; known: {[system_label(*s) for s in systems]}")


def significance(per_query, against="best", metric: str = "AP", test: str = "randomization",
                 axes: Sequence[str] | None = None, alpha: float = 0.05,
                 n_permutations: int = 10_000, seed: int = 0):
    """Paired significance tests between systems (encoder + run) on per-query scores.

    ``per_query`` has columns encoder, run, axis, metric, qid, value. ``against="best"``
    compares, on each axis, the system with the highest mean ``metric`` with every other
    system; otherwise ``against`` is a list of ``(system_a, system_b)`` pairs, a system
    being ``(encoder, run)``, its label ``"encoder · run"``, or an encoder with one run.
    ``test`` is "randomization" (two-sided sign-flip permutation test, seeded) or "t"
    (paired t-test). Holm-Bonferroni correction is applied across *all* comparisons made
    by the call (every axis together). Queries are paired by qid (inner join).

    Returns a DataFrame: axis, metric, test, system_a, system_b, encoder_a, run_a,
    encoder_b, run_b, mean_a, mean_b, diff (a - b), better, n, p, p_holm, significant.
    """
    import pandas as pd

    if test not in ("randomization", "t"):
        raise ValueError("test must be 'randomization' or 't'")
    metric = canonical(metric)
    df = per_query[per_query["metric"] == metric]
    cols = ["axis", "metric", "test", "system_a", "system_b", "encoder_a", "run_a", "encoder_b", "run_b",
            "mean_a", "mean_b", "diff", "better", "n", "p", "p_holm", "significant"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    axis_list = list(axes) if axes is not None else list(dict.fromkeys(df["axis"]))
    systems = list(dict.fromkeys(zip(df["encoder"], df["run"])))
    series: dict[tuple[str, str, str], pd.Series] = {}
    for (enc, run, ax), g in df.groupby(["encoder", "run", "axis"], sort=False):
        series[(enc, run, ax)] = pd.Series(g["value"].to_numpy(dtype=np.float64), index=g["qid"].astype(str))

    comparisons: list[tuple[str, tuple[str, str], tuple[str, str]]] = []
    for ax in axis_list:
        present = [s for s in systems if (s[0], s[1], ax) in series]
        if against == "best":
            if len(present) < 2:
                continue
            means = {s: series[(s[0], s[1], ax)].mean() for s in present}
            best = max(present, key=lambda s: (means[s], -present.index(s)))
            comparisons += [(ax, best, s) for s in present if s != best]
        else:
            for a, b in against:
                sa, sb = _resolve_system(a, systems), _resolve_system(b, systems)
                if (sa[0], sa[1], ax) in series and (sb[0], sb[1], ax) in series:
                    comparisons.append((ax, sa, sb))

    rows = []
    for ax, sa, sb in comparisons:
        a = series[(sa[0], sa[1], ax)]
        b = series[(sb[0], sb[1], ax)]
        common = a.index.intersection(b.index)
        va, vb = a.loc[common].to_numpy(), b.loc[common].to_numpy()
        p = (randomization_test(va, vb, n_permutations, seed) if test == "randomization" else t_test(va, vb))
        ma, mb = (float(va.mean()), float(vb.mean())) if len(common) else (0.0, 0.0)
        diff = ma - mb
        better = system_label(*sa) if diff > 1e-12 else system_label(*sb) if diff < -1e-12 else "tie"
        rows.append({"axis": ax, "metric": metric, "test": test,
                     "system_a": system_label(*sa), "system_b": system_label(*sb),
                     "encoder_a": sa[0], "run_a": sa[1], "encoder_b": sb[0], "run_b": sb[1],
                     "mean_a": ma, "mean_b": mb, "diff": diff, "better": better, "n": int(len(common)),
                     "p": float(p)})
    out = pd.DataFrame(rows, columns=[c for c in cols if c not in ("p_holm", "significant")])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    return out[cols]
