"""faiss indices per (corpus, encoder): choice of index type, build, cache, search.

Choice (``choose_index``; latency, recall and build times are measured by ``make bench``,
section c, in ``bench/report.md``):

* ``flat`` — exact inner product (cosine on unit vectors), used while the corpus is at
  most ``EXACT_MAX`` vectors of 512 dimensions (the limit scales with 512 / dim, so a
  4094-d AHDH corpus switches earlier: flat search costs n x dim per query).
* ``ivf`` with ``fs`` — above that, an inverted file whose lists hold 4-bit product-quantised
  codes scanned with SIMD lookup tables (``IndexIVFPQFastScan``, ``dim / 2`` sub-quantizers of
  16 centroids: ``dim / 4`` bytes per vector), a spherical k-means coarse quantizer with ``nlist =
  4 sqrt(n)`` lists (at most ``IVF_MAX_LISTS``), trained on ``IVF_TRAIN_PER_LIST x nlist`` sampled
  vectors for ``IVF_TRAIN_ITERATIONS`` iterations, searched with ``nprobe = max(AUTO_MIN_NPROBE,
  nlist / AUTO_NPROBE_DIVISOR)`` lists; its ``AUTO_RERANK x k`` best candidates are re-scored from
  half-precision codes the index holds (``IndexRefine`` over ``IndexScalarQuantizer`` ``QT_fp16``:
  2 bytes per dimension; scores are cosines to within ~1e-4). 1M x 512-d: 4000 lists, nprobe 64,
  1,160 MB whole; bench c/h have recall and latency on drawing-like vectors (HOG geometry:
  recall@10 ~0.96 at ~1 ms, single thread). No float vector is read at query time. A dimension
  without an even split (odd ``dim``) keeps the half-precision lists of format 3
  (``IndexIVFScalarQuantizer``, ``QT_fp16``), searched with the same nprobe.
* ``ivf`` (on request, ``kind="ivf"``) — the same inverted file with float32 vectors
  (``IndexIVFFlat``, exact cosines) and ``nprobe = max(16, nlist / 200)``.
* ``ivfpq`` with ``sq8`` — when the automatic IVF (counted whole) would exceed the budget
  (``UPAIR_INDEX_MEMORY_MB``, default ``MEMORY_BUDGET_MB``): the same inverted file with
  product-quantised codes (``IndexIVFPQ``, ``m`` bytes per vector), searched for
  ``rerank_factor(n) x k`` candidates (10 x k up to 1M vectors, 100 x k at 10M) that are
  re-scored from 8-bit scalar codes the index holds (``IndexRefine`` over
  ``IndexScalarQuantizer``, ``dim`` bytes per vector), so no
  float vector is read at query time; scores are cosines to within the 8-bit step
  (~1e-3). Memory counts codes and re-scoring codes.
* ``ivfpq`` (on request, ``kind="ivfpq"``) — the same candidates re-scored exactly from the
  stored float vectors (exact cosines); its whole memory (``IndexSpec.touched_bytes``)
  includes those float vectors, read at random rows by every query.
* ``hnsw`` — on request (``kind="hnsw"``, ``--index hnsw`` or ``UPAIR_INDEX=hnsw``).

The kind is overridable per call (``kind``), or for the whole process with the
environment variable ``UPAIR_INDEX`` (auto, flat, hnsw, ivf or ivfpq), and ``UPAIR_EXACT_MAX``
moves the exact/approximate threshold. The chosen kind, every parameter, the index's
estimated memory and the budget are recorded in the cache manifest; a cached index built
with other parameters, another dimension or
size, or whose file is damaged, is rebuilt. Cached indices are memory-mapped on load
(``IO_FLAG_MMAP_IFC``: vectors stay in the page cache, shared between processes), with a
fallback to faiss' on-disk inverted lists and then to a plain read. Index files are only ever
replaced atomically (written to a temporary file, then renamed), never rewritten in place,
so a process that has the old file mapped keeps reading a complete index. Builds train on a
sample and add the vectors ``ADD_CHUNK`` rows at a time, so a memory-mapped corpus (10M x 512-d:
20 GB) is streamed, never read whole into RAM (``python -m bench.index10m`` measures that).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config
from .embed import Embeddings
from .store import atomic_path, atomic_write_json, exclusive, load_json, sha256_file

log = logging.getLogger(__name__)

#: Corpora up to this many 512-d vectors use exact search; larger ones an approximate
#: index (for other dimensions the limit is ``EXACT_MAX * 512 / dim``).
EXACT_MAX: int = config.env_at_import("UPAIR_EXACT_MAX")  # type: ignore[assignment]
#: Files up to this size are checksummed on every load; larger ones are checked by size.
CHECKSUM_MAX_BYTES = 256 << 20
INDEX_KINDS: tuple[str, ...] = config.ENV["UPAIR_INDEX"].choices
#: Above this estimated index size (MB) the automatic choice compresses (``ivfpq``).
MEMORY_BUDGET_MB: int = config.ENV["UPAIR_INDEX_MEMORY_MB"].default  # type: ignore[assignment]
#: Environment variable that overrides the automatic choice (when ``kind="auto"``).
INDEX_ENV = "UPAIR_INDEX"
#: Bump when the way an index is built changes; older cached indices are rebuilt.
INDEX_FORMAT = 4

# IVF parameters (see the module docstring and bench/report.md).
IVF_LISTS_PER_SQRT_N = 4
#: At most this many lists: assigning n vectors costs n x nlist dot products at build time
#: (10M x 4096 x 512-d: ~11 min of one core here), and more lists would not pay for themselves.
IVF_MAX_LISTS = 4096
#: k-means sample per list and iterations (faiss wants >= 39 points per list).
IVF_TRAIN_PER_LIST = 40
IVF_TRAIN_ITERATIONS = 10
IVF_MIN_NPROBE = 16
IVF_NPROBE_DIVISOR = 200
# The automatic IVF (4-bit fast-scan codes, re-scored from half-precision codes):
# nprobe = max(AUTO_MIN_NPROBE, nlist / AUTO_NPROBE_DIVISOR), AUTO_RERANK x k candidates re-scored.
# Measured at 1M x 512-d, 200 held-out queries, one thread (nlist 4000, nprobe 64): HOG geometry
# rerank 20 / 50 -> recall@10 0.955 / 0.958 at p50 0.8 / 1.0 ms; clustered 50 / 100 -> 0.994 / 0.997
# at 0.8 / 1.1 ms. 8-bit (instead of fp16) re-scoring codes or M = dim / 4 or dim / 8 codes stay <= 0.94.
AUTO_MIN_NPROBE = 48
AUTO_NPROBE_DIVISOR = 62
AUTO_RERANK = 50
HNSW_PARAMS = (("M", 32), ("efConstruction", 80), ("efSearch", 96))
# IVF-PQ: about one code byte per 8 dimensions (8-bit sub-quantizers); candidates re-scored
PQ_DIMS_PER_BYTE = 8
RERANK_FACTOR = 10
#: The re-scoring depth grows with the corpus: ``RERANK_FACTOR`` per million vectors, up to
#: ``RERANK_MAX`` (x k). Measured at 10M HOG-geometry vectors (bench/index10m.json, 200 held-out
#: queries, nprobe 32): rerank 10 / 30 / 100 / 200 give recall@10 0.527 / 0.783 / 0.906 / 0.924 at
#: about the same p50 (9-13 ms: scanning the 32 lists costs the time, re-scoring 2,000 8-bit codes
#: ~1 ms), while nprobe 32 -> 256 at rerank 100 adds only 0.906 -> 0.912 at 6x the time.
RERANK_PER_MILLION = 10
RERANK_MAX = 200
RERANK_MIN = 100
PQ_MIN_N = 1024
PQ_TRAIN_ITERATIONS = 10
#: Vectors added to an index per call while building (the corpus may be memory-mapped).
ADD_CHUNK = 65_536


@dataclass(frozen=True)
class IndexSpec:
    """Which faiss index to build and with what parameters (recorded in the manifest)."""

    kind: str
    params: tuple[tuple[str, int], ...] = ()

    @property
    def param_dict(self) -> dict[str, int]:
        return dict(self.params)

    def memory_bytes(self, n: int, dim: int) -> int:
        """Estimated resident size of the index for ``n`` vectors of ``dim`` dimensions
        (the stored vectors used to re-score ``ivfpq`` hits are not counted)."""
        p = self.param_dict
        if self.kind == "ivfpq":
            codes = n * ((p["m"] or dim) + 8) + p["nlist"] * dim * 4 + 256 * dim * 4
            return codes + (n * dim + 2 * dim * 4 if p.get("sq8") else 0)  # + the 8-bit re-scoring codes
        if self.kind == "ivf" and p.get("fs"):  # 4-bit codes + ids in the lists, fp16 re-scoring codes
            return n * (2 * dim + 8 + (p["fs"] + 1) // 2) + p["nlist"] * dim * 4 + 16 * dim * 4
        if self.kind == "ivf":  # float32 vectors, or half-precision codes (fp16)
            return n * (dim * (2 if p.get("fp16") else 4) + 8) + p["nlist"] * dim * 4
        if self.kind == "hnsw":
            return n * (dim * 4 + p["M"] * 2 * 4 * 2)
        return n * dim * 4

    @property
    def refined(self) -> bool:
        """Whether candidates are re-scored from codes the index holds (``IndexRefine``: 8-bit
        ``sq8`` codes beyond the budget, fp16 codes behind the automatic fast-scan IVF)."""
        p = self.param_dict
        return bool(p.get("sq8") or p.get("fs"))

    def touched_bytes(self, n: int, dim: int) -> int:
        """Every byte a query may read, resident or memory-mapped: the index itself plus, for
        ``ivfpq``, the float vectors its hits are re-scored from (read at random rows)."""
        extra = n * dim * 4 if self.kind == "ivfpq" and not self.param_dict.get("sq8") else 0
        return self.memory_bytes(n, dim) + extra

    def describe(self) -> str:
        """Short human-readable form, e.g. ``ivf(nlist=4000, nprobe=20)``."""
        if not self.params:
            return self.kind
        return f"{self.kind}({', '.join(f'{k}={v}' for k, v in self.params)})"


def exact_limit(dim: int | None = None) -> int:
    """Largest corpus searched exactly for vectors of ``dim`` dimensions."""
    if not dim or dim <= 512:
        return EXACT_MAX
    return max(1, EXACT_MAX * 512 // int(dim))


def ivf_params(n: int) -> tuple[tuple[str, int], ...]:
    """nlist / nprobe / training-sample size of the IVF index for ``n`` vectors."""
    n = max(int(n), 1)
    nlist = int(round(IVF_LISTS_PER_SQRT_N * math.sqrt(n)))
    nlist = max(1, min(nlist, IVF_MAX_LISTS, n // 39 if n >= 39 else 1))  # faiss wants >= 39 points per list
    nprobe = max(1, min(nlist, max(IVF_MIN_NPROBE, nlist // IVF_NPROBE_DIVISOR)))
    train = min(n, IVF_TRAIN_PER_LIST * nlist)
    return (("nlist", nlist), ("nprobe", nprobe), ("train", train))


def pq_params(n: int, dim: int) -> tuple[tuple[str, int], ...]:
    """IVF parameters plus ``m`` (code bytes per vector, a divisor of ``dim``) for IVF-PQ;
    ``m = 0`` when ``dim`` has no divisor near the target: 8-bit scalar codes (``dim`` bytes)."""
    base = dict(ivf_params(n))
    target = max(1, min(dim // PQ_DIMS_PER_BYTE, 64 if dim <= 1024 else 256))
    near = [d for d in range(max(1, target // 2), 2 * target + 1) if dim % d == 0]
    m = min(near, key=lambda d: (abs(d - target), d)) if near else 0
    nprobe = min(base["nlist"], max(base["nprobe"], 2 * IVF_MIN_NPROBE))
    return (("nlist", base["nlist"]), ("nprobe", nprobe), ("train", min(n, max(base["train"], 256 * 39))),
            ("m", m), ("rerank", rerank_factor(n)))


def rerank_factor(n: int) -> int:
    """Candidates re-scored per wanted hit (x k) by an IVF-PQ index of ``n`` vectors: ``RERANK_FACTOR``
    up to 1M vectors, ``RERANK_PER_MILLION`` per million above (10M: 100), at most ``RERANK_MAX``."""
    return int(min(RERANK_MAX, max(RERANK_FACTOR, round(RERANK_PER_MILLION * max(int(n), 0) / 1_000_000))))


def budget_bytes() -> int:
    """The index memory budget in bytes (``UPAIR_INDEX_MEMORY_MB``, read at call time)."""
    return int(config.env("UPAIR_INDEX_MEMORY_MB")) << 20  # type: ignore[call-overload]


def choose_index(n: int, kind: str = "auto", dim: int | None = None) -> IndexSpec:
    """The index for ``n`` vectors of ``dim`` dimensions.

    ``kind="auto"`` follows ``$UPAIR_INDEX`` when set, else exact flat up to
    ``exact_limit(dim)`` vectors, IVF with 4-bit fast-scan codes re-scored from half-precision
    codes above (``auto_ivf``), and IVF-PQ re-scored from
    8-bit codes when that IVF's whole size exceeds the memory budget (strictly greater: an index
    exactly at the budget stays); "flat", "hnsw", "ivf" and "ivfpq" force a kind.
    """
    if kind == "auto":
        kind = str(config.env(INDEX_ENV))
    if kind not in INDEX_KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    if kind == "auto":
        kind = "flat" if n <= exact_limit(dim) else "ivf-fp16"
        if kind == "ivf-fp16" and auto_ivf(n, dim or 512).touched_bytes(n, dim or 512) > budget_bytes():
            kind = "ivfpq-sq8"  # beyond the budget: no float vector is read at query time
    if kind.startswith("ivfpq") and n < PQ_MIN_N:  # too few vectors to train 256 codewords: exact
        kind = "flat"
    if kind == "ivfpq-sq8":
        return IndexSpec("ivfpq", pq_params(n, dim or 512) + (("sq8", 1),))
    if kind == "ivfpq":
        return IndexSpec("ivfpq", pq_params(n, dim or 512))
    if kind == "hnsw":
        return IndexSpec("hnsw", HNSW_PARAMS)
    if kind == "ivf-fp16":
        return auto_ivf(n, dim or 512)
    if kind == "ivf":
        return IndexSpec("ivf", ivf_params(n))
    return IndexSpec("flat")


def auto_ivf(n: int, dim: int = 512) -> IndexSpec:
    """The automatic choice within the budget: IVF lists of 4-bit fast-scan PQ codes (``fs`` =
    ``dim / 2`` sub-quantizers), probed ``nprobe = max(AUTO_MIN_NPROBE, nlist / AUTO_NPROBE_DIVISOR)``
    lists, ``AUTO_RERANK x k`` candidates re-scored from half-precision codes (``fp16``). An odd
    ``dim`` has no even split: half-precision lists instead (no ``fs``, no re-scoring)."""
    p = dict(ivf_params(n))
    p["nprobe"] = min(p["nlist"], max(AUTO_MIN_NPROBE, p["nlist"] // AUTO_NPROBE_DIVISOR))
    if dim >= 2 and dim % 2 == 0:
        p["fs"], p["rerank"] = dim // 2, AUTO_RERANK
    return IndexSpec("ivf", tuple(p.items()) + (("fp16", 1),))


def _make(spec: IndexSpec, vectors: np.ndarray):
    import faiss

    config.configure_threads()
    n, d = vectors.shape
    p = spec.param_dict
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, p["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = p["efConstruction"]
        index.hnsw.efSearch = p["efSearch"]
    elif spec.kind in ("ivf", "ivfpq"):
        quantizer = faiss.IndexFlatIP(d)
        if spec.kind == "ivf" and p.get("fs"):
            index = faiss.IndexIVFPQFastScan(quantizer, d, p["nlist"], p["fs"], 4, faiss.METRIC_INNER_PRODUCT)
        elif spec.kind == "ivf" and p.get("fp16"):
            index = faiss.IndexIVFScalarQuantizer(quantizer, d, p["nlist"], faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT, False)
        elif spec.kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, d, p["nlist"], faiss.METRIC_INNER_PRODUCT)
        elif p["m"]:
            index = faiss.IndexIVFPQ(quantizer, d, p["nlist"], p["m"], 8, faiss.METRIC_INNER_PRODUCT)
            index.pq.cp.niter = PQ_TRAIN_ITERATIONS  # codes only rank candidates; hits are re-scored
        else:
            index = faiss.IndexIVFScalarQuantizer(quantizer, d, p["nlist"], faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
        index.cp.spherical = True  # centroids on the unit sphere, as the data
        index.cp.seed = 1234
        index.cp.niter = IVF_TRAIN_ITERATIONS
        if p["train"] < n:  # sorted rows: sequential reads when the vectors are memory-mapped
            rows = np.sort(np.random.default_rng(0).choice(n, p["train"], replace=False))
            sample = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        else:
            sample = np.ascontiguousarray(vectors, dtype=np.float32)
        if spec.refined:  # candidates re-scored from 8-bit / fp16 codes held by the index
            base = index
            qtype = faiss.ScalarQuantizer.QT_8bit if p.get("sq8") else faiss.ScalarQuantizer.QT_fp16
            fine = faiss.IndexScalarQuantizer(d, qtype, faiss.METRIC_INNER_PRODUCT)
            index = faiss.IndexRefine(base, fine)
            base.this.disown()
            fine.this.disown()
            index.own_fields = True
        index.train(sample)
        del sample
        _apply_search_params(index, spec)
    else:  # pragma: no cover - guarded by choose_index
        raise ValueError(f"unknown index kind {spec.kind!r}")
    for a in range(0, n, ADD_CHUNK):  # streamed: a memory-mapped corpus is never read whole into RAM
        index.add(np.ascontiguousarray(vectors[a:a + ADD_CHUNK], dtype=np.float32))
    return index


def _apply_search_params(index, spec: IndexSpec) -> None:
    p = spec.param_dict
    if spec.kind == "hnsw":
        index.hnsw.efSearch = p["efSearch"]
    elif spec.kind in ("ivf", "ivfpq"):
        import faiss

        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = p["nprobe"]
        ivf.parallel_mode = 0  # one query: one thread; batches: one thread per query
        if spec.refined:
            refine = faiss.downcast_index(index)
            refine.k_factor = float(p.get("rerank", RERANK_FACTOR))


@dataclass(frozen=True, eq=False)
class VectorIndex:
    """A searchable index over one ``Embeddings``."""

    embeddings: Embeddings
    index: object = field(repr=False)
    spec: IndexSpec = IndexSpec("flat")
    #: How the index was obtained: "built", "mmap" (memory-mapped cache), "read" (cache, in RAM).
    source: str = "built"

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, row ids) per query row, best first; ``k`` is capped at the
        corpus size and every returned id is a valid row (never -1): rows an approximate
        index could not fill are answered exactly instead."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if q.shape[1] != self.embeddings.dim:
            raise ValueError(f"query has dimension {q.shape[1]}, index has {self.embeddings.dim}")
        k = max(1, min(int(k), self.ntotal))
        if self.spec.kind == "ivfpq" and not self.spec.param_dict.get("sq8"):
            return self._search_rescored(q, k)
        scores, rows = self.index.search(q, k)
        short = np.flatnonzero((rows < 0).any(axis=1))
        if len(short):
            s, r = exact_search(self.embeddings.vectors, q[short], k)
            scores[short], rows[short] = s, r
        return scores, rows

    def _search_rescored(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates from the compressed index, re-scored exactly from the stored vectors."""
        depth = min(self.ntotal, max(RERANK_MIN, self.spec.param_dict.get("rerank", RERANK_FACTOR) * k))
        _, cand = self.index.search(q, depth)
        vectors = self.embeddings.vectors
        out_s = np.empty((len(q), k), dtype=np.float32)
        out_r = np.empty((len(q), k), dtype=np.int64)
        for i in range(len(q)):
            rows = cand[i][cand[i] >= 0]
            if len(rows) < k:  # the probed lists held too few vectors: answer exactly
                out_s[i], out_r[i] = (a[0] for a in exact_search(vectors, q[i:i + 1], k))
                continue
            rows = np.sort(rows)  # sequential reads when the vectors are memory-mapped
            exact = np.asarray(vectors[rows], dtype=np.float32) @ q[i]
            top = np.argsort(-exact, kind="stable")[:k]
            out_s[i], out_r[i] = exact[top], rows[top]
        return out_s, out_r

    def neighbours(self, query: np.ndarray, k: int, exclude: set[str] | None = None) -> list[tuple[str, float]]:
        """(id, score) of the ``k`` nearest figures to one query vector, best first (figures
        whose image is unreadable, ``embeddings.excluded``, are never returned)."""
        exclude = set(exclude or ()) | set(getattr(self.embeddings, "excluded", ()))
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


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products of ``queries`` against ``vectors`` (numpy, any size)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    k = max(1, min(int(k), len(vectors)))
    sims = q @ vectors.T
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < len(vectors) else np.tile(np.arange(len(vectors)), (len(q), 1))
    top = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(part, order, axis=1).astype(np.int64)


def _index_dir(emb: Embeddings, spec: IndexSpec) -> Path:
    p = spec.param_dict
    suffix = "-sq8" if p.get("sq8") else "-fs" if p.get("fs") else "-fp16" if p.get("fp16") else ""
    return config.cache_dir() / "indices" / f"{emb.key}-{spec.kind}{suffix}"


def index_paths(emb: Embeddings, kind: str = "auto") -> tuple[Path, Path]:
    """(index file, manifest) where the index of ``emb`` is (or would be) cached."""
    folder = _index_dir(emb, choose_index(len(emb.ids), kind, emb.dim))
    return folder / "index.faiss", folder / "manifest.json"


def read_index(path: Path, mmap: bool = True):
    """Read a faiss index file, memory-mapped where faiss allows it.

    Returns ``(index, how)`` with ``how`` "mmap" or "read"; raises RuntimeError when the
    file cannot be read at all.
    """
    import faiss

    attempts = []
    if mmap:
        # in-file codes mapped (flat, HNSW and IVF vectors); then IVF on-disk inverted lists
        attempts += [("mmap", faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY),
                     ("mmap", faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)]
    attempts.append(("read", 0))
    error: Exception | None = None
    for how, flags in attempts:
        try:
            return faiss.read_index(str(path), flags), how
        except (RuntimeError, MemoryError) as exc:
            error = exc
    raise RuntimeError(f"cannot read faiss index {path}: {error}")


def _load(path: Path, manifest: dict, emb: Embeddings, spec: IndexSpec):
    """The cached index, or None when it is missing, damaged or does not fit ``emb``."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size != manifest.get("bytes"):
        return None
    if size <= CHECKSUM_MAX_BYTES and sha256_file(path) != manifest.get("sha256"):
        return None
    config.configure_threads()
    try:
        index, how = read_index(path, mmap=True)
    except RuntimeError:
        return None
    if index.ntotal != len(emb.ids) or index.d != emb.dim:
        return None
    _apply_search_params(index, spec)
    return index, how


def _write_index(index, path: Path) -> tuple[int, str]:
    """Write ``index`` to ``path`` atomically (temp file + rename); (bytes, sha256)."""
    import faiss

    with atomic_path(path) as tmp:
        faiss.write_index(index, str(tmp))
        size, digest = tmp.stat().st_size, sha256_file(tmp)
    return size, digest


def build_index(emb: Embeddings, kind: str = "auto") -> VectorIndex:
    """Load the cached index for ``emb`` or build and cache it (one build at a time)."""
    if len(emb.ids) == 0:
        raise ValueError("cannot index an empty corpus")
    spec = choose_index(len(emb.ids), kind, emb.dim)
    folder = _index_dir(emb, spec)
    path, man_path = folder / "index.faiss", folder / "manifest.json"
    expect = {"format": INDEX_FORMAT, "key": emb.key, "n": len(emb.ids), "dim": emb.dim, "kind": spec.kind,
              "params": spec.param_dict}
    with exclusive(f"index|{folder}"):
        manifest = load_json(man_path)
        if isinstance(manifest, dict) and path.exists():
            if all(manifest.get(k) == v for k, v in expect.items()):
                loaded = _load(path, manifest, emb, spec)
                if loaded is not None:
                    return VectorIndex(emb, loaded[0], spec, source=loaded[1])
            log.warning("cached index %s is damaged or stale; rebuilding it", path)
        index = _make(spec, emb.vectors)
        size, digest = _write_index(index, path)
        atomic_write_json(man_path, {**expect, "bytes": size, "sha256": digest,
                                     "memory_bytes": spec.memory_bytes(len(emb.ids), emb.dim),
                                     "touched_bytes": spec.touched_bytes(len(emb.ids), emb.dim),
                                     "budget_bytes": budget_bytes()})
        _apply_search_params(index, spec)
        return VectorIndex(emb, index, spec, source="built")
