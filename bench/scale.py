"""Section h: scale-out — WebDataset shards encoded locally and on Ray (1 and 2 workers);
indices at 1M (automatic choice vs exact flat, clustered and drawing-descriptor vectors; 10M
measured by the opt-in ``python -m bench.index10m`` and shown from ``bench/index10m.json``);
maps of 100k and 1M points, first and cached."""
from __future__ import annotations

import gc
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .common import Section, clip_checkpoint, log, ratio, timer


# ----------------------------------------------------------------------------- encoding
def _shards(work: Path, quick: bool):
    """(webdataset corpus, note): real query figures + demo drawings written as shards."""
    from core import config
    from core.corpora import load_corpus
    from core.corpora.webdataset import write_shards

    figs = list(load_corpus("demo").figures[: 60 if quick else 90])
    qp = config.shared_data_dir() / "query-patents"
    if qp.is_dir():
        figs = list(load_corpus(f"query-patents:{qp}").figures[: 60 if quick else 90]) + figs
    per = 15 if quick else 30  # 6 shards: 3 per actor with 2 actors
    folder = work / "shards"
    paths = write_shards(figs, str(folder / "shard-%06d.tar"), per)
    spec = f"webdataset:{folder}/shard-{{000000..{len(paths) - 1:06d}}}.tar"
    return load_corpus(spec), f"{len(figs)} figures in {len(paths)} shards of {per}"


def _encode_run(corpus, spec: str, how: str, cache: Path, workers: int | None = None) -> tuple[float, object]:
    from core import config
    from core.embed import build_embeddings
    from core.engine import EngineOptions, encode_corpus

    shutil.rmtree(cache, ignore_errors=True)
    with config.use_cache(cache):
        with timer() as t:
            if how == "plain":
                build_embeddings(corpus, spec, show_bar=False)
            else:
                encode_corpus(corpus, spec, how, EngineOptions(workers=workers))
        return t["s"], build_embeddings(corpus, spec, show_bar=False)


def encode_rows(work: Path, quick: bool, sec: Section) -> None:
    """Plain local build, local engine, Ray with 1 and 2 actors (4 on ≥ 8 cores) on the same shards,
    interleaved (every configuration once per repetition); Ray's start-up (``ray.init``, and the
    actors' spawn + model load inside each Ray run) reported apart."""
    import statistics

    import ray

    from core.engine import ray as ray_engine

    corpus, note = _shards(work, quick)
    spec = "hog" if quick else clip_checkpoint("ViT-B-32", work)
    n = len(corpus.figures)
    cores = os.cpu_count() or 1
    with timer() as t_ray:
        started = dict(ray_engine.connect())
    runs = [("local build (no engine)", "plain", None), ("local engine", "local", None),
            ("Ray, 1 actor", "ray", 1), ("Ray, 2 actors", "ray", 2)] + ([("Ray, 4 actors", "ray", 4)] if cores >= 8 else [])
    reps = 1 if quick else 3
    times: dict[str, list[float]] = {label: [] for label, _, _ in runs}
    ready: dict[str, list[float]] = {label: [] for label, _, _ in runs}
    loads: list[float] = []
    ref, diffs = None, {}
    for rep in range(reps):
        loads.append(os.getloadavg()[0])
        for label, how, workers in runs:
            log(f"scale: encoding {n} figures, {label} (rep {rep + 1}/{reps})")
            seconds, emb = _encode_run(corpus, spec, how, work / "enc-cache", workers)
            times[label].append(seconds)
            if how == "ray":
                ready[label].append(ray_engine.STARTUP.get("actors_ready_s", 0.0))
            ref = ref if ref is not None else emb.vectors
            diffs[label] = max(diffs.get(label, 0.0), float(np.abs(emb.vectors - ref).max()))
    ray.shutdown()
    base = statistics.median(times["local build (no engine)"])
    local = statistics.median(times["local engine"])
    for label, how, workers in runs:
        med = statistics.median(times[label])
        row = {"part": "encode", "what": label, "n": n, "seconds": med, "per_s": n / med, "ratio": ratio(base, med),
               "max_diff": diffs[label], "reps": reps, "runs_s": times[label],
               "spread_s": [min(times[label]), max(times[label])], "load_at_each_rep": loads}
        if how == "ray":
            start = statistics.median(ready[label])
            row.update(actors_ready_s=start, ray_init_s=started.get("start_s"), reused_cluster=started.get("reused"),
                       over_local_s=med - local, within_startup=(med - local) <= start)  # ray.init is outside the row
        sec.rows.append(row)
    sec.extra["ray_startup"] = {"ray_init_s": t_ray["s"], "reused_cluster": started.get("reused"),
                                "actors_ready_s": {k: statistics.median(v) for k, v in ready.items() if v},
                                "cores": cores}
    enc = "HOG" if quick else "open_clip ViT-B-32 (random init)"
    over = [f"{r['what']} {r['over_local_s']:+.1f} s vs local engine (actors ready in {r['actors_ready_s']:.1f} s: "
            f"{'within' if r['within_startup'] else 'BEYOND'} start-up)" for r in sec.rows if "over_local_s" in r]
    sec.notes.append(f"Encoding: {enc}, {note}; every run starts from an empty cache; {reps} interleaved "
                     "repetitions (plain, local engine, Ray 1, Ray 2, plain, …), medians shown, every run and the "
                     f"load per repetition in report.json. Ray's start-up: `ray.init` {t_ray['s']:.1f} s once per "
                     f"process ({'joined a running cluster' if started.get('reused') else 'a private local Ray'}; "
                     "kept for the process, not in the rows); each Ray row includes spawning its actors and "
                     "loading one model per actor (listed apart). " + "; ".join(over) + ". 'max diff' is the "
                     "largest absolute difference of any vector component from the plain local build.")
    if cores >= 8:
        sec.notes.append(f"Scaling on {cores} cores: " + ", ".join(
            f"{r['what']} {r['per_s']:.1f} items/s" for r in sec.rows if r["what"].startswith("Ray")) + ".")
    else:
        sec.notes.append(f"No scaling claim: {cores} cores here; the bench prints Ray's 1 → 2 → 4 actor scaling "
                         "on a machine with ≥ 8 cores. On 2 cores the actors share the cores the local build's "
                         "threads use, so the most Ray can do is match it plus its start-up.")


def _same_drawing(rows: np.ndarray, families: tuple[np.ndarray, np.ndarray] | None) -> float | None:
    """Share of each query's drawing (its family's corpus members, at most 10) in its top 10."""
    if families is None:
        return None
    fam, qfam = families
    size = np.bincount(fam)
    return float(np.mean([np.sum(fam[r] == f) / min(10, size[f]) for r, f in zip(rows, qfam)]))


def _index_set(label: str, x: np.ndarray, q: np.ndarray, sec: Section, cache: Path, budget_mb: int,
               families: tuple[np.ndarray, np.ndarray] | None = None, exact_rescore: bool = True) -> dict:
    from core import index as ix
    from core.embed import Embeddings

    from .search import _measure

    emb = Embeddings("synthetic", "image", f"scale-{label}-{len(x)}", tuple(map(str, range(len(x)))), x)
    n, d = x.shape
    out = {}
    flat = _measure(emb, "flat", q, None, 30, cache)
    truth = flat.pop("rows")
    flat["same_drawing"] = _same_drawing(truth, families)
    out["flat"] = flat
    plans = [(None, "auto, default budget"), (budget_mb, f"auto, budget {budget_mb} MB")]
    if exact_rescore:  # the variant re-scored from the float vectors, for comparison
        plans.append((budget_mb, "ivfpq on request: exact re-scoring from the float vectors"))
    for mb, note in plans:
        if mb is not None:
            os.environ["UPAIR_INDEX_MEMORY_MB"] = str(mb)
        try:
            kind = "ivfpq" if note.startswith("ivfpq") else "auto"
            spec = ix.choose_index(n, kind, d)
            name = spec.describe()
            if name in out:
                continue
            log(f"scale: {label} {n:,}: {name}")
            res = _measure(emb, kind, q, truth, len(q), cache)
            res["same_drawing"] = _same_drawing(res.pop("rows"), families)
            man = json.loads(ix.index_paths(emb, kind)[1].read_text())
            res["memory_mb"] = man.get("touched_bytes", man["memory_bytes"]) / 1e6  # whole: incl. re-scored vectors
            res["choice"] = note
            out[name] = res
            if note == "auto, default budget" and spec.kind == "ivf":
                res["sweep"] = _nprobe_sweep(emb, q, truth)
        finally:
            os.environ.pop("UPAIR_INDEX_MEMORY_MB", None)
    flat["memory_mb"] = n * d * 4 / 1e6
    flat["choice"] = "exact"
    for kind, res in out.items():
        sec.rows.append({"part": "index", "what": f"{label}: {res['index']} ({res['choice']})", "n": n,
                         "seconds": res["build_s"], "memory_mb": res["memory_mb"], "p50_ms": res["p50_ms"],
                         "p95_ms": res["p95_ms"], "recall_at_10": res.get("recall_at_10", 1.0),
                         "same_drawing": res["same_drawing"],
                         "ratio": ratio(flat["p50_ms"], res["p50_ms"])})
        for nprobe, rec, p50 in res.get("sweep", ()):
            sec.rows.append({"part": "index, nprobe sweep", "what": f"{label}: the automatic index at nprobe {nprobe}",
                             "n": n, "p50_ms": p50, "recall_at_10": rec, "ratio": ratio(flat["p50_ms"], p50)})
    shutil.rmtree(cache / "indices", ignore_errors=True)
    return out


def _nprobe_sweep(emb, q: np.ndarray, truth: np.ndarray, probes=(32, 48, 64, 96, 128)) -> list:
    """(nprobe, recall@10, p50 ms) of the cached automatic index at other nprobe values (no rebuild)."""
    import time

    import faiss

    from core import index as ix

    from .common import percentiles
    from .search import _recall

    vi = ix.build_index(emb, "auto")
    ivf = faiss.extract_index_ivf(vi.index)
    out = []
    for nprobe in probes:
        ivf.nprobe = min(nprobe, ivf.nlist)
        _, rows = vi.search(q, 10)
        lat = []
        for row in q:
            t = time.perf_counter()
            vi.search(row, 10)
            lat.append(time.perf_counter() - t)
        out.append((int(ivf.nprobe), _recall(rows, truth), percentiles(lat)[0]))
    return out


def _figures(quick: bool):
    from core import config
    from core.corpora import load_corpus

    figs = list(load_corpus("demo").figures[: 40 if quick else 359])
    qp = config.shared_data_dir() / "query-patents"
    if qp.is_dir():
        figs += list(load_corpus(f"query-patents:{qp}").figures[: 40 if quick else 120])
    return figs


def index_rows(work: Path, quick: bool, sec: Section) -> dict:
    """Flat vs the automatic choice (default budget and a budget the uncompressed index exceeds)."""
    from core import config
    from core import index as ix

    from .data import clustered
    from .descriptors import descriptor_vectors

    if quick:  # exercise the approximate path at small sizes too
        ix.EXACT_MAX = 5_000
    n = 8_000 if quick else 1_000_000
    budget = 4 if quick else 512  # below the automatic IVF's whole size (1,160 MB at 1M)
    results = {}
    with config.use_cache(work / "index-cache") as cache:
        x, q = clustered(n, 512, 200, seed=0)
        results["clustered"] = _index_set("clustered", x, q, sec, cache, budget, exact_rescore=not quick)
        del x, q
        gc.collect()
        x, q, facts = descriptor_vectors(_figures(quick), "hog", n, 200, augmentations=4 if quick else 8)
        families = (facts.pop("family"), facts.pop("query_family"))
        results["hog-geometry"] = _index_set("HOG geometry", x, q, sec, cache, budget, families,
                                             exact_rescore=not quick)
        sec.extra["descriptor_facts"] = facts
        del x, q
        gc.collect()
    sec.notes.append(
        "Index: 200 queries, k = 10, single queries one at a time (p50/p95), recall@10 against exact flat. "
        "*Clustered*: bench.data's Gaussian mixture (1000 centres). *HOG geometry*: bench.descriptors — HOG of "
        f"{sec.extra['descriptor_facts']['figures']} real and demo drawings under random crops, rotations and "
        "line-width changes, PCA to 512-d with the mean kept, families of 8 synthesised from the measured "
        f"centre spectrum and augmentation residuals (random pairs at cosine "
        f"{sec.extra['descriptor_facts']['mean_cosine_random_pair']:.2f}, against ~0 for the clustered set; "
        "among the real views themselves, a view's nearest neighbours hold "
        f"{sec.extra['descriptor_facts']['real_same_drawing']:.0%} of the other views of its drawing); "
        "queries are new views of drawings in the corpus; 'same drawing@10' is the share of the query "
        "drawing's 8 corpus views found in the top 10 (what a user looks for), next to recall@10 against "
        "exact flat (which also counts the interchangeable near-ties after them). The first automatic choice is the default budget "
        f"(UPAIR_INDEX_MEMORY_MB={config.env('UPAIR_INDEX_MEMORY_MB')}); the second is what "
        f"the automatic choice gives when its fast-scan IVF would exceed a {budget} MB budget (IVF-PQ "
        "re-scored from 8-bit codes) — the choice a 10M collection gets under the default budget. Memory is "
        "the index's size as recorded in its manifest (`touched_bytes`), counted whole: every byte a query may "
        "read, resident or memory-mapped; for IVF-PQ on request it includes the float vectors its hits are "
        "re-scored from (n x dim x 4 bytes, read at random rows by every query), not only the codes.")
    return results


def target_note(results: dict, sec: Section) -> None:
    """The index targets at 1M: recall@10 >= 0.95 (HOG geometry) / 0.99 (clustered), p50 <= 2 ms."""
    for label, need in (("hog-geometry", 0.95), ("clustered", 0.99)):
        auto = [r for r in results.get(label, {}).values() if r.get("choice") == "auto, default budget"]
        if not auto:
            continue
        r = auto[0]
        ok = r["p50_ms"] <= 2.0 and r["recall_at_10"] >= need
        sec.extra[f"target_{label}"] = {"p50_ms": r["p50_ms"], "recall_at_10": r["recall_at_10"], "met": ok}
        sec.notes.append(f"Target ({label}, automatic choice): recall@10 ≥ {need} at p50 ≤ 2 ms, one thread — "
                         f"measured {r['recall_at_10']:.3f} at {r['p50_ms']:.2f} ms: {'met' if ok else 'NOT met'} "
                         f"(load {os.getloadavg()[0]:.1f} when the section ended).")


def measured_10m(sec: Section, path: Path | None = None) -> None:
    """The 10M rows, from the opt-in ``python -m bench.index10m`` run (not re-run here)."""
    from .index10m import RESULT

    path = path or RESULT
    if not path.is_file():
        sec.notes.append("10M: not measured in this run; `python -m bench.index10m` (about half an hour, "
                         "~27 GB of disk) measures it and writes bench/index10m.json, shown here.")
        return
    r = json.loads(path.read_text())
    exact_ms = r["exact_s_per_query"] * 1e3
    # exact search first: it is the part's baseline (ratio 1); the index row's ratio is its speed-up
    sec.rows.append({"part": "10M (measured)", "what": "HOG geometry: exact search streamed over the same "
                                                       "memory-mapped vectors (per query, batched)",
                     "n": r["n"], "seconds": None, "memory_mb": r["n"] * r["dim"] * 4 / 1e6,
                     "p50_ms": exact_ms, "p95_ms": None, "recall_at_10": 1.0, "ratio": 1.0})
    sec.rows.append({"part": "10M (measured)", "what": f"HOG geometry: {r['index']} (auto, default budget), "
                                                       f"{r['queries']} held-out queries",
                     "n": r["n"], "seconds": r["build_s"], "memory_mb": r["touched_mb"], "p50_ms": r["p50_ms"],
                     "p95_ms": r["p95_ms"], "recall_at_10": r["recall_at_10"], "ratio": ratio(exact_ms, r["p50_ms"])})
    _sweep_rows(sec, r, exact_ms)
    sec.notes.append(f"10M rows measured by `python -m bench.index10m` on {r['date']} (not re-run by `make bench`): "
                     f"{r['n']:,} vectors streamed to a memory-mapped file ({r['generate_s']:.0f} s), the automatic "
                     f"index built from it chunk by chunk ({r['build_s']:.0f} s, file {r['file_mb']:,.0f} MB, "
                     f"reloaded via {r['load_via']} in {r['load_s']:.1f} s), recall@10 against an exact search "
                     f"streamed over the same vectors, latency the second pass of single queries. Load: "
                     f"start `{r['uptime_start'].split('load average:')[-1].strip()}`, after the build "
                     f"`{r['uptime_build'].split('load average:')[-1].strip()}`, end "
                     f"`{r['uptime_end'].split('load average:')[-1].strip()}` (1/5/15-min averages, 2 cores).")


def _sweep_rows(sec: Section, r: dict, exact_ms: float) -> None:
    """The query-time sweep of the 10M index (same index, nprobe x rerank): every setting at the built
    nprobe, and the wider nprobes at the rerank the automatic choice now uses."""
    from core.index import rerank_factor

    now = rerank_factor(r["n"])
    seen, rows = set(), []
    for row in [*r.get("sweep", []), *r.get("sweep_more", [])]:
        key = (row["nprobe"], row["rerank"])
        if key in seen:
            continue
        seen.add(key)
        if row["nprobe"] == 32 or row["rerank"] == now:
            rows.append(row)
    for row in sorted(rows, key=lambda x: (x["nprobe"], x["rerank"] or 0)):
        auto = " — the automatic choice now" if (row["nprobe"], row["rerank"]) == (32, now) else ""
        sec.rows.append({"part": "10M (measured, query-time sweep)",
                         "what": f"same index, nprobe {row['nprobe']}, rerank {row['rerank']} x k{auto}",
                         "n": r["n"], "seconds": None, "memory_mb": r["touched_mb"], "p50_ms": row["p50_ms"],
                         "p95_ms": row["p95_ms"], "recall_at_10": row["recall_at_10"],
                         "ratio": ratio(exact_ms, row["p50_ms"])})
    if rows:
        sec.notes.append(f"10M sweep: nprobe and rerank are search parameters, so one built index is measured at "
                         f"each setting; the re-scoring depth is what limits recall at 10M (rerank 10 → {now}: "
                         f"the automatic choice now grows it with n, `core.index.rerank_factor`), not the lists probed.")


# ----------------------------------------------------------------------------- maps
def map_rows(work: Path, quick: bool, sec: Section) -> None:
    from core import config, maps
    from core.embed import Embeddings

    from .data import clustered

    sizes = [1_500, 3_000] if quick else [100_000, 1_000_000]
    if quick:
        maps.FIT_MAX = 1_000
    with timer() as t_import:
        maps.configure_numba() if hasattr(maps, "configure_numba") else None
        import umap  # noqa: F401
    x, _ = clustered(max(sizes), 512, 1, seed=3)
    with config.use_cache(work / "map-cache"):
        for n in sizes:
            emb = Embeddings("synthetic", "image", f"map-{n}", (), x[:n])
            with timer() as first:
                maps.map_coords(emb)
            with timer() as cached:
                maps.map_coords(emb)
            sec.rows.append({"part": "map", "what": f"first map (fit {min(n, maps.FIT_MAX):,}, place the rest) "
                                                    f"vs cached map ({cached['s'] * 1e3:.1f} ms)",
                             "n": n, "seconds": first["s"], "ratio": ratio(first["s"], cached["s"])})
    sec.notes.append(f"Maps: clustered 512-d vectors; `import umap` took {t_import['s']:.1f} s before timing "
                     "(not included); the first map includes numba compilation. Cached = loading the "
                     "checksummed coordinates (the page's cost to open a map it has seen).")


def run(work: Path, quick: bool) -> Section:
    sec = Section(
        name="scale", title="h. Scale-out: shards on Ray, indices beyond RAM, maps of a million points",
        method=("Each part runs on its own empty cache in this process. Ratios compare against the first "
                "row of the same part measured in the same run."),
        columns=[("part", "part"), ("what", "what"), ("n", "N"), ("seconds", "s"), ("per_s", "items/s"),
                 ("memory_mb", "memory MB"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
                 ("recall_at_10", "recall@10"), ("same_drawing", "same drawing@10"), ("max_diff", "max diff"),
                 ("ratio", "ratio")],
    )
    encode_rows(work, quick, sec)
    results = index_rows(work, quick, sec)
    target_note(results, sec)
    measured_10m(sec)
    map_rows(work, quick, sec)
    return sec
