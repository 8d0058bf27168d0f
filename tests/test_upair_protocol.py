"""End to end: the official UPAIR ``evaluation/run.py`` and ``core.evaluation`` (protocol ``upair``)
give the same scores, rankings and metrics on a UPAIR-layout set built from real figures.

The official functions are imported from ``../shared/reference`` (never copied); only the
model name, the checkpoint path and the working folder are patched. The model is the tiny
architecture of ``conftest.TINY_CLIP`` at 224 px (the official script resizes to 224), with
random weights scaled so that drawings get clearly different embeddings: a plain random
CLIP maps every drawing to nearly the same vector, and per-query min-max fusion would then
turn float noise into rank swaps.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.official import AXES, RUN_FILES, build_upair_set, read_run, save_official_checkpoint

from .conftest import TINY_CLIP
from .upair_reference import load_reference, need_reference

N_QUERIES, N_CANDIDATES = 12, 9
SCORE_TOL, METRIC_TOL = 1e-5, 1e-9


@pytest.fixture(scope="module")
def tiny_224(tmp_path_factory) -> str:
    """The conftest tiny CLIP at the official 224 px input size."""
    import open_clip

    cfg = json.loads(json.dumps(TINY_CLIP))
    cfg["vision_cfg"]["image_size"] = 224
    d = tmp_path_factory.mktemp("tiny224_cfg")
    (d / "TinyCLIP-224.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(d)
    return "TinyCLIP-224"


@pytest.fixture(scope="module")
def official_checkpoint(tiny_224, tmp_path_factory) -> Path:
    """Random weights, scaled (transformer matrices x10, class/positional embeddings 0), saved in
    the official training format ``{"state_dict": {"module.<name>": tensor}}``."""
    import logging

    import open_clip
    import torch

    torch.manual_seed(0)
    logging.disable(logging.WARNING)  # "No pretrained weights loaded" is what we want here
    try:
        model = open_clip.create_model(tiny_224, pretrained=None)
    finally:
        logging.disable(logging.NOTSET)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ("transformer" in name) and p.ndim == 2:
                p.mul_(10.0)
            if name in ("visual.class_embedding", "visual.positional_embedding"):
                p.zero_()
    return save_official_checkpoint(model, tmp_path_factory.mktemp("official_ckpt") / "patent_clip_tiny.pt")


def _trec_ranking(scores: dict[str, float]) -> list[str]:
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


@pytest.mark.shared
@pytest.mark.slow
def test_official_run_py_and_core_evaluate_agree(query_patents, official_checkpoint, tiny_224, cache, tmp_path,
                                                 monkeypatch):
    import ir_measures

    from core import evaluation as ev
    from core.corpora import load_corpus

    need_reference()
    root, run_dir = tmp_path / "upair", tmp_path / "official"
    build_upair_set(query_patents, root, run_dir, N_QUERIES, N_CANDIDATES)

    # --- the official script: only the model name and checkpoint path are patched
    run_py = load_reference("run", run_dir=run_dir,
                            patch={"model": {"MODELNAME": tiny_224, "MODELS": {"tiny": str(official_checkpoint)}}})
    assert run_py.DEVICE == "cpu" and len(run_py.evaluation_dataset) == N_QUERIES
    monkeypatch.chdir(run_dir)
    run_py.run("tiny")
    run_py.evaluate("tiny")  # prints the official table (4 decimals); full precision below
    official = {r: read_run(run_dir / "results" / f.format(m="tiny")) for r, f in RUN_FILES.items()}
    monkeypatch.undo()

    # --- ours, protocol chosen by default for a UPAIR-layout corpus
    corpus = load_corpus(f"upair:{root}")
    assert corpus.warnings == ()
    spec = f"clip:{tiny_224}:{official_checkpoint}"
    res = ev.evaluate(corpus, [spec], out_dir=tmp_path / "ours")
    assert res.protocol == "upair" and res.skipped == []
    ours = {r: ev.run_scores(corpus, spec, r) for r in RUN_FILES}

    # the weights really separate the drawings (otherwise the comparison says little)
    spans = [max(s.values()) - min(s.values()) for s in official["image"].values()]
    assert min(spans) > 0.05

    # every (query, candidate, run) score within 1e-5
    worst = 0.0
    for r in RUN_FILES:
        assert set(ours[r]) == set(official[r])
        for q, docs in official[r].items():
            assert set(ours[r][q]) == set(docs)
            worst = max(worst, max(abs(ours[r][q][d] - s) for d, s in docs.items()))
    print(f"\nlargest score difference {worst:.3e}")
    assert worst <= SCORE_TOL, worst

    # identical order wherever the official scores of two candidates differ by more than 1e-5
    identical: dict[str, set[str]] = {}
    for r in RUN_FILES:
        identical[r] = set()
        for q, docs in official[r].items():
            ds = sorted(docs)
            for i, a in enumerate(ds):
                for b in ds[i + 1:]:
                    if abs(docs[a] - docs[b]) > SCORE_TOL:
                        assert (ours[r][q][a] > ours[r][q][b]) == (docs[a] > docs[b]), (r, q, a, b)
            if _trec_ranking(ours[r][q]) == _trec_ranking(docs):
                identical[r].add(q)
    assert sum(len(v) for v in identical.values()) >= 0.9 * N_QUERIES * len(RUN_FILES)

    # metrics equal to 1e-9 where rankings are identical: the official measures (ir_measures on the
    # official run files, as evaluation/run.py computes them) against ours, per query and axis
    names = {"AP": ir_measures.MAP, "nDCG@10": ir_measures.nDCG @ 10, "RR": ir_measures.MRR, "R@1": ir_measures.Recall @ 1}
    pq = res.per_query
    checked = 0
    for r, fname in RUN_FILES.items():
        for a in AXES:
            qrels = ir_measures.read_trec_qrels(str(root / "test" / f"qrels_{a}.txt"))
            ref = {(str(m.measure), m.query_id): m.value for m in ir_measures.iter_calc(
                list(names.values()), qrels, ir_measures.read_trec_run(str(run_dir / "results" / fname.format(m="tiny"))))}
            sub = pq[(pq.run == r) & (pq.axis == a)]
            for row in sub.itertuples():
                if row.qid in identical[r]:
                    assert abs(row.value - ref[(str(names[row.metric]), row.qid)]) <= METRIC_TOL
                    checked += 1
            if len(identical[r]) == N_QUERIES:  # and the published means (calc_aggregate)
                agg = ir_measures.calc_aggregate(list(names.values()), ir_measures.read_trec_qrels(
                    str(root / "test" / f"qrels_{a}.txt")), ir_measures.read_trec_run(
                    str(run_dir / "results" / fname.format(m="tiny"))))
                t = res.table[(res.table.run == r) & (res.table.axis == a)].set_index("metric")["value"]
                for m, measure in names.items():
                    assert abs(t[m] - agg[measure]) <= METRIC_TOL
    print(f"identical rankings { {r: len(v) for r, v in identical.items()} }; metric values checked {checked}")
    assert checked >= 0.9 * N_QUERIES * len(RUN_FILES) * len(AXES) * len(names)

    # the run files name the protocol and keep full precision
    line = (tmp_path / "ours").glob("*.image+desc.run").__next__().read_text().splitlines()[0]
    assert line.split()[-1].endswith(".image+desc.upair")
    assert float(line.split()[4]) == ours["image+desc"][line.split()[0]][line.split()[2]]


@pytest.mark.shared
@pytest.mark.slow
def test_clean_protocol_differs_from_official(query_patents, official_checkpoint, tiny_224, cache, tmp_path):
    """The ``clean`` protocol is a different protocol: same images, other numbers (and other cache keys)."""
    from core import evaluation as ev
    from core.corpora import load_corpus

    root = tmp_path / "upair"
    build_upair_set(query_patents, root, tmp_path / "official", N_QUERIES, N_CANDIDATES)
    corpus = load_corpus(f"upair:{root}")
    spec = f"clip:{tiny_224}:{official_checkpoint}"
    up = ev.run_scores(corpus, spec, "image+desc", protocol="upair")
    cl = ev.run_scores(corpus, spec, "image+desc", protocol="clean")
    diff = max(abs(up[q][d] - cl[q][d]) for q in up for d in up[q])
    assert diff > 1e-3
    res = ev.evaluate(corpus, [spec], runs=("image",), metrics=("AP",), protocol="clean", out_dir=tmp_path / "o")
    assert res.protocol == "clean"
    import pandas as pd

    csv = pd.read_csv(tmp_path / "o" / "results.csv")
    assert list(csv.columns)[0] == "protocol" and set(csv["protocol"]) == {"clean"}
    with pytest.raises(ValueError, match="upair, clean"):
        ev.evaluate(corpus, [spec], protocol="official")
