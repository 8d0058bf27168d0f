"""Scores from a chosen judgement set: a flipped judgement changes the numbers as a hand count says."""
from __future__ import annotations

import pytest

from core import load_corpus
from core.annotation.agreement import judgement_set
from core.annotation.judgements import JudgementStore
from core.annotation.judgements_qrels import import_qrels
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


# --------------------------------------------------------------------------- the pages
APP = __import__("pathlib").Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def _page(spec: str, page: str, **state):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = ["hog"]
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_scores_page_judgement_set_judged_at_k_and_judge_these(cache, tmp_path, monkeypatch, upair_samples):
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "j"))
    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    store = JudgementStore(corpus.name)
    official = corpus.benchmark.qrels
    pairs = [(q, d) for q in corpus.benchmark.queries for d in corpus.candidates_for(q)]
    bob = store.journal("bob")
    for q, d in pairs[:2]:  # bob judged 2 of the 5 pairs
        bob.record(q, d, {a: official[a][q][d] for a in official})
    at = _page(spec, "scores", k=10, annotator="carol")
    assert at.selectbox(key="judgement_set").options == ["Official qrels", "Annotator: bob", "Majority of annotators",
                                                         "Adjudicated (majority, adjudicator overrides)"]
    frame = next(d.value for d in at.dataframe if "judged@10" in getattr(d.value, "columns", []))
    # official: every candidate judged -> judged@10 = 1 for each run; no unjudged hit
    assert set(frame["judged@10"]) == {1.0} and set(frame["unjudged hits"]) == {0}
    at.selectbox(key="judgement_set").set_value("annotator:bob").run()
    assert not at.exception, at.exception
    frame = next(d.value for d in at.dataframe if "judged@10" in getattr(d.value, "columns", []))
    # by hand: queries 1-2 have their one candidate judged (1.0), queries 3-5 none (0.0) -> 0.4, 3 unjudged
    assert list(frame["judged@10"]) == [0.4] * len(frame) and list(frame["unjudged hits"]) == [3] * len(frame)
    btn = next(b for b in at.button if b.key == "judge-these-scores")
    assert btn.label == "Judge these (3)"
    btn.click().run()
    assert not at.exception, at.exception
    # the Judge page opened on the new pool: the three unjudged pairs
    assert [t.value for t in at.title] == ["Judge"]
    assert at.selectbox(key="judge_queue").value.startswith("top10-")
    assert any(c.value.startswith("Pair 1 of 3") for c in at.caption)


def test_scores_page_changes_after_a_flip(cache, tmp_path, monkeypatch, upair_samples):
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "j"))
    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    store = JudgementStore(corpus.name)
    import_qrels(store.journal("alice"), corpus.benchmark.qrels)
    at = _page(spec, "scores", judgement_set="annotator:alice")

    vis = corpus.benchmark.qrels["visual"]
    relevant = [(q, d) for q, docs in vis.items() for d, r in docs.items() if r]
    # the first tab is the visual axis; each sample query has one candidate: MAP = relevant share
    assert at.dataframe[0].value.loc["HOG · image", "MAP"] == pytest.approx(len(relevant) / len(vis))
    q, d = relevant[0]
    store.journal("alice").record(q, d, {"visual": 0, "semantic": corpus.benchmark.qrels["semantic"][q][d],
                                         "part_whole": corpus.benchmark.qrels["part_whole"][q][d]})
    at.run()  # the next rerun (any click) scores with the new judgement
    assert not at.exception
    assert at.dataframe[0].value.loc["HOG · image", "MAP"] == pytest.approx((len(relevant) - 1) / len(vis))


def test_search_page_unjudged_marks_and_judged_at_k(cache, tmp_path, monkeypatch, upair_samples):
    from core.search import search

    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "j"))
    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    q = corpus.benchmark.queries[0]
    at = _page(spec, "search", k=5)
    at.selectbox(key="example_pick").set_value(q).run()
    ids = search(corpus, q, ["hog"], k=5)["hog"].ids
    judged = {d for a in corpus.benchmark.qrels.values() for d in a.get(q, {})}
    n_unjudged = sum(i not in judged for i in ids)
    assert n_unjudged > 0  # the sample query has one judged candidate among 9 other figures
    marks = sum(m.value.count(">unjudged</span>") for m in at.main.markdown)
    assert marks == n_unjudged
    share = (5 - n_unjudged) / 5
    assert any(c.value.startswith(f"judged@5 for this query: HOG {share:.0%}") for c in at.main.caption)
    assert next(b for b in at.button if b.key == "judge-these-search").label == f"Judge these ({n_unjudged})"


def test_a_pool_without_qrels_scores_from_its_judgements(cache, tmp_path, monkeypatch, upair_samples):
    """pool -> judge -> score: a UPAIR-layout pool with no qrels (a fresh sample) is scored by an annotator."""
    import shutil

    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "j"))
    pool = tmp_path / "pool"
    shutil.copytree(upair_samples / "test" / "images", pool / "test" / "images")
    shutil.copy(upair_samples / "metadata.json", pool / "metadata.json")
    corpus = load_corpus(f"upair:{pool}")
    assert corpus.benchmark is not None and not corpus.benchmark.qrels
    with pytest.raises(ValueError, match="no relevance judgements"):
        evaluate(corpus, ["hog"], runs=["image"])
    store = JudgementStore(corpus.name)
    import_qrels(store.journal("dan"), load_corpus(f"upair:{upair_samples}").benchmark.qrels)
    res = evaluate(corpus, ["hog"], runs=["image"], qrels=judgement_set("annotator:dan", store, corpus))
    ref = evaluate(load_corpus(f"upair:{upair_samples}"), ["hog"], runs=["image"])
    assert res.table[["axis", "metric", "value"]].equals(ref.table[["axis", "metric", "value"]])
    at = _page(f"upair:{pool}", "scores")
    assert not at.exception and at.selectbox(key="judgement_set").value == "annotator:dan"
    # before anyone judged: the page says so and offers the Judge page instead of failing
    (tmp_path / "j").rename(tmp_path / "j-away")
    at = _page(f"upair:{pool}", "scores")
    assert not at.exception and any("Nothing is judged here yet" in i.value for i in at.info)
    at.button(key="judge-this-pool").click().run()
    assert [t.value for t in at.title] == ["Judge"]
