"""The automatic index choice: what it picks at its boundaries, and that it finds what brute
force (numpy) finds; the streamed build and the 10M benchmark's streamed exact search."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench.data import ClusteredSpace
from core import index as ix
from core.embed import Embeddings


def _emb(x: np.ndarray, key: str = "choice") -> Embeddings:
    return Embeddings("synthetic", "image", key, tuple(f"f{i}" for i in range(len(x))), x)


def _brute(x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = q.astype(np.float64) @ x.astype(np.float64).T
    rows = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, rows, axis=1), rows


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / truth.shape[1] for f, t in zip(found, truth)]))


@pytest.fixture(scope="module")
def clustered():
    space = ClusteredSpace(dim=64, n_centres=200, seed=3)
    return space.sample(20_000, seed=4), space.sample(100, seed=5)


def test_budget_boundary_is_strictly_greater(monkeypatch):
    """Equal to the budget stays uncompressed; one byte over compresses."""
    monkeypatch.delenv(ix.INDEX_ENV, raising=False)
    n, d = 1_000_000, 512
    whole = ix.auto_ivf(n, d).touched_bytes(n, d)
    # 4-bit codes (d / 2 sub-quantizers: d / 4 bytes) + ids + fp16 re-scoring codes + centroids
    # + the 16-centroid codebooks, nothing else
    assert whole == n * (d // 4 + 8 + 2 * d) + 4000 * d * 4 + 16 * d * 4
    monkeypatch.setattr(ix, "budget_bytes", lambda: whole)
    spec = ix.choose_index(n, "auto", d)
    assert spec.kind == "ivf" and spec.param_dict["fs"] == d // 2 and spec.param_dict["fp16"] == 1
    monkeypatch.setattr(ix, "budget_bytes", lambda: whole - 1)
    spec = ix.choose_index(n, "auto", d)
    assert spec.kind == "ivfpq" and spec.param_dict["sq8"] == 1
    assert spec.touched_bytes(n, d) == spec.memory_bytes(n, d) < whole  # still no float vector read


def test_exact_limit_boundary_and_defaults(monkeypatch):
    monkeypatch.delenv(ix.INDEX_ENV, raising=False)
    assert ix.choose_index(ix.EXACT_MAX, "auto", 512).kind == "flat"
    assert ix.choose_index(ix.EXACT_MAX + 1, "auto", 512).describe().startswith("ivf(")
    p = ix.choose_index(1_000_000, "auto", 512).param_dict
    assert (p["nlist"], p["nprobe"], p["fs"], p["rerank"], p["fp16"]) == (4000, 64, 256, ix.AUTO_RERANK, 1)
    # an odd dimension has no even split into sub-quantizers: half-precision lists, no re-scoring
    odd = ix.choose_index(1_000_000, "auto", 511).param_dict
    assert "fs" not in odd and "rerank" not in odd and odd["fp16"] == 1
    # nprobe boundary: max(48, nlist // 62) -- 3037 lists still probe 48, 3038 probe 49
    for nlist, nprobe in ((3037, 48), (3038, 49)):
        n_at = next(m for m in range(int((nlist / 4) ** 2) - 2, int((nlist / 4) ** 2) + 3000)
                    if ix.ivf_params(m)[0][1] == nlist)
        assert ix.auto_ivf(n_at).param_dict["nprobe"] == nprobe
    # the default budget (8192 MB): 10M x 512-d half-precision IVF (10.3 GB) is compressed
    assert ix.choose_index(10_000_000, "auto", 512).param_dict.get("sq8") == 1
    assert ix.choose_index(10_000_000, "ivf", 512).param_dict["nlist"] == ix.IVF_MAX_LISTS
    assert "fp16" not in ix.choose_index(1_000_000, "ivf", 512).param_dict  # on request: float32 lists


def test_rerank_depth_grows_with_the_corpus(monkeypatch):
    """IVF-PQ re-scores 10 x k candidates up to 1M vectors, 10 per million above (10M: 100, the
    measured knee), capped at 200; boundaries on both sides of 1M and of the cap."""
    monkeypatch.delenv(ix.INDEX_ENV, raising=False)
    want = {0: 10, 1024: 10, 1_000_000: 10, 1_049_999: 10, 1_950_000: 20, 10_000_000: 100,
            19_949_999: 199, 19_950_000: 200, 20_000_000: 200, 50_000_000: 200}
    assert {n: ix.rerank_factor(n) for n in want} == want
    assert ix.choose_index(10_000_000, "auto", 512).param_dict["rerank"] == 100
    assert ix.choose_index(2_000_000, "ivfpq", 512).param_dict["rerank"] == 20


def test_auto_choice_matches_brute_force(cache, monkeypatch, clustered):
    x, q = clustered
    monkeypatch.setattr(ix, "EXACT_MAX", 5_000)
    monkeypatch.delenv(ix.INDEX_ENV, raising=False)
    vi = ix.build_index(_emb(x))
    assert vi.spec.kind == "ivf" and vi.spec.param_dict["fs"] == 32 and vi.spec.param_dict["fp16"] == 1
    scores, rows = vi.search(q, 10)
    exact_s, truth = _brute(x, q, 10)
    assert _recall(rows, truth) >= 0.99
    # scores are cosines to within half-precision rounding of the stored vectors
    np.testing.assert_allclose(scores, np.take_along_axis(q.astype(np.float64) @ x.T.astype(np.float64), rows, 1),
                               atol=2e-3)
    manifest = json.loads(ix.index_paths(_emb(x))[1].read_text())
    assert manifest["touched_bytes"] == manifest["memory_bytes"] < x.nbytes  # whole, and smaller than the floats
    again = ix.build_index(_emb(x))
    assert again.source in ("mmap", "read") and np.array_equal(again.search(q, 10)[1], rows)


def test_beyond_budget_recall_against_brute_force(cache, monkeypatch, clustered):
    x, q = clustered[0][:8_000], clustered[1]  # small: product quantizers train slowly
    monkeypatch.setattr(ix, "EXACT_MAX", 5_000)
    monkeypatch.setattr(ix, "budget_bytes", lambda: 1)
    vi = ix.build_index(_emb(x, "tight"))
    assert vi.spec.kind == "ivfpq" and vi.spec.param_dict["sq8"] == 1
    monkeypatch.setattr(ix, "exact_search", None)  # the float vectors are not read
    _, rows = vi.search(q, 10)
    assert _recall(rows, _brute(x, q, 10)[1]) >= 0.9


def test_streamed_build_from_a_memory_map_equals_the_in_ram_build(cache, monkeypatch, tmp_path, clustered):
    x, q = clustered
    path = tmp_path / "v.npy"
    np.save(path, x[:6000])
    mm = np.load(path, mmap_mode="r")
    added = []
    monkeypatch.setattr(ix, "ADD_CHUNK", 1000)  # six add calls of 1000 rows
    real = ix._make

    def spy(spec, vectors):
        index = real(spec, vectors)
        added.append(index.ntotal)
        return index

    monkeypatch.setattr(ix, "_make", spy)
    a = ix.build_index(_emb(mm, "mm"), "ivf").search(q, 10)
    b = ix.build_index(_emb(np.array(x[:6000]), "ram"), "ivf").search(q, 10)
    assert added == [6000, 6000] and np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


def test_streamed_exact_search_equals_brute_force():
    from bench.index10m import streamed_exact

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5003, 16)).astype(np.float32)
    q = rng.standard_normal((7, 16)).astype(np.float32)
    got = streamed_exact(x, q, 10, chunk=998)  # chunks that do not divide n
    assert np.array_equal(got, _brute(x, q, 10)[1])


def test_10m_chunks_are_reproducible_one_by_one():
    from bench.index10m import chunk_vectors

    class Space:  # the attributes chunk_vectors reads from a DescriptorSpace
        rng = np.random.default_rng(1)
        centre_scale = rng.standard_normal((5, 15)).astype(np.float32)
        centre_mean = np.zeros(15, np.float32)
        offset = np.ones(15, np.float32)
        residuals = rng.standard_normal((40, 15)).astype(np.float32) * 0.1

        def _finish(self, x):
            return x / np.linalg.norm(x, axis=1, keepdims=True)

    a, qa = chunk_vectors(Space(), 3, 80)
    b, qb = chunk_vectors(Space(), 3, 80)
    c, _ = chunk_vectors(Space(), 4, 80)
    assert a.shape == (80, 15) and qa.shape == (1, 15)
    assert np.array_equal(a, b) and np.array_equal(qa, qb) and not np.array_equal(a, c)
    assert not (a == qa).all(axis=1).any()  # the held-out query is not a corpus row
