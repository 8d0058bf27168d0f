"""core.comparison: ranks in trec_eval's order, the drill-down's candidate rows, paired
differences, unique bests and when a benchmark cannot separate systems."""
from __future__ import annotations

import pandas as pd
import pytest

from core.comparison import (disagreements, paired_values, query_candidates, ranks_of, separability, top_k,
                             unique_best)


def test_ranks_follow_trec_eval_ties_by_docid_descending():
    scores = {"d1": 0.5, "d3": 0.9, "d2": 0.5, "d0": 0.1}
    # trec_eval sorts by score descending, then docno descending: d3, d2, d1, d0
    assert ranks_of(scores) == {"d3": (1, 0.9), "d2": (2, 0.5), "d1": (3, 0.5), "d0": (4, 0.1)}
    assert top_k(scores, 2) == [("d3", 0.9), ("d2", 0.5)]


class _Bench:
    """A benchmark stand-in: judgements per (axis, qid, doc)."""

    def __init__(self, rel):
        self.rel = rel

    def judgement(self, axis, qid, doc):
        return self.rel.get((axis, qid, doc))


def test_query_candidates_keep_relevant_or_top_ranked_in_first_systems_order():
    cands = [f"c{i}" for i in range(6)]
    a = {c: float(i) for i, c in enumerate(cands)}  # c5 best
    b = {c: float(-i) for i, c in enumerate(cands)}  # c0 best
    bench = _Bench({("visual", "q", "c2"): 1, ("semantic", "q", "c3"): 0})
    rows = query_candidates(bench, "q", cands, {"A": a, "B": b}, top=1)
    assert [r.doc for r in rows] == ["c5", "c2", "c0"]  # A's top 1, a relevant one, B's top 1; by A's rank
    assert rows[1].judgements == {"visual": 1, "semantic": None, "part_whole": None}
    assert rows[0].ranks == {"A": (1, 5.0), "B": (6, -5.0)}


def _per_query(rows):
    return pd.DataFrame(rows, columns=["encoder", "run", "axis", "metric", "qid", "value"])


def test_paired_values_and_disagreements():
    pq = _per_query([("a", "image", "visual", "AP", q, v) for q, v in (("q1", 0.9), ("q2", 0.2), ("q3", 0.5))]
                    + [("b", "image", "visual", "AP", q, v) for q, v in (("q1", 0.1), ("q2", 0.2), ("q4", 1.0))])
    both = paired_values(pq, ("a", "image"), ("b", "image"), "visual", "AP")
    assert list(both.index) == ["q1", "q2"]  # only queries both systems scored
    assert both.loc["q1", "diff"] == pytest.approx(0.8) and both.loc["q2", "diff"] == 0
    assert list(disagreements(both).index) == ["q1"]  # the tie is no disagreement


def test_unique_best():
    assert unique_best([0.2, 0.7, 0.1]) == 1
    assert unique_best([1.0, 1.0, 0.5]) is None
    assert unique_best([float("nan"), 0.3]) == 1
    assert unique_best([]) is None


def test_separability_says_why_not():
    table = pd.DataFrame({"encoder": ["a", "b"] * 2, "run": ["image"] * 4, "axis": ["visual"] * 4,
                          "metric": ["AP", "AP", "RR", "RR"], "value": [1.0, 1.0, 1.0, 1.0]})
    pq = _per_query([(e, "image", "visual", "AP", q, 1.0) for e in "ab" for q in ("q1", "q2")])
    one = separability(table, pq, "visual", 1.0)
    assert one.n_queries == 2 and "1 candidate" in one.reason
    tied = separability(table, pq, "visual", 5.0)
    assert tied.all_tied and "same on every measure" in tied.reason
    table.loc[0, "value"] = 0.5
    assert separability(table, pq, "visual", 5.0).reason == ""


def test_upair_samples_cannot_be_separated(upair_samples, cache):
    from core import load_corpus
    from core.evaluation import evaluate

    c = load_corpus(f"upair:{upair_samples}")
    res = evaluate(c, ["hog", "ahdh"], runs=("image",))
    per_q = sum(len(c.candidates_for(q)) for q in c.benchmark.queries) / len(c.benchmark.queries)
    for axis in set(res.table["axis"]):
        sep = separability(res.table, res.per_query, axis, per_q)
        assert sep.n_queries == 5 and sep.reason
