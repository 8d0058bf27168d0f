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
