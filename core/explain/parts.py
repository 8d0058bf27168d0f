"""Part-level search: a region or a drawn component matched against regions of every figure.

Built once per (corpus, encoder): every figure's cell grid (``core.explain.grids``), cached on
disk per image content (``cache/explain/<encoder key>/<sha1>.npy``, float16, with a manifest
that holds its SHA-256, shape, ink flags' source and frame), so a build killed half way resumes
where it stopped and the same drawing in two corpora is computed once. The index is these grids
stacked in memory; a search draws the query at every scale of ``core.explain.match.SCALES`` and
scores every window of every figure (``best_windows``), which is a few matrix products.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import config
from ..corpora.base import Corpus
from ..figures import ImageError, figure_digest, load_figure_image
from ..store import key_of, load_array, load_json, save_array
from .grids import GRID_VERSION, CellGrid, cell_grid, spatial_support
from .match import best_windows, query_templates

__all__ = ["PartHit", "PartIndex", "build_part_index", "search_parts", "grid_cache_dir", "cached_grids"]

#: Figures encoded per batch while building.
BATCH = 16


@dataclass(frozen=True)
class PartHit:
    """A figure where the query was found: its best window's cosine and box (normalised x0, y0, x1, y1)."""

    figure: str
    score: float
    box: tuple[float, float, float, float]
    scale: float


@dataclass
class PartIndex:
    """Every figure's cell grid for one encoder (figures that could not be read are left out and named)."""

    spec: str
    ids: tuple[str, ...]
    feats: np.ndarray  # (n, rows, cols, d) float32
    ink: np.ndarray  # (n, rows, cols) bool
    frames: np.ndarray  # (n, 4)
    skipped: tuple[str, ...] = ()
    computed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return int(self.feats.shape[1]), int(self.feats.shape[2])

    @property
    def nbytes(self) -> int:
        return int(self.feats.nbytes + self.ink.nbytes)


def grid_cache_dir(enc) -> Path:
    """Where ``enc``'s per-figure grids are cached (one folder per encoder identity and grid version)."""
    return config.cache_dir() / "explain" / key_of("grid", GRID_VERSION, enc.cache_key())


def _save(folder, digest: str, grid: CellGrid) -> CellGrid:
    """Cache a grid (float16) and return it as it will load, so a fresh and a cached build agree."""
    half = grid.feats.astype(np.float16)
    save_array(folder / f"{digest}.npy", half,
               meta={"frame": list(grid.frame), "source": grid.source, "grid": GRID_VERSION})
    feats = half.astype(np.float32)
    return CellGrid(feats, np.abs(feats).sum(-1) > 0, grid.frame, grid.source)


def _load(folder, digest: str) -> CellGrid | None:
    path = folder / f"{digest}.npy"
    arr = load_array(path, expect={"grid": GRID_VERSION})
    man = load_json(path.with_name(path.name + ".json")) if arr is not None else None
    if arr is None or not isinstance(man, dict) or len(man.get("frame") or []) != 4 or arr.ndim != 3:
        return None
    feats = np.asarray(arr, dtype=np.float32)
    ink = np.abs(feats).sum(-1) > 0
    return CellGrid(feats, ink, tuple(float(v) for v in man["frame"]), str(man.get("source", "")))


def cached_grids(enc, keyed_images: list[tuple[str, Callable[[], object]]]) -> list[CellGrid]:
    """Grids of images named by content digest, from the cache or computed (and cached)."""
    folder = grid_cache_dir(enc)
    out: dict[str, CellGrid] = {}
    todo = []
    for digest, opener in keyed_images:
        hit = _load(folder, digest)
        if hit is not None:
            out[digest] = hit
        else:
            todo.append((digest, opener))
    if todo:
        grids = cell_grid(enc, [op() for _, op in todo])
        for (digest, _), g in zip(todo, grids):
            out[digest] = _save(folder, digest, g)
    return [out[d] for d, _ in keyed_images]


def build_part_index(corpus: Corpus, spec: str, progress: Callable[[int, int], None] | None = None,
                     limit: int | None = None) -> PartIndex:
    """The part index of ``corpus`` for encoder ``spec`` (cached per figure; resumable).

    Raises ``core.explain.NoSpatialMap`` for an encoder without a spatial map and
    ``core.embed.EncoderUnavailable`` for one that cannot run here."""
    from ..embed import require
    from .grids import NoSpatialMap

    enc = require(spec)
    source, why = spatial_support(enc)
    if not source:
        raise NoSpatialMap(why)
    folder = grid_cache_dir(enc)
    figs = list(corpus.figures)[:limit] if limit else list(corpus.figures)
    grids: list[CellGrid | None] = [None] * len(figs)
    digests: list[str | None] = [None] * len(figs)
    problems: list[str] = []
    todo = []
    for i, f in enumerate(figs):
        try:
            digests[i] = figure_digest(f)
        except (OSError, ImageError) as exc:
            problems.append(f"{f.id}: {exc}")
            continue
        grids[i] = _load(folder, digests[i])
        if grids[i] is None:
            todo.append(i)
    done = len(figs) - len(todo)
    if progress:
        progress(done, len(figs))
    computed = 0
    for start in range(0, len(todo), BATCH):
        batch, images = [], []
        for i in todo[start:start + BATCH]:
            try:
                images.append(load_figure_image(figs[i]))
                batch.append(i)
            except (OSError, ImageError) as exc:
                problems.append(f"{figs[i].id}: {exc}")
        for i, g in zip(batch, cell_grid(enc, images) if images else []):
            grids[i] = _save(folder, digests[i], g)
            computed += 1
        done += len(todo[start:start + BATCH])
        if progress:
            progress(done, len(figs))
    keep = [i for i, g in enumerate(grids) if g is not None]
    shapes = {grids[i].feats.shape for i in keep}
    if len(shapes) > 1:  # cannot happen for one encoder; refuse rather than mix grids
        raise RuntimeError(f"{spec}: figures gave grids of different shapes {sorted(shapes)}")
    if not keep:
        return PartIndex(spec, (), np.zeros((0, 1, 1, 1), np.float32), np.zeros((0, 1, 1), bool),
                         np.zeros((0, 4)), tuple(f.id for f in figs), computed, problems)
    return PartIndex(spec, tuple(figs[i].id for i in keep), np.stack([grids[i].feats for i in keep]),
                     np.stack([grids[i].ink for i in keep]), np.array([grids[i].frame for i in keep]),
                     tuple(f.id for i, f in enumerate(figs) if grids[i] is None), computed, problems)


def search_parts(index: PartIndex, query_image, k: int = 10, exclude: tuple[str, ...] = (),
                 chunk: int = 64) -> list[PartHit]:
    """The ``k`` figures holding the best window for the query image (best first; ties by id)."""
    from ..embed import require

    if not index.ids:
        return []
    enc = require(index.spec)
    templates = query_templates(enc, query_image, grid_shape=index.grid_shape)
    rows = index.grid_shape
    hits = []
    for start in range(0, len(index.ids), chunk):
        stop = start + chunk
        for j, w in enumerate(best_windows(templates, index.feats[start:stop], index.ink[start:stop])):
            i = start + j
            if index.ids[i] in exclude or w.rows == 0:
                continue
            hits.append(PartHit(index.ids[i], round(w.score, 6), w.box(tuple(index.frames[i]), rows), w.scale))
    hits.sort(key=lambda h: (-h.score, h.figure))
    return hits[:k]
