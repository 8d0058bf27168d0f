"""Scores from a chosen judgement set: a flipped judgement changes the numbers as a hand count says."""
from __future__ import annotations

import pytest

from core import load_corpus
from core.annotation.agreement import judgement_set
from core.annotation.judgements import JudgementStore, import_qrels
from core.evaluation import evaluate

pytestmark = pytest.mark.shared


def _ap(result, axis):
    t = result.table
    return float(t[(t.axis == axis) & (t.metric == "AP") & (t.run == "image")]["value"].iloc[0])


def test_scores_follow_a_flipped_judgement(cache, tmp_path, monkeypatch, upair_samples):
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "j"))
    corpus = load_corpus(f"upair:{upair_samples}")
    store = JudgementStore(corpus.name)
    journal = store.journal("alice")
    import_qrels(journal, corpus.benchmark.qrels)
    official = evaluate(corpus, ["hog"], runs=["image"])
    same = evaluate(corpus, ["hog"], runs=["image"], qrels=judgement_set("annotator:alice", store))
    assert official.table.equals(same.table)
    # each sample query has one candidate: AP is 1 when it is relevant, else 0
    vis = corpus.benchmark.qrels["visual"]
    relevant = [(q, d) for q, docs in vis.items() for d, r in docs.items() if r]
    n = len(vis)
    assert _ap(official, "visual") == pytest.approx(len(relevant) / n)
    q, d = relevant[0]
    journal.record(q, d, {"visual": 0, "semantic": corpus.benchmark.qrels["semantic"][q][d],
                          "part_whole": corpus.benchmark.qrels["part_whole"][q][d]})
    flipped = evaluate(corpus, ["hog"], runs=["image"], qrels=judgement_set("annotator:alice", store))
    assert _ap(flipped, "visual") == pytest.approx((len(relevant) - 1) / n)
    assert _ap(flipped, "semantic") == pytest.approx(_ap(official, "semantic"))
    pq = flipped.per_query
    assert float(pq[(pq.axis == "visual") & (pq.metric == "AP") & (pq.qid == q)]["value"].iloc[0]) == 0.0
    # the official numbers are untouched by the override (cache keyed by the judgements' digest)
    assert evaluate(corpus, ["hog"], runs=["image"]).table.equals(official.table)
