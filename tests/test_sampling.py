"""Candidate sampling, piece by piece: config validation, exact percentile bands, merge and
deduplication, each checked against the reference's own code (``../shared/reference/upair``)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from core.annotation.sampling import SamplingConfigError, load_config, parse_config
from core.annotation.sampling.bands import in_band, percentile_value, score_block, thresholds
from core.annotation.sampling.config import DEFAULT_YAML
from core.annotation.sampling.select import ALL, PARTIAL, UNION, deduplicate, merge
from tests.sampling_reference import import_reference, need_reference_sampler



@pytest.fixture(scope="module")
def reference_sampler():
    """The reference's CandidateSampler class, imported with its model classes stubbed out
    (they load network weights at construction; merge_results needs none of them)."""
    candidate_sampler, patent_index_cls = import_reference()
    return candidate_sampler.CandidateSampler, patent_index_cls


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ----------------------------------------------------------------------------- config
def test_reference_config_loads_as_it_is():
    cfg = load_config(need_reference_sampler() / "config.yaml")
    assert [r.name for r in cfg.indices] == ["title", "desc", "label", "clip", "patentnet", "resnext"]
    assert [r.field for r in cfg.indices] == ["title", "desc", "labels", "image", "image", "image"]
    assert cfg.index("patentnet").encoder.startswith("patentnet:")
    assert cfg.index("resnext").encoder.startswith("timm:resnext101_32x8d")  # ResNeXt, not the CLIP encoder
    assert (cfg.description_index, cfg.visual_index, cfg.dedup_index) == ("desc", "patentnet", "patentnet")
    assert [g.name for g in cfg.groups] == ["easy_positive", "easy_negative", "hard_positive", "hard_negative"]
    en = next(g for g in cfg.groups if g.name == "easy_negative")
    got = (en.text.upper, en.text.lower, en.image.upper, en.image.lower, en.size)
    assert got == ("90.000", "87.000", "85.000", "82.000", 80)
    assert cfg.cited_sample_size == 5 and cfg.dedup_threshold == 0.90


def test_default_config_fills_roles_offline():
    cfg = load_config(None)
    assert {r.encoder for r in cfg.indices} == {"tfidf", "hog", "ahdh"}
    assert cfg.visual_index == cfg.dedup_index == "hog" and cfg.description_index == "desc"


@pytest.mark.parametrize("edit, key", [
    (lambda c: c["groups"]["positive"].update(medium=c["groups"]["positive"]["easy"]), "groups.positive.medium"),
    (lambda c: c["groups"].update(neutral={}), "groups.neutral"),
    (lambda c: c["groups"]["negative"]["hard"].update(text_percentile_range=["87.000", "90.000"]),
     "groups.negative.hard.text_percentile_range"),
    (lambda c: c["groups"]["positive"]["easy"].update(size=-1), "groups.positive.easy.size"),
    (lambda c: c["indices"]["hog"].update(encoder="nonesuch"), "indices.hog.encoder"),
    (lambda c: c["indices"].update(mystery={}), "indices.mystery.encoder"),
    (lambda c: c["indices"]["desc"].update(field="abstract"), "indices.desc.field"),
    (lambda c: c.update(roles={"visual": "nope"}), "roles.visual"),
    (lambda c: c.update(dedup_threshold=1.5), "dedup_threshold"),
])
def test_bad_config_names_the_key(edit, key):
    import yaml

    raw = yaml.safe_load(DEFAULT_YAML)
    edit(raw)
    with pytest.raises(SamplingConfigError) as err:
        parse_config(raw)
    assert key in str(err.value)


# ----------------------------------------------------------------------------- bands
KEYS = ("100.000", "97.000", "95.000", "92.000", "90.000", "87.000", "85.000", "82.000")
BANDS = (("100.000", "97.000"), ("95.000", "92.000"), ("85.000", "82.000"))


def _reference_tables(PatentIndex, x, q):
    """The reference's thresholds table per query: search_top_k + np.percentile on its grid."""
    ref = PatentIndex(dim=x.shape[1])
    ids = [f"f{i}" for i in range(len(x))]
    ref.add(x, ids, ["p"] * len(x), ids)
    grid = np.arange(100.0, 80.0, -0.001)
    tables = []
    for j in range(len(q)):
        scores = [r["score"] for r in ref.search_top_k(query_embedding=q[j])]
        tables.append({f"{p:.3f}": f"{s}" for p, s in zip(grid, np.percentile(scores, grid))})
    return ref, ids, tables


@pytest.mark.parametrize("d", [24, 512])
def test_thresholds_and_bands_equal_the_reference(reference_sampler, d):
    """scores=faiss (the upair protocol): percentiles over every score and the (lower, upper]
    band equal the reference's search_top_k + np.percentile + range_search exactly, on the
    same vectors: both sides make the same faiss calls, so this holds on any CPU and BLAS."""
    from core.annotation.sampling.bands import FaissRows

    _, PatentIndex = reference_sampler
    rng = np.random.default_rng(d)
    x, q = _unit(rng, 3000, d), _unit(rng, 4, d)
    ref, ids, tables = _reference_tables(PatentIndex, x, q)
    rows = FaissRows(x)
    for j in range(len(q)):
        row = rows.row(q[j])
        ours = thresholds(row, KEYS)
        for k in KEYS:
            assert ours.values[k] == float(tables[j][k]), k
        for upper, lower in BANDS:
            hits, scores = rows.band(q[j], ours.values[lower], ours.values[upper])
            want = ref.search_top_k_within_threshold(
                q[j], min_threshold=float(tables[j][lower]), max_threshold=float(tables[j][upper]))
            assert [ids[p] for p in hits] != [] and {ids[p] for p in hits} == {r["hashcode"] for r in want}
            assert sorted(round(float(s), 6) for s in scores) == sorted(r["score"] for r in want)
            assert (row[hits] == scores).all()  # search and range_search score alike


def test_fast_scores_deviate_only_at_band_edges(reference_sampler):
    """scores=fast (numpy/BLAS): float32 sums in another order than faiss. Designed tolerance:
    a threshold moves by at most one 6-decimal unit (+ float slack), and a figure is in one
    band but not the other only when its score lies within 2e-6 of that band's bounds."""
    _, PatentIndex = reference_sampler
    rng = np.random.default_rng(0)
    x, q = _unit(rng, 3000, 24), _unit(rng, 4, 24)
    ref, ids, tables = _reference_tables(PatentIndex, x, q)
    block = score_block(q, x)
    for j in range(len(q)):
        ours = thresholds(block[j], KEYS)
        exact = ref.search_top_k(query_embedding=q[j])
        score = {r["hashcode"]: r["score"] for r in exact}
        for k in KEYS:
            assert ours.values[k] == pytest.approx(float(tables[j][k]), abs=1.01e-6)
        for upper, lower in BANDS:
            got = {ids[p] for p in in_band(block[j], ours.values[lower], ours.values[upper])}
            want = {r["hashcode"] for r in ref.search_top_k_within_threshold(
                q[j], min_threshold=float(tables[j][lower]), max_threshold=float(tables[j][upper]))}
            edges = (float(tables[j][lower]), float(tables[j][upper]))
            for h in got ^ want:
                assert min(abs(score[h] - e) for e in edges) <= 2e-6, (h, score[h], edges)
            assert len(got & want) >= 0.95 * len(want) > 0


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 20_000])
def test_rounded_percentiles_equal_numpy_on_the_rounded_row(n):
    """Order statistics then rounding == numpy.percentile over the rounded row, exactly (ties too)."""
    from core.annotation.sampling.bands import rounded_percentiles

    rng = np.random.default_rng(n)
    row = (0.3 * rng.standard_normal(n)).astype(np.float32)
    row[: n // 3] = row[0]
    ps = [percentile_value(k) for k in ("100.000", "97.000", "92.500", "82.000", "50.000", "0.000")]
    want = np.percentile(np.array([round(float(v), 6) for v in row]), ps)
    assert rounded_percentiles(row, ps) == want.tolist()


def test_percentile_keys_use_the_reference_grid():
    assert percentile_value("97.000") == float(np.arange(100.0, 80.0, -0.001)[3000])
    assert percentile_value("50.000") == 50.0


# ----------------------------------------------------------------------------- merge
def _band(rng: random.Random, pool: list[str], n: int) -> dict[str, float]:
    return {h: round(rng.random(), 6) for h in rng.sample(pool, n)}


@pytest.mark.parametrize("common", [8, 3])
def test_merge_equals_the_reference(reference_sampler, common):
    """The all-index and partial cases give the reference's candidates and summed scores."""
    Sampler, _ = reference_sampler
    rng = random.Random(common)
    shared = [f"c{i}" for i in range(common)]
    results = {}
    for name in ("title", "desc", "label", "clip", "patentnet", "resnext"):
        own = _band(rng, [f"{name}{i}" for i in range(40)], 10)
        results[name] = {**own, **{h: round(rng.random(), 6) for h in shared}}
    extra = [f"dp{i}" for i in range(4)]  # in desc and patentnet only
    for h in extra:
        results["desc"][h] = round(rng.random(), 6)
        results["patentnet"][h] = round(rng.random(), 6)
    ref_in = {n: {h: {"metadata": {"id": 0, "key": h, "patent": "p", "hashcode": h, "score": s}, "score": s}
                  for h, s in band.items()} for n, band in results.items()}
    want = Sampler.merge_results(None, ref_in)
    got = merge(results, "desc", "patentnet", random.Random(0))
    assert got.case == (ALL if common >= 5 else PARTIAL)
    assert set(got.scores) == set(want)
    for h, rec in want.items():
        assert got.scores[h] == pytest.approx(rec["sum_score"], abs=1e-6)
    if common < 5:
        assert all(got.contributors[h] == ("desc",) for h in extra)


def test_union_case_caps_per_index_and_is_seeded(reference_sampler):
    Sampler, _ = reference_sampler
    bands = {"a": {f"a{i}": 0.5 for i in range(1500)}, "b": {f"b{i}": 0.25 for i in range(30)}}
    m1 = merge(bands, None, None, random.Random(7))
    m2 = merge(bands, None, None, random.Random(7))
    assert m1.case == UNION and m1.scores == m2.scores
    assert len(m1.scores) == 1000 + 30
    ref_in = {n: {h: {"metadata": {"id": 0, "key": h, "patent": "p", "hashcode": h, "score": s}, "score": s}
                  for h, s in b.items()} for n, b in bands.items()}
    with pytest.raises(TypeError):  # the reference's random.sample on dict keys fails on Python >= 3.11
        Sampler.merge_results(None, ref_in)


# ----------------------------------------------------------------------------- dedup
def test_deduplicate_keeps_no_two_near_duplicates_and_terminates():
    rng = np.random.default_rng(1)
    base = _unit(rng, 6, 16)
    vecs = {}
    for i in range(60):  # 10 near-copies of each of 6 drawings
        v = base[i % 6] + 0.02 * rng.standard_normal(16).astype(np.float32)
        vecs[f"f{i:02d}"] = v / np.linalg.norm(v)
    d = deduplicate(sorted(vecs), 20, vecs.__getitem__, random.Random(3), threshold=0.9)
    assert len(d.kept) == 6  # one per drawing; the reference loops forever here
    kept = np.stack([vecs[k] for k in d.kept])
    sims = kept @ kept.T
    assert (sims[~np.eye(6, dtype=bool)] < 0.9).all()
    assert len(d.kept) + len(d.dropped) == 60
    for drop in d.dropped:
        assert float(vecs[drop.id] @ vecs[drop.of]) >= 0.9 and drop.of in d.kept


def test_deduplicate_against_seeds_excludes_them():
    vecs = {"s": np.array([1, 0], np.float32), "a": np.array([0.99, 0.141], np.float32),
            "b": np.array([0, 1], np.float32)}
    d = deduplicate(["s", "a", "b"], 5, vecs.__getitem__, random.Random(0), seeds=["s"])
    assert d.kept == ("b",) and [(x.id, x.of) for x in d.dropped] == [("a", "s")]


# ----------------------------------------------------------------------------- whole groups
def test_groups_equal_the_reference_select_candidates(reference_sampler):
    """Bands of six correlated indices, merged: every group's candidates and summed scores equal
    what the reference's own ``select_candidates`` draws before it deduplicates, on the
    reference's config.yaml, over several queries (all three merge cases occur)."""
    from pathlib import Path as _P

    import candidate_sampler as cs

    from core.annotation.sampling.sampler import _Context, _draw_group, _QueryScores
    from core.corpora.base import Corpus
    from core.figures import Figure

    Sampler, PatentIndex = reference_sampler
    cfg = load_config(need_reference_sampler() / "config.yaml")
    rng = np.random.default_rng(5)
    n, n_q = 2500, 8
    base = _unit(rng, n + n_q, 8)
    dims = {"title": 12, "desc": 12, "label": 12, "clip": 16, "patentnet": 10, "resnext": 20}
    space = {}
    for name, d in dims.items():  # each index a noisy projection of one shared latent space
        proj = rng.standard_normal((8, d)).astype(np.float32)
        v = base @ proj + 0.2 * rng.standard_normal((n + n_q, d)).astype(np.float32)
        space[name] = v / np.linalg.norm(v, axis=1, keepdims=True)
    ids = [f"h{i:05d}" for i in range(n)]
    ref = object.__new__(Sampler)
    ref.config = {"indices": {k: {"dim": d} for k, d in dims.items()}}
    import yaml

    ref.group_config = yaml.safe_load((need_reference_sampler() / "config.yaml").read_text())["groups"]
    ref.indices, ref.thresholds_dict = {}, {}
    grid = np.arange(100.0, 80.0, -0.001)
    for name in dims:
        idx = PatentIndex(dim=dims[name])
        idx.add(space[name][:n], ids, ids, ids)
        ref.indices[name] = idx
        ref.thresholds_dict[name] = {}
        for j in range(n_q):
            scores = [r["score"] for r in idx.search_top_k(query_embedding=space[name][n + j])]
            ref.thresholds_dict[name][f"q{j}"] = {f"{p:.3f}": f"{s}" for p, s in zip(grid, np.percentile(scores, grid))}
    ref.sample_and_deduplicate = lambda candidate_dict, n: candidate_dict  # compare before the random draw

    class SortedRandom:  # the reference's random.sample on dict keys, made to run on Python >= 3.11
        @staticmethod
        def sample(population, k):
            return random.Random(0).sample(sorted(population), k)

    figs = tuple(Figure(id=i, path=_P(f"/nonexistent/{i}.png"), patent=i) for i in ids)
    corpus = Corpus(name="synthetic", kind="folder", root=_P("/nonexistent"), figures=figs)
    import dataclasses

    no_dups = dataclasses.replace(cfg, dedup_threshold=2.0)  # cosines never reach 2: keep every candidate
    ctx = _Context(no_dups, "upair", corpus, space["patentnet"][:n], {}, {}, {})
    big = [type(g)(g.name, g.text, g.image, 10_000) for g in cfg.groups]  # keep every merged candidate
    cases = set()
    saved = cs.random
    cs.random = SortedRandom
    try:
        for j in range(n_q):
            rows = {}
            for name in dims:  # the reference's own float32 scores (faiss sums in another order than BLAS)
                D, I = ref.indices[name].index.search(space[name][n + j][None, :], n)
                rows[name] = np.empty(n, np.float32)
                rows[name][I[0]] = D[0]
            qs = _QueryScores()
            for name in dims:
                th = qs.thresholds[name] = thresholds(rows[name], cfg.percentiles)
                for g in cfg.groups:
                    band = g.band_for(cfg.index(name))
                    qs.hits[(g.name, name)] = in_band(rows[name], th.values[band.lower], th.values[band.upper])
                qs.known[name] = (np.arange(n), rows[name])
            query = {name: space[name][n + j] for name in dims}
            for g in big:
                diff, rel = g.name.split("_")
                want = Sampler.select_candidates(ref, f"q{j}", query, (diff, rel))
                got = _draw_group(ctx, g, qs, random.Random(0), [])
                cases.add(got.case)
                assert {c.id for c in got.kept} == set(want), (j, g.name, got.case)
                for c in got.kept:
                    assert c.score == pytest.approx(want[c.id]["sum_score"], abs=2e-5)
    finally:
        cs.random = saved
    assert cases == {ALL, PARTIAL, UNION}, cases
