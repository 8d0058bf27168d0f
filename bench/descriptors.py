"""Vectors with the geometry of real drawing descriptors, for the scale benchmark.

Clustered Gaussian vectors are easier than real embeddings: their clusters are far apart
and their spread is isotropic inside a few directions. Real drawing descriptors (HOG,
AHDH) are all positive, so every pair is fairly similar, and the ways one drawing varies
(crop, rotation, line width) follow a few shared directions.

``DescriptorSpace`` measures that geometry on real figures: each base figure (the
query-patent drawings and the demo drawings) is encoded under ``augmentations`` random
crops, small rotations and line-width changes. From those descriptors it keeps, in a
``dim``-d PCA basis of all of them, (a) the distribution of the figures' mean descriptors
(their principal directions and spectrum) and (b) the residuals of single augmented
descriptors around their figure's mean. A synthetic collection is then made of families:
a family centre is drawn from (a), and each member is the centre plus a residual of (b)
taken from a random real figure; vectors are re-normalised. Queries are fresh members of
families already in the collection (another crop of a drawing that is in the corpus).
"""
from __future__ import annotations

import numpy as np

from .common import log


def augment(image, rng: np.random.Generator):
    """One random view of a drawing: a crop keeping 70-100 % of each side, a rotation of
    up to ±8°, and thicker (min filter) or thinner (max filter) lines half the time."""
    from PIL import Image, ImageFilter

    w, h = image.size
    cw, ch = int(w * rng.uniform(0.7, 1.0)), int(h * rng.uniform(0.7, 1.0))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = image.crop((x0, y0, x0 + cw, y0 + ch))
    out = out.rotate(float(rng.uniform(-8, 8)), resample=Image.BILINEAR, expand=True, fillcolor=(255, 255, 255))
    r = rng.random()
    if r < 0.25:
        out = out.filter(ImageFilter.MinFilter(3))  # dark lines on white grow
    elif r < 0.5:
        out = out.filter(ImageFilter.MaxFilter(3))
    return out


def real_descriptors(figures, encoder: str, augmentations: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, figure index per row) of every figure under ``augmentations`` views."""
    from core.embed import require
    from core.figures import load_figure_image

    enc = require(encoder)
    rng = np.random.default_rng(seed)
    rows, owner = [], []
    for i, fig in enumerate(figures):
        base = load_figure_image(fig)
        views = [augment(base, rng) for _ in range(augmentations)]
        rows.append(enc.encode_images(views))
        owner += [i] * augmentations
    return np.concatenate(rows).astype(np.float32), np.asarray(owner)


class DescriptorSpace:
    """The measured geometry (PCA basis, family-centre spectrum, residual pool)."""

    def __init__(self, descriptors: np.ndarray, owner: np.ndarray, dim: int = 512):
        x = descriptors.astype(np.float64)
        self.mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.dim = min(dim, vt.shape[0] + 1)
        self.basis = vt[:self.dim - 1]  # (dim - 1, D); the last coordinate carries the mean's rest
        z = (x - self.mean) @ self.basis.T
        figs = np.unique(owner)
        centres = np.stack([z[owner == f].mean(axis=0) for f in figs])
        self.residuals = np.concatenate([z[owner == f] - c for f, c in zip(figs, centres)]).astype(np.float32)
        self.centre_mean = centres.mean(axis=0)
        _, cs, cvt = np.linalg.svd(centres - self.centre_mean, full_matrices=False)
        self.centre_scale = (cs / np.sqrt(max(1, len(centres) - 1)))[:, None] * cvt  # z @ this ~ centres' covariance
        self.offset = self.mean @ self.basis.T  # where the descriptors' mean sits in the basis
        self.mean_rest = float(np.linalg.norm(self.mean - self.offset @ self.basis))  # orthogonal to it
        self.kept_variance = float((s[:self.dim - 1] ** 2).sum() / (s ** 2).sum())
        self.figures = len(figs)

    def sample(self, n: int, per_family: int = 8, seed: int = 1, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
        """``n`` unit vectors in families of ``per_family``, and the family of each."""
        rng = np.random.default_rng(seed)
        families = int(np.ceil(n / per_family))
        z = rng.standard_normal((families, self.centre_scale.shape[0]))
        centres = (self.centre_mean + z @ self.centre_scale + self.offset).astype(np.float32)
        family = np.repeat(np.arange(families), per_family)[:n]
        out = np.empty((n, self.dim), dtype=np.float32)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            res = self.residuals[rng.integers(0, len(self.residuals), b - a)]
            x = centres[family[a:b]] + res * rng.uniform(0.8, 1.2, (b - a, 1)).astype(np.float32)
            out[a:b] = self._finish(x)
        return out, family

    def queries(self, corpus_families: np.ndarray, n: int, seed: int = 2, per_family: int = 8,
                corpus_seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Fresh members (new residuals) of ``n`` random families present in the corpus, and
        their families."""
        rng = np.random.default_rng(corpus_seed)
        families = int(corpus_families.max()) + 1
        z = rng.standard_normal((families, self.centre_scale.shape[0]))
        qrng = np.random.default_rng(seed)
        picked = qrng.choice(families, n, replace=False)
        centres = (self.centre_mean + z[picked] @ self.centre_scale + self.offset).astype(np.float32)
        res = self.residuals[qrng.integers(0, len(self.residuals), n)]
        x = centres + res * qrng.uniform(0.8, 1.2, (n, 1)).astype(np.float32)
        return self._finish(x), picked

    def _finish(self, x: np.ndarray) -> np.ndarray:
        """Append the mean's component outside the basis, then scale to unit length."""
        full = np.concatenate([x, np.full((len(x), 1), self.mean_rest, dtype=np.float32)], axis=1)
        return (full / np.maximum(np.linalg.norm(full, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def descriptor_vectors(figures, encoder: str, n: int, n_queries: int, augmentations: int = 8,
                       dim: int = 512) -> tuple[np.ndarray, np.ndarray, dict]:
    """(corpus, queries, facts) with the geometry of ``encoder`` on ``figures``; ``facts``
    holds the family of every corpus vector and query (``family``, ``query_family``)."""
    log(f"descriptors: {encoder} of {len(figures)} figures x {augmentations} views")
    d, owner = real_descriptors(figures, encoder, augmentations)
    space = DescriptorSpace(d, owner, dim)
    real = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    sims_real = real @ real.T
    np.fill_diagonal(sims_real, -np.inf)
    top = np.argsort(-sims_real, axis=1)[:, :augmentations - 1]
    real_same = float(np.mean(owner[top] == owner[:, None]))  # other views of a drawing among its nearest
    x, fam = space.sample(n)
    q, qfam = space.queries(fam, n_queries)
    sims = x[:2000] @ x[:2000].T
    facts = {"encoder": encoder, "figures": space.figures, "views": int(len(d)), "source_dim": int(d.shape[1]),
             "dim": space.dim, "pca_variance_kept": space.kept_variance,
             "mean_cosine_random_pair": float(sims[np.triu_indices(2000, 1)].mean()),
             "real_same_drawing": real_same, "family": fam, "query_family": qfam}
    return x, q, facts
