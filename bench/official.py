"""The official UPAIR evaluation's way of working, re-implemented as a faithful baseline.

UPAIR's ``evaluation/run.py`` loops over the benchmark queries; for every query it encodes
the query image, description and labels, and then, for every candidate of that query,
encodes the candidate image, description and labels again — one image or text at a time,
with no cache, so a figure that is a candidate of several queries is encoded once per
query. Scores are cosines (``.item()`` per pair); fused runs min-max normalise image and
text scores per query and add them. Three TREC run files are written, then
``ir_measures.calc_aggregate`` computes MAP, nDCG@10, MRR and Recall@1 for every qrels file
and run file.

Here the same steps run on *our* loaded model (same weights, same preprocessing, same text
cleaning), so the only difference with ``core.evaluate`` is how the work is organised.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def _minmax(arr):
    arr = np.array(arr)
    if arr.size == 0:
        return arr
    lo, hi = arr.min(), arr.max()
    if hi == lo:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)


def _save_trec_run(run: dict, filename: Path, run_name: str) -> None:
    with open(filename, "w") as f:
        for qid, docs in run.items():
            ranked = sorted(docs, key=lambda x: -x[1])
            for rank, (cid, score) in enumerate(ranked, 1):
                f.write(f"{qid} Q0 {cid} {rank} {score} {run_name}\n")


def run_official_way(corpus, spec: str, queries: list[str], out_dir: Path) -> dict:
    """Run the official loop over ``queries``; returns timings, the run files and per-query metrics.

    ``{"encode_s", "metrics_s", "figures_encoded", "texts_encoded", "per_query": {run: {axis:
    {measure: {qid: value}}}}}``
    """
    import ir_measures
    import torch
    from ir_measures import MAP, MRR, Recall, nDCG
    from PIL import Image

    from core.embed import figure_text, require
    from core.qrels import write_qrels

    enc = require(spec)
    model = enc.load()
    tokenizer = enc._tokenizer
    out_dir.mkdir(parents=True, exist_ok=True)

    def encode_image(path):
        img = Image.open(path)
        x = enc.preprocess([img])
        with torch.no_grad():
            feat = model.encode_image(x)
            feat = feat / feat.norm(dim=-1, keepdim=True)
        return feat

    def encode_text(text):
        tokens = tokenizer([text])
        with torch.no_grad():
            feat = model.encode_text(tokens)
            feat = feat / feat.norm(dim=-1, keepdim=True)
        return feat

    def cosine_sim(a, b):
        return (a @ b.T).item()

    run_image: dict = {}
    run_img_desc: dict = {}
    run_img_labels: dict = {}
    n_img = n_txt = 0
    t0 = time.perf_counter()
    for qhash in queries:
        qfig = corpus.by_id[qhash]
        query_img_feat = encode_image(qfig.path)
        query_desc_feat = encode_text(figure_text(qfig, "desc"))
        query_labels_feat = encode_text(figure_text(qfig, "labels"))
        n_img += 1
        n_txt += 2
        cands = []
        for chash in corpus.candidates_for(qhash):
            cfig = corpus.by_id[chash]
            cand_img_feat = encode_image(cfig.path)
            cand_desc_feat = encode_text(figure_text(cfig, "desc"))
            cand_labels_feat = encode_text(figure_text(cfig, "labels"))
            n_img += 1
            n_txt += 2
            cands.append({
                "hashcode": chash,
                "img_score": cosine_sim(query_img_feat, cand_img_feat),
                "desc_score": cosine_sim(query_desc_feat, cand_desc_feat),
                "labels_score": cosine_sim(query_labels_feat, cand_labels_feat),
            })
        img_n = _minmax([c["img_score"] for c in cands])
        desc_n = _minmax([c["desc_score"] for c in cands])
        lab_n = _minmax([c["labels_score"] for c in cands])
        run_image[qhash], run_img_desc[qhash], run_img_labels[qhash] = [], [], []
        for i, c in enumerate(cands):
            run_image[qhash].append((c["hashcode"], c["img_score"]))
            run_img_desc[qhash].append((c["hashcode"], img_n[i] + desc_n[i]))
            run_img_labels[qhash].append((c["hashcode"], img_n[i] + lab_n[i]))
    encode_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    files = {"image": out_dir / "image.run", "image+desc": out_dir / "imgdesc_norm.run",
             "image+labels": out_dir / "imglabels_norm.run"}
    _save_trec_run(run_image, files["image"], "image")
    _save_trec_run(run_img_desc, files["image+desc"], "imgdesc_norm")
    _save_trec_run(run_img_labels, files["image+labels"], "imglabels_norm")
    metrics = [MAP, nDCG @ 10, MRR, Recall @ 1]
    names = {str(MAP): "AP", str(nDCG @ 10): "nDCG@10", str(MRR): "RR", str(Recall @ 1): "R@1"}
    wanted = set(queries)
    qfiles = {}
    for axis, qrels in corpus.benchmark.qrels.items():
        qfiles[axis] = write_qrels(out_dir / f"qrels_{axis}.txt", {q: d for q, d in qrels.items() if q in wanted})
        for run_file in files.values():
            ir_measures.calc_aggregate(metrics, ir_measures.read_trec_qrels(str(qfiles[axis])),
                                       ir_measures.read_trec_run(str(run_file)))
    metrics_s = time.perf_counter() - t1
    per_query: dict = {}  # per-query values, for comparing with core.evaluate (not timed)
    for axis, qfile in qfiles.items():
        for run_name, run_file in files.items():
            vals: dict = {}
            for m in ir_measures.iter_calc(metrics, ir_measures.read_trec_qrels(str(qfile)),
                                           ir_measures.read_trec_run(str(run_file))):
                vals.setdefault(names.get(str(m.measure), str(m.measure)), {})[m.query_id] = float(m.value)
            per_query.setdefault(run_name, {})[axis] = vals
    runs = {"image": run_image, "image+desc": run_img_desc, "image+labels": run_img_labels}
    return {"encode_s": encode_s, "metrics_s": metrics_s, "figures_encoded": n_img, "texts_encoded": n_txt,
            "per_query": per_query, "runs": {r: {q: dict(v) for q, v in d.items()} for r, d in runs.items()}}
