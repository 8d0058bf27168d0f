"""Neighbourhood agreement (core.map_agreement) against a brute-force Jaccard: plain Python
cosines (math.fsum, float64), rounded to 6 decimals, ranked with a stable argsort (ties to
the lower row), neighbour sets as Python sets."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from core import map_agreement as ma
from core.embed import Embeddings


def _cos(u, v) -> float:
    nu = math.sqrt(math.fsum(a * a for a in u))
    nv = math.sqrt(math.fsum(b * b for b in v))
    return math.fsum(a * b for a, b in zip(u, v)) / (nu * nv)


def brute_neighbours(x, k: int) -> list[list[int]]:
    rows = [list(map(float, r)) for r in x]
    out = []
    for i, u in enumerate(rows):
        sims = np.array([round(_cos(u, v), 6) if j != i else -np.inf for j, v in enumerate(rows)])
        order = [int(j) for j in np.argsort(-sims, kind="stable") if j != i]
        out.append(order[:k])
    return out


def brute_jaccard(xa, xb, k: int) -> list[float]:
    na, nb = brute_neighbours(xa, k), brute_neighbours(xb, k)
    return [len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(na, nb)]


def _safe(x) -> bool:
    """No cosine of the data lies within 1e-8 of a rounding boundary, so BLAS (float64) and the
    math.fsum brute force round every value the same way (the data is chosen to be safe)."""
    rows = [list(map(float, r)) for r in x]
    for u, v in itertools.combinations(rows, 2):
        f = _cos(u, v) * 1e6
        if abs(f - math.floor(f) - 0.5) < 0.01:
            return False
    return True


def _distinct(x) -> bool:
    """Within every row, no two cosines lie within 2e-6 of each other (no tie, true or rounded)."""
    rows = [list(map(float, r)) for r in x]
    for i, u in enumerate(rows):
        c = sorted(_cos(u, v) for j, v in enumerate(rows) if j != i)
        if min(b - a for a, b in zip(c, c[1:])) < 2e-6:
            return False
    return True


def lattice(seed: int, n: int, dim: int = 3) -> np.ndarray:
    """Small integer vectors: many exactly tied cosines (repeats, multiples, symmetric ones)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(n, dim)).astype(np.float32)
    x[np.abs(x).sum(axis=1) == 0, 0] = 1.0
    return x


def emb(x, key="e", ids=None, excluded=()) -> Embeddings:
    ids = tuple(ids or (f"f{i}" for i in range(len(x))))
    return Embeddings(spec=key, what="image", key=key, ids=ids, vectors=np.asarray(x, dtype=np.float32),
                      excluded=tuple(excluded))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 2, 5, 10, 29])
def test_knn_equals_brute_force_with_ties(seed, k):
    x = lattice(seed, 30)
    assert _safe(x)
    got = ma.knn(x, k)
    assert got.tolist() == brute_neighbours(x, k)


@pytest.mark.parametrize("k", [1, 3, 7, 39])
def test_jaccard_equals_brute_force(k):
    rng = np.random.default_rng(5)
    xa = rng.normal(size=(40, 16)).astype(np.float32)
    xb = xa + 0.6 * rng.normal(size=xa.shape).astype(np.float32)
    xb[:8] = rng.normal(size=(8, 16))  # these eight figures move elsewhere under B
    assert _distinct(xa) and _distinct(xb)
    j, shared = ma.jaccard_rows(ma.knn(xa, k), ma.knn(xb, k))
    expect = brute_jaccard(xa, xb, k)
    assert np.allclose(j, expect, rtol=0, atol=1e-12)
    assert np.array_equal(shared, [round(e * 2 * k / (1 + e)) for e in expect])
    if k == 39:  # every other figure: the encoders cannot disagree
        assert np.all(j == 1.0)


def test_ties_at_the_boundary_go_to_the_lower_row():
    # f0 is the query; f1, f2, f3 are the same direction (tied), f4 is further off
    x = np.array([[1, 0], [1, 1], [2, 2], [3, 3], [0, 1]], dtype=np.float32)
    assert ma.knn(x, 2)[0].tolist() == [1, 2]
    assert ma.knn(x, 3)[0].tolist() == [1, 2, 3]
    # reversing the rows reverses which tied copies are chosen (the rule is by row, not by vector)
    assert ma.knn(x[::-1].copy(), 2)[4].tolist() == [1, 2]  # rows 1, 2 are [3,3], [2,2]
    assert ma.knn(x, 2).tolist() == brute_neighbours(x, 2)


def test_noise_below_the_rounding_is_a_tie():
    x = np.array([[1, 0, 0], [0.6, 0.8, 0], [0.6, 0.8, 1e-4]], dtype=np.float32)
    # cos(f0, f2) = 0.599999997: rounds to 0.6 like cos(f0, f1), so the lower row wins
    assert ma.knn(x, 1)[0].tolist() == [1]
    x2 = x[[0, 2, 1]]
    assert ma.knn(x2, 1)[0].tolist() == [1]


@pytest.mark.parametrize("k, n, msg", [(0, 5, "at least 1"), (5, 5, "at most 4"), (True, 5, "whole number"),
                                       (2.0, 5, "whole number"), (1, 1, "at least two")])
def test_bad_k_and_tiny_inputs_are_refused(k, n, msg):
    with pytest.raises(ValueError, match=msg):
        ma.knn(np.eye(max(n, 1), 3, dtype=np.float32)[:n], k)


def test_agreement_is_cached_aligned_and_skips_unreadable(cache, monkeypatch):
    rng = np.random.default_rng(3)
    xa = rng.normal(size=(25, 6)).astype(np.float32)
    xb = np.roll(xa, 1, axis=1) + 0.3 * rng.normal(size=xa.shape).astype(np.float32)
    xa[4] = 0.0  # f4 unreadable under A
    a, b = emb(xa, "A", excluded=("f4",)), emb(xb, "B")
    res = ma.agreement(a, b, k=5)
    assert np.isnan(res.jaccard[4]) and res.ranked_disagreement()[-1] == 4
    keep = [i for i in range(25) if i != 4]
    expect = brute_jaccard(xa[keep], xb[keep], 5)
    assert np.allclose(res.jaccard[keep], expect, atol=1e-12)
    files = sorted((cache / "maps").glob("knn-*.npy"))
    assert len(files) == 2
    # second call (and any smaller k): straight from the cache, nothing recomputed
    monkeypatch.setattr(ma, "knn", lambda *a, **k: pytest.fail("cached neighbours were recomputed"))
    assert np.array_equal(ma.agreement(a, b, k=5).jaccard, res.jaccard, equal_nan=True)
    assert np.allclose(ma.agreement(a, b, k=3).jaccard[keep], brute_jaccard(xa[keep], xb[keep], 3), atol=1e-12)
    na, nb = ma.neighbours_of(a, b, "f0", k=3)
    ids = [f"f{i}" for i in keep]
    assert na == [ids[j] for j in brute_neighbours(xa[keep], 3)[0]]
    assert nb == [ids[j] for j in brute_neighbours(xb[keep], 3)[0]]
    with pytest.raises(ValueError, match="not embedded by both"):
        ma.neighbours_of(a, b, "f4")


def test_damaged_neighbour_file_is_recomputed(cache):
    x = lattice(7, 20)
    a, b = emb(x, "A"), emb(x[:, ::-1].copy(), "B")
    first = ma.agreement(a, b, k=4).jaccard
    for f in (cache / "maps").glob("knn-*.npy"):
        f.write_bytes(f.read_bytes()[:-8] + b"\0" * 8)
    assert np.array_equal(ma.agreement(a, b, k=4).jaccard, first)


def test_encoders_listing_figures_in_another_order_are_aligned_by_id(cache):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(15, 5)).astype(np.float32)
    perm = rng.permutation(15)
    a = emb(x, "A")
    b = emb(x[perm], "B", ids=[f"f{i}" for i in perm])  # the same space, rows shuffled
    assert np.all(ma.agreement(a, b, k=4).jaccard == 1.0)
