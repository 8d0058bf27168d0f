"""Section b: UPAIR evaluation time — the official script itself versus ``core.evaluation``.

Both run on the same UPAIR-layout set (real query figures from ``../shared/data``, five
image modes/shapes, seeded judgements; ``bench.official.build_upair_set``) with the same
checkpoint, saved in the official training format. The official ``evaluation/run.py`` runs
from ``../shared/reference`` in a subprocess (``bench.official.run_official``); ours is
``core.evaluation.evaluate`` under the ``upair`` protocol. The section reports the speed-up
next to the largest score and metric difference between the two.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, TINY_CFG, Section, log, ratio

#: Runs compared (the official script writes exactly these three).
RUNS = ("image", "image+desc", "image+labels")


def _checkpoint(work: Path, arch: str) -> tuple[str, Path, Path | None]:
    """(arch, official-format checkpoint, config folder or None): random weights, scaled so that
    drawings get distinct embeddings (transformer matrices x10, class/positional embeddings 0)."""
    import logging

    import open_clip
    import torch

    from .official import save_official_checkpoint

    cfg_dir = None
    if arch == "tiny":
        arch, cfg_dir = "TinyCLIP-Bench-224", work / "tiny224_cfg"
        cfg_dir.mkdir(parents=True, exist_ok=True)
        cfg = json.loads(json.dumps(TINY_CFG))
        cfg["vision_cfg"]["image_size"] = 224  # the official script always resizes to 224
        (cfg_dir / f"{arch}.json").write_text(json.dumps(cfg))
        open_clip.add_model_config(cfg_dir)
    path = work / "weights" / f"official-{arch}.pt"
    if not path.is_file():
        torch.manual_seed(0)
        logging.disable(logging.WARNING)
        try:
            model = open_clip.create_model(arch, pretrained=None)
        finally:
            logging.disable(logging.NOTSET)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "transformer" in name and p.ndim == 2:
                    p.mul_(10.0)
                if name in ("visual.class_embedding", "visual.positional_embedding"):
                    p.zero_()
        save_official_checkpoint(model, path)
    return arch, path, cfg_dir


def _differences(corpus, spec: str, ours, official: dict) -> dict:
    """Largest |Δ| of any (query, candidate, run) score and of any per-query metric value,
    and how many (query, run) rankings are identical."""
    import ir_measures

    import core.evaluation as ev
    from core.qrels import rank_docs

    score_d, same, total = 0.0, 0, 0
    for r in RUNS:
        mine = ev.run_scores(corpus, spec, r, protocol="upair")
        for q, docs in official["runs"][r].items():
            score_d = max(score_d, max(abs(mine[q][d] - s) for d, s in docs.items()))
            same += [d for d, _ in rank_docs(mine[q])] == [d for d, _ in rank_docs(docs)]
            total += 1
    names = {"AP": ir_measures.MAP, "nDCG@10": ir_measures.nDCG @ 10, "RR": ir_measures.MRR,
             "R@1": ir_measures.Recall @ 1}
    metric_d = 0.0
    pq = ours.per_query
    for r in RUNS:
        for axis, qfile in corpus.benchmark.qrels_files.items():
            ref = {(str(m.measure), m.query_id): m.value for m in ir_measures.iter_calc(
                list(names.values()), ir_measures.read_trec_qrels(qfile),
                ir_measures.read_trec_run(str(official["run_files"][r])))}
            for row in pq[(pq.run == r) & (pq.axis == axis)].itertuples():
                metric_d = max(metric_d, abs(row.value - ref[(str(names[row.metric]), row.qid)]))
    return {"scores_max_abs_diff": score_d, "metrics_max_abs_diff": metric_d, "rankings_identical": same,
            "rankings": total}


def _one(work: Path, arch_name: str, n_queries: int, n_candidates: int, sec: Section, reps: int = 3) -> None:
    import core.evaluation as ev
    from core import config
    from core.corpora import load_corpus

    from .official import build_upair_set, run_official

    tag = f"{arch_name}-{n_queries}x{n_candidates}"
    root, run_dir = work / "eval-set" / tag / "upair", work / "eval-set" / tag / "official"
    shutil.rmtree(root.parent, ignore_errors=True)
    build_upair_set(config.shared_data_dir() / "query-patents", root, run_dir, n_queries, n_candidates)
    arch, ckpt, cfg_dir = _checkpoint(work, arch_name)
    spec = f"clip:{arch}:{ckpt}"
    threads = config.default_threads()

    official_runs, fresh_runs, fresh_process_runs, loads = [], [], [], []
    official = None
    for rep in range(reps):  # interleaved A B A B ...: both sides see the same load
        log(f"eval {tag} rep {rep + 1}/{reps}: the official evaluation/run.py in a subprocess")
        loads.append(os.getloadavg()[0])
        official = run_official(run_dir, arch, ckpt, cfg_dir, threads=threads)
        official_runs.append(official["run_s"] + official["evaluate_s"])
        log(f"eval {tag} rep {rep + 1}/{reps}: core.evaluation in a subprocess, empty cache")
        fresh = _ours_fresh(root, spec, cfg_dir, work / "eval-cache" / f"{tag}-fresh-{rep}", threads)
        fresh_runs.append(fresh["evaluate_s"])
        fresh_process_runs.append(fresh["process_s"])
    official_s = statistics.median(official_runs)
    log(f"eval {tag}: ours vs the bare batched forward pass, interleaved, then warm re-scoring")
    fw = _ours_vs_forward(root, spec, cfg_dir, work / "eval-forward" / tag, reps, threads)

    with config.use_cache(work / "eval-cache" / f"{tag}-fresh-0") as cache:  # the vectors a fresh run cached
        ev.RESULT_CACHE.clear()
        ours = ev.evaluate(load_corpus(f"upair:{root}"), [spec], runs=RUNS)
        assert ours.protocol == "upair" and len(ours.table), ours.skipped
        corpus = load_corpus(f"upair:{root}")
        ev.evaluate(corpus, [spec], runs=RUNS)
        diff = _differences(corpus, spec, ours, official)
    t_fresh = statistics.median(fresh_runs)
    warm = fw["warm_s"]
    pairs = n_queries * n_candidates
    # the official script encodes the query and every candidate of every query, image + 2 texts each
    off_images, off_texts = n_queries * (1 + n_candidates), 2 * n_queries * (1 + n_candidates)
    bound = (off_images * fw["single_image_s"] + off_texts * fw["single_text_s"]) / fw["bare_s"]
    sec.rows.append({
        "corpus": f"query-patents, UPAIR layout ({n_queries} × {n_candidates})", "model": f"CLIP {arch}",
        "queries": n_queries, "pairs": pairs, "official_s": official_s,
        "official_process_s": official["process_s"], "ours_fresh_s": t_fresh,
        "ours_encode_s": fw["ours_s"], "bare_forward_s": fw["bare_s"],
        "forward_share": ratio(fw["bare_s"], fw["ours_s"]),
        "unique_images": fw["unique_images"], "unique_texts": fw["unique_texts"],
        "official_images": off_images, "official_texts": off_texts, "speedup_bound": bound,
        "warm_weight_s": warm["weight"], "warm_judgements_s": warm["judgements"],
        "warm_protocol_s": warm["protocol"], "ours_warm_s": warm["stored"],
        "ratio_fresh": ratio(official_s, t_fresh), "ratio_warm": ratio(official_s, warm["stored"]),
        "ratio_rescore_x": ratio(official_s, max(warm["weight"], warm["judgements"], warm["protocol"])),
        **diff,
        "reps": reps, "official_runs_s": official_runs, "ours_fresh_runs_s": fresh_runs,
        "ours_fresh_process_runs_s": fresh_process_runs, "ours_encode_runs_s": fw["ours_runs_s"],
        "bare_forward_runs_s": fw["bare_runs_s"], "warm_runs_s": fw["warm_runs_s"],
        "official_spread_s": [min(official_runs), max(official_runs)],
        "ours_fresh_spread_s": [min(fresh_runs), max(fresh_runs)],
        "ours_encode_spread_s": [min(fw["ours_runs_s"]), max(fw["ours_runs_s"])],
        "bare_forward_spread_s": [min(fw["bare_runs_s"]), max(fw["bare_runs_s"])],
        "load_at_each_rep": loads, "load_after_forward": os.getloadavg()[0], "threads": threads,
        "ours_import_s": fw["import_s"], "model_load_s": fw["model_load_s"],
    })


def _ours_vs_forward(root: Path, spec: str, cfg_dir: Path | None, work: Path, reps: int, threads: int) -> dict:
    """``bench.eval_forward`` in a fresh process: ours (model loaded) vs the bare batched forward
    pass over the same unique items, interleaved, then warm re-scoring."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "UPAIR_CACHE": str(work / "cache-setup"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "bench.eval_forward", str(root), spec, str(cfg_dir or ""),
                           str(work), str(reps), str(threads)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.eval_forward failed: {proc.stderr[-2000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("BENCH-JSON ")][-1]
    return json.loads(line[len("BENCH-JSON "):])


_FRESH = """
import json, sys, time
t0 = time.perf_counter()
cfg, threads = sys.argv[3], int(sys.argv[4])
import torch, open_clip  # the official driver imports these before its timed run too
torch.set_num_threads(threads)
if cfg:
    open_clip.add_model_config(cfg)
import core.evaluation as ev
from core import config
from core.corpora import load_corpus
t = time.perf_counter()
res = ev.evaluate(load_corpus("upair:" + sys.argv[1]), [sys.argv[2]], runs=("image", "image+desc", "image+labels"))
assert res.protocol == "upair" and len(res.table), res.skipped
print("BENCH-JSON " + json.dumps({"evaluate_s": time.perf_counter() - t, "setup_s": t - t0}))
"""


def _ours_fresh(root: Path, spec: str, cfg_dir: Path | None, cache: Path, threads: int) -> dict:
    """``core.evaluation.evaluate`` from an empty cache in a fresh process (imports and model
    load inside, as for the official script): {"evaluate_s", "setup_s", "process_s"}."""
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    env = {**os.environ, "UPAIR_CACHE": str(cache), "OMP_NUM_THREADS": str(threads)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _FRESH, str(root), spec, str(cfg_dir or ""), str(threads)], cwd=ROOT,
                          env=env,
                          capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"core.evaluation failed: {proc.stderr[-2000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("BENCH-JSON ")][-1]
    return {**json.loads(line[len("BENCH-JSON "):]), "process_s": wall}


def run(work: Path, quick: bool) -> Section:
    from core import config

    from .official import reference_dir

    config.configure_threads()
    sec = Section(
        name="eval", title="b. UPAIR evaluation: the official script itself vs core.evaluation",
        method=(
            "Three runs (image, image+desc, image+labels fused by per-query min-max) and four measures "
            "(MAP, nDCG@10, MRR, Recall@1) on every judgement axis. *Official*: UPAIR's own "
            "`evaluation/run.py` (`run` + `evaluate`, model loading included), executed from "
            "`../shared/reference` in a subprocess with only its model name and checkpoint path patched "
            "(`bench/official.py`): one image or text at a time, no cache. *Ours fresh*: "
            "`core.evaluation.evaluate` under the `upair` protocol in a fresh subprocess on an empty cache "
            "(model loading included, imports timed apart as for the official's `run` + `evaluate`). The two "
            "run interleaved (official, ours, official, ours, …; 3 repetitions each, 1 with --quick) with the "
            "same torch thread count (set explicitly on both sides); medians are shown, every run, the "
            "spread and the load at each repetition are in report.json. "
            "*Ours vs bare forward* (`bench/eval_forward.py`, a fresh process, model loaded once, imports and "
            "load timed apart): `evaluate` from an empty vector cache (hash, decode, preprocess, encode every unique "
            "figure and text once in batches, score) interleaved with the same encoder's bare batched forward pass "
            "over the same unique items (tensors preprocessed and texts tokenised beforehand, `inference_mode`); "
            "*forward share* = bare ÷ ours (1.00 = nothing but the forward pass). *Bound*: the official script's "
            "encodes (query and every candidate of every query, image and two texts each) at the measured batch-1 "
            "time per item, ÷ the bare batched forward over the unique items — the most any fresh evaluation can "
            "gain. *Warm*: on the corpus of the last run, vectors cached: a new fusion weight, one judgement "
            "flipped (a new judgement set), a protocol switch back to `upair` after `clean` (both protocols' "
            "vectors cached; no stored result), and the stored result. Same UPAIR-layout "
            "set (real query figures, five image modes/shapes) and the same checkpoint in the official "
            "`{\"state_dict\": {\"module.…\"}}` format for both; both sides get the same torch thread count."
        ),
        columns=[("corpus", "set"), ("model", "model"), ("pairs", "query×candidate pairs"),
                 ("official_s", "official script s"), ("ours_fresh_s", "ours fresh s"),
                 ("ours_encode_s", "ours, model loaded s"), ("bare_forward_s", "bare batched forward s"),
                 ("forward_share", "forward share"), ("speedup_bound", "bound ×"),
                 ("warm_weight_s", "new weight s"), ("warm_judgements_s", "new judgements s"),
                 ("warm_protocol_s", "protocol switch s"), ("ours_warm_s", "stored s"),
                 ("ratio_fresh", "speed-up fresh"), ("ratio_rescore_x", "speed-up re-score (slowest)"),
                 ("ratio_warm", "speed-up stored"),
                 ("scores_max_abs_diff", "max Δ score"), ("metrics_max_abs_diff", "max Δ metric"),
                 ("rankings_identical", "identical rankings"), ("rankings", "rankings")],
    )
    shared = config.shared_data_dir() / "query-patents"
    if not shared.is_dir() or not (reference_dir() / "run.py").is_file():
        sec.error = f"needs {shared} and the official code at {reference_dir()}"
        return sec
    plan = [("tiny", 12, 9)] if quick else [("ViT-B-16", 12, 9)]  # the tiny model is the smoke test's
    for arch, nq, nc in plan:
        _one(work, arch, nq, nc, sec, reps=1 if quick else 3)
    for r in sec.rows:
        sec.notes.append(
            f"{r['model']}: ours encodes {r['unique_images']} unique figures and {r['unique_texts']} unique texts "
            f"where the official script encodes {r['official_images']} images and {r['official_texts']} texts one "
            f"at a time; bound ×{r['speedup_bound']:.1f} (unique encodes ÷ the official's × batching at the "
            f"measured per-item times). Forward share {r['forward_share']:.2f} (target ≥ 0.90: "
            f"{'met' if r['forward_share'] >= 0.9 else 'NOT met'}); re-scoring (new weight, judgements or protocol) "
            f"{r['ratio_rescore_x']:,.0f}× the official script at its slowest (target ≥ 1,000×: "
            f"{'met' if r['ratio_rescore_x'] >= 1000 else 'NOT met'}); {r['threads']} torch threads on both sides.")
    sec.notes.append(
        "Speed-up = official script time / our time. max Δ score: the largest difference of any (query, "
        "candidate, run) score between the official run files and ours; max Δ metric: the same for every "
        "per-query MAP, nDCG@10, MRR and R@1 value (ir_measures on the official run files vs ours). "
        "Random weights are scaled (transformer matrices ×10, class/positional embeddings 0) so drawings get "
        "distinct embeddings; an unscaled random CLIP maps them all to nearly one vector and per-query "
        "min-max fusion would magnify float noise.")
    return sec
