"""Neighbourhood agreement between two encoders: per figure, how far its k nearest
neighbours under encoder A and under encoder B are the same figures.

Computed in the ORIGINAL embedding spaces (not on the 2-D maps), exactly (brute-force cosine
over every pair, numpy/BLAS in row chunks), and cached content-addressed beside the maps.

The neighbour rule (:func:`knn`), written down so that an independent implementation can
reproduce it:

- similarity is the cosine of the L2-normalised vectors (float64 products of the stored float32
  vectors), rounded to 6 decimals, so values that differ only by arithmetic noise count as ties;
- neighbours are ranked by that rounded similarity, highest first; ties go to the lower row
  (the figure listed first in both encoders' common order), the figure itself is never its own
  neighbour;
- only figures both encoders could read take part (unreadable images are zero rows; they get
  no neighbours and an agreement of NaN).

Agreement of figure i is the Jaccard index |N_A(i) ∩ N_B(i)| / |N_A(i) ∪ N_B(i)| of its two
k-neighbour sets: 1 when the encoders agree on all k neighbours, 0 when on none.

Neighbour lists are cached at ``cache_dir()/maps/knn-<key>.npy`` for ``K_CACHED`` neighbours
(any smaller k is a prefix of the same ranking, so every k up to it costs one cached file);
the key covers the embeddings' content key, the rows taken part and the rule's format.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config
from .embed import Embeddings
from .store import exclusive, key_of, load_array, save_array

#: Bump when the neighbour rule changes; old neighbour files are recomputed.
KNN_FORMAT = 1
#: Decimals the cosine is rounded to before ranking (ties within arithmetic noise).
DECIMALS = 6
#: Neighbours kept per figure in the cache; k may be anything from 1 to this (or n - 1).
K_CACHED = 50
#: Query rows per chunk of the similarity matrix (chunk x n int64 keys in memory).
CHUNK = 256


@dataclass(frozen=True)
class Agreement:
    """Per-figure neighbourhood agreement of encoders A and B (rows in ``ids`` order)."""

    ids: tuple[str, ...]  # the figures both encoders embed, in A's order
    jaccard: np.ndarray  # (n,) float64 in [0, 1]; NaN for figures either encoder cannot read
    k: int
    shared: np.ndarray  # (n,) int: neighbours in both sets

    def ranked_disagreement(self) -> list[int]:
        """Row positions from least to most agreement (NaN last; ties by row)."""
        j = np.where(np.isnan(self.jaccard), np.inf, self.jaccard)
        return [int(i) for i in np.lexsort((np.arange(len(j)), j))]


def _check_k(k: object, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be a whole number (got {k!r})")
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    if n < 2:
        raise ValueError(f"neighbourhoods need at least two readable figures (got {n})")
    if k > n - 1:
        raise ValueError(f"k must be at most {n - 1}, the other figures there are (got {k})")
    return int(k)


def knn(vectors: np.ndarray, k: int) -> np.ndarray:
    """(n, k) int32 row indices of each row's k nearest other rows (the module's rule:
    cosine rounded to ``DECIMALS``, highest first, ties to the lower row, itself excluded)."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (got shape {x.shape})")
    n = len(x)
    k = _check_k(k, n)
    config.configure_threads()
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.ascontiguousarray(x / np.where(norms > 0, norms, 1.0))
    scale = 10 ** DECIMALS
    # one int64 key per pair: rounded similarity first, then the lower row (larger n-1-j) wins
    tie = (n - 1 - np.arange(n, dtype=np.int64))[None, :]
    out = np.empty((n, k), dtype=np.int32)
    for start in range(0, n, CHUNK):
        rows = np.arange(start, min(n, start + CHUNK))
        sims = x[rows] @ x.T
        key = np.rint(sims * scale).astype(np.int64) * n + tie
        key[np.arange(len(rows)), rows] = -(2 ** 62)  # never one's own neighbour
        top = np.argpartition(-key, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1)
        out[rows] = np.take_along_axis(top, order, axis=1)
    return out


def jaccard_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Jaccard, shared count) of each row's two neighbour sets (rows of distinct indices)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"neighbour lists differ in shape ({a.shape} vs {b.shape})")
    k = a.shape[1]
    both = np.sort(np.concatenate([a, b], axis=1), axis=1)
    shared = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return shared / (2 * k - shared), shared


# --------------------------------------------------------------------------- cached


def _readable_rows(emb: Embeddings, ids: list[str]) -> np.ndarray:
    pos = {i: r for r, i in enumerate(emb.ids)}
    return np.array([pos[i] for i in ids], dtype=np.int64)


def _valid(arr: np.ndarray | None, n: int, k: int) -> np.ndarray | None:
    if arr is None or arr.shape != (n, k) or (n and (arr.min() < 0 or arr.max() >= n)):
        return None
    return arr


def knn_path(key: str) -> Path:
    return config.cache_dir() / "maps" / f"knn-{key}.npy"


def cached_knn(emb: Embeddings, ids: list[str], k: int) -> np.ndarray:
    """Neighbours (rows into ``ids``) of the figures ``ids`` under ``emb``, cached on disk for
    ``min(K_CACHED, n - 1)`` neighbours (or ``k`` when larger); returns the first ``k``."""
    n = len(ids)
    k = _check_k(k, n)
    kk = max(k, min(K_CACHED, n - 1))
    key = key_of("knn", KNN_FORMAT, DECIMALS, emb.key, key_of(list(ids)), kk)
    path = knn_path(key)
    expect = {"kind": "knn", "format": KNN_FORMAT, "key": emb.key, "n": n, "k": kk}
    arr = _valid(load_array(path, expect=expect), n, kk)
    if arr is None:
        with exclusive(f"knn|{key}"):
            arr = _valid(load_array(path, expect=expect), n, kk)  # another session may have made it
            if arr is None:
                arr = knn(emb.vectors[_readable_rows(emb, ids)], kk)
                save_array(path, arr, expect)
    return np.asarray(arr[:, :k])


def common_ids(a: Embeddings, b: Embeddings) -> list[str]:
    """Figures both encoders embed and could read, in A's order."""
    in_b = set(b.ids) - set(b.excluded)
    bad = set(a.excluded)
    return [i for i in a.ids if i in in_b and i not in bad]


def agreement(a: Embeddings, b: Embeddings, k: int = 10) -> Agreement:
    """Neighbourhood agreement of every figure of ``a`` under ``a`` and ``b`` (cached)."""
    ids = common_ids(a, b)
    k = _check_k(k, len(ids))
    na, nb = cached_knn(a, ids, k), cached_knn(b, ids, k)
    jac, shared = jaccard_rows(na, nb)
    out_j = np.full(len(a.ids), np.nan)
    out_s = np.zeros(len(a.ids), dtype=np.int64)
    rows = _readable_rows(a, ids)
    out_j[rows], out_s[rows] = jac, shared
    return Agreement(tuple(a.ids), out_j, k, out_s)


def neighbours_of(a: Embeddings, b: Embeddings, fid: str, k: int = 10) -> tuple[list[str], list[str]]:
    """The k neighbours of figure ``fid`` under A and under B (ids, nearest first), by the
    same rule and from the same cached lists as :func:`agreement`."""
    ids = common_ids(a, b)
    if fid not in ids:
        raise ValueError(f"figure {fid!r} is not embedded by both encoders")
    r = ids.index(fid)
    return ([ids[j] for j in cached_knn(a, ids, k)[r]], [ids[j] for j in cached_knn(b, ids, k)[r]])
