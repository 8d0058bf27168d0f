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

from .common import ROOT, TINY_CFG, Section, log, ratio, timer

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

    official_runs, fresh_runs, fresh_process_runs, loads = [], [], [], []
    official = None
    for rep in range(reps):  # interleaved A B A B ...: both sides see the same load
        log(f"eval {tag} rep {rep + 1}/{reps}: the official evaluation/run.py in a subprocess")
        loads.append(os.getloadavg()[0])
        official = run_official(run_dir, arch, ckpt, cfg_dir)
        official_runs.append(official["run_s"] + official["evaluate_s"])
        log(f"eval {tag} rep {rep + 1}/{reps}: core.evaluation in a subprocess, empty cache")
        fresh = _ours_fresh(root, spec, cfg_dir, work / "eval-cache" / f"{tag}-fresh-{rep}")
        fresh_runs.append(fresh["evaluate_s"])
        fresh_process_runs.append(fresh["process_s"])
    official_s = statistics.median(official_runs)

    with config.use_cache(work / "eval-cache" / f"{tag}-fresh-0") as cache:  # the vectors a fresh run cached
        ev.RESULT_CACHE.clear()
        ours = ev.evaluate(load_corpus(f"upair:{root}"), [spec], runs=RUNS)
        assert ours.protocol == "upair" and len(ours.table), ours.skipped
        rescore, warm = [], []
        for _ in range(reps):
            ev.RESULT_CACHE.clear()
            shutil.rmtree(cache / "eval", ignore_errors=True)
            with timer() as t_rescore:  # cached vectors, new corpus object: re-score only
                ev.evaluate(load_corpus(f"upair:{root}"), [spec], runs=RUNS)
            corpus = load_corpus(f"upair:{root}")
            with timer() as t_warm:  # stored results
                ev.evaluate(corpus, [spec], runs=RUNS)
            rescore.append(t_rescore["s"])
            warm.append(t_warm["s"])
        diff = _differences(corpus, spec, ours, official)
    t_fresh = {"s": statistics.median(fresh_runs)}
    t_rescore, t_warm = {"s": statistics.median(rescore)}, {"s": statistics.median(warm)}
    pairs = n_queries * n_candidates
    sec.rows.append({
        "corpus": f"query-patents, UPAIR layout ({n_queries} × {n_candidates})", "model": f"CLIP {arch}",
        "queries": n_queries, "pairs": pairs, "official_s": official_s,
        "official_process_s": official["process_s"], "ours_fresh_s": t_fresh["s"],
        "ours_rescore_s": t_rescore["s"], "ours_warm_s": t_warm["s"],
        "ratio_fresh": ratio(official_s, t_fresh["s"]), "ratio_warm": ratio(official_s, t_warm["s"]), **diff,
        "reps": reps, "official_runs_s": official_runs, "ours_fresh_runs_s": fresh_runs,
        "ours_fresh_process_runs_s": fresh_process_runs, "ours_rescore_runs_s": rescore, "ours_warm_runs_s": warm,
        "official_spread_s": [min(official_runs), max(official_runs)],
        "ours_fresh_spread_s": [min(fresh_runs), max(fresh_runs)], "load_at_each_rep": loads,
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
    })


_FRESH = """
import json, sys, time
t0 = time.perf_counter()
cfg = sys.argv[3]
if cfg:
    import open_clip
    open_clip.add_model_config(cfg)
import core.evaluation as ev
from core import config
from core.corpora import load_corpus
config.configure_threads()
t = time.perf_counter()
res = ev.evaluate(load_corpus("upair:" + sys.argv[1]), [sys.argv[2]], runs=("image", "image+desc", "image+labels"))
assert res.protocol == "upair" and len(res.table), res.skipped
print("BENCH-JSON " + json.dumps({"evaluate_s": time.perf_counter() - t, "setup_s": t - t0}))
"""


def _ours_fresh(root: Path, spec: str, cfg_dir: Path | None, cache: Path) -> dict:
    """``core.evaluation.evaluate`` from an empty cache in a fresh process (imports and model
    load inside, as for the official script): {"evaluate_s", "setup_s", "process_s"}."""
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    env = {**os.environ, "UPAIR_CACHE": str(cache)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _FRESH, str(root), spec, str(cfg_dir or "")], cwd=ROOT, env=env,
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
            "same thread settings (the environment is inherited by both); medians are shown, every run, the "
            "spread and the load at each repetition are in report.json. "
            "*Re-score*: vectors cached, stored results deleted. *Warm*: stored results. Same UPAIR-layout "
            "set (real query figures, five image modes/shapes) and the same checkpoint in the official "
            "`{\"state_dict\": {\"module.…\"}}` format for both."
        ),
        columns=[("corpus", "set"), ("model", "model"), ("pairs", "query×candidate pairs"),
                 ("official_s", "official script s"), ("ours_fresh_s", "ours fresh s"),
                 ("ours_rescore_s", "re-score s"), ("ours_warm_s", "ours warm s"),
                 ("ratio_fresh", "speed-up fresh"), ("ratio_warm", "speed-up warm"),
                 ("scores_max_abs_diff", "max Δ score"), ("metrics_max_abs_diff", "max Δ metric"),
                 ("rankings_identical", "identical rankings"), ("rankings", "rankings")],
    )
    shared = config.shared_data_dir() / "query-patents"
    if not shared.is_dir() or not (reference_dir() / "run.py").is_file():
        sec.error = f"needs {shared} and the official code at {reference_dir()}"
        return sec
    plan = [("tiny", 12, 9)] if quick else [("tiny", 12, 9), ("ViT-B-16", 12, 9)]
    for arch, nq, nc in plan:
        _one(work, arch, nq, nc, sec, reps=1 if quick else 3)
    sec.notes.append(
        "Speed-up = official script time / our time. max Δ score: the largest difference of any (query, "
        "candidate, run) score between the official run files and ours; max Δ metric: the same for every "
        "per-query MAP, nDCG@10, MRR and R@1 value (ir_measures on the official run files vs ours). "
        "Random weights are scaled (transformer matrices ×10, class/positional embeddings 0) so drawings get "
        "distinct embeddings; an unscaled random CLIP maps them all to nearly one vector and per-query "
        "min-max fusion would magnify float noise.")
    return sec
