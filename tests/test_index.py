"""core.index: the automatic index choice, correctness of every kind, and the index cache."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from bench.data import ClusteredSpace
from core import index as ix
from core.embed import Embeddings


def _emb(vectors: np.ndarray, key: str = "test-emb") -> Embeddings:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return Embeddings(spec="synthetic", what="image", key=key,
                      ids=tuple(f"f{i:06d}" for i in range(len(vectors))), vectors=vectors)


def _unit(rng, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = queries @ vectors.T
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


@pytest.fixture(scope="module")
def clustered_20k():
    """20k x 64 unit vectors in clusters (same generator as the benchmark) + 100 fresh queries."""
    space = ClusteredSpace(dim=64, n_centres=200, seed=3)
    return space.sample(20_000, seed=4), space.sample(100, seed=5)


# ----------------------------------------------------------------------------- choice
def test_choice_by_size_and_dimension(monkeypatch):
    monkeypatch.delenv(ix.INDEX_ENV, raising=False)
    assert ix.choose_index(ix.EXACT_MAX).kind == "flat"
    assert ix.choose_index(ix.EXACT_MAX + 1).kind == "ivf"
    # high-dimensional vectors switch earlier (flat search costs n x dim)
    assert ix.choose_index(ix.EXACT_MAX, dim=4094).kind == "ivf"
    assert ix.choose_index(ix.EXACT_MAX // 8, dim=4094).kind == "flat"
    p = ix.choose_index(1_000_000).param_dict
    assert p["nlist"] == 4000 and 16 <= p["nprobe"] <= 64 and p["train"] >= 39 * p["nlist"]
    for n in (1, 10, 100, 5000):  # IVF forced on tiny sets stays valid
        q = ix.choose_index(n, "ivf").param_dict
        assert 1 <= q["nprobe"] <= q["nlist"] <= max(1, n) and q["train"] <= n


def test_kind_override_by_argument_and_environment(monkeypatch):
    monkeypatch.setenv(ix.INDEX_ENV, "hnsw")
    assert ix.choose_index(10).kind == "hnsw"
    assert ix.choose_index(10, "flat").kind == "flat"  # an explicit kind beats the environment
    monkeypatch.setenv(ix.INDEX_ENV, "bogus")
    with pytest.raises(ValueError, match="UPAIR_INDEX"):
        ix.choose_index(10)
    monkeypatch.delenv(ix.INDEX_ENV)
    with pytest.raises(ValueError, match="unknown index kind"):
        ix.choose_index(10, "lsh")


def test_auto_choice_finds_true_neighbours(cache, monkeypatch, clustered_20k):
    x, q = clustered_20k
    monkeypatch.setattr(ix, "EXACT_MAX", 5_000)
    monkeypatch.delenv(ix.INDEX_ENV, raising=False)
    vi = ix.build_index(_emb(x))
    assert vi.spec.kind == "ivf"
    _, rows = vi.search(q, 10)
    assert _recall(rows, _exact(x, q, 10)) >= 0.95
    # and the cached copy (memory-mapped) answers identically
    again = ix.build_index(_emb(x))
    assert again.source == "mmap"
    assert np.array_equal(again.search(q, 10)[1], rows)


def test_flat_is_exact(cache):
    rng = np.random.default_rng(0)
    x, q = _unit(rng, 3000, 32), _unit(rng, 20, 32)
    vi = ix.build_index(_emb(x), "flat")
    scores, rows = vi.search(q, 15)
    assert np.array_equal(rows, _exact(x, q, 15))
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, rows, axis=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_k_larger_than_corpus(cache, kind):
    rng = np.random.default_rng(1)
    x = _unit(rng, 7, 16)
    vi = ix.build_index(_emb(x), kind)
    scores, rows = vi.search(x[2], 50)
    assert rows.shape == (1, 7) and sorted(rows[0].tolist()) == list(range(7))
    assert rows[0, 0] == 2 and np.all(np.diff(scores[0]) <= 1e-6)
    pairs = vi.neighbours(x[2], 50, exclude={"f000002"})
    assert [fid for fid, _ in pairs] == [f"f{r:06d}" for r in rows[0, 1:]]


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_no_minus_one_ids(cache, kind):
    """IVF probing few lists (or HNSW with a small beam) may return fewer than k hits;
    those rows are completed exactly, so -1 never reaches callers."""
    rng = np.random.default_rng(2)
    x, q = _unit(rng, 2000, 16), _unit(rng, 5, 16)
    vi = ix.build_index(_emb(x), kind)
    if kind == "ivf":
        vi.index.nprobe = 1  # ~40 vectors per list: most of k=500 cannot be filled
    else:
        vi.index.hnsw.efSearch = 1
    _, raw = vi.index.search(q, 500)
    if kind == "ivf":
        assert (raw < 0).any()  # the situation under test really happens
    scores, rows = vi.search(q, 500)
    assert (rows >= 0).all() and all(len(set(r)) == 500 for r in rows)
    short = (raw < 0).any(axis=1)
    assert np.array_equal(rows[short], _exact(x, q[short], 500))
    assert all(len(vi.neighbours(v, 500)) == 500 for v in q)


# ----------------------------------------------------------------------------- cache
@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_cached_index_reloads_identically_via_mmap(cache, kind):
    rng = np.random.default_rng(3)
    x, q = _unit(rng, 3000, 32), _unit(rng, 30, 32)
    built = ix.build_index(_emb(x), kind)
    assert built.source == "built"
    ref = built.search(q, 10)
    path, man = ix.index_paths(_emb(x), kind)
    manifest = json.loads(man.read_text())
    assert manifest["kind"] == kind and manifest["params"] == built.spec.param_dict
    assert manifest["dim"] == 32 and manifest["n"] == 3000 and manifest["bytes"] == path.stat().st_size

    loaded = ix.build_index(_emb(x), kind)
    assert loaded.source == "mmap"
    got = loaded.search(q, 10)
    assert np.array_equal(got[1], ref[1]) and np.array_equal(got[0], ref[0])
    # the mmap and plain-read paths of read_index agree too
    mm, how = ix.read_index(path, mmap=True)
    plain, how_plain = ix.read_index(path, mmap=False)
    assert (how, how_plain) == ("mmap", "read")
    for other in (mm, plain):
        ix._apply_search_params(other, built.spec)
        assert np.array_equal(other.search(q, 10)[1], ref[1])


def test_falls_back_to_a_plain_read_when_mmap_is_refused(cache, monkeypatch):
    import faiss

    rng = np.random.default_rng(9)
    x, q = _unit(rng, 1500, 16), _unit(rng, 10, 16)
    ref = ix.build_index(_emb(x), "ivf").search(q, 10)
    real = faiss.read_index
    mmap_bits = faiss.IO_FLAG_MMAP_IFC | (faiss.IO_FLAG_MMAP & ~faiss.IO_FLAG_SKIP_IVF_DATA)
    seen = []

    def picky(path, flags=0):
        seen.append(flags)
        if flags & mmap_bits:
            raise RuntimeError("mmap not supported here")
        return real(path, flags)

    monkeypatch.setattr(faiss, "read_index", picky)
    vi = ix.build_index(_emb(x), "ivf")
    assert vi.source == "read" and len(seen) == 3
    assert np.array_equal(vi.search(q, 10)[1], ref[1])


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "delete"])
def test_damaged_index_file_is_rebuilt(cache, caplog, damage):
    rng = np.random.default_rng(4)
    x, q = _unit(rng, 1500, 24), _unit(rng, 10, 24)
    ref = ix.build_index(_emb(x), "ivf").search(q, 10)
    path, _ = ix.index_paths(_emb(x), "ivf")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        b = bytearray(data)
        b[len(b) // 2] ^= 0xFF
        path.write_bytes(bytes(b))
    elif damage == "garbage":
        path.write_bytes(b"\0" * len(data))
    else:
        path.unlink()
    with caplog.at_level(logging.WARNING, logger="core.index"):
        again = ix.build_index(_emb(x), "ivf")
    assert again.source == "built"
    if damage != "delete":
        assert "rebuilding" in caplog.text
    assert np.array_equal(again.search(q, 10)[1], ref[1])
    assert path.read_bytes() == data  # the rebuild is deterministic
    assert ix.build_index(_emb(x), "ivf").source == "mmap"


@pytest.mark.parametrize("field,value", [("params", {"nlist": 3, "nprobe": 1, "train": 100}),
                                         ("dim", 99), ("n", 5), ("kind", "flat"), ("format", 1),
                                         ("key", "someone-else")])
def test_manifest_mismatch_triggers_rebuild(cache, field, value):
    rng = np.random.default_rng(5)
    x = _unit(rng, 1200, 16)
    ix.build_index(_emb(x), "ivf")
    _, man = ix.index_paths(_emb(x), "ivf")
    manifest = json.loads(man.read_text())
    manifest[field] = value
    man.write_text(json.dumps(manifest))
    assert ix.build_index(_emb(x), "ivf").source == "built"
    assert json.loads(man.read_text())[field] != value
    assert ix.build_index(_emb(x), "ivf").source == "mmap"


def test_index_of_other_dimension_under_same_manifest_is_rebuilt(cache):
    """A file that passes the manifest check but holds another dimension is not used."""
    rng = np.random.default_rng(6)
    x8, x16 = _unit(rng, 300, 8), _unit(rng, 300, 16)
    ix.build_index(_emb(x8, key="k8"), "flat")
    ix.build_index(_emb(x16, key="k16"), "flat")
    p8, m8 = ix.index_paths(_emb(x8, key="k8"), "flat")
    p16, m16 = ix.index_paths(_emb(x16, key="k16"), "flat")
    p16.write_bytes(p8.read_bytes())
    manifest = json.loads(m16.read_text())
    manifest["bytes"], manifest["sha256"] = p8.stat().st_size, json.loads(m8.read_text())["sha256"]
    m16.write_text(json.dumps(manifest))
    vi = ix.build_index(_emb(x16, key="k16"), "flat")
    assert vi.source == "built" and vi.index.d == 16


def test_empty_corpus_and_wrong_query_dimension(cache):
    with pytest.raises(ValueError, match="empty"):
        ix.build_index(_emb(np.zeros((0, 8), dtype=np.float32)))
    vi = ix.build_index(_emb(_unit(np.random.default_rng(7), 10, 8)))
    with pytest.raises(ValueError, match="dimension"):
        vi.search(np.ones(9, dtype=np.float32), 3)


def test_exact_search_helper_matches_numpy():
    rng = np.random.default_rng(8)
    x, q = _unit(rng, 50, 8), _unit(rng, 4, 8)
    s, r = ix.exact_search(x, q, 7)
    assert np.array_equal(r, _exact(x, q, 7))
    s_all, r_all = ix.exact_search(x, q, 500)
    assert r_all.shape == (4, 50) and np.all(np.diff(s_all, axis=1) <= 1e-6)
