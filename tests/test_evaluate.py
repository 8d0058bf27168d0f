"""End-to-end evaluation: UPAIR samples with a tiny CLIP and hog; the demo benchmark."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import evaluation as ev
from core import metrics
from core.corpora import AXES, load_corpus
from core.corpora.base import Corpus


@pytest.fixture
def samples(upair_samples):
    return load_corpus(f"upair:{upair_samples}")


@pytest.fixture
def clip_spec(tiny_clip_arch, tiny_clip_checkpoint):
    return f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}"


def check_run_file(path: Path, corpus: Corpus) -> None:
    """Valid TREC run: 6 fields, Q0, ranks 1..n per query, scores descending, real candidates."""
    by_q: dict[str, list[tuple[int, float, str]]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        assert len(parts) == 6, line
        qid, q0, doc, rank, score, tag = parts
        assert q0 == "Q0" and tag
        by_q.setdefault(qid, []).append((int(rank), float(score), doc))
    assert set(by_q) == set(corpus.benchmark.queries)
    for qid, rows in by_q.items():
        assert [r for r, _, _ in rows] == list(range(1, len(rows) + 1))
        scores = [s for _, s, _ in rows]
        assert scores == sorted(scores, reverse=True)
        assert sorted(d for _, _, d in rows) == sorted(corpus.candidates_for(qid))


@pytest.mark.shared
@pytest.mark.slow
def test_upair_samples_end_to_end(cache, samples, clip_spec, tmp_path):
    import ir_measures

    out = tmp_path / "runs"
    t0 = time.perf_counter()
    res = ev.evaluate(samples, [clip_spec, "hog"], out_dir=out)
    first = time.perf_counter() - t0
    assert res.skipped == []
    expected_runs = {(clip_spec, r) for r in ev.DEFAULT_RUNS} | {("hog", r) for r in ev.DEFAULT_RUNS}
    assert set(res.run_files) == expected_runs
    for path in res.run_files.values():
        check_run_file(path, samples)

    # tidy table: three axes, the four default metrics, values in [0, 1]
    assert list(res.table.columns) == ["encoder", "run", "axis", "metric", "value"]
    assert set(res.table["axis"]) == set(AXES)
    assert set(res.table["metric"]) == set(metrics.DEFAULT_MEASURES)
    assert res.table["value"].between(0, 1).all()
    assert len(res.table) == len(expected_runs) * 3 * 4
    # per-query rows for every query, axis, metric and run
    pq = res.per_query
    assert list(pq.columns) == ["encoder", "run", "axis", "metric", "qid", "value"]
    counts = pq.groupby(["encoder", "run", "axis", "metric"])["qid"].nunique()
    assert (counts == len(samples.benchmark.queries)).all() and len(counts) == len(res.table)
    assert set(pq["qid"]) == set(samples.benchmark.queries)
    assert pq["value"].between(0, 1).all()
    # the table is the mean of the per-query values
    means = pq.groupby(["encoder", "run", "axis", "metric"])["value"].mean()
    for row in res.table.itertuples():
        assert row.value == pytest.approx(means[(row.encoder, row.run, row.axis, row.metric)])
    assert res.pivot("visual").shape == (len(expected_runs), 4)

    # trec_eval (pytrec_eval) on the written run and qrels files gives the same numbers
    prov = ir_measures.providers.registry["pytrec_eval"]
    measures = [ir_measures.parse_measure(m) for m in metrics.DEFAULT_MEASURES]
    for (enc, run), path in res.run_files.items():
        for axis in AXES:
            qrels = ir_measures.read_trec_qrels(str(out / f"qrels_{axis}.txt"))
            ref = {(str(m.measure), m.query_id): m.value
                   for m in prov.iter_calc(measures, qrels, ir_measures.read_trec_run(str(path)))}
            sub = pq[(pq.encoder == enc) & (pq.run == run) & (pq.axis == axis)]
            for r in sub.itertuples():
                assert r.value == pytest.approx(ref[(r.metric, r.qid)], abs=1e-9)
    assert (out / "results.csv").is_file() and (out / "per_query.csv").is_file()
    assert len(pd.read_csv(out / "results.csv")) == len(res.table)

    # results are cached on disk under cache/eval (written by a writer thread; flush waits for it)
    ev.RESULT_CACHE.flush()
    assert list((cache / "eval").glob("*.json"))

    # second call: cache hit, fast and identical
    t0 = time.perf_counter()
    again = ev.evaluate(samples, [clip_spec, "hog"])
    second = time.perf_counter() - t0
    assert second < max(0.5, first / 3)
    pd.testing.assert_frame_equal(again.table, res.table)
    pd.testing.assert_frame_equal(again.per_query, res.per_query)

    # a fresh process (new corpus object, empty in-memory memo) reads the disk cache
    ev.RESULT_CACHE.clear()
    fresh = load_corpus(samples.name)
    t0 = time.perf_counter()
    from_disk = ev.evaluate(fresh, [clip_spec, "hog"])
    assert time.perf_counter() - t0 < max(1.0, first / 2)
    pd.testing.assert_frame_equal(from_disk.per_query, res.per_query)


@pytest.mark.shared
def test_weight_change_never_re_encodes(cache, samples, monkeypatch):
    from core.encoders import get_encoder

    base = ev.evaluate(samples, ["hog"], fusion_weight=1.0)

    def boom(*a, **k):
        raise AssertionError("re-encoded")

    for spec in ("hog", "tfidf"):
        enc = get_encoder(spec)
        monkeypatch.setattr(type(enc), "encode_images", boom, raising=False)
        monkeypatch.setattr(type(enc), "encode_texts", boom, raising=False)
    for weight in (0.0, 0.5, 2.0):
        res = ev.evaluate(load_corpus(samples.name), ["hog"], fusion_weight=weight)
        assert res.fusion_weight == weight
        img = lambda r: r.per_query[r.per_query.run == "image"].reset_index(drop=True)  # noqa: E731
        pd.testing.assert_frame_equal(img(res), img(base))
    s1 = ev.run_scores(samples, "hog", "image+desc", 0.0)
    s2 = ev.run_scores(samples, "hog", "image", 1.0)
    assert set(s1) == set(s2) == set(samples.benchmark.queries)


@pytest.mark.shared
def test_run_scores_and_fusion_on_corpus(cache, samples):
    img = ev.run_scores(samples, "hog", "image")
    for q in samples.benchmark.queries:
        assert set(img[q]) == set(samples.candidates_for(q))
        assert all(-1.0 - 1e-6 <= s <= 1.0 + 1e-6 for s in img[q].values())
    txt = ev.run_scores(samples, "tfidf", "desc")
    fused = ev.run_scores(samples, "hog", "image+desc", 0.7)
    for q in samples.benchmark.queries:
        expect = ev.fuse(img[q], txt[q], 0.7)
        assert fused[q] == pytest.approx(expect, abs=1e-7)
    with pytest.raises(ValueError, match="text-only"):
        ev.run_scores(samples, "tfidf", "image")
    with pytest.raises(ValueError, match="unknown run"):
        ev.run_scores(samples, "hog", "image+title")


@pytest.mark.shared
def test_unavailable_encoder_and_impossible_runs_are_skipped(cache, samples):
    res = ev.evaluate(samples, ["clip:NoSuchArch-XYZ:nothing", "hog", "tfidf"],
                      runs=("image", "desc"), metrics=("AP",))
    reasons = dict(res.skipped)
    assert "clip:NoSuchArch-XYZ:nothing" in reasons
    assert "hog" in reasons and "desc" in reasons["hog"]  # hog has no text tower
    assert set(zip(res.table.encoder, res.table.run)) == {("hog", "image"), ("tfidf", "desc")}
    only_image_text = ev.evaluate(samples, ["tfidf"], runs=("image",), metrics=("AP",))
    assert only_image_text.table.empty and only_image_text.skipped[0][0] == "tfidf"


def test_corpus_without_benchmark_is_a_clear_error(cache, tmp_path):
    corpus = Corpus(name="folder:x", kind="folder", root=tmp_path, figures=())
    with pytest.raises(ValueError, match="no benchmark"):
        ev.evaluate(corpus, ["hog"])


@pytest.mark.shared
def test_bad_arguments(cache, samples):
    with pytest.raises(ValueError, match="unknown run"):
        ev.evaluate(samples, ["hog"], runs=("image", "sketch"))
    with pytest.raises(ValueError, match="unknown measure"):
        ev.evaluate(samples, ["hog"], metrics=("MAPPP",))


@pytest.mark.shared
def test_extra_measures_and_significance_cache(cache, samples):
    res = ev.evaluate(samples, ["hog", "ahdh"], runs=("image",), metrics=("AP", "P@1", "Bpref"))
    assert set(res.table.metric) == {"AP", "P@1", "Bpref"}
    sig = res.significance(metric="AP", test="randomization", n_permutations=500)
    again = res.significance(metric="AP", test="randomization", n_permutations=500)
    pd.testing.assert_frame_equal(sig.reset_index(drop=True), again.reset_index(drop=True), check_dtype=False)
    ev.RESULT_CACHE.flush()
    assert list((cache / "eval").glob("sig-*.json"))
    assert len(sig) == 3  # best vs the other system on three axes


@pytest.mark.shared
def test_cli_evaluate(cache, upair_samples, tmp_path, capsys):
    from core.cli import main

    out = tmp_path / "cli"
    rc = main(["evaluate", "--corpus", f"upair:{upair_samples}", "--encoders", "hog",
               "--runs", "image,image+labels", "--weight", "0.5", "--out", str(out), "--significance", "t"])
    text = capsys.readouterr().out
    assert rc == 0
    for axis in AXES:
        assert f"== {axis}" in text
    assert "MAP" in text and "nDCG@10" in text and "MRR" in text and "Recall@1" in text
    assert (out / "hog.image.run").is_file() and (out / "hog.image+labels.run").is_file()
    assert (out / "results.csv").is_file() and (out / "qrels_visual.txt").is_file()


# --------------------------------------------------------------------------- demo
@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory):
    """The demo benchmark, generated and encoded once for the module in its own cache
    (UPAIR_CACHE stays set while the module's tests that use it run)."""
    pytest.importorskip("core.corpora.demo", reason="the demo corpus (core/corpora/demo.py) is not there yet")
    mp = pytest.MonkeyPatch()
    mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("demo_cache")))
    try:
        yield load_corpus("demo")
    finally:
        mp.undo()


@pytest.mark.slow
def test_training_free_encoders_beat_random_on_demo(demo_corpus):
    corpus = demo_corpus
    assert corpus.benchmark is not None and "visual" in corpus.benchmark.qrels
    res = ev.evaluate(corpus, ["hog", "ahdh"], runs=("image",), metrics=("AP",))
    assert res.skipped == []
    qrels = corpus.benchmark.qrels["visual"]
    rng = np.random.default_rng(12345)
    random_aps = []
    for _ in range(5):  # a seeded random ranking of the same candidate lists
        run = {q: {d: float(rng.random()) for d in corpus.candidates_for(q)} for q in corpus.benchmark.queries}
        random_aps.append(metrics.mean(metrics.compute(run, qrels, ["AP"]))["AP"])
    random_ap = float(np.mean(random_aps))
    visual = res.table[(res.table.axis == "visual") & (res.table.metric == "AP")].set_index("encoder")["value"]
    for enc in ("hog", "ahdh"):
        assert visual[enc] > random_ap + 0.1, (enc, visual[enc], random_ap)
