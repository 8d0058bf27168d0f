"""2-D maps of embedding spaces (UMAP), cached on disk.

A map is an (n, 2) float32 array, one row per embedded item, centred and scaled
isotropically so every point lies in [-1, 1]² (the longer side spans exactly [-1, 1]);
maps of different spaces are therefore drawn on the same axes.

Maps are cached at ``cache_dir()/maps/<key>.npy`` (+ ``.json`` manifest with SHA-256)
through :func:`core.store.save_array`, keyed by the embeddings' content key, the
parameters and the umap-learn version. A damaged or stale file is ignored and the map is
recomputed. The fitted reducer itself is never kept (neither on disk nor in memory):
new points are placed with :func:`place_query` from their nearest neighbours instead.

Maps of more than ``FIT_MAX`` points (``UPAIR_MAP_FIT_MAX``) are fitted on a deterministic
sample of ``FIT_MAX`` points; every other point is placed at the similarity-weighted mean of
its ``PLACE_K`` nearest sample points (the rule of :func:`place_query`, batched through a
faiss inverted file), which is how UMAP's own ``transform`` initialises new points.
:func:`density` and :func:`visible_points` let a page draw a density layer where points would
overplot and only a bounded, outlier-keeping subset of markers for hover and selection.

umap (and numba) are imported lazily inside :func:`map_coords` / :func:`joint_coords`,
never when this module is imported: the import and the first fit's numba JIT compilation
are paid once per process and are slow (``make bench``, section d, in ``bench/report.md``).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import config
from .embed import Embeddings
from .store import exclusive, key_of, load_array, save_array

log = logging.getLogger(__name__)

#: ``progress(done, total, message)``, the same callback shape as in :mod:`core.embed`.
Progress = Callable[[int, int, str], None]

#: Bump when the layout computation or normalisation changes; old maps are recomputed.
MAP_FORMAT = 1

#: Below this many points UMAP is not run; a PCA layout is used instead (see ``_pca_layout``).
MIN_UMAP_POINTS = 5

#: Metrics accepted in :class:`MapParams` (all supported by umap-learn).
METRICS = ("cosine", "euclidean", "correlation", "manhattan", "chebyshev")

# Rough costs for estimate_seconds (measured by `make bench` on a 2-core machine, no GPU).
_IMPORT_S = 2.0  # `import umap` (numba, pynndescent) with a warm page cache; up to 15 s cold
_JIT_S = 7.0  # numba compilation on the first fit of a process
_NNDESCENT_JIT_S = 20.0  # extra compilation the first time a map has more than 4,096 points
_NNDESCENT_FROM = 4_096
_PER_POINT_S = 1.0e-3  # ≤ 10k points (500 epochs)
_PER_POINT_LARGE_S = 0.45e-3  # > 10k points (umap runs 200 epochs)
_PLACE_PER_POINT_S = 2.0e-5  # placing a point from the fitted sample (maps above FIT_MAX)

_fitted_once = False  # a UMAP fit has completed in this process (JIT is warm)
_numba_lock = threading.Lock()


@dataclass(frozen=True)
class MapParams:
    """UMAP parameters of a map (stored as given; checked when a map is computed)."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "cosine"
    seed: int = 42

    def validate(self) -> None:
        """Raise ValueError with a plain message when a parameter is unusable."""
        if isinstance(self.n_neighbors, bool) or not isinstance(self.n_neighbors, (int, np.integer)) \
                or self.n_neighbors < 2:
            raise ValueError(f"n_neighbors must be a whole number of at least 2 (got {self.n_neighbors!r})")
        if isinstance(self.min_dist, bool) or not isinstance(self.min_dist, (int, float, np.number)) \
                or not 0.0 <= float(self.min_dist) <= 1.0:
            raise ValueError(f"min_dist must be a number between 0 and 1 (got {self.min_dist!r})")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)} (got {self.metric!r})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative whole number (got {self.seed!r})")

    def as_key(self) -> dict:
        """JSON-able form used in cache keys."""
        return {"n_neighbors": int(self.n_neighbors), "min_dist": float(self.min_dist),
                "metric": str(self.metric), "seed": int(self.seed)}


# --------------------------------------------------------------------------- helpers


def _umap_version() -> str:
    """umap-learn's version without importing it (part of the cache key)."""
    from importlib import metadata

    try:
        return metadata.version("umap-learn")
    except metadata.PackageNotFoundError:
        return "-"


#: Above this many points UMAP is fitted on a sample of this size and the rest are placed.
FIT_MAX: int = config.env_at_import("UPAIR_MAP_FIT_MAX")  # type: ignore[assignment]
#: Nearest sample points a placed point is averaged from, and the softmax temperature.
PLACE_K = 10
PLACE_TEMPERATURE = 0.05
#: Markers a page should draw at most (the rest is shown as density).
MAX_DRAWN = 20_000


def _map_key(kind: str, keys: list[str], params: MapParams, n: int = 0) -> str:
    extra = [{"fit_sample": FIT_MAX, "place_k": PLACE_K}] if n > FIT_MAX else []
    return key_of(kind, MAP_FORMAT, keys, params.as_key(), _umap_version(), *extra)


def _map_path(key: str) -> Path:
    return config.cache_dir() / "maps" / f"{key}.npy"


def map_cache_path(emb: Embeddings, params: MapParams = MapParams()) -> Path:
    """Where the map of ``emb`` with ``params`` is (or would be) cached."""
    return _map_path(_map_key("map", [emb.key], params, len(emb.vectors)))


def _expect(keys: list[str], n: int, dim: int) -> dict:
    return {"kind": "map", "format": MAP_FORMAT, "keys": list(keys), "n": int(n), "dim": int(dim)}


def _load(path: Path, expect: dict) -> np.ndarray | None:
    arr = load_array(path, expect=expect)
    if arr is None or arr.shape != (expect["n"], 2) or not np.all(np.isfinite(arr)):
        return None
    return np.asarray(arr, dtype=np.float32)


def configure_numba() -> None:
    """Keep numba's thread pool within the machine's cores.

    Only ``NUMBA_NUM_THREADS`` (read by numba alone, at its import) is touched, so the
    OpenMP settings used by faiss/torch are left as they are. If numba is already
    imported, the calling thread's count is capped with ``numba.set_num_threads``.
    """
    cores = config.default_threads()
    with _numba_lock:
        if "numba" not in sys.modules:
            cur = os.environ.get("NUMBA_NUM_THREADS", "")
            if not cur.isdigit() or not 1 <= int(cur) <= cores:
                os.environ["NUMBA_NUM_THREADS"] = str(cores)
            return
    import numba

    if numba.get_num_threads() > cores:
        numba.set_num_threads(cores)


def _normalise(xy: np.ndarray) -> np.ndarray:
    """Centre the bounding box on 0 and scale isotropically so the longer side spans [-1, 1]."""
    xy = np.asarray(xy, dtype=np.float64)
    if len(xy) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    xy = xy - (lo + hi) / 2.0
    half = float((hi - lo).max()) / 2.0
    if not np.isfinite(half) or half <= 1e-12:
        return np.zeros_like(xy, dtype=np.float32)
    return np.clip(xy / half, -1.0, 1.0).astype(np.float32)


def _pca_layout(x: np.ndarray) -> np.ndarray:
    """Fallback for fewer than ``MIN_UMAP_POINTS`` points (UMAP cannot run): the first two
    principal components (exact SVD of the centred vectors; missing components are 0,
    signs fixed so the result is deterministic). One point → (0, 0)."""
    n = len(x)
    out = np.zeros((n, 2), dtype=np.float64)
    if n < 2:
        return out
    xc = np.asarray(x, dtype=np.float64)
    xc = xc - xc.mean(axis=0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    comps = u * s
    m = min(2, comps.shape[1])
    comps = comps[:, :m]
    for j in range(m):  # sign convention: the largest-magnitude entry is positive
        if comps[np.argmax(np.abs(comps[:, j])), j] < 0:
            comps[:, j] = -comps[:, j]
    out[:, :m] = comps
    return out


def _umap_layout(x: np.ndarray, params: MapParams) -> np.ndarray:
    """UMAP to 2-D. ``random_state`` makes it deterministic, which also makes umap run
    single-threaded (n_jobs=1) — acceptable for maps of a few tens of thousands of points."""
    global _fitted_once
    import time

    from . import maps_timing

    t0 = time.perf_counter()
    cold, imported = not _fitted_once, "umap" not in sys.modules
    load = maps_timing.load_per_core()
    configure_numba()
    import umap  # lazy: ~15 s

    import_s = time.perf_counter() - t0 if imported else 0.0
    n = len(x)
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(int(params.n_neighbors), n - 1),
        min_dist=float(params.min_dist),
        metric=params.metric,
        random_state=int(params.seed),
        n_jobs=1,
    )
    xy = reducer.fit_transform(np.ascontiguousarray(x, dtype=np.float32))
    del reducer  # never kept: place_query works from neighbours instead
    _fitted_once = True
    maps_timing.record(maps_timing.Fit(n=n, dim=int(x.shape[1]), seconds=time.perf_counter() - t0,
                                       import_s=import_s, cold=cold, load=max(load, maps_timing.load_per_core())))
    return np.asarray(xy)


def place_rows(vectors: np.ndarray, anchors: np.ndarray, anchor_xy: np.ndarray, k: int = PLACE_K,
               temperature: float = PLACE_TEMPERATURE, chunk: int = 65_536) -> np.ndarray:
    """(n, 2) positions of ``vectors`` on a map whose ``anchors`` sit at ``anchor_xy``: the
    softmax(similarity / temperature)-weighted mean of each vector's ``k`` most similar
    anchors (inner product; an IVF index over the anchors when there are many)."""
    import faiss

    from .index import ivf_params

    config.configure_threads()
    a = np.ascontiguousarray(anchors, dtype=np.float32)
    d = a.shape[1]
    k = max(1, min(int(k), len(a)))
    if len(a) > 4_096:
        p = dict(ivf_params(len(a)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, p["nlist"], faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = 1234
        index.train(a)
        index.nprobe = max(8, p["nprobe"] // 2)
    else:
        index = faiss.IndexFlatIP(d)
    index.add(a)
    out = np.empty((len(vectors), 2), dtype=np.float32)
    axy = np.asarray(anchor_xy, dtype=np.float64)
    for start in range(0, len(vectors), chunk):
        q = np.ascontiguousarray(vectors[start:start + chunk], dtype=np.float32)
        sims, rows = index.search(q, k)
        missing = rows < 0
        sims = np.where(missing, -np.inf, sims.astype(np.float64)) / temperature
        w = np.exp(sims - sims.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        out[start:start + chunk] = np.einsum("nk,nkc->nc", w, axy[np.where(missing, 0, rows)])
    return out


def _sampled_layout(x: np.ndarray, params: MapParams) -> np.ndarray:
    """UMAP of a deterministic sample of ``FIT_MAX`` rows; every other row placed from it."""
    rows = np.sort(np.random.default_rng(int(params.seed)).choice(len(x), FIT_MAX, replace=False))
    fit = _umap_layout(np.asarray(x[rows], dtype=np.float32), params)
    xy = place_rows(x, x[rows], fit)
    xy[rows] = fit
    return xy


def _layout(x: np.ndarray, params: MapParams) -> np.ndarray:
    """Normalised 2-D layout of the rows of ``x`` (UMAP, on a sample above ``FIT_MAX``
    rows, or PCA for tiny inputs)."""
    if len(x) < MIN_UMAP_POINTS:
        xy = _pca_layout(x)
    elif len(x) > FIT_MAX:
        xy = _sampled_layout(x, params)
    else:
        xy = _umap_layout(x, params)
    return _normalise(xy)


def _cached_layout(kind: str, keys: list[str], x: np.ndarray, params: MapParams,
                   progress: Progress | None) -> np.ndarray:
    """The cached layout of ``x`` under ``(kind, keys, params)``, computing it if needed."""
    params.validate()
    if x.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (got shape {x.shape})")
    n, dim = int(x.shape[0]), int(x.shape[1])
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    key = _map_key(kind, keys, params, n)
    path, expect = _map_path(key), _expect(keys, n, dim)
    xy = _load(path, expect)
    if xy is not None:
        return xy
    with exclusive(f"map|{key}"):
        xy = _load(path, expect)  # another session may have finished it while we waited
        if xy is not None:
            return xy
        if progress:
            progress(0, 1, f"computing map of {n} points (~{estimate_seconds(n, dim):.0f} s)")
        if path.exists():
            log.warning("map cache %s is damaged or stale; recomputing", path.name)
        xy = _layout(x, params)
        save_array(path, xy, expect)
        if progress:
            progress(1, 1, "map ready")
    return xy


# --------------------------------------------------------------------------- public API


def map_coords(emb: Embeddings, params: MapParams = MapParams(),
               progress: Progress | None = None) -> np.ndarray:
    """(n, 2) float32 map of ``emb.vectors`` in [-1, 1]², cached on disk.

    UMAP with ``n_neighbors = min(params.n_neighbors, n - 1)``; fewer than 5 points get a
    PCA layout instead, one point is placed at (0, 0). Deterministic for a fixed seed.
    Figures whose image is unreadable (``emb.excluded``) take no part and get NaN coordinates.
    """
    if not getattr(emb, "excluded", ()):
        return _cached_layout("map", [emb.key], emb.vectors, params, progress)
    keep = _readable(emb)
    xy = np.full((len(emb.vectors), 2), np.nan, dtype=np.float32)
    xy[keep] = _cached_layout("map", [emb.key, "readable"], emb.vectors[keep], params, progress)
    return xy


def _readable(emb: Embeddings) -> np.ndarray:
    """Row mask of the figures whose image could be read."""
    bad = set(getattr(emb, "excluded", ()))
    return np.array([i not in bad for i in emb.ids], dtype=bool)


def joint_coords(image: Embeddings, text: Embeddings, params: MapParams = MapParams(),
                 progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One map of figure images and their texts in a shared space (e.g. CLIP):
    a single UMAP fitted on the stacked [image; text] vectors, returned as
    ``(image_xy, text_xy)``, normalised together and cached under both keys."""
    if image.vectors.shape[1] != text.vectors.shape[1]:
        raise ValueError(f"image and text vectors differ in dimension "
                         f"({image.vectors.shape[1]} vs {text.vectors.shape[1]}); a joint map needs one space")
    x = np.concatenate([image.vectors, text.vectors]).astype(np.float32, copy=False)
    xy = _cached_layout("joint", [image.key, text.key], x, params, progress)
    ni = len(image.vectors)
    return xy[:ni], xy[ni:]


def cached_map_exists(emb: Embeddings, params: MapParams = MapParams()) -> bool:
    """True when ``map_coords(emb, params)`` would load a valid cached map (no computing)."""
    keys = [emb.key, "readable"] if getattr(emb, "excluded", ()) else [emb.key]
    n = int(_readable(emb).sum())
    if n == 0:
        return True
    return _load(_map_path(_map_key("map", keys, params, n)), _expect(keys, n, emb.vectors.shape[1])) is not None


def estimate_seconds(n: int, dim: int = 512) -> float:
    """Time to compute a map of ``n`` points: from the fits measured on this machine
    (:mod:`core.maps_timing`: their per-point cost, import and compile time, scaled by the load now);
    before the first fit, the umap import and numba JIT once per process, then a per-point cost
    (the module's cost constants, calibrated by ``make bench``)."""
    from . import maps_timing

    if n < MIN_UMAP_POINTS:
        return 0.1
    placed = max(0, n - FIT_MAX)
    measured = maps_timing.estimate(n - placed, dim, need_import="umap" not in sys.modules, cold=not _fitted_once,
                                    constants={"import_s": _IMPORT_S, "jit_s": _JIT_S})
    if measured is not None:
        if n - placed > _NNDESCENT_FROM and not _fitted_once and \
                not any(f.cold and f.n > _NNDESCENT_FROM for f in maps_timing.fits()):
            measured += _NNDESCENT_JIT_S  # that compilation was not part of any measured fit
        return measured + placed * _PLACE_PER_POINT_S * (0.5 + 0.5 * dim / 512)
    cold = (0.0 if "umap" in sys.modules else _IMPORT_S) + (0.0 if _fitted_once else _JIT_S)
    if n > _NNDESCENT_FROM and not _fitted_once:
        cold += _NNDESCENT_JIT_S
    placed = max(0, n - FIT_MAX) if n > FIT_MAX else 0
    fitted = n - placed
    per_point = _PER_POINT_S if fitted <= 10_000 else _PER_POINT_LARGE_S
    scale = 0.5 + 0.5 * dim / 512
    return cold + 1.0 + fitted * per_point * scale + placed * _PLACE_PER_POINT_S * scale


def place_query(query_vec: np.ndarray, emb: Embeddings, coords: np.ndarray, k: int = 10,
                temperature: float = 0.05) -> np.ndarray:
    """Put a new vector on an existing map without the reducer: (2,) float32.

    Weighted mean of the coordinates of its ``k`` nearest neighbours by cosine
    similarity, weights = softmax(similarity / temperature) (0.05: a neighbour 0.05 less
    similar weighs e times less). A (near-)exact match (cosine ≥ 1 - 1e-6) returns that
    point's coordinates.
    """
    q = np.asarray(query_vec, dtype=np.float32).reshape(-1)
    vecs = emb.vectors
    coords = np.asarray(coords)
    if q.shape[0] != vecs.shape[1]:
        raise ValueError(f"query has dimension {q.shape[0]}, the embeddings {vecs.shape[1]}")
    if coords.shape != (len(vecs), 2):
        raise ValueError(f"coords must have shape ({len(vecs)}, 2) (got {coords.shape})")
    if len(vecs) == 0:
        raise ValueError("cannot place a query on an empty map")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive (got {temperature})")
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("query vector is zero or not finite")
    sims = vecs @ (q / norm)
    sims[~np.isfinite(coords).all(axis=1)] = -np.inf  # unreadable figures are not on the map
    best = int(np.argmax(sims))
    if sims[best] >= 1.0 - 1e-6:
        return coords[best].astype(np.float32)
    k = max(1, min(int(k), len(vecs)))
    top = np.argpartition(-sims, k - 1)[:k] if k < len(vecs) else np.arange(len(vecs))
    top = top[np.isfinite(sims[top])]
    s = sims[top].astype(np.float64) / temperature
    w = np.exp(s - s.max())
    w /= w.sum()
    return (w @ coords[top].astype(np.float64)).astype(np.float32)


# --------------------------------------------------------------------------- drawing many points


def density(xy: np.ndarray, bins: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Point counts on a ``bins`` x ``bins`` grid over [-1, 1]² (rows = y, columns = x) and
    the grid's cell centres (the same for both axes)."""
    xy = np.asarray(xy, dtype=np.float64)
    edges = np.linspace(-1.0, 1.0, int(bins) + 1)
    counts, _, _ = np.histogram2d(xy[:, 1], xy[:, 0], bins=[edges, edges])
    return counts.astype(np.int64), (edges[:-1] + edges[1:]) / 2.0


def visible_points(xy: np.ndarray, max_points: int = MAX_DRAWN, box: tuple[float, float, float, float] | None = None,
                   cells: int = 128, seed: int = 0) -> np.ndarray:
    """Sorted row indices of the points to draw as markers: every point inside ``box``
    (x0, x1, y0, y1; the whole map when None) when they are at most ``max_points``, else
    one point from every occupied cell of a ``cells`` x ``cells`` grid over the box first
    (so sparse regions and outliers stay visible), then a deterministic random fill."""
    xy = np.asarray(xy, dtype=np.float64)
    inside = np.flatnonzero(np.isfinite(xy).all(axis=1))  # unreadable figures have no place
    if box is not None:
        x0, x1, y0, y1 = box
        m = (xy[:, 0] >= min(x0, x1)) & (xy[:, 0] <= max(x0, x1)) & (xy[:, 1] >= min(y0, y1)) & (xy[:, 1] <= max(y0, y1))
        inside = np.flatnonzero(m)
    if len(inside) <= max_points:
        return inside
    order = inside[np.random.default_rng(seed).permutation(len(inside))]
    pts = xy[order]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    cell = np.minimum((pts - lo) / span * cells, cells - 1).astype(np.int64)
    _, first = np.unique(cell[:, 0] * cells + cell[:, 1], return_index=True)
    keep = np.sort(first)[:max_points]  # positions in the random order: a random subset of cells
    chosen = np.zeros(len(order), dtype=bool)
    chosen[keep] = True
    rest = np.flatnonzero(~chosen)[:max(0, max_points - len(keep))]
    chosen[rest] = True
    return np.sort(order[chosen])
