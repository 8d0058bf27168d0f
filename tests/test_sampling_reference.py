"""End to end against the reference's ``CandidateSampler``: the same vectors in, the same pools out.

The reference runs as it is (``set_thresholds``, ``sample``) with the three harness changes of
``tests/sampling_reference.py`` (seeded sorted draws; a dropped duplicate leaves the pool; no
cited state carried between queries). The project runs ``sample_pools`` under the ``upair``
protocol, with the encoders replaced by the same vectors. Every written candidate file must be
equal — groups, figures, index ids, summed scores — on a collection where the three merge cases,
merged groups of exactly 5 (kept as they are) and 6 (deduplicated) figures, near-duplicates,
cited groups of exactly 5 and of more, a query inside the collection and figures the reference
does not index (no labels) all occur.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from core.annotation.sampling import parse_config, sample_pools, write_run
from core.annotation.sampling import sampler as sampler_mod
from core.annotation.sampling.select import ALL, PARTIAL, UNION
from core.corpora.base import Corpus
from core.figures import Figure

from .sampling_reference import INDEX_DIMS, need_reference_sampler, run_reference

GROUPS = {  # the reference's bands; sizes small enough that deduplication and shortfalls both occur
    "positive": {"easy": {"text_percentile_range": ["100.000", "97.000"], "image_percentile_range": ["100.000", "97.000"], "size": 5},
                 "hard": {"text_percentile_range": ["100.000", "97.000"], "image_percentile_range": ["95.000", "92.000"], "size": 5}},
    "negative": {"easy": {"text_percentile_range": ["90.000", "87.000"], "image_percentile_range": ["85.000", "82.000"], "size": 40},
                 "hard": {"text_percentile_range": ["90.000", "87.000"], "image_percentile_range": ["100.000", "97.000"], "size": 5}},
}


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def build(seed: int = 3, n: int = 300, n_q: int = 16, noise: float = 0.3):
    """A collection with near-duplicate copies, six index spaces of one latent space (orthonormal
    projections plus noise; queries more or less alike across them), three figures a patent."""
    rng = np.random.default_rng(seed)
    k = 6
    latent = rng.standard_normal((n, k))
    copies = rng.choice(n // 2, n // 4, replace=False)  # figures n//2.. copy a figure of the first half
    latent[n // 2: n // 2 + len(copies)] = latent[copies] + 0.05 * rng.standard_normal((len(copies), k))
    latent[n - 9: n - 6] = latent[n - 10] + 0.01 * rng.standard_normal((3, k))  # P096 + P097: 4 near-copies
    q_latent = rng.standard_normal((n_q, k))
    spread = np.linspace(0.0, 1.5, n_q)  # how differently each query looks on each index
    index, qvec = {}, {}
    for name, d in INDEX_DIMS.items():
        proj = np.linalg.qr(rng.standard_normal((d, k)))[0].T  # (k, d), orthonormal rows
        index[name] = _unit(latent @ proj + noise * rng.standard_normal((n, d)) / np.sqrt(d))
        qvec[name] = _unit(q_latent @ proj + spread[:, None] * rng.standard_normal((n_q, d)) * np.sqrt(k / d))
    patents = [f"P{i // 3:03d}" for i in range(n)]
    ids = [f"h{i:04d}" for i in range(n)]
    return ids, patents, index, qvec


def _png(path: Path, value: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (4, 3), value % 256).save(path)


def _figures(ids, patents, root: Path, unlabelled: set[int]):
    for j, i in enumerate(ids):
        _png(root / f"{i}.png", j)
    return tuple(Figure(id=i, path=root / f"{i}.png", patent=p, title=f"title {i}", description=f"figure {i} view",
                        labels=() if j in unlabelled else ("part",), section="A")
                 for j, (i, p) in enumerate(zip(ids, patents)))


@pytest.mark.slow
def test_pools_equal_the_reference_candidate_sampler(tmp_path, monkeypatch):
    need_reference_sampler()
    ids, patents, index, qvec = build()
    n = len(ids)
    unlabelled = {7, 150, 299}  # the reference indexes only figures with title, description and labels
    figs = _figures(ids, patents, tmp_path, unlabelled)
    corpus = Corpus(name="synthetic", kind="folder", root=tmp_path, figures=figs)
    n_q = len(qvec["patentnet"])
    queries = [Figure(id=f"q{j}", path=tmp_path / "queries" / f"q{j}.png", patent=f"Q{j}", section="A")
               for j in range(n_q)]
    for q in queries:
        _png(q.path, 7)
    inside = figs[20]  # a query that is itself in the collection
    queries.append(inside)
    qvecs = {name: np.vstack([qvec[name], index[name][20]]) for name in index}
    cited = {f"Q{j}": [f"P{(7 * j + 5 * t) % (n // 3):03d}" for t in range(1 + j % 4)] for j in range(n_q)}
    cited["Q1"] = ["P010", "P011"]  # 6 figures: deduplicated
    cited["Q2"] = ["P002", "P012"]  # 5 indexed figures (h0007 of P002 is not indexed): kept as they are
    x = index["patentnet"]
    sims = x[n // 2:] @ x[: n // 2].T
    near = [(n // 2 + a, b) for a, b in zip(*np.nonzero(sims >= 0.9))][:4]
    cited["Q3"] = sorted({patents[a] for a, _ in near} | {patents[b] for _, b in near})  # near-duplicates
    cited["Q4"] = ["P096", "P097"]  # 6 figures, 4 of them near-copies: at most 3 kept
    cited[inside.patent] = [inside.patent, "P030"]  # cites itself: the query is among its cited figures
    keep = [j for j in range(n) if j not in unlabelled]
    pos = {figs[j].id: p for p, j in enumerate(keep)}

    def fake_vectors(collection, qs, role, show_bar, texts="reference"):
        rows = [keep[pos[f.id]] for f in collection.figures]
        return index[role.name][rows], qvecs[role.name][[queries.index(q) for q in qs]], ()

    monkeypatch.setattr(sampler_mod, "_index_vectors", fake_vectors)
    monkeypatch.setattr(sampler_mod, "check_encoders", lambda cfg: [])
    raw = {"indices": {name: {"encoder": "tfidf", "field": {"title": "title", "desc": "desc", "label": "labels"}
                              .get(name, "image")} for name in INDEX_DIMS}, "groups": GROUPS,
           "roles": {"description": "desc", "visual": "patentnet", "dedup": "patentnet"}}
    cfg = parse_config(raw)
    assert cfg.protocol == "upair"
    run = sample_pools(corpus, queries, cfg, seed=11, citations=cited, show_bar=False)
    out = write_run(run, tmp_path / "ours")

    ref_queries = {q.path.name: {"id": q.id, "patent": q.patent, **{nm: qvecs[nm][j] for nm in index}}
                   for j, q in enumerate(queries)}
    want = run_reference(tmp_path / "ref", yaml.safe_load(yaml.safe_dump(GROUPS)),
                         {nm: index[nm][keep] for nm in index}, [ids[j] for j in keep],
                         [patents[j] for j in keep], ref_queries, cited, seed=11)
    got = {p.name[: -len(".json")]: json.loads(p.read_text()) for p in (out / "candidates" / "A").iterdir()}
    assert set(got) == set(want) == set(ref_queries)
    for key in want:
        assert got[key] == want[key], key  # every group, figure, index id and summed score

    # what the collection exercised
    groups = [g for d in run.draws for g in d.groups]
    assert {g.case for g in groups} == {ALL, PARTIAL, UNION}
    merged = {g.merged for g in groups}
    assert {5, 6} <= merged, sorted(merged)
    assert any(g.dropped for g in groups) and any(g.shortfall for g in groups)
    found = {d.query.id: d.cited_found for d in run.draws}
    assert 5 in found.values() and any(v > 5 for v in found.values()), found
    assert any(d.cited_dropped for d in run.draws)
    assert inside.id in {c.id for d in run.draws if d.query.id == inside.id for c in d.cited}
    assert not {figs[j].id for j in unlabelled} & {c.id for d in run.draws for g in d.groups for c in g.kept}
