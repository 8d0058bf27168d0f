"""Search across encoders, the embedding cache and the index cache, on real figures."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import load_corpus
from core.encoders import get_encoder
from core.search import build, get_index, search

pytestmark = pytest.mark.shared


@pytest.fixture
def small_folder(query_patents, tmp_path) -> Path:
    """14 real figures (2 per section A..G) plus a re-saved copy of the first one."""
    root = tmp_path / "figs"
    root.mkdir()
    picked = []
    for section in "ABCDEFG":
        picked += sorted((query_patents / "sections" / section).glob("*/*.png"))[:2]
    for p in picked:
        shutil.copy(p, root / p.name)
    Image.open(picked[0]).convert("L").save(root / "copy_of_first.png", optimize=True)
    assert (root / "copy_of_first.png").read_bytes() != picked[0].read_bytes()
    (root / "ORIGIN.txt").write_text(picked[0].stem)
    return root


@pytest.mark.parametrize("spec", ["hog", "ahdh"])
def test_resaved_duplicate_is_top_neighbour(cache, small_folder, spec):
    corpus = load_corpus(f"folder:{small_folder}")
    first = (small_folder / "ORIGIN.txt").read_text()
    res = search(corpus, first, [spec], k=5)[spec]
    assert not res.error
    assert res.ids[0] == "copy_of_first"
    assert first not in res.ids  # the query itself is excluded
    scores = [n.score for n in res.neighbours]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.99
    assert [n.rank for n in res.neighbours] == [1, 2, 3, 4, 5]
    # querying by the image file (not a corpus id) finds both copies at the top
    by_path = search(corpus, str(small_folder / "copy_of_first.png"), [spec], k=2)[spec]
    assert set(by_path.ids) == {"copy_of_first", first}


def test_k_larger_than_corpus_and_several_encoders(cache, small_folder):
    corpus = load_corpus(f"folder:{small_folder}")
    fid = corpus.figures[3].id
    res = search(corpus, fid, ["hog", "ahdh"], k=500)
    for spec in ("hog", "ahdh"):
        assert len(res[spec].ids) == len(corpus) - 1
        assert fid not in res[spec].ids and len(set(res[spec].ids)) == len(corpus) - 1


def test_matches_brute_force(cache, small_folder):
    corpus = load_corpus(f"folder:{small_folder}")
    idx = get_index(corpus, "hog")
    v = idx.embeddings.vectors
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    q = corpus.figures[5].id
    sims = v @ v[5]
    got = search(corpus, q, ["hog"], k=4)["hog"]
    # same scores as brute force, and each returned id really has its score (ties may swap)
    assert np.allclose([n.score for n in got.neighbours], np.sort(sims)[::-1][1:5], atol=1e-5)
    for n in got.neighbours:
        assert abs(sims[corpus.position[n.id]] - n.score) < 1e-5


def test_unavailable_encoder_reports_reason(cache, small_folder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    corpus = load_corpus(f"folder:{small_folder}")
    missing = f"clip:ViT-B-16:{cache / 'weights' / 'nope.pt'}"
    res = search(corpus, corpus.figures[0].id, ["hog", missing], k=3)
    assert len(res["hog"].ids) == 3
    assert "nope.pt" in res[missing].error and not res[missing].neighbours
    reason = build(corpus, [missing])[missing]
    assert isinstance(reason, str) and "nope.pt" in reason and "Fix:" in reason


def _count_encodes(monkeypatch, spec: str) -> list[int]:
    enc = get_encoder(spec)
    calls: list[int] = []
    original = type(enc).encode_images

    def counting(self, images):
        calls.append(len(images))
        return original(self, images)

    monkeypatch.setattr(type(enc), "encode_images", counting)
    return calls


def test_second_build_encodes_nothing_and_new_figures_only_once(cache, small_folder, monkeypatch):
    calls = _count_encodes(monkeypatch, "hog")
    corpus = load_corpus(f"folder:{small_folder}")
    first = get_index(corpus, "hog").embeddings.vectors.copy()
    assert sum(calls) == len(corpus)
    calls.clear()
    again = get_index(load_corpus(f"folder:{small_folder}"), "hog").embeddings.vectors
    assert calls == [] and np.array_equal(first, again)
    Image.new("RGB", (300, 200), "white").save(small_folder / "zz_new.png")
    grown = load_corpus(f"folder:{small_folder}")
    vec = get_index(grown, "hog").embeddings.vectors
    assert sum(calls) == 1 and len(vec) == len(corpus) + 1
    assert np.array_equal(vec[: len(corpus)], first)


def test_damaged_vector_shard_and_index_are_rebuilt(cache, small_folder, monkeypatch):
    corpus = load_corpus(f"folder:{small_folder}")
    ref = get_index(corpus, "hog")
    ref_ids = search(corpus, corpus.figures[0].id, ["hog"], k=5)["hog"].ids
    shards = list((cache / "vectors").rglob("shard-*.npy"))
    assert shards
    data = bytearray(shards[0].read_bytes())
    data[-20:] = b"\x00" * 20  # flip the tail of the vectors
    shards[0].write_bytes(bytes(data))
    index_file = next((cache / "indices").rglob("index.faiss"))
    index_file.write_bytes(index_file.read_bytes()[:100])  # truncate
    calls = _count_encodes(monkeypatch, "hog")
    rebuilt = get_index(load_corpus(f"folder:{small_folder}"), "hog")
    assert sum(calls) > 0
    assert np.allclose(rebuilt.embeddings.vectors, ref.embeddings.vectors, atol=1e-6)
    assert search(corpus, corpus.figures[0].id, ["hog"], k=5)["hog"].ids == ref_ids
    assert index_file.stat().st_size > 100


def test_search_uses_given_indices_and_decodes_the_query_once(cache, small_folder, monkeypatch):
    import core.search as cs

    corpus = load_corpus(f"folder:{small_folder}")
    loaded = {s: get_index(corpus, s) for s in ("hog", "ahdh")}
    expected = search(corpus, str(small_folder / "copy_of_first.png"), ["hog", "ahdh"], k=4)
    opened = []
    real_open = cs.open_image
    monkeypatch.setattr(cs, "open_image", lambda src, *a, **kw: opened.append(src) or real_open(src, *a, **kw))
    monkeypatch.setattr(cs, "get_index", lambda *a, **kw: (_ for _ in ()).throw(AssertionError("reloaded")))
    got = search(corpus, str(small_folder / "copy_of_first.png"), ["hog", "ahdh"], k=4, indices=loaded)
    assert {s: r.ids for s, r in got.items()} == {s: r.ids for s, r in expected.items()}
    assert len(opened) == 1
