"""Synthetic embedding sets for the index benchmark (and tests).

``clustered``: a mixture of Gaussians, the realistic case. ``n_centres`` centres are
drawn uniformly on the unit sphere; cluster sizes follow Dirichlet(2) weights (uneven,
like real figure collections: many drawings of a few common kinds). Each point is
``centre + noise`` re-normalised to unit length, where the noise is anisotropic — in a
fixed random orthonormal basis its per-direction standard deviation decays as
``1/sqrt(i+1)`` (most of the spread in a few dozen directions, like real embeddings'
low intrinsic dimension) — and scaled so that ``E|noise| = spread_k`` with a per-cluster
``spread_k ~ U(0.35, 0.7)``. Typical cosines: ~0.75-0.9 to a same-cluster neighbour,
~0 across clusters.

``uniform``: i.i.d. Gaussian vectors normalised onto the sphere, a stress case with no
structure at all (every approximate index does worst here).

Queries are fresh draws from the same distribution (not rows of the corpus).
"""
from __future__ import annotations

import numpy as np

__all__ = ["clustered", "uniform", "ClusteredSpace"]


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


class ClusteredSpace:
    """One fixed mixture (centres, basis, spreads) from which corpus and queries are drawn."""

    def __init__(self, dim: int = 512, n_centres: int = 1000, seed: int = 0,
                 spread: tuple[float, float] = (0.35, 0.7)) -> None:
        rng = np.random.default_rng(seed)
        self.dim = int(dim)
        self.centres = _normalise(rng.standard_normal((n_centres, dim)).astype(np.float32))
        self.weights = rng.dirichlet(np.full(n_centres, 2.0))
        self.spread = rng.uniform(spread[0], spread[1], size=n_centres).astype(np.float32)
        q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        s = 1.0 / np.sqrt(np.arange(1, dim + 1, dtype=np.float64))
        s /= np.sqrt(np.sum(s**2))  # E|z * s|^2 = 1
        self.transform = (s[:, None] * q.T).astype(np.float32)  # (dim, dim): z @ T

    def sample(self, n: int, seed: int, chunk: int = 65536) -> np.ndarray:
        """``n`` unit vectors (float32, C-contiguous)."""
        rng = np.random.default_rng(seed)
        labels = rng.choice(len(self.centres), size=n, p=self.weights)
        out = np.empty((n, self.dim), dtype=np.float32)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            z = rng.standard_normal((b - a, self.dim), dtype=np.float32)
            lab = labels[a:b]
            x = (z @ self.transform) * self.spread[lab, None]
            x += self.centres[lab]
            out[a:b] = _normalise(x)
        return out


def clustered(n: int, dim: int = 512, n_queries: int = 200, n_centres: int = 1000,
              seed: int = 0, spread: tuple[float, float] = (0.35, 0.7)) -> tuple[np.ndarray, np.ndarray]:
    """(corpus, queries) drawn from one ``ClusteredSpace``."""
    space = ClusteredSpace(dim, n_centres, seed, spread)
    return space.sample(n, seed + 1), space.sample(n_queries, seed + 2)


def uniform(n: int, dim: int = 512, n_queries: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(corpus, queries) uniform on the unit sphere."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 65536):
        b = min(n, a + 65536)
        out[a:b] = _normalise(rng.standard_normal((b - a, dim), dtype=np.float32))
    return out, _normalise(rng.standard_normal((n_queries, dim), dtype=np.float32))
