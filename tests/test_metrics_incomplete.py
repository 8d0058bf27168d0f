"""Measures for incomplete judgements (bpref, infAP, condensed AP / nDCG@10) against pytrec_eval
called directly and a brute-force condensed-list recomputation, on data this test builds."""
from __future__ import annotations

import math
import random

import pytest

from core.metrics import INCOMPLETE_MEASURES, MEASURE_LABELS, compute

pytrec_eval = pytest.importorskip("pytrec_eval")


def _data(seed: int = 7):
    rng = random.Random(seed)
    qrels, run = {}, {}
    for qi in range(12):
        q = f"q{qi}"
        docs = [f"d{j}" for j in range(30)]
        judged = rng.sample(docs, 12)  # 18 of 30 ranked documents unjudged
        qrels[q] = {d: int(rng.random() < 0.4) for d in judged}
        run[q] = {d: round(rng.random(), 3) for d in docs}  # ties possible (3 decimals)
    qrels["q0"]["d0"] = 1
    qrels["q_allzero"] = {"d1": 0, "d2": 0}
    run["q_allzero"] = {"d1": 0.5, "d2": 0.4, "d3": 0.9}
    return qrels, run


def _trec_sorted(docs: dict[str, float]) -> list[str]:
    return sorted(docs, key=lambda d: (-docs[d], [-ord(c) for c in d]))  # score desc, docid desc


def _ap(ranked, rel):
    n_rel = sum(1 for r in rel.values() if r >= 1)
    hits, s = 0, 0.0
    for i, d in enumerate(ranked, 1):
        if rel.get(d, 0) >= 1:
            hits += 1
            s += hits / i
    return s / n_rel if n_rel else 0.0


def _ndcg10(ranked, rel):
    dcg = sum(rel.get(d, 0) / math.log2(i + 1) for i, d in enumerate(ranked[:10], 1) if rel.get(d, 0) > 0)
    ideal = sorted((r for r in rel.values() if r > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
    return dcg / idcg if idcg else 0.0


def test_bpref_and_infap_equal_pytrec_eval():
    qrels, run = _data()
    ours = compute(run, qrels, ["Bpref", "infAP"])
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"bpref", "infAP"}).evaluate(run)
    for q in qrels:
        assert ours["Bpref"][q] == pytest.approx(ref[q]["bpref"], abs=1e-9)
        assert ours["infAP"][q] == pytest.approx(ref[q]["infAP"], abs=1e-9)
    # with unjudged documents in the run, bpref differs from plain AP somewhere
    plain = compute(run, qrels, ["AP"])["AP"]
    assert any(abs(plain[q] - ours["Bpref"][q]) > 1e-6 for q in qrels)


def test_condensed_equals_brute_force_after_removing_unjudged():
    qrels, run = _data(11)
    ours = compute(run, qrels, ["AP(judged_only=True)", "nDCG(judged_only=True)@10"])
    differs = 0
    for q, rel in qrels.items():
        condensed = [d for d in _trec_sorted(run[q]) if d in rel]
        assert ours["AP(judged_only=True)"][q] == pytest.approx(_ap(condensed, rel), abs=1e-9)
        assert ours["nDCG(judged_only=True)@10"][q] == pytest.approx(_ndcg10(condensed, rel), abs=1e-9)
        differs += abs(_ap(_trec_sorted(run[q]), rel) - _ap(condensed, rel)) > 1e-6
    assert differs > 0  # the data really has unjudged documents above judged ones


def test_fully_judged_run_condensed_equals_plain():
    qrels = {"q": {"a": 1, "b": 0, "c": 1, "d": 0}}
    run = {"q": {"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.3}}
    v = compute(run, qrels, ["AP", "AP(judged_only=True)", "nDCG@10", "nDCG(judged_only=True)@10"])
    assert v["AP"]["q"] == pytest.approx(v["AP(judged_only=True)"]["q"])
    assert v["nDCG@10"]["q"] == pytest.approx(v["nDCG(judged_only=True)@10"]["q"])


def test_every_incomplete_measure_has_a_label():
    assert all(m in MEASURE_LABELS for m in INCOMPLETE_MEASURES)
    assert MEASURE_LABELS["AP(judged_only=True)"] == "condensed MAP"


def _random_qrels_run(seed: int, negative: bool = False):
    rng = random.Random(seed)
    qrels, run = {}, {}
    for qi in range(25):
        q = f"q{qi:02d}"
        docs = [f"d{j:02d}" for j in range(rng.randint(1, 40))]
        judged = rng.sample(docs, rng.randint(0, len(docs)))
        extra = [f"x{j}" for j in range(rng.randint(0, 4))]  # judged, never retrieved
        levels = [-1, 0, 0, 1, 2] if negative else [0, 0, 1, 2]
        qrels[q] = {d: rng.choice(levels) for d in judged + extra}
        if qi % 7 == 3:
            qrels[q] = {d: 0 for d in qrels[q]}  # judged, none relevant
        if qi % 9 != 5:  # some judged queries are missing from the run
            run[q] = {d: round(rng.random(), 2) for d in docs}  # ties at 2 decimals
    qrels = {q: v for q, v in qrels.items() if v}
    run["unjudged"] = {"d00": 0.5}
    return qrels, run


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("negative", [False, True])
def test_native_bpref_and_condensed_equal_pytrec_eval(seed, negative):
    """bpref and condensed AP / nDCG@10 are numpy here (negative judgements go to pytrec_eval):
    each equals pytrec_eval called directly, on random runs with ties, judged documents never
    retrieved, all-zero queries and judged queries missing from the run."""
    from core.evaluation.pairs import AxisData  # noqa: F401 - the evaluator's path is tested in test_evaluate*
    from core.metrics import NATIVE, parse_measure

    qrels, run = _random_qrels_run(seed, negative)
    assert parse_measure("Bpref").native and parse_measure("AP(judged_only=True)").native
    assert not parse_measure("infAP").native
    ours = NATIVE.compute(run, qrels, ["Bpref", "AP(judged_only=True)", "nDCG(judged_only=True)@10", "AP"])
    plain = pytrec_eval.RelevanceEvaluator(qrels, {"bpref", "map"}).evaluate(run)
    cond = pytrec_eval.RelevanceEvaluator(qrels, {"map", "ndcg_cut_10"}, judged_docs_only_flag=True).evaluate(run)
    for q in qrels:
        want_bpref = plain[q]["bpref"] if q in plain else 0.0
        assert ours["Bpref"][q] == pytest.approx(want_bpref, abs=1e-12), q
        assert ours["AP"][q] == pytest.approx(plain[q]["map"] if q in plain else 0.0, abs=1e-12), q
        assert ours["AP(judged_only=True)"][q] == pytest.approx(cond[q]["map"] if q in cond else 0.0, abs=1e-12), q
        assert ours["nDCG(judged_only=True)@10"][q] == pytest.approx(
            cond[q]["ndcg_cut_10"] if q in cond else 0.0, abs=1e-12), q


def _parse_trec_run(path) -> dict[str, dict[str, float]]:
    """A TREC run file read here with a plain split (not core.qrels), for pytrec_eval."""
    run: dict[str, dict[str, float]] = {}
    for line in open(path, encoding="utf-8"):
        q, _, d, _, score, _ = line.split()
        run.setdefault(q, {})[d] = float(score)
    return run


def test_evaluator_with_negative_judgements_equals_pytrec_eval(cache, tmp_path):
    """A judgement set with negative judgements (-1) through ``evaluate`` (the evaluator's own
    path: native measures on the pair table, bpref and condensed measures handed to pytrec_eval
    because a judgement is negative): every per-query value equals pytrec_eval on the run file
    the evaluator wrote, on every axis."""
    from core import load_corpus
    from core.evaluation import evaluate

    corpus = load_corpus("demo")
    flipped = 0
    qrels = {}
    for axis, per_q in corpus.benchmark.qrels.items():
        qrels[axis] = {}
        for qi, (q, docs) in enumerate(sorted(per_q.items())):
            row = {}
            for di, (d, r) in enumerate(sorted(docs.items())):
                if r == 0 and (qi + di) % 3 == 0:
                    r, flipped = -1, flipped + 1
                row[d] = r
            qrels[axis][q] = row
    assert flipped > 10
    measures = ("AP", "nDCG@10", "RR", "R@1", "Bpref", "AP(judged_only=True)", "nDCG(judged_only=True)@10")
    res = evaluate(corpus, ["hog"], runs=["image"], metrics=measures, qrels=qrels, out_dir=tmp_path / "out")
    assert res.skipped == []
    run = _parse_trec_run(res.run_files[("hog", "image")])
    trec = {"AP": "map", "nDCG@10": "ndcg_cut_10", "RR": "recip_rank", "R@1": "recall_1", "Bpref": "bpref"}
    cond = {"AP(judged_only=True)": "map", "nDCG(judged_only=True)@10": "ndcg_cut_10"}
    pq = res.per_query
    checked = 0
    for axis, judged in qrels.items():
        plain = pytrec_eval.RelevanceEvaluator(judged, set(trec.values())).evaluate(run)
        only = pytrec_eval.RelevanceEvaluator(judged, set(cond.values()), judged_docs_only_flag=True).evaluate(run)
        for m in measures:
            got = pq[(pq.axis == axis) & (pq.metric == m)].set_index("qid")["value"]
            want, key = (only, cond[m]) if m in cond else (plain, trec[m])
            assert set(got.index) == set(want), (axis, m)
            for q in want:
                assert got[q] == pytest.approx(want[q][key], abs=1e-6), (axis, m, q)
                checked += 1
    assert checked > 100
