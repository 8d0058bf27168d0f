"""Maps at scale: fit on a sample, place the rest; density and a bounded set of drawn markers."""
from __future__ import annotations

import numpy as np
import pytest

from core import maps
from core.embed import Embeddings
from core.store import save_array


def _blobs(n: int, d: int = 32, k: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 3
    labels = rng.integers(0, k, n)
    x = (centres[labels] + rng.normal(size=(n, d))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), labels


def _emb(x, key):
    return Embeddings("test", "image", key, tuple(f"f{i}" for i in range(len(x))), x)


def _pca2(x, params):
    """A stand-in for UMAP (deterministic, no 15 s import): the first two principal components."""
    return maps._pca_layout(np.asarray(x, dtype=np.float64))


def test_large_map_is_fitted_on_a_sample_and_the_rest_placed_by_their_neighbours(cache, monkeypatch):
    monkeypatch.setattr(maps, "FIT_MAX", 400)
    fitted = []
    monkeypatch.setattr(maps, "_umap_layout", lambda v, p: fitted.append(len(v)) or _pca2(v, p))
    x, labels = _blobs(3_000)
    xy = maps.map_coords(_emb(x, "big"))
    assert fitted == [400] and xy.shape == (3_000, 2) and np.abs(xy).max() <= 1.0
    rows = np.sort(np.random.default_rng(42).choice(3_000, 400, replace=False))  # the sample (seed 42)
    placed = np.setdiff1d(np.arange(3_000), rows)
    # every placed point lands nearest to the fitted centroid of its own cluster
    centroids = np.stack([xy[rows][labels[rows] == c].mean(axis=0) for c in range(5)])
    nearest = np.argmin(((xy[placed, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == labels[placed]) >= 0.98
    # cached: the second call computes nothing, and the key differs from an all-points fit
    assert np.array_equal(maps.map_coords(_emb(x, "big")), xy) and fitted == [400]
    assert maps.cached_map_exists(_emb(x, "big"))


def test_place_rows_equals_place_query_for_each_point(cache):
    x, _ = _blobs(600, d=16, seed=3)
    anchors, coords = x[:500], np.random.default_rng(0).uniform(-1, 1, (500, 2)).astype(np.float32)
    got = maps.place_rows(x[500:], anchors, coords)
    emb = _emb(anchors, "anchors")
    want = np.stack([maps.place_query(v, emb, coords) for v in x[500:]])
    assert np.allclose(got, want, atol=1e-5)


def test_visible_points_are_bounded_keep_outliers_and_follow_the_box():
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(0, 0.05, (50_000, 2)), [[0.95, -0.95]]]).clip(-1, 1)
    assert len(maps.visible_points(xy[:100], max_points=500)) == 100
    shown = maps.visible_points(xy, max_points=2_000)
    assert len(shown) == 2_000 and len(set(shown)) == 2_000 and 50_000 in shown  # the outlier is drawn
    assert np.array_equal(shown, maps.visible_points(xy, max_points=2_000))  # deterministic
    box = maps.visible_points(xy, max_points=2_000, box=(0.0, 1.0, 0.0, 1.0))
    assert len(box) == 2_000 and (xy[box] >= 0).all()
    small_box = maps.visible_points(xy, max_points=2_000, box=(0.5, 1.0, -1.0, -0.5))
    assert list(small_box) == [50_000]


def test_density_counts_every_point():
    xy = np.array([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0], [0.001, 0.001]])
    counts, centres = maps.density(xy, bins=4)
    assert counts.sum() == 4 and counts.shape == (4, 4) and counts[0, 0] == 1 and counts[3, 3] == 1
    assert counts[2, 2] == 2 and np.allclose(centres, [-0.75, -0.25, 0.25, 0.75])


def test_cached_million_point_map_loads_without_computing(cache, monkeypatch):
    n = 1_000_000
    emb = Embeddings("test", "image", "million", tuple(), np.zeros((n, 1), dtype=np.float32))
    xy = np.random.default_rng(0).uniform(-1, 1, (n, 2)).astype(np.float32)
    save_array(maps.map_cache_path(emb), xy, maps._expect([emb.key], n, 1))
    monkeypatch.setattr(maps, "_layout", lambda *a: pytest.fail("a cached map was recomputed"))
    assert np.array_equal(maps.map_coords(emb), xy)  # the time it takes is measured by make bench


def test_map_widget_draws_density_and_a_bounded_sample_above_max_drawn():
    import pandas as pd

    from pages import map_widgets

    n = maps.MAX_DRAWN + 5_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": [f"f{i}" for i in range(n)], "x": rng.uniform(-1, 1, n), "y": rng.uniform(-1, 1, n),
                          "patent": "—", "section": "?", "title": ""})
    fig = map_widgets.map_figure(None, frame, "CPC section", None, None, None, set())
    assert fig.data[0].type == "heatmap"
    assert np.nansum(np.expm1(np.asarray(fig.data[0].z, dtype=float))) == pytest.approx(n)  # every point counted
    assert sum(len(t.x) for t in fig.data if t.type == "scattergl") == maps.MAX_DRAWN
    small = map_widgets.map_figure(None, frame.iloc[:100], "CPC section", None, None, None, set())
    assert [t.type for t in small.data] == ["scattergl"] and len(small.data[0].x) == 100
