"""Section d: UMAP maps (core.maps.map_coords), computed and cached."""
from __future__ import annotations

import time
from pathlib import Path

from .common import Section, log, ratio, timer
from .data import ClusteredSpace

#: Largest map attempted in a full run, and the fallback when it would take too long.
BIG, FALLBACK, LIMIT_S = 50_000, 20_000, 300.0


def _emb(x, key: str):
    from core.embed import Embeddings

    return Embeddings(spec="synthetic", what="image", key=key, ids=tuple(map(str, range(len(x)))), vectors=x)


def run(work: Path, quick: bool) -> Section:
    from core import config

    with config.use_cache(work / "umap-cache"):
        return _run(work, quick)


def _run(work: Path, quick: bool) -> Section:
    from core import config
    from core import maps

    config.configure_threads()
    space = ClusteredSpace(dim=512, n_centres=200, seed=7)
    sec = Section(
        name="umap", title="d. UMAP maps: compute vs show a cached map",
        method=(
            "`core.maps.map_coords` (UMAP to 2-D, cosine, n_neighbors 15, min_dist 0.1, fixed seed: "
            "umap runs single-threaded) on 512-d clustered unit vectors (200 centres). `import umap` and the "
            "numba JIT compilation of the first fit (a 300-point map) are timed separately: they are paid once "
            "per server process. *Cached* = the same call again: the map is read from the on-disk cache "
            "(checksum-verified .npy), no UMAP."
        ),
        columns=[("n", "points"), ("compute_s", "compute s"), ("cached_ms", "cached ms"),
                 ("ratio_compute_vs_cached", "compute vs cached")],
    )
    with timer() as t_imp:
        maps.configure_numba()
        import umap  # noqa: F401
    with timer() as t_jit:
        maps.map_coords(_emb(space.sample(300, seed=1), "umap-jit"))
    # umap finds neighbours exactly below 4096 points and with NN-descent above: the second
    # path has its own numba functions, compiled on its first use
    jit_nnd = None
    if not quick:
        with timer() as t_jit2:
            maps.map_coords(_emb(space.sample(5_000, seed=2), "umap-jit-nnd"))
        jit_nnd = t_jit2["s"]
    sec.extra.update({"import_umap_s": t_imp["s"], "first_fit_jit_s": t_jit["s"], "first_nndescent_fit_s": jit_nnd})
    sec.notes.append(f"One-off per process: `import umap` {t_imp['s']:.1f} s, first fit incl. numba JIT "
                     f"(300 points) {t_jit['s']:.1f} s"
                     + (f", first fit above 4,096 points (NN-descent JIT + a 5,000-point map) {jit_nnd:.1f} s."
                        if jit_nnd is not None else "."))
    sizes = [300, 600] if quick else [1_000, 10_000, BIG]
    done: dict[int, float] = {}
    for n in sizes:
        if n == BIG and 10_000 in done:
            est = done[10_000] * (BIG / 10_000) * 1.2
            if est > LIMIT_S:
                sec.notes.append(f"{BIG:,} points would take ~{est:.0f} s (> {LIMIT_S:.0f} s, extrapolated from "
                                 f"10k): measured {FALLBACK:,} instead.")
                n = FALLBACK
        log(f"umap: {n:,} points")
        x = space.sample(n, seed=n)
        emb = _emb(x, f"umap-{n}")
        with timer() as t_c:
            xy = maps.map_coords(emb)
        assert xy.shape == (n, 2)
        reps = []
        for _ in range(5):
            t = time.perf_counter()
            xy2 = maps.map_coords(emb)
            reps.append(time.perf_counter() - t)
        assert (xy2 == xy).all()
        cached = sorted(reps)[len(reps) // 2]
        done[n] = t_c["s"]
        sec.rows.append({"n": n, "compute_s": t_c["s"], "cached_ms": cached * 1e3,
                         "ratio_compute_vs_cached": ratio(t_c["s"], cached),
                         "estimate_s": maps.estimate_seconds(n, 512)})
    sec.notes.append("umap-learn runs 500 optimisation epochs up to 10,000 points and 200 above, so a map of "
                     "a bit more than 10k points can take less time than one of 10k.")
    sec.notes.append("Cached ms is the median of 5 reloads. The dashboard also keeps the map frame in "
                     "`st.cache_data`, so a re-run of the Map page does not even read the file.")
    return sec
