"""Candidate pools end to end, on the demo and on the real query patents: bands hold, no
duplicates are kept, cited candidates are cited, sizes or shortfalls, byte-identical by seed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import load_corpus
from core.annotation.sampling import (
    find_citations, load_config, resolve_queries, sample_pools, write_run,
)
from core.annotation.sampling.sampler import _vectors, complete_figures
from core.cli import main


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        d = tmp_path_factory.mktemp("sampling-cache")
        mp.setenv("UPAIR_CACHE", str(d))
        yield d


@pytest.fixture(scope="module")
def demo(module_cache):
    corpus = load_corpus("demo")
    cfg = load_config(None)
    queries = resolve_queries(corpus)[:12]
    return corpus, cfg, queries


@pytest.fixture(scope="module")
def demo_citations(demo):
    corpus, cfg, _ = demo
    return find_citations(cfg, corpus)[0]  # the demo generates citations_data.json (may be absent in older demos)


@pytest.fixture(scope="module")
def demo_run(demo, demo_citations):
    corpus, cfg, queries = demo
    return sample_pools(corpus, queries, cfg, seed=1, citations=demo_citations, show_bar=False)


def _dedup_vectors(corpus, cfg, queries):
    x, _ = _vectors(corpus, queries, cfg.index(cfg.dedup_index), show_bar=False)
    return {f.id: x[i] for i, f in enumerate(corpus.figures)}


def _check_bands(run):
    """Every kept candidate lies inside its group's band on each index that drew it."""
    cfg = run.config
    n = 0
    for d in run.draws:
        for g in d.groups:
            for c in g.kept:
                assert c.drawn_by, c
                for name in c.drawn_by:
                    band = g.spec.band_for(cfg.index(name))
                    t = d.thresholds[name].values
                    assert t[band.lower] - 1e-6 <= c.scores[name] <= t[band.upper] + 1e-6, (d.query.id, g.name, name)
                    n += 1
    assert n > 0


def _check_no_duplicates(run, vec, across_groups: bool):
    thr = run.config.dedup_threshold
    for d in run.draws:
        cited = [c.id for c in d.cited]
        sets = [[c.id for c in g.kept] for g in d.groups if g.deduplicated]
        if across_groups:
            sets = [[i for s in sets for i in s]]
        for ids in sets:
            m = np.stack([vec[i] for i in ids + cited]) if ids else np.zeros((0, 1))
            if len(ids) < 1:
                continue
            sims = m[: len(ids)] @ m.T
            for a in range(len(ids)):
                sims[a, a] = -1
            assert sims.max() < thr, (d.query.id, sims.max())


@pytest.mark.slow
def test_demo_pools_hold_bands_sizes_and_no_duplicates(demo, demo_run, demo_citations):
    corpus, cfg, queries = demo
    run = demo_run
    assert [d.query.id for d in run.draws] == [q.id for q in queries]
    _check_bands(run)
    _check_no_duplicates(run, _dedup_vectors(corpus, cfg, queries), across_groups=False)
    for d in run.draws:
        for g in d.groups:
            # upair (own_figure=kept): the query is a figure like any other, as in the reference
            assert cfg.options.own_figure == "kept" or d.query.id not in {c.id for c in g.kept}
            if g.deduplicated:
                # size met when enough distinct candidates exist, else the shortfall is reported
                assert len(g.kept) == min(g.spec.size, g.merged - len(g.dropped) - g.excluded)
                assert g.shortfall == g.spec.size - len(g.kept)
            for drop in g.dropped:
                assert drop.of in {c.id for c in g.kept} | {c.id for c in d.cited}
    for d in run.draws:  # cited figures: of cited patents, at most 5 after dedup, never drawn again by a group
        assert all(c.patent in demo_citations.get(d.query.patent, ()) for c in d.cited)
        assert len(d.cited) <= cfg.cited_sample_size or d.cited_found <= cfg.dedup_min
        for g in d.groups:
            if g.deduplicated:
                assert not {c.id for c in g.kept} & {c.id for c in d.cited}
    short = [g for d in run.draws for g in d.groups if g.name == "easy_negative"]
    assert all(g.shortfall > 0 for g in short)  # 80 negatives cannot be met from a 3 % band of 359 figures


@pytest.mark.slow
def test_strict_method_deduplicates_across_groups(demo):
    corpus, cfg, queries = demo
    run = sample_pools(corpus, queries[:6], cfg, seed=1, method="strict", show_bar=False)
    _check_no_duplicates(run, _dedup_vectors(corpus, cfg, queries), across_groups=True)
    for d in run.draws:
        ids = [c.id for g in d.groups for c in g.kept]
        assert len(ids) == len(set(ids))


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_pools(demo, demo_run, demo_citations, tmp_path):
    corpus, cfg, queries = demo
    again = sample_pools(corpus, queries, cfg, seed=1, citations=demo_citations, show_bar=False)
    other = sample_pools(corpus, queries, cfg, seed=2, citations=demo_citations, show_bar=False)
    a, b, c = write_run(demo_run, tmp_path / "a"), write_run(again, tmp_path / "b"), write_run(other, tmp_path / "c")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files if f.parts[0] == "candidates")


@pytest.mark.slow
def test_written_pool_reads_as_a_upair_corpus(demo, demo_run, tmp_path):
    out = write_run(demo_run, tmp_path / "pools")
    d0 = demo_run.draws[0]
    ref = json.loads((out / "candidates" / d0.section / f"{d0.key}.json").read_text())
    assert set(ref) == {"cited", "easy_positive", "easy_negative", "hard_positive", "hard_negative"}
    rec = next(iter(ref["easy_positive"].values()))
    assert set(rec) == {"id", "key", "patent", "hashcode", "sum_score"}
    pool = load_corpus(f"upair:{out / 'pool'}")
    assert len(pool.benchmark.queries) == len(demo_run.draws)
    assert all("holds no judgements" in w for w in pool.warnings), pool.warnings  # empty qrels: not judged yet
    for d in demo_run.draws:
        want = {c.id for g in d.groups for c in g.kept} | {c.id for c in d.cited}
        assert set(pool.benchmark.candidates[d.query.id]) == want - {d.query.id}
    assert all(pool.benchmark.qrels.get(axis, {}) == {} for axis in ("visual", "semantic", "part_whole"))
    (out / "pool" / "test" / "qrels_visual.txt").write_text(f"{d0.query.id} 0 x 1\n")
    with pytest.raises(ValueError, match="already holds judgements"):
        write_run(demo_run, out)


@pytest.mark.slow
@pytest.mark.shared
def test_query_patents_cited_candidates_are_cited(module_cache, query_patents):
    import random

    corpus = load_corpus(f"query-patents:{query_patents}")
    cfg = load_config(None)
    real, where = find_citations(cfg, corpus)
    assert where.endswith("citations_data.json") and len(real) >= 120
    # In the real file every query patent cites itself, and its one figure is the query: nothing is left.
    patents = sorted({f.patent for f in corpus.figures})
    rng = random.Random(0)
    made_up = {p: rng.sample([x for x in patents if x != p], 8 if i % 2 else 3) for i, p in enumerate(patents)}
    queries = resolve_queries(corpus)[:30]
    own = cfg.options.own_figure == "kept"  # upair: the query's own figure can be cited, as in the reference
    indexed = complete_figures(corpus) if cfg.options.index_figures == "complete" else corpus
    for citations in (real, made_up):
        run = sample_pools(corpus, queries, cfg, seed=3, citations=citations, show_bar=False)
        _check_bands(run)
        _check_no_duplicates(run, _dedup_vectors(corpus, cfg, queries), across_groups=False)
        for d in run.draws:
            cited = set(citations.get(d.query.patent, []))
            in_corpus = [f for f in indexed.figures if f.patent in cited and (own or f.id != d.query.id)]
            assert d.cited_found == len(in_corpus)
            assert all(c.patent in cited for c in d.cited)
            # 3 cited: all kept; 8: deduplicated down to cited_sample_size (real: the query itself)
            want = len(in_corpus) if len(in_corpus) <= cfg.dedup_min else cfg.cited_sample_size
            assert len(d.cited) == want or len(d.cited) + len(d.cited_dropped) == len(in_corpus)
            if citations is real:
                assert {c.id for c in d.cited} <= ({d.query.id} if own else set())
            for g in d.groups:  # under upair, cited figures are never drawn again by a deduplicated group
                if g.deduplicated:
                    assert not {c.id for c in g.kept} & {c.id for c in d.cited}


@pytest.mark.slow
def test_cli_done_when(module_cache, tmp_path, capsys):
    args = ["sample", "--corpus", "demo", "--queries", "demo", "--limit", "6"]
    assert main([*args, "--seed", "1", "--out", str(tmp_path / "A")]) == 0
    assert "pools written" in capsys.readouterr().out
    assert main([*args, "--seed", "1", "--out", str(tmp_path / "B")]) == 0
    assert main([*args, "--seed", "2", "--out", str(tmp_path / "C")]) == 0
    files = sorted(p.relative_to(tmp_path / "A") for p in (tmp_path / "A").rglob("*") if p.is_file())
    same = [(tmp_path / "A" / f).read_bytes() == (tmp_path / "B" / f).read_bytes() for f in files]
    other = sorted(p.relative_to(tmp_path / "C") for p in (tmp_path / "C").rglob("*") if p.is_file())
    assert all(same)
    assert files != other or any((tmp_path / "A" / f).read_bytes() != (tmp_path / "C" / f).read_bytes() for f in files)


@pytest.mark.slow
def test_cli_reference_config_names_each_missing_encoder(module_cache, tmp_path, capsys):
    ref = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "upair" / "src" / "config.yaml"
    if not ref.is_file():
        pytest.skip(f"needs the reference config at {ref}")
    cfg = load_config(ref)
    rc = main(["sample", "--corpus", "demo", "--config", str(ref), "--out", str(tmp_path / "R")])
    out = capsys.readouterr().out
    from core.annotation.sampling import check_encoders

    missing = check_encoders(cfg)
    if not missing:
        pytest.skip("every reference encoder is available here")
    assert rc == 3 and "unavailable" in out
    for spec in {r.encoder for r in cfg.indices}:
        if any(m.startswith(spec) for m in missing):
            assert spec in out and "Fix:" in out
    assert not (tmp_path / "R").exists()  # nothing written


def test_bad_config_is_a_plain_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("indices: {hog: {encoder: hog, field: image}}\ngroups: {positive: {medium: {}}}\n")
    assert main(["sample", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "groups.positive.medium" in capsys.readouterr().err



@pytest.mark.slow
@pytest.mark.parametrize("texts", ["protocol", "reference"])
def test_queries_from_another_corpus_land_where_the_same_figure_does(demo, tmp_path, texts):
    """A query that is not in the collection is encoded (image, title, description, labels) into
    the collection's own spaces: a copy of a collection figure gets that figure's vectors."""
    import shutil

    corpus, cfg, _ = demo
    src = corpus.figures[5]
    d = tmp_path / "queries"
    d.mkdir()
    shutil.copyfile(src.path, d / f"copy{src.path.suffix}")
    (d / "copy.json").write_text(json.dumps({"title": src.title, "fig_desc": src.description,
                                             "component_labels": list(src.labels)}))
    q = resolve_queries(f"folder:{d}")
    assert len(q) == 1 and q[0].path != src.path
    for role in cfg.indices:
        x, qv = _vectors(corpus, q, role, show_bar=False, texts=texts)
        assert float(qv[0] @ x[5]) == pytest.approx(1.0, abs=1e-5), role.name
