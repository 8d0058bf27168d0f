"""Pool bias (core.annotation.bias): unjudged share of each system's top 10 against a brute-force
count, plain-vs-condensed rank flips, and where the sampling encoders are read from."""
from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from core.annotation.bias import base_spec, in_pool, rank_flips, sampling_encoders, unjudged_top_k


def _data(seed=5):
    rng = random.Random(seed)
    qrels = {"visual": {}, "semantic": {}}
    runs = {"A": {}, "B": {}}
    for qi in range(6):
        q = f"q{qi}"
        docs = [f"d{j:02d}" for j in range(25)]
        qrels["visual"][q] = {d: rng.randint(0, 1) for d in rng.sample(docs, 12)}
        qrels["semantic"][q] = {d: rng.randint(0, 1) for d in rng.sample(docs, 8)}
        for s in runs:
            runs[s][q] = {d: round(rng.random(), 2) for d in docs}  # ties on purpose
    return qrels, runs


def _brute(run, judged, k):
    shares = []
    for q, jd in judged.items():
        ranked = sorted(run.get(q, {}).items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:k]
        shares.append(sum(d not in jd for d, _ in ranked) / len(ranked) if ranked else 0.0)
    return sum(shares) / len(shares)


def test_unjudged_share_equals_brute_force():
    qrels, runs = _data()
    out = unjudged_top_k(runs, qrels, k=10).set_index(["system", "axis"])
    anyj = {q: set(qrels["visual"][q]) | set(qrels["semantic"][q]) for q in qrels["visual"]}
    for s, run in runs.items():
        for axis in qrels:
            assert out.loc[(s, axis), "unjudged"] == pytest.approx(_brute(run, qrels[axis], 10), abs=1e-12)
        assert out.loc[(s, "any"), "unjudged"] == pytest.approx(_brute(run, anyj, 10), abs=1e-12)
    assert out.loc[("A", "semantic"), "unjudged"] > out.loc[("A", "any"), "unjudged"] > 0


def test_unranked_query_counts_zero_and_bad_k():
    out = unjudged_top_k({"A": {}}, {"visual": {"q": {"d": 1}}}, k=10)
    assert out["unjudged"].tolist() == [0.0, 0.0] and out["queries"].tolist() == [1, 1]
    with pytest.raises(ValueError, match="k"):
        unjudged_top_k({}, {}, k=0)


def _table(vals):
    return pd.DataFrame([{"encoder": e, "run": "image", "axis": "visual", "metric": m, "value": v}
                         for (e, m), v in vals.items()])


def test_rank_flips_only_on_opposite_orders():
    t = _table({("A", "AP"): 0.5, ("B", "AP"): 0.4, ("C", "AP"): 0.3,
                ("A", "AP(judged_only=True)"): 0.45, ("B", "AP(judged_only=True)"): 0.6,
                ("C", "AP(judged_only=True)"): 0.3})
    f = rank_flips(t)
    assert list(zip(f["encoder_a"], f["encoder_b"])) == [("A", "B")]
    assert f.iloc[0]["plain"] == "AP" and f.iloc[0]["other"] == "AP(judged_only=True)"
    tie = _table({("A", "AP"): 0.5, ("B", "AP"): 0.4, ("A", "AP(judged_only=True)"): 0.5,
                  ("B", "AP(judged_only=True)"): 0.5})
    assert rank_flips(tie).empty  # a tie orders nothing: no warning


def test_sampling_encoders_from_a_sample_run(tmp_path: Path):
    out = tmp_path / "draw"
    (out / "pool").mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"config": {"indices": {"desc": {"encoder": "tfidf", "field": "desc"},
                                                                      "hog": {"encoder": "hog", "field": "image"}}}}))
    corpus = SimpleNamespace(root=out / "pool", kind="upair", synthetic=False)
    assert "reference sampler" in sampling_encoders(corpus).source  # no manifest: run.json not proved
    (out / ".upair-output.json").write_text(json.dumps({"command": "sample", "files": {"run.json": "x"}}))
    src = sampling_encoders(corpus)
    assert src.known and src.encoders == ("tfidf", "hog") and "run.json" in src.source
    (out / ".upair-output.json").write_text(json.dumps({"command": "evaluate", "files": {"run.json": "x"}}))
    assert sampling_encoders(corpus).encoders != ("tfidf", "hog")
    demo = SimpleNamespace(root=tmp_path, kind="demo", synthetic=True)
    assert not sampling_encoders(demo).known and sampling_encoders(demo).encoders == ()


def test_reference_pool_encoders_and_spec_matching():
    src = sampling_encoders(SimpleNamespace(root=Path("/nonexistent"), kind="upair", synthetic=False))
    assert src.known and len(src.encoders) == 4
    assert base_spec("hog@upair") == "hog" and base_spec("clip:ViT-B-32:openai") == "clip:ViT-B-32:openai"
    assert in_pool("timm:resnext101_32x8d.tv_in1k", src.encoders) and not in_pool("hog", src.encoders)


@pytest.mark.slow  # draws pools for 3 demo queries (embeds the demo with TF-IDF, HOG and AHDH)
def test_pool_drawn_by_core_sample_names_its_encoders_in_evaluate(cache, tmp_path, capsys):
    """End to end: `core sample` writes the pool, a judge fills half of its visual qrels, and
    `evaluate --pool-bias` reads the sampling encoders from the draw's run.json and counts the
    unjudged half of each top 10 (checked against a brute-force count of the run files)."""
    from core.cli import main
    from core.corpora import load_corpus

    draw = tmp_path / "draw"
    assert main(["sample", "--corpus", "demo", "--queries", "demo", "--limit", "3", "--seed", "1",
                 "--out", str(draw)]) == 0
    pool = load_corpus(f"upair:{draw / 'pool'}")
    src = sampling_encoders(pool)
    assert src.known and set(src.encoders) == {"tfidf", "hog", "ahdh"} and "run.json" in src.source
    meta = json.loads((draw / "pool" / "metadata.json").read_text())
    judged = {q: [c["hashcode"] for c in e["candidates"]][::2] for q, e in meta.items()}  # every other one
    (draw / "pool" / "test" / "qrels_visual.txt").write_text(
        "".join(f"{q} 0 {d} {i % 2}\n" for q, ds in judged.items() for i, d in enumerate(ds)))
    capsys.readouterr()
    out = tmp_path / "ev"
    assert main(["evaluate", "--corpus", f"upair:{draw / 'pool'}", "--encoders", "hog", "--runs", "image",
                 "--metrics", "AP", "--incomplete", "--bootstrap", "0", "--pool-bias", "--allow-problems",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sampled with: " in text and "run.json (written by `python -m core sample`)" in text
    row = next(ln.split() for ln in text.splitlines() if ln.startswith("hog ") and "%" in ln)
    run = {}
    for ln in next(out.glob("*.run")).read_text().splitlines():
        q, _, d, _, s, _ = ln.split()
        run.setdefault(q, {})[d] = float(s)
    expect = _brute(run, {q: set(ds) for q, ds in judged.items()}, 10)
    assert row[2] == "yes" and row[3] == f"{expect:.1%}" and expect > 0


def test_top_docs_is_the_head_of_the_trec_eval_order_ties_included():
    import random

    from core.qrels import rank_docs, top_docs

    rng = random.Random(7)
    for n in (0, 1, 5, 60):
        scores = {f"d{i:03d}": rng.choice([0.1, 0.5, 0.5, 0.9, rng.random()]) for i in range(n)}
        for k in (1, 3, 10, 100):
            assert top_docs(scores, k) == rank_docs(scores)[:k]


def test_top_docs_ties_across_the_cut_off_and_small_lists():
    """The k-th and (k+1)-th documents tied (the cut falls inside a tie: the higher docids win, as
    trec_eval orders), k beyond the list, k = 0, and NaN scores (ordered as a plain sort orders them)."""
    import heapq
    import operator

    from core.qrels import rank_docs, top_docs

    tied = {f"d{i}": 0.5 for i in range(8)} | {"a": 0.9, "z": 0.1}
    assert [d for d, _ in top_docs(tied, 3)] == ["a", "d7", "d6"]
    assert top_docs(tied, 9) == rank_docs(tied)[:9]
    assert top_docs(tied, 50) == rank_docs(tied)
    assert top_docs(tied, 0) == [] and top_docs({}, 5) == []
    nan = {"a": 0.3, "b": float("nan"), "c": 0.7, "d": 0.1}
    assert top_docs(nan, 2) == heapq.nlargest(2, nan.items(), key=operator.itemgetter(1, 0))
