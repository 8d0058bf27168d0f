"""Section l: part-level search and match heatmaps — cost per corpus size and encoder."""
from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
from pathlib import Path

from .common import TINY_ARCH, Section, clip_checkpoint, log, rss_mb, timer


def _corpora(quick: bool):
    """(label, corpus) pairs: the real query-patent figures (or the demo) in growing sizes."""
    from core import config
    from core.corpora import load_corpus

    qp = config.shared_data_dir() / "query-patents"
    base = load_corpus(f"query-patents:{qp}") if qp.is_dir() else load_corpus("demo")
    what = "query-patents" if qp.is_dir() else "demo"
    sizes = [24] if quick else [30, 60, len(base.figures)]
    out = []
    for n in sizes:
        n = min(n, len(base.figures))
        out.append((f"{what} ({n})", dataclasses.replace(base, figures=base.figures[:n], benchmark=None)))
    if not quick and what == "query-patents":
        out.append(("demo (all)", load_corpus("demo")))
    return out


def _row(label: str, spec: str, corpus, queries: int) -> dict:
    from core.embed import require
    from core.examiner import Region
    from core.explain import build_part_index, explain, search_parts
    from core.figures import load_figure_image

    with timer() as t_cold:
        index = build_part_index(corpus, spec)
    with timer() as t_warm:
        again = build_part_index(corpus, spec)
    assert again.computed == 0
    enc = require(spec)
    r0 = rss_mb()
    figs = corpus.figures[:queries]
    lat, ex_lat = [], []
    region = Region(0.1, 0.1, 0.6, 0.6)
    for f in figs:
        im = load_figure_image(f)
        crop = region.crop(im)
        with timer() as t:
            search_parts(index, crop, k=10, exclude=(f.id,))
        lat.append(t["s"])
        hit = load_figure_image(corpus.figures[(corpus.figures.index(f) + 1) % len(corpus.figures)])
        with timer() as t2:
            explain(enc, im, hit, region)
        ex_lat.append(t2["s"])
    n = len(index.ids)
    return {"encoder": label, "figures": n, "grid": "x".join(map(str, index.grid_shape)),
            "dim": int(index.feats.shape[-1]), "build_s": t_cold["s"], "per_figure_ms": 1e3 * t_cold["s"] / max(n, 1),
            "warm_s": t_warm["s"], "index_mb": index.nbytes / 2**20, "search_ms": 1e3 * statistics.median(lat),
            "explain_ms": 1e3 * statistics.median(ex_lat), "rss_mb": r0}


def run(work: Path, quick: bool) -> Section:
    from core import config

    config.configure_threads()
    vit = clip_checkpoint(TINY_ARCH if quick else "ViT-B-16", work)
    encs = [("HOG (16x16 cells, 9-d)", "hog"),
            (f"CLIP {'TinyCLIP 64 px' if quick else 'ViT-B-16'} (random init), patch tokens", vit)]
    queries = 3
    sec = Section(
        name="explain", title="l. Where two figures agree: part index, part-level search, heatmaps",
        method=("`core.explain.build_part_index` on an empty cache (*build*: read, encode to a cell grid, write one "
                "float16 file per figure) and again (*warm*: every grid loaded and checksummed from disk); "
                "*search* = `search_parts` for the region x 10–60 %, y 10–60 % of a figure (drawn at five sizes, "
                "every window of every figure scored), median over "
                f"{queries} queries; *explain* = one hit's heatmap and box for that region (`explain`, grids "
                "computed, nothing cached), median. CPU, one process; ViT weights random (the cost equals the "
                "trained model's)."),
        columns=[("encoder", "encoder"), ("corpus", "corpus"), ("figures", "figures"), ("grid", "grid"),
                 ("dim", "dim"), ("build_s", "build s"), ("per_figure_ms", "build ms/figure"),
                 ("warm_s", "warm load s"), ("ratio_build_vs_warm", "cache speed-up (build ÷ warm)"),
                 ("index_mb", "index MiB"), ("search_ms", "search ms"),
                 ("explain_ms", "explain ms")],
    )
    for clabel, corpus in _corpora(quick):
        for elabel, spec in encs:
            if "ViT" in elabel and not quick and not clabel.endswith("(120)"):
                continue  # ViT-B-16 on CPU: the 120-figure row gives the per-figure cost
            log(f"explain: {elabel} on {clabel}")
            cache = work / f"explain-cache-{len(sec.rows)}"
            shutil.rmtree(cache, ignore_errors=True)  # cold: nothing left by an earlier run in this --work
            with config.use_cache(cache):
                row = _row(elabel, spec, corpus, queries)
            row["corpus"] = clabel
            row["ratio_build_vs_warm"] = row["build_s"] / max(row["warm_s"], 1e-9)
            sec.rows.append(row)
    sec.notes.append(f"Load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
                     f"on {os.cpu_count()} cores (a shared machine: times are upper bounds).")
    sec.notes.append("Search cost grows linearly with figures x windows: a region query is a few matrix products "
                     "over the stacked grids (figures x cells x dim), so an index of N figures holds N x cells x dim "
                     "float32 in memory (the table's index MiB).")
    return sec
