"""Compressed indices: above the memory budget the automatic choice is IVF-PQ re-scored from 8-bit codes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core import index as ix
from core.embed import Embeddings


def _clustered(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, d)).astype(np.float32)
    x = centres[rng.integers(0, 64, n)] + 0.8 * rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _emb(x: np.ndarray, key: str = "k") -> Embeddings:
    return Embeddings("test", "image", key, tuple(f"f{i}" for i in range(len(x))), x)


def test_automatic_choice_compresses_above_the_memory_budget(monkeypatch):
    n = 1_000_000
    assert ix.choose_index(n, dim=512).kind == "ivf"  # 1 GB in half precision: inside the default budget
    monkeypatch.setenv("UPAIR_INDEX_MEMORY_MB", "512")
    spec = ix.choose_index(n, dim=512)
    assert spec.kind == "ivfpq" and spec.param_dict["m"] == 64 and spec.param_dict["sq8"] == 1
    ivf_bytes = ix.auto_ivf(n).touched_bytes(n, 512)
    # whole memory: PQ codes + ids + the 8-bit re-scoring codes; no float vector is read
    assert spec.touched_bytes(n, 512) == spec.memory_bytes(n, 512) < ivf_bytes * 0.6
    exact = ix.choose_index(n, "ivfpq", 512)  # re-scored from the float vectors: they count too
    assert not exact.param_dict.get("sq8") and exact.touched_bytes(n, 512) > n * 512 * 4
    assert ix.choose_index(10_000_000, dim=512).kind == "ivfpq"
    assert ix.choose_index(500, "ivfpq").kind == "flat"  # too few vectors to train codewords


def test_ivfpq_scores_are_exact_cosines_and_recall_is_high(cache, monkeypatch):
    monkeypatch.setenv("UPAIR_INDEX_MEMORY_MB", "1")
    monkeypatch.setattr(ix, "EXACT_MAX", 1_000)
    x = _clustered(6_000, 48)
    emb = _emb(x)
    vi = ix.build_index(emb, "ivfpq")
    assert vi.spec.kind == "ivfpq" and vi.source == "built"
    q = _clustered(100, 48, seed=1)
    scores, rows = vi.search(q, 10)
    # independent exact answer
    sims = q @ x.T
    truth = np.argsort(-sims, axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, truth)])
    assert recall >= 0.9
    assert np.allclose(scores, np.take_along_axis(sims, rows, axis=1), atol=1e-5)  # shown scores are exact
    assert np.all(np.diff(scores, axis=1) <= 1e-7)  # best first
    manifest = json.loads(ix.index_paths(emb, "ivfpq")[1].read_text())
    assert manifest["kind"] == "ivfpq" and manifest["budget_bytes"] == 1 << 20
    assert manifest["memory_bytes"] == vi.spec.memory_bytes(6_000, 48) < x.nbytes
    assert manifest["touched_bytes"] == manifest["memory_bytes"] + x.nbytes
    again = ix.build_index(emb, "ivfpq")
    assert again.source in ("mmap", "read")
    s2, r2 = again.search(q, 10)
    assert np.array_equal(r2, rows) and np.array_equal(s2, scores)


def test_ivfpq_neighbours_exclude_the_query(cache):
    x = _clustered(3_000, 32)
    vi = ix.build_index(_emb(x), "ivfpq")
    pairs = vi.neighbours(x[5], 5, exclude={"f5"})
    assert len(pairs) == 5 and "f5" not in [p[0] for p in pairs]
    assert pairs[0][1] == pytest.approx(float(x[int(pairs[0][0][1:])] @ x[5]), abs=1e-6)


def test_dimension_without_a_code_size_divisor_uses_scalar_codes(cache):
    x = _clustered(3_000, 37)  # 37 is prime: no product-quantizer split near 37 / 8
    vi = ix.build_index(_emb(x, "prime"), "ivfpq")
    assert vi.spec.param_dict["m"] == 0 and vi.spec.memory_bytes(3_000, 37) < x.nbytes
    scores, rows = vi.search(x[:20], 5)
    assert (rows[:, 0] == np.arange(20)).all()
    assert np.allclose(scores, np.take_along_axis(x[:20] @ x.T, rows, axis=1), atol=1e-5)


def test_beyond_the_budget_hits_are_rescored_from_8_bit_codes(cache, monkeypatch):
    import faiss

    monkeypatch.setattr(ix, "budget_bytes", lambda: 1 << 18)  # below the automatic IVF (0.7 MB)
    monkeypatch.setattr(ix, "EXACT_MAX", 1_000)
    x = _clustered(6_000, 48)
    emb = _emb(x, "sq8")
    vi = ix.build_index(emb)
    assert vi.spec.kind == "ivfpq" and vi.spec.param_dict["sq8"] == 1
    q = _clustered(100, 48, seed=1)
    monkeypatch.setattr(ix, "exact_search", None)  # the float vectors are never read (no short rows here)
    scores, rows = vi.search(q, 10)
    sims = q @ x.T  # independent exact answer
    truth = np.argsort(-sims, axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, truth)])
    assert recall >= 0.9
    # 8-bit codes: each of 48 components within (max - min) / 255 / 2 of its value
    assert np.allclose(scores, np.take_along_axis(sims, rows, axis=1), atol=2e-2)
    manifest = json.loads(ix.index_paths(emb)[1].read_text())
    assert manifest["touched_bytes"] == manifest["memory_bytes"] < x.nbytes
    again = ix.build_index(emb)
    assert again.source in ("mmap", "read") and isinstance(faiss.downcast_index(again.index), faiss.IndexRefine)
    s2, r2 = again.search(q, 10)
    assert np.array_equal(r2, rows) and np.allclose(s2, scores)
