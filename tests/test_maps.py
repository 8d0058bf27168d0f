"""2-D maps (core.maps): UMAP layout, on-disk cache, tiny inputs, query placement."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core import maps
from core.embed import Embeddings
from core.maps import MapParams

ROOT = Path(__file__).resolve().parent.parent
N_PER, DIM = 60, 32


def _emb(x: np.ndarray, key: str, what: str = "image") -> Embeddings:
    x = np.asarray(x, dtype=np.float32)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    return Embeddings(spec="synthetic", what=what, key=key, ids=tuple(f"f{i}" for i in range(len(x))),
                      vectors=np.ascontiguousarray(x, dtype=np.float32))


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3 well separated Gaussian clusters of 60 points in 32-d: (vectors, labels, centres)."""
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(3, DIM)) * 3.0
    x = np.concatenate([c + rng.normal(size=(N_PER, DIM)) * 0.3 for c in centres])
    labels = np.repeat(np.arange(3), N_PER)
    return x.astype(np.float32), labels, centres


@pytest.fixture
def no_umap(monkeypatch):
    """Any attempt to run (or even import) umap fails the test."""
    def boom(*a, **k):
        raise AssertionError("umap was called")

    monkeypatch.setattr(maps, "_umap_layout", boom)
    monkeypatch.setitem(sys.modules, "umap", None)  # `import umap` → ImportError


def _separated(xy: np.ndarray, labels: np.ndarray) -> None:
    cents = np.stack([xy[labels == c].mean(axis=0) for c in range(3)])
    inter = min(np.linalg.norm(cents[a] - cents[b]) for a in range(3) for b in range(a + 1, 3))
    for c in range(3):
        intra = np.linalg.norm(xy[labels == c] - cents[c], axis=1).mean()
        assert intra < 0.5 * inter, (c, intra, inter)
    # every point's nearest other point (in 2-D) is from its own cluster
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).all()


def test_import_does_not_load_umap():
    code = ("import os, sys, core.maps; "
            "assert 'umap' not in sys.modules and 'numba' not in sys.modules, 'heavy import'; "
            "assert 'NUMBA_NUM_THREADS' not in os.environ, 'env changed at import'")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_map_separates_clusters_and_is_cached(cache, blobs, monkeypatch):
    x, labels, _ = blobs
    emb = _emb(x, "blobs-A")
    assert not maps.cached_map_exists(emb)
    omp = os.environ.get("OMP_NUM_THREADS")
    calls = []
    xy = maps.map_coords(emb, progress=lambda d, t, m: calls.append((d, t, m)))
    assert xy.shape == (len(x), 2) and xy.dtype == np.float32
    assert np.isfinite(xy).all()
    assert np.abs(xy).max() <= 1.0 + 1e-6 and np.isclose(np.abs(xy).max(), 1.0)
    _separated(xy, labels)
    assert calls and calls[-1][:2] == (1, 1)
    # numba kept within the cores; OpenMP (faiss/torch) untouched
    import numba

    assert 1 <= numba.config.NUMBA_NUM_THREADS <= (os.cpu_count() or 1)
    assert os.environ.get("OMP_NUM_THREADS") == omp

    path = maps.map_cache_path(emb)
    assert path.parent == cache / "maps" and path.exists() and Path(str(path) + ".json").exists()
    assert maps.cached_map_exists(emb)
    assert not maps.cached_map_exists(emb, MapParams(seed=1))

    # second call: straight from the cache, umap neither imported nor called
    def boom(*a, **k):
        raise AssertionError("umap was called")

    monkeypatch.setattr(maps, "_umap_layout", boom)
    monkeypatch.setitem(sys.modules, "umap", None)
    calls.clear()
    t0 = time.perf_counter()
    again = maps.map_coords(emb, progress=lambda d, t, m: calls.append(m))
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5, elapsed
    assert np.array_equal(again, xy) and not calls


@pytest.mark.slow
def test_damaged_cache_is_recomputed_identically(cache, blobs):
    x, labels, _ = blobs
    emb = _emb(x, "blobs-B")
    params = MapParams(n_neighbors=10, seed=3)
    first = maps.map_coords(emb, params)
    path = maps.map_cache_path(emb, params)
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8  # flip the last coordinates' bytes
    path.write_bytes(bytes(data))
    assert not maps.cached_map_exists(emb, params)
    second = maps.map_coords(emb, params)
    assert np.array_equal(first, second)  # fixed seed → same map
    assert maps.cached_map_exists(emb, params)
    # a removed manifest counts as missing too
    Path(str(path) + ".json").unlink()
    assert not maps.cached_map_exists(emb, params)
    assert np.array_equal(maps.map_coords(emb, params), first)


def test_tiny_inputs_without_umap(cache, blobs, no_umap):
    x, _, _ = blobs
    one = maps.map_coords(_emb(x[:1], "tiny-1"))
    assert one.shape == (1, 2) and np.array_equal(one, np.zeros((1, 2), np.float32))
    three = maps.map_coords(_emb(x[[0, 60, 120]], "tiny-3"))
    assert three.shape == (3, 2) and np.isfinite(three).all()
    assert np.isclose(np.abs(three).max(), 1.0)
    assert len({tuple(r) for r in three.round(4)}) == 3  # distinct points stay distinct
    two_same = maps.map_coords(_emb(np.stack([x[0], x[0]]), "tiny-dup"))
    assert np.array_equal(two_same, np.zeros((2, 2), np.float32))
    empty = Embeddings("synthetic", "image", "empty", (), np.zeros((0, DIM), np.float32))
    assert maps.map_coords(empty).shape == (0, 2)


@pytest.mark.slow
def test_six_points_use_umap(cache, blobs, monkeypatch):
    x, _, _ = blobs
    real, used = maps._umap_layout, []
    monkeypatch.setattr(maps, "_umap_layout", lambda v, p: used.append(len(v)) or real(v, p))
    xy = maps.map_coords(_emb(x[[0, 1, 60, 61, 120, 121]], "tiny-6"))  # n_neighbors capped at 5
    assert used == [6]
    assert xy.shape == (6, 2) and np.isfinite(xy).all()


def test_invalid_params_have_plain_messages(cache, blobs, no_umap):
    emb = _emb(blobs[0][:10], "bad")
    for params, word in [(MapParams(n_neighbors=1), "n_neighbors"), (MapParams(min_dist=-0.5), "min_dist"),
                         (MapParams(metric="nope"), "metric"), (MapParams(seed=-1), "seed")]:
        with pytest.raises(ValueError, match=word):
            maps.map_coords(emb, params)


def test_concurrent_calls_compute_once(cache, blobs, monkeypatch):
    emb = _emb(blobs[0][:20], "concurrent")
    computed = []

    def slow_layout(x, params):
        computed.append(1)
        time.sleep(0.3)
        return maps._normalise(x[:, :2])

    monkeypatch.setattr(maps, "_layout", slow_layout)
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: out.append(maps.map_coords(emb))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(computed) == 1 and len(out) == 2 and np.array_equal(out[0], out[1])


@pytest.mark.slow
def test_place_query(cache, blobs):
    x, labels, centres = blobs
    emb = _emb(x, "blobs-C")
    xy = maps.map_coords(emb)
    # an existing point lands exactly on itself
    for i in (0, 75, 179):
        assert np.array_equal(maps.place_query(emb.vectors[i], emb, xy), xy[i])
    assert np.array_equal(maps.place_query(emb.vectors[5][None, :], emb, xy), xy[5])
    # a new point near cluster A lands inside A's region
    rng = np.random.default_rng(1)
    q = centres[0] + rng.normal(size=DIM) * 0.2
    p = maps.place_query(q / np.linalg.norm(q), emb, xy, k=10)
    assert p.shape == (2,) and p.dtype == np.float32
    cents = np.stack([xy[labels == c].mean(axis=0) for c in range(3)])
    radius_a = np.linalg.norm(xy[labels == 0] - cents[0], axis=1).max()
    assert np.linalg.norm(p - cents[0]) <= radius_a
    assert np.argmin(np.linalg.norm(cents - p, axis=1)) == 0
    with pytest.raises(ValueError, match="dimension"):
        maps.place_query(np.ones(DIM + 1), emb, xy)


def test_place_query_weights(blobs):
    """Closer neighbours weigh more (softmax of similarity / temperature); k=1 → nearest point."""
    x = np.eye(4, dtype=np.float32)
    emb = _emb(x, "axes")
    coords = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], np.float32)
    q = np.array([0.9, 0.3, 0.0, 0.0], np.float32)
    assert np.array_equal(maps.place_query(q, emb, coords, k=1), coords[0])
    p = maps.place_query(q, emb, coords, k=2)
    assert p[0] > p[1] > 0 and np.isclose(p.sum(), 1.0, atol=1e-5)


@pytest.mark.slow
def test_joint_coords(cache, blobs, monkeypatch):
    x, labels, _ = blobs
    rng = np.random.default_rng(2)
    image = _emb(x, "joint-img")
    text = _emb(x[::2] + rng.normal(size=x[::2].shape).astype(np.float32) * 0.2, "joint-txt", what="desc")
    img_xy, txt_xy = maps.joint_coords(image, text, MapParams())
    assert img_xy.shape == (len(x), 2) and txt_xy.shape == (len(x[::2]), 2)
    both = np.concatenate([img_xy, txt_xy])
    assert np.isfinite(both).all() and np.isclose(np.abs(both).max(), 1.0)
    _separated(both, np.concatenate([labels, labels[::2]]))
    # cached under both keys: the second call does not run umap
    monkeypatch.setattr(maps, "_umap_layout", lambda *a, **k: (_ for _ in ()).throw(AssertionError("umap")))
    again = maps.joint_coords(image, text, MapParams())
    assert np.array_equal(again[0], img_xy) and np.array_equal(again[1], txt_xy)
    with pytest.raises(ValueError, match="dimension"):
        maps.joint_coords(image, _emb(x[:, :16], "other-space"), MapParams())


def test_estimate_seconds(monkeypatch, cache):  # an empty cache: no measured fits, the constants
    assert maps.estimate_seconds(1) < 1
    monkeypatch.setattr(maps, "_fitted_once", True)  # JIT warm: per-point cost only
    big, small = maps.estimate_seconds(20_000), maps.estimate_seconds(1_000)
    assert big > small > 0
    assert 5 <= big - small <= 15  # ~0.45 ms per point above 10k, ~1 ms below (measured by make bench)
    monkeypatch.setattr(maps, "_fitted_once", False)  # a fresh process also pays the JIT once
    assert maps.estimate_seconds(20_000) - big >= maps._JIT_S + maps._NNDESCENT_JIT_S
