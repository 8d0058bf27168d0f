"""core.metrics equals trec_eval (pytrec_eval via ir_measures); fusion, significance, TREC files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import metrics
from core.corpora.base import DatasetError
from core.evaluation.fusion import fuse, minmax, segment_minmax
from core.evaluation.pairs import Pairs
from core.evaluation.runs import SCORE_DECIMALS, rank_candidates
from core.qrels import read_qrels, read_run, write_qrels, write_run

# trec_eval names of the measures, for calling pytrec_eval directly as well
TREC_NAMES = {"AP": "map", "nDCG@10": "ndcg_cut_10", "RR": "recip_rank", "R@1": "recall_1",
              "P@5": "P_5", "AP@5": "map_cut_5", "nDCG": "ndcg", "R@10": "recall_10",
              "Success@3": "success_3"}
EXTRA = ("P@5", "AP@5", "nDCG", "R@10", "Success@3")


@pytest.fixture(scope="module")
def pte_provider():
    """The ir_measures pytrec_eval provider — really available, really backed by pytrec_eval."""
    import ir_measures
    import pytrec_eval

    prov = ir_measures.providers.registry["pytrec_eval"]
    assert type(prov).__name__ == "PytrecEvalProvider"
    assert prov.is_available(), "pytrec_eval provider unavailable (pip install pytrec-eval-terrier)"
    assert prov.pytrec_eval is pytrec_eval
    return prov


def random_case(seed: int, graded: bool = False, nq: int = 40):
    """A run and qrels with every awkward case the conventions cover."""
    rng = np.random.default_rng(seed)
    run: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for i in range(nq):
        q = f"q{i:03d}"
        n = int(rng.integers(1, 40))
        docs = list(dict.fromkeys(f"d{int(x):04d}" for x in rng.integers(0, 300, size=n)))
        if i % 3 == 0:  # heavy ties: scores on a coarse grid
            scores = rng.integers(0, 4, size=len(docs)) / 4.0
        else:
            scores = rng.random(len(docs))
        if i != 7:  # q007 is judged but absent from the run
            run[q] = dict(zip(docs, scores.tolist()))
        # judge a subset of the ranked docs plus some never-retrieved ones; rest unjudged
        judged = [d for d in docs if rng.random() < 0.5] + [f"u{i}_{j}" for j in range(int(rng.integers(0, 4)))]
        top = 3 if graded else 2
        qrels[q] = {d: int(rng.integers(0, top)) for d in judged}
        if i % 5 == 2:  # no relevant document at all (only zero judgements)
            qrels[q] = {d: 0 for d in judged} or {docs[0]: 0}
    qrels.setdefault("q007", {"d0001": 1})
    run["not_judged"] = {"d0001": 1.0, "d0002": 0.5}  # a run query without qrels: ignored
    return run, qrels


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("graded", [False, True])
def test_metrics_equal_pytrec_eval(seed, graded, pte_provider):
    import ir_measures
    import pytrec_eval

    run, qrels = random_case(seed, graded)
    names = list(metrics.DEFAULT_MEASURES) + list(EXTRA)
    mine = metrics.compute(run, qrels, names)
    measures = [ir_measures.parse_measure(m) for m in names]

    # per query, via ir_measures' pytrec_eval provider
    ref: dict[str, dict[str, float]] = {m: {} for m in names}
    for metric in pte_provider.iter_calc(measures, qrels, run):
        ref[str(metric.measure)][metric.query_id] = metric.value
    for m in names:
        assert set(mine[m]) == set(qrels), m
        assert set(ref[m]) == set(mine[m]), m
        for q in qrels:
            assert mine[m][q] == pytest.approx(ref[m][q], abs=1e-9), (m, q)

    # means, via calc_aggregate
    agg = pte_provider.calc_aggregate(measures, qrels, run)
    means = metrics.mean(mine)
    for meas in measures:
        assert means[str(meas)] == pytest.approx(agg[meas], abs=1e-9), str(meas)

    # and pytrec_eval called directly (queries present in the run)
    direct = pytrec_eval.RelevanceEvaluator(qrels, set(TREC_NAMES.values())).evaluate(run)
    for q, vals in direct.items():
        for m, trec in TREC_NAMES.items():
            assert mine[m][q] == pytest.approx(vals[trec], abs=1e-9), (m, q)


def test_conventions_spelled_out():
    qrels = {"q1": {"a": 1, "b": 0}, "q2": {"a": 0, "b": 0}, "q3": {"a": 1}}
    run = {"q1": {"a": 0.5, "b": 0.5, "z": 0.9}, "q2": {"a": 0.3}, "other": {"a": 1.0}}
    v = metrics.compute(run, qrels)
    # ties: score desc, then docid desc → z, b, a: the relevant "a" is third
    assert v["RR"]["q1"] == pytest.approx(1 / 3)
    assert v["AP"]["q1"] == pytest.approx(1 / 3)
    # a query whose judgements are all 0 is kept with 0 (as pytrec_eval does)
    assert all(v[m]["q2"] == 0.0 for m in v)
    # a judged query missing from the run scores 0; an unjudged run query is ignored
    assert all(v[m]["q3"] == 0.0 for m in v)
    assert all("other" not in v[m] for m in v)
    assert metrics.mean(v)["RR"] == pytest.approx((1 / 3) / 3)


def test_fallback_measure_uses_ir_measures():
    run, qrels = random_case(11)
    spec = metrics.parse_measure("infAP")
    assert not spec.native
    out = metrics.compute(run, qrels, ["infAP", "AP"])
    assert set(out) == {"infAP", "AP"} and set(out["infAP"]) == set(qrels)
    with pytest.raises(ValueError, match="unknown measure"):
        metrics.compute(run, qrels, ["NoSuchMeasure@3"])


def test_rr_cutoff_native():
    run, qrels = random_case(5)
    out = metrics.compute(run, qrels, ["RR", "RR@3"])
    for q in qrels:
        rr = out["RR"][q]
        assert out["RR@3"][q] == pytest.approx(rr if rr >= 1 / 3 else 0.0)


def test_metrics_fast_on_thousands_of_queries():
    import time

    rng = np.random.default_rng(0)
    n_q, n_c = 3000, 100
    stats = metrics.qrels_stats({f"q{i}": {f"d{j}": int(rng.integers(0, 2)) for j in range(20)} for i in range(n_q)})
    qidx = np.repeat(np.arange(n_q), n_c)
    codes = np.tile(np.arange(n_c), n_q)
    scores = rng.random(n_q * n_c)
    rels = (rng.random(n_q * n_c) < 0.1).astype(float)
    t = time.perf_counter()
    order = metrics.trec_order(qidx, codes, scores)
    metrics.metrics_sorted(stats, qidx[order], rels[order], metrics.DEFAULT_MEASURES)
    assert time.perf_counter() - t < 2.0


# --------------------------------------------------------------------------- fusion
def test_minmax_and_constant_edge_case():
    assert minmax([0.2, 0.6, 0.4]) == pytest.approx([0.0, 1.0, 0.5], abs=1e-12)
    assert minmax([0.3, 0.3, 0.3]).tolist() == [0.0, 0.0, 0.0]
    assert minmax([]).size == 0
    assert minmax({"a": 2.0, "b": 2.0}) == {"a": 0.0, "b": 0.0}


def test_fusion_hand_computed():
    image = {"a": 0.2, "b": 0.6, "c": 0.4}  # → a 0, b 1, c 0.5
    text = {"a": 0.9, "b": 0.3, "c": 0.1}  # → a 1, b 0.25, c 0
    fused = fuse(image, text, 1.0)
    assert fused == pytest.approx({"a": 1.0, "b": 1.25, "c": 0.5}, abs=1e-12)
    assert [d for d, _ in metrics_rank(fused)] == ["b", "a", "c"]
    heavy = fuse(image, text, 3.0)  # a 3, b 1.75, c 0.5
    assert heavy == pytest.approx({"a": 3.0, "b": 1.75, "c": 0.5}, abs=1e-12)
    assert [d for d, _ in metrics_rank(heavy)] == ["a", "b", "c"]
    # equal fused scores are ranked by docid descending (trec_eval)
    tie = fuse({"a": 0.0, "b": 1.0}, {"a": 1.0, "b": 0.0}, 1.0)
    assert [d for d, _ in metrics_rank(tie)] == ["b", "a"]
    # constant image scores contribute zeros: fusion is the weighted text ranking
    const = fuse({"a": 0.7, "b": 0.7, "c": 0.7}, text, 2.0)
    assert const == pytest.approx({"a": 2.0, "b": 0.5, "c": 0.0}, abs=1e-12)
    # arrays work the same
    assert fuse([0.2, 0.6, 0.4], [0.9, 0.3, 0.1], 1.0) == pytest.approx([1.0, 1.25, 0.5], abs=1e-12)
    with pytest.raises(ValueError):
        fuse([1.0, 2.0], [1.0], 1.0)


def metrics_rank(scores):
    from core.qrels import rank_docs

    return rank_docs(scores)


def test_segment_minmax_matches_per_query_minmax():
    # three queries, the middle one with no candidates, the last one constant
    scores = np.array([0.1, 0.5, 0.3, 0.7, 0.7])
    lens = np.array([3, 0, 2])
    pairs = Pairs(qids=("a", "b", "c"), qrow=np.zeros(3, dtype=np.int64),
                  offsets=np.concatenate([[0], np.cumsum(lens)]), qof=np.repeat(np.arange(3), lens),
                  cand=np.arange(5), doc_code=np.arange(5), key="k")
    out = segment_minmax(scores, pairs.offsets)
    assert out == pytest.approx(np.r_[minmax([0.1, 0.5, 0.3]), [0.0, 0.0]], abs=1e-12)


def test_rank_candidates_cosine_and_ties():
    q = np.array([1.0, 0.0])
    cands = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8], [1.0, 0.0]])
    ranked = rank_candidates(q, cands, ["w", "x", "y", "z"])
    assert [d for d, _ in ranked] == ["z", "x", "y", "w"]
    assert [s for _, s in ranked] == pytest.approx([1.0, 1.0, 0.6, 0.0], abs=1e-7)


# --------------------------------------------------------------------------- significance
def per_query_frame(systems: dict[tuple[str, str], np.ndarray], axes=("visual",), metric="AP"):
    rows = []
    for (enc, run), vals in systems.items():
        for ax in axes:
            for i, v in enumerate(vals):
                rows.append({"encoder": enc, "run": run, "axis": ax, "metric": metric, "qid": f"q{i}", "value": float(v)})
    return pd.DataFrame(rows)


def test_significance_identical_runs_not_significant():
    rng = np.random.default_rng(0)
    a = rng.random(50)
    df = per_query_frame({("e1", "image"): a, ("e2", "image"): a.copy()})
    for test in ("randomization", "t"):
        res = metrics.significance(df, against=[(("e1", "image"), ("e2", "image"))], test=test)
        assert len(res) == 1
        r = res.iloc[0]
        assert r["p"] >= 0.99 and not r["significant"]
        assert r["better"] == "tie" and r["diff"] == 0.0


def test_significance_clearly_better_run():
    rng = np.random.default_rng(1)
    b = rng.random(60) * 0.5
    a = np.clip(b + 0.3 + rng.normal(0, 0.05, 60), 0, 1)
    c = rng.random(60) * 0.5
    df = per_query_frame({("good", "image"): a, ("base", "image"): b, ("other", "image"): c},
                         axes=("visual", "semantic"))
    for test in ("randomization", "t"):
        res = metrics.significance(df, against="best", test=test, n_permutations=5000, seed=3)
        assert len(res) == 4  # best vs two others on two axes
        assert set(res["system_a"]) == {metrics.system_label("good", "image")}
        assert (res["p"] < 0.001).all() and res["significant"].all()
        assert (res["better"] == metrics.system_label("good", "image")).all()
        assert (res["p_holm"] >= res["p"] - 1e-15).all()
        assert (res["diff"] > 0.2).all()
    # pairs may be given by label, and the seeded test is reproducible
    pair = [("good · image", "base · image")]
    r1 = metrics.significance(df, against=pair, seed=7)
    r2 = metrics.significance(df, against=pair, seed=7)
    assert r1["p"].tolist() == r2["p"].tolist()
    with pytest.raises(ValueError, match="unknown system"):
        metrics.significance(df, against=[("nope", "base · image")])


def test_randomization_exact_small_case_and_t_test():
    from scipy import stats

    # d = [1, 1, 1]: only the all-plus / all-minus sign patterns reach |mean| 1 → p = 2/8
    p = metrics.randomization_test(np.ones(3), np.zeros(3), n_permutations=20000, seed=0)
    assert p == pytest.approx(0.25, abs=0.015)
    rng = np.random.default_rng(2)
    a, b = rng.random(30), rng.random(30)
    assert metrics.t_test(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert metrics.t_test(a, a) == 1.0
    assert metrics.t_test(a + 0.5, a) == 0.0  # constant shift: zero variance, certain


def test_holm_correction():
    p = [0.01, 0.04, 0.03, 0.5]
    adj = metrics.holm(p)
    assert adj == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert (adj >= np.asarray(p)).all() and (adj <= 1).all()
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)  # monotone in the order of the raw p-values
    rng = np.random.default_rng(0)
    for _ in range(20):
        raw = rng.random(12) ** 3
        a = metrics.holm(raw)
        o = np.argsort(raw)
        assert (a >= raw).all() and (a <= 1).all() and np.all(np.diff(a[o]) >= -1e-15)
    assert metrics.holm([]).size == 0


# --------------------------------------------------------------------------- files
def test_malformed_qrels_names_file_and_line(tmp_path):
    p = tmp_path / "qrels_visual.txt"
    p.write_text("q1 0 d1 1\nq1 0 d2\nq2 0 d3 0\n")
    with pytest.raises(DatasetError) as exc:
        read_qrels(p)
    assert str(p) in str(exc.value) and ":2:" in str(exc.value)
    p.write_text("q1 0 d1 1\n\nq1 0 d2 yes\n")
    with pytest.raises(DatasetError, match=r":3: relevance 'yes'"):
        read_qrels(p)
    q, problems = read_qrels(p, strict=False)
    assert q == {"q1": {"d1": 1}} and len(problems) == 1


def test_run_file_round_trip_and_trec_eval_agrees(tmp_path, pte_provider):
    import ir_measures

    run, qrels = random_case(3)
    run = {q: {d: round(s, SCORE_DECIMALS) for d, s in docs.items()} for q, docs in run.items()}
    path = write_run(tmp_path / "x.run", run, "my run")
    qpath = write_qrels(tmp_path / "qrels.txt", qrels)
    back = read_run(path)
    assert back == {q: docs for q, docs in run.items() if docs}
    # each line: qid Q0 docid rank score tag, ranks 1..n in trec_eval order
    ranks: dict[str, list[int]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        assert len(parts) == 6 and parts[1] == "Q0" and parts[5] == "my_run"
        ranks.setdefault(parts[0], []).append(int(parts[3]))
    assert all(r == list(range(1, len(r) + 1)) for r in ranks.values())
    qrels_back, _ = read_qrels(qpath)
    mine = metrics.compute(run, qrels, metrics.DEFAULT_MEASURES)
    measures = [ir_measures.parse_measure(m) for m in metrics.DEFAULT_MEASURES]
    ref = {(str(m.measure), m.query_id): m.value
           for m in pte_provider.iter_calc(measures, ir_measures.read_trec_qrels(str(qpath)),
                                           ir_measures.read_trec_run(str(path)))}
    assert qrels_back == qrels
    for m in metrics.DEFAULT_MEASURES:
        for q in qrels:
            assert mine[m][q] == pytest.approx(ref[(m, q)], abs=1e-9), (m, q)


# --------------------------------------------------------------------------- measure providers
def test_providers_dispatch_in_order():
    plan = metrics.plan_measures(["nDCG@10", "infAP", "AP", "Bpref", "P(rel=2)@5"])
    assert [(p.name, names) for p, names in plan] == [("native", ["nDCG@10", "AP", "Bpref"]),
                                                      ("ir_measures", ["infAP", "P(rel=2)@5"])]
    assert metrics.provider_for("R@1") is metrics.NATIVE
    assert metrics.provider_for("Bpref") is metrics.NATIVE
    assert metrics.provider_for("infAP") is metrics.IR_MEASURES


def test_ir_measures_provider_agrees_with_native():
    """Forcing every measure through ir_measures gives the native numbers (two implementations)."""
    run, qrels = random_case(21)
    names = list(metrics.DEFAULT_MEASURES) + list(EXTRA)
    native = metrics.compute(run, qrels, names)
    via_lib = metrics.compute(run, qrels, names, providers=(metrics.IR_MEASURES,))
    assert list(via_lib) == list(native)
    for m in names:
        assert via_lib[m].keys() == native[m].keys()
        for q in native[m]:
            assert via_lib[m][q] == pytest.approx(native[m][q], abs=1e-9), (m, q)


def test_unavailable_provider_falls_through_and_missing_one_says_what_to_install():
    class Absent(metrics.MeasureProvider):
        name, install = "absent", "pip install absent-lib"

        def supports(self, spec):
            return spec.family == "AP"

        def is_available(self):
            return False

    class Constant(metrics.MeasureProvider):
        name = "constant"

        def supports(self, spec):
            return spec.name == "AP"

        def compute(self, run, qrels, names):
            return {m: {q: 0.5 for q in qrels} for m in names}

    run, qrels = random_case(3, nq=5)
    out = metrics.compute(run, qrels, ["AP", "RR"], providers=(Absent(), Constant(), metrics.NATIVE))
    assert set(out["AP"].values()) == {0.5}
    assert out["RR"] == metrics.compute(run, qrels, ["RR"])["RR"]
    with pytest.raises(ValueError, match="absent-lib"):
        metrics.compute(run, qrels, ["AP"], providers=(Absent(),))


def test_significance_columns_shared():
    df = pd.DataFrame({"encoder": ["a"] * 4 + ["b"] * 4, "run": "image", "axis": "visual", "metric": "AP",
                       "qid": [f"q{i}" for i in range(4)] * 2, "value": [1, 0, 1, 1, 0, 0, 1, 0]})
    res = metrics.compare_systems(df, test="t")
    assert tuple(res.columns) == metrics.SIGNIFICANCE_COLUMNS
    assert tuple(metrics.compare_systems(df.iloc[:0]).columns) == metrics.SIGNIFICANCE_COLUMNS
    assert metrics.significance is metrics.compare_systems
