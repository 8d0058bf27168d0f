"""faiss indices per (corpus, encoder): choice of index type, build, cache, search."""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config
from .embed import Embeddings
from .store import atomic_write_bytes, atomic_write_json, exclusive, load_json, sha256_bytes, sha256_file

log = logging.getLogger(__name__)

#: Corpora up to this many vectors use exact search; larger ones an approximate index.
EXACT_MAX = int(os.environ.get("UPAIR_EXACT_MAX", 50_000))
#: Files up to this size are checksummed on every load; larger ones are checked by shape.
CHECKSUM_MAX_BYTES = 256 << 20
INDEX_KINDS = ("auto", "flat", "hnsw", "ivf")


@dataclass(frozen=True)
class IndexSpec:
    """Which faiss index to build and with what parameters (recorded in the manifest)."""

    kind: str
    params: tuple[tuple[str, int], ...] = ()

    @property
    def param_dict(self) -> dict[str, int]:
        return dict(self.params)


def choose_index(n: int, kind: str = "auto") -> IndexSpec:
    """The index for ``n`` vectors: exact flat below ``EXACT_MAX``, HNSW above (or as asked)."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    if kind == "auto":
        kind = "flat" if n <= EXACT_MAX else "hnsw"
    if kind == "hnsw":
        return IndexSpec("hnsw", (("M", 32), ("efConstruction", 80), ("efSearch", 96)))
    if kind == "ivf":
        nlist = int(max(1, min(65536, 4 * np.sqrt(max(n, 1)))))
        return IndexSpec("ivf", (("nlist", nlist), ("nprobe", max(1, nlist // 32))))
    return IndexSpec("flat")


def _make(spec: IndexSpec, vectors: np.ndarray):
    import faiss

    config.configure_threads()
    d = vectors.shape[1]
    p = spec.param_dict
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, p["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = p["efConstruction"]
        index.hnsw.efSearch = p["efSearch"]
    else:
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, p["nlist"], faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors if len(vectors) <= 256 * p["nlist"] else vectors[rng.choice(len(vectors), 256 * p["nlist"], replace=False)]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.nprobe = p["nprobe"]
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _apply_search_params(index, spec: IndexSpec) -> None:
    p = spec.param_dict
    if spec.kind == "hnsw":
        index.hnsw.efSearch = p["efSearch"]
    elif spec.kind == "ivf":
        index.nprobe = p["nprobe"]


@dataclass(frozen=True, eq=False)
class VectorIndex:
    """A searchable index over one ``Embeddings``."""

    embeddings: Embeddings
    index: object = field(repr=False)
    spec: IndexSpec = IndexSpec("flat")

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, row ids) per query row; k is capped at the corpus size and
        rows faiss could not fill (-1) are dropped by ``neighbours``."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if q.shape[1] != self.embeddings.dim:
            raise ValueError(f"query has dimension {q.shape[1]}, index has {self.embeddings.dim}")
        k = max(1, min(int(k), self.index.ntotal))
        return self.index.search(q, k)

    def neighbours(self, query: np.ndarray, k: int, exclude: set[str] | None = None) -> list[tuple[str, float]]:
        """(id, score) of the ``k`` nearest figures to one query vector, best first."""
        exclude = exclude or set()
        scores, rows = self.search(query, k + len(exclude))
        out = []
        for s, r in zip(scores[0], rows[0]):
            if r < 0:
                continue
            fid = self.embeddings.ids[r]
            if fid in exclude:
                continue
            out.append((fid, float(s)))
            if len(out) == k:
                break
        return out


def _index_dir(emb: Embeddings, spec: IndexSpec) -> Path:
    return config.cache_dir() / "indices" / f"{emb.key}-{spec.kind}"


def _load(path: Path, manifest: dict, emb: Embeddings, spec: IndexSpec):
    import faiss

    size = path.stat().st_size
    if size != manifest.get("bytes"):
        return None
    if size <= CHECKSUM_MAX_BYTES and sha256_file(path) != manifest.get("sha256"):
        return None
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError:
            return None
    if index.ntotal != len(emb.ids) or index.d != emb.dim:
        return None
    _apply_search_params(index, spec)
    return index


def build_index(emb: Embeddings, kind: str = "auto") -> VectorIndex:
    """Load the cached index for ``emb`` or build and cache it (one build at a time)."""
    spec = choose_index(len(emb.ids), kind)
    if len(emb.ids) == 0:
        raise ValueError("cannot index an empty corpus")
    folder = _index_dir(emb, spec)
    path, man_path = folder / "index.faiss", folder / "manifest.json"
    expect = {"key": emb.key, "n": len(emb.ids), "dim": emb.dim, "kind": spec.kind, "params": spec.param_dict}
    with exclusive(f"index|{folder}"):
        manifest = load_json(man_path)
        if manifest and all(manifest.get(k) == v for k, v in expect.items()) and path.exists():
            index = _load(path, manifest, emb, spec)
            if index is not None:
                return VectorIndex(emb, index, spec)
            log.warning("cached index %s is damaged or stale; rebuilding it", path)
        import faiss

        index = _make(spec, emb.vectors)
        data = faiss.serialize_index(index).tobytes()
        atomic_write_bytes(path, data)
        atomic_write_json(man_path, {**expect, "bytes": len(data), "sha256": sha256_bytes(data)})
        return VectorIndex(emb, index, spec)


def drop_index_cache() -> None:
    """Remove every cached index (used by `make clean-cache`-like tooling and tests)."""
    import shutil

    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(config.cache_dir() / "indices")
