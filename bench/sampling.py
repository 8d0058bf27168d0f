"""Section f: candidate sampling's percentile thresholds and bands, exact, at scale.

Ours (``scores=fast``, the ``fast-scores`` protocol): one matrix product per query batch, ``numpy.percentile`` for the band edges, four band
masks per query (``core.annotation.sampling.bands``). The reference's way, on the same
vectors: per query a full ``search_top_k`` (every score, one dict per figure), percentiles at
its 20,000-value grid, one ``range_search`` per group and one more full search for the cited
figures (its own ``PatentIndex``, imported from ``../shared/reference`` when present).

Both are measured at a size this shared machine holds comfortably and extrapolated linearly in
the corpus size (and, for ours, per index dimension) to 1M figures × 120 queries × the
reference config's six indices; the report says which numbers are measured and which derived.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from .common import ROOT, Section, log, ratio
from .data import uniform

REFERENCE_SRC = ROOT.parent / "shared" / "reference" / "upair" / "src"
#: The reference config's index dimensions (PaECTER ×3, CLIP-H, PatentNet, ResNeXt-101).
REFERENCE_DIMS = {"title": 1024, "desc": 1024, "label": 1024, "clip": 1024, "patentnet": 512, "resnext": 2048}
KEYS = ("100.000", "97.000", "95.000", "92.000", "90.000", "87.000", "85.000", "82.000")
BANDS = (("100.000", "97.000"), ("95.000", "92.000"), ("90.000", "87.000"), ("85.000", "82.000"))


def _ours(x: np.ndarray, q: np.ndarray) -> tuple[float, int]:
    """Seconds for every query's thresholds and four bands on one index; total in-band hits."""
    from core.annotation.sampling.bands import batches, in_band, score_block, thresholds

    thresholds(score_block(q[:1], x)[0], KEYS)  # warm-up: BLAS threads, first-touch pages
    hits = 0
    t0 = time.perf_counter()
    for sl in batches(len(q), len(x)):
        block = score_block(q[sl], x)
        for row in block:
            th = thresholds(row, KEYS)
            for upper, lower in BANDS:
                hits += len(in_band(row, th.values[lower], th.values[upper]))
    return time.perf_counter() - t0, hits


def _reference(x: np.ndarray, q: np.ndarray) -> tuple[float, int] | None:
    """Seconds for the reference's per-query work on one index; None without the reference."""
    if not (REFERENCE_SRC / "patent_index.py").is_file():
        return None
    sys.path.insert(0, str(REFERENCE_SRC))
    try:
        from patent_index import PatentIndex
    finally:
        sys.path.remove(str(REFERENCE_SRC))
    ids = [str(i) for i in range(len(x))]
    index = PatentIndex(dim=x.shape[1])
    index.add(x, ids, ids, ids)
    grid = np.arange(100.0, 80.0, -0.001)
    hits = 0
    t0 = time.perf_counter()
    for v in q:
        scores = [r["score"] for r in index.search_top_k(query_embedding=v)]  # set_thresholds
        table = {f"{p:.3f}": f"{s}" for p, s in zip(grid, np.percentile(scores, grid))}
        for upper, lower in BANDS:  # select_candidates, one range search per group
            hits += len(index.search_top_k_within_threshold(
                v, min_threshold=float(table[lower]), max_threshold=float(table[upper])))
        index.search_top_k(query_embedding=v)  # fetch_cited_patents
    return time.perf_counter() - t0, hits


def deviation(n: int, n_q: int, seed: int = 0) -> dict:
    """fast-scores vs upair on six correlated indices of the reference's dimensions: identical
    thresholds, bands and groups (all six bands identical), as shares."""
    from core.annotation.sampling.bands import FaissRows, in_band, score_block, thresholds

    rng = np.random.default_rng(seed)
    latent, q_latent = rng.standard_normal((n, 16)), rng.standard_normal((n_q, 16))
    same_th = same_band = bands = 0
    group_same = np.ones((n_q, len(BANDS)), bool)
    for name, d in REFERENCE_DIMS.items():
        proj = rng.standard_normal((16, d)).astype(np.float32)
        x = (latent @ proj + rng.standard_normal((n, d))).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        q = (q_latent @ proj + rng.standard_normal((n_q, d))).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        exact, fast = FaissRows(x), score_block(q, x)
        for j in range(n_q):
            te, tf = thresholds(exact.row(q[j]), KEYS), thresholds(fast[j], KEYS)
            same_th += sum(te.values[k] == tf.values[k] for k in KEYS)
            for b, (upper, lower) in enumerate(BANDS):
                e = set(exact.band(q[j], te.values[lower], te.values[upper])[0].tolist())
                f = set(in_band(fast[j], tf.values[lower], tf.values[upper]).tolist())
                same_band += e == f
                bands += 1
                group_same[j, b] &= e == f
        del x, exact, fast
    return {"thresholds": same_th / (bands * len(KEYS) / len(BANDS)), "bands": same_band / bands,
            "groups": float(group_same.mean()), "n": n, "queries": n_q}


def run(work: Path, quick: bool) -> Section:
    n = 5_000 if quick else 100_000
    n_q, n_q_ref = (16, 2) if quick else (120, 3)
    sec = Section(
        name="sampling", title="f. Candidate sampling: percentile thresholds and bands, exact",
        method=(f"unit vectors (cost does not depend on their distribution), {n:,} figures; ours on {n_q} queries "
                "per index dimension, the "
                f"reference's PatentIndex on {n_q_ref} queries per dimension (per-query cost is what scales); "
                "1M × 120 × 6 indices estimated from measured per-query costs (not run as a whole)"),
        columns=[("dim", "dim"), ("what", "what"), ("ours_ms_per_query", "ours ms/query"),
                 ("ref_ms_per_query", "reference ms/query"), ("ratio", "speed-up")],
    )
    per_query_ours: dict[int, float] = {}
    ref_per_query: dict[int, float] = {}
    for dim in sorted(set(REFERENCE_DIMS.values())):
        x, q = uniform(n, dim=dim, n_queries=n_q, seed=dim)
        log(f"sampling: ours, {n:,} × {dim}, {n_q} queries")
        s, hits = _ours(x, q)
        per_query_ours[dim] = s / n_q
        ref = None
        log(f"sampling: reference, {n:,} × {dim}, {n_q_ref} queries")
        r = _reference(x, q[:n_q_ref])
        if r is not None:
            ref = ref_per_query[dim] = r[0] / n_q_ref
        sec.rows.append({"dim": dim, "what": f"measured at {n:,} figures",
                         "ours_ms_per_query": per_query_ours[dim] * 1e3,
                         "ref_ms_per_query": None if ref is None else ref * 1e3,
                         "ratio": ratio(ref, per_query_ours[dim])})
        del x, q
    if not quick:  # one index at full size, measured, to check the linear extrapolation
        x, q = uniform(1_000_000, dim=512, n_queries=n_q, seed=7)
        log(f"sampling: ours, 1,000,000 × 512, {n_q} queries (measured)")
        s_full, _ = _ours(x, q)
        del x, q
        ref_full = ref_per_query[512] * 1_000_000 / n if 512 in ref_per_query else None
        sec.rows.append({"dim": 512, "what": "measured at 1,000,000 figures (reference extrapolated)",
                         "ours_ms_per_query": s_full / n_q * 1e3,
                         "ref_ms_per_query": None if ref_full is None else ref_full * 1e3,
                         "ratio": ratio(ref_full, s_full / n_q)})
        sec.extra["measured_1m_512_s"] = s_full
        sec.notes.append(f"Check of the extrapolation: one 512-d index at 1,000,000 figures, measured, "
                         f"{s_full / n_q * 1e3:.0f} ms per query against "
                         f"{per_query_ours[512] * 1e3 * 1_000_000 / n:.0f} ms "
                         "extrapolated.")
    scale = 1_000_000 / n
    ours_1m = sum(per_query_ours[d] for d in REFERENCE_DIMS.values()) * 120 * scale
    if "measured_1m_512_s" in sec.extra:  # measured at 1M: scale that by each dimension's cost relative to 512-d
        at_1m = sec.extra["measured_1m_512_s"] / n_q
        ours_1m = sum(at_1m * per_query_ours[d] / per_query_ours[512] for d in REFERENCE_DIMS.values()) * 120
    ref_1m = (sum(ref_per_query[d] for d in REFERENCE_DIMS.values()) * 120 * scale
              if all(d in ref_per_query for d in REFERENCE_DIMS.values()) else None)
    sec.rows.append({"dim": "6 indices", "what": "1M figures × 120 queries (estimated)",
                     "ours_ms_per_query": ours_1m / 120 * 1e3,
                     "ref_ms_per_query": None if ref_1m is None else ref_1m / 120 * 1e3,
                     "ratio": ratio(ref_1m, ours_1m)})
    sec.extra["target"] = {"n": 1_000_000, "queries": 120, "indices": len(REFERENCE_DIMS), "ours_s": ours_1m,
                           "reference_s": ref_1m, "ratio": ratio(ref_1m, ours_1m), "measured_n": n}
    basis = ("the 512-d index measured at 1M, scaled per index by its dimension's cost at "
             f"{n:,}" if "measured_1m_512_s" in sec.extra else f"extrapolated ×{scale:g} from {n:,} figures")
    sec.notes.append(f"1M × 120 queries × 6 indices: ours ≈ {ours_1m / 60:.1f} min ({basis})"
                     + (f"; the reference's way ≈ {ref_1m / 3600:.1f} h (extrapolated ×{scale:g} linearly from "
                        f"{n:,} figures, which if anything underestimates it; its cost per query is dominated by "
                        "one Python dict per figure, independent of the dimension, so its 512-d cost is used for "
                        "every index)" if ref_1m else "") + ".")
    sec.notes.append(f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine; "
                     "per-query times vary run to run with the load, ratios less so).")
    sec.notes.append("Encoding the 1M figures is not included (see section a); neither is dedup/merge, which "
                     "touch only in-band figures.")
    n_dev = 5_000 if quick else 100_000
    log(f"sampling: fast-scores vs upair, {n_dev:,} figures × 6 indices, 40 queries")
    dev = sec.extra["fast_scores_vs_upair"] = deviation(n_dev, 40)
    sec.notes.append(f"fast-scores vs upair ({n_dev:,} correlated figures, 40 queries, the reference's 6 index "
                     f"dimensions and 4 bands, this machine's BLAS): identical thresholds {dev['thresholds']:.1%}, "
                     f"identical bands {dev['bands']:.1%}, groups with all six bands identical {dev['groups']:.1%} "
                     "(those are drawn identically; the rest may differ from the reference's pools). Under the "
                     "upair protocol (faiss) all are identical by construction and test.")
    return sec
