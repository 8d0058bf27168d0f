"""10M drawing-like vectors, measured: a streamed build of the automatic index and exact recall.

``python -m bench.index10m [--n 10000000] [--work DIR]`` (opt-in: about half an hour on the
2 shared cores and ~27 GB of disk under ``--work``, deleted afterwards unless ``--keep``).
Writes ``bench/index10m.json``; section h of ``make bench`` shows those rows (with the date and
the load they were measured under) without re-running them.

1. The corpus is streamed to a memory-mapped ``.npy`` (float32, 512-d) in chunks of 50,000
   vectors with the HOG-drawing geometry of ``bench.descriptors`` (families of 8 views around
   centres drawn from the measured spectrum). Each chunk comes from its own seeded generator,
   and each chunk also yields one *held-out* query: a fresh view of the chunk's first family
   (a drawing that is in the corpus), never added to it.
2. The index is ``core.index.build_index`` on those memory-mapped vectors with the automatic
   choice (beyond the default memory budget: IVF-PQ re-scored from 8-bit codes), whose build
   trains on a sample and adds the vectors chunk by chunk (never the whole array in RAM).
3. Exact truth: a streamed exact search over the same memory-mapped vectors (numpy, chunk by
   chunk, top 10 merged), then recall@10 of the index on the held-out queries.
4. Latency: the cached index reloaded memory-mapped, single queries one at a time, one thread.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .common import ROOT, log, percentiles, rss_mb, timer

RESULT = ROOT / "bench" / "index10m.json"
CHUNK = 50_000  # a multiple of the family size (8)
PER_FAMILY = 8


def _space(work: Path):
    """The HOG-drawing geometry (cached in ``work``: measuring it encodes ~3,800 views)."""
    import pickle

    from .descriptors import DescriptorSpace, real_descriptors
    from .scale import _figures

    path = work / "hog-space.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    d, owner = real_descriptors(_figures(False), "hog", 8)
    space = DescriptorSpace(d, owner, 512)
    path.write_bytes(pickle.dumps(space))
    return space


def chunk_vectors(space, index: int, size: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """(``size`` corpus vectors, 1 held-out query) of chunk ``index``: its own generator, so any
    chunk can be made again alone; the query is a new view of the chunk's first family."""
    rng = np.random.default_rng([seed, index])
    families = -(-size // PER_FAMILY)
    z = rng.standard_normal((families, space.centre_scale.shape[0]))
    centres = (space.centre_mean + z @ space.centre_scale + space.offset).astype(np.float32)
    fam = np.repeat(np.arange(families), PER_FAMILY)[:size]
    res = space.residuals[rng.integers(0, len(space.residuals), size)]
    x = centres[fam] + res * rng.uniform(0.8, 1.2, (size, 1)).astype(np.float32)
    qres = space.residuals[rng.integers(0, len(space.residuals), 1)]
    q = centres[:1] + qres * rng.uniform(0.8, 1.2, (1, 1)).astype(np.float32)
    return space._finish(x), space._finish(q)


def write_corpus(space, path: Path, n: int) -> np.ndarray:
    """Stream ``n`` vectors to a memory-mapped ``.npy``; returns the held-out queries."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, space.dim))
    queries = []
    for i, a in enumerate(range(0, n, CHUNK)):
        b = min(n, a + CHUNK)
        out[a:b], q = chunk_vectors(space, i, b - a)
        queries.append(q)
    out.flush()
    del out
    return np.concatenate(queries)


def streamed_exact(vectors: np.ndarray, q: np.ndarray, k: int = 10, chunk: int = 200_000) -> np.ndarray:
    """Exact top-``k`` rows by inner product, one chunk of ``vectors`` at a time (numpy BLAS)."""
    best_s = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_r = np.zeros((len(q), k), dtype=np.int64)
    for a in range(0, len(vectors), chunk):
        sims = q @ np.asarray(vectors[a:a + chunk]).T
        s = np.concatenate([best_s, sims], axis=1)
        r = np.concatenate([best_r, np.broadcast_to(np.arange(a, a + sims.shape[1]), sims.shape)], axis=1)
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s, best_r = np.take_along_axis(s, top, axis=1), np.take_along_axis(r, top, axis=1)
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_r, order, axis=1)


def _recall(rows: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(r.tolist()) & set(t.tolist())) / truth.shape[1] for r, t in zip(rows, truth)]))


#: Query-time settings tried on the built index (nprobe lists, rerank x k candidates re-scored).
SWEEP_NPROBE = (32, 64, 128, 256)
SWEEP_RERANK = (10, 30, 100)


def sweep(vl, q: np.ndarray, truth: np.ndarray, timed: int = 100) -> list[dict]:
    """Recall@10 and single-query p50 / p95 of the same index at other query-time settings
    (``SWEEP_NPROBE`` x ``SWEEP_RERANK``; nothing is rebuilt: both are search parameters)."""
    import faiss

    if vl.spec.kind not in ("ivf", "ivfpq"):
        return []
    ivf = faiss.extract_index_ivf(vl.index)
    refine = faiss.downcast_index(vl.index) if vl.spec.param_dict.get("sq8") else None
    rows_out = []
    for nprobe in SWEEP_NPROBE:
        for rerank in (SWEEP_RERANK if refine is not None else (None,)):
            ivf.nprobe = nprobe
            if refine is not None:
                refine.k_factor = float(rerank)
            _, rows = vl.index.search(q, 10)
            lat = []
            for i in range(min(timed, len(q))):
                t = time.perf_counter()
                vl.index.search(q[i:i + 1], 10)
                lat.append(time.perf_counter() - t)
            p50, p95 = percentiles(lat)
            rows_out.append({"nprobe": nprobe, "rerank": rerank, "recall_at_10": _recall(rows, truth),
                             "p50_ms": p50, "p95_ms": p95})
            log(f"10M sweep: {rows_out[-1]}")
    return rows_out


def measure(work: Path, n: int) -> dict:
    from core import config
    from core import index as ix
    from core.embed import Embeddings

    config.configure_threads()
    os.environ.pop(ix.INDEX_ENV, None)
    work.mkdir(parents=True, exist_ok=True)
    out: dict = {"n": n, "dim": 512, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "uptime_start": os.popen("uptime").read().strip()}
    space = _space(work)
    vec_path = work / f"hog-{n}.npy"
    log(f"10M: streaming {n:,} vectors to {vec_path}")
    with timer() as t_gen:
        q = write_corpus(space, vec_path, n)
    out["generate_s"], out["queries"] = t_gen["s"], len(q)
    x = np.load(vec_path, mmap_mode="r")
    emb = Embeddings("synthetic", "image", f"index10m-hog-{n}", tuple(map(str, range(n))), x)
    spec = ix.choose_index(n, "auto", 512)
    out["index"] = spec.describe()
    with config.use_cache(work / "cache"):
        log(f"10M: building {spec.describe()} (streamed)")
        r0 = rss_mb()
        with timer() as t_build:
            vi = ix.build_index(emb)
        out["build_s"], out["rss_build_mb"] = t_build["s"], rss_mb() - r0
        out["uptime_build"] = os.popen("uptime").read().strip()
        path, man_path = ix.index_paths(emb)
        man = json.loads(man_path.read_text())
        out["file_mb"], out["touched_mb"] = path.stat().st_size / 1e6, man["touched_bytes"] / 1e6
        del vi
        gc.collect()
        log("10M: exact search streamed over the same vectors")
        with timer() as t_exact:
            truth = streamed_exact(x, q)
        out["exact_s_per_query"] = t_exact["s"] / len(q)
        r1 = rss_mb()
        with timer() as t_load:
            vl = ix.build_index(emb)
        out["load_s"], out["load_via"], out["rss_load_mb"] = t_load["s"], vl.source, rss_mb() - r1
        _, rows = vl.search(q, 10)
        out["recall_at_10"] = _recall(rows, truth)
        lat = []
        for _ in range(2):  # the second pass is the warm one reported
            lat = []
            for i in range(len(q)):
                t = time.perf_counter()
                vl.search(q[i], 10)
                lat.append(time.perf_counter() - t)
        out["p50_ms"], out["p95_ms"] = percentiles(lat)
        out["sweep"] = sweep(vl, q, truth)
        out["uptime_end"] = os.popen("uptime").read().strip()
        del vl
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.index10m", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="corpus size (default 10M)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/upair-index10m"),
                    help="folder it makes for the vectors and the index (~27 GB at 10M)")
    ap.add_argument("--keep", action="store_true", help="keep the vectors and the index afterwards")
    ap.add_argument("--out", type=Path, default=RESULT, help="result JSON (default bench/index10m.json)")
    args = ap.parse_args(argv)
    if not 100_000 <= args.n <= 50_000_000:
        raise SystemExit(f"--n {args.n}: must be between 100,000 and 50,000,000")
    if args.work.exists() and not (args.work / ".index10m").is_file():
        raise SystemExit(f"--work {args.work} exists and was not made by bench.index10m; give a new folder")
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / ".index10m").touch()
    try:
        res = measure(args.work, args.n)
    finally:
        if not args.keep:
            for p in args.work.iterdir():
                if p.name not in (".index10m", "hog-space.pkl"):
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
    args.out.write_text(json.dumps(res, indent=1))
    log(f"10M: {json.dumps(res)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
