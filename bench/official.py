"""The official UPAIR evaluation script itself, run in a subprocess on a UPAIR-layout set.

``build_upair_set`` writes a small UPAIR-layout benchmark from the real query figures in
``../shared/data/query-patents`` (several image modes and shapes, seeded three-axis
judgements) plus the working folder the official ``evaluation/run.py`` expects
(``metadata.json`` with label strings joined by one space as the UPAIR files were built,
``dataset/`` and ``results/``). ``run_official`` executes that script's own ``run`` and
``evaluate`` from ``../shared/reference/upair/evaluation`` in a fresh Python process, with
only the model name and the checkpoint path patched, and returns its timing and run files.
Nothing of the official code is copied here.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

AXES = ("visual", "semantic", "part_whole")
#: Our run name → the official run file name (``{m}`` = the official model name).
RUN_FILES = {"image": "{m}_image.run", "image+desc": "{m}_imgdesc_norm.run",
             "image+labels": "{m}_imglabels_norm.run"}
#: The model name the official script is asked to run (``MODELS[OFFICIAL_MODEL]`` = our checkpoint).
OFFICIAL_MODEL = "bench"

_DRIVER = r"""
import json, os, runpy, sys, time
cfg_dir, evaluation, arch, checkpoint, threads = sys.argv[1:6]
t0 = time.perf_counter()
import torch
torch.set_num_threads(int(threads))  # the same thread count as ours (bench.evaluation)
import open_clip
if cfg_dir:
    open_clip.add_model_config(cfg_dir)
sys.path.insert(0, evaluation)
import model  # the official evaluation/model.py: only its model name and checkpoint table change
model.MODELNAME = arch
model.MODELS = {%(name)r: checkpoint}
ns = runpy.run_path(os.path.join(evaluation, "run.py"), run_name="official_run")  # not __main__
t1 = time.perf_counter()
ns["run"](%(name)r)
t2 = time.perf_counter()
ns["evaluate"](%(name)r)
t3 = time.perf_counter()
print("BENCH-JSON " + json.dumps({"import_s": t1 - t0, "run_s": t2 - t1, "evaluate_s": t3 - t2}))
"""


def reference_dir() -> Path:
    """``../shared/reference/upair/evaluation`` beside this checkout."""
    from core import config

    return config.shared_data_dir().parent / "reference" / "upair" / "evaluation"


def _png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def image_variant(im, i: int):
    """A real figure in one of five modes/shapes (the shared figures are all square grayscale)."""
    from PIL import Image

    w, h = im.size
    kind = i % 5
    if kind == 1:  # landscape crop
        return im.crop((0, 0, w, max(8, h * 3 // 5)))
    if kind == 2:  # portrait RGB
        return im.crop((0, 0, max(8, w * 2 // 3), h)).convert("RGB")
    if kind == 3:  # RGBA with a transparent band whose hidden pixels are black
        a = np.asarray(im.convert("RGBA")).copy()
        a[: h // 3, :, :3] = 0
        a[: h // 3, :, 3] = 0
        return Image.fromarray(a, "RGBA")
    if kind == 4:  # palette
        return im.convert("P")
    return im


def _records(query_patents: Path, images: Path, n: int, rng: random.Random) -> list[dict]:
    from PIL import Image

    figs = sorted((query_patents / "sections").glob("*/*/*.png"))
    rng.shuffle(figs)
    recs = []
    for i, p in enumerate(figs[:n]):
        data = _png(image_variant(Image.open(p), i))
        hashcode = hashlib.sha1(data).hexdigest()
        (images / f"{hashcode}.png").write_bytes(data)
        side = json.loads(p.with_suffix(".json").read_text())
        recs.append({"hashcode": hashcode, "patent": p.parent.name, "title": side.get("title", ""),
                     "description": side.get("fig_desc", ""), "component_labels": side.get("component_labels", [])})
    return recs


def build_upair_set(query_patents: Path, root: Path, run_dir: Path, n_queries: int = 12,
                    n_candidates: int = 9, seed: int = 7) -> None:
    """Write a UPAIR-layout benchmark under ``root`` and the official script's folder ``run_dir``."""
    rng = random.Random(seed)
    images = root / "test" / "images"
    images.mkdir(parents=True)
    recs = _records(query_patents, images, min(120, n_queries + max(5 * n_candidates, 48)), rng)
    if len(recs) < n_queries + n_candidates:
        raise ValueError(f"{query_patents} has too few figures for {n_queries} x {n_candidates}")
    meta, official_meta, qrels = {}, {}, {a: [] for a in AXES}
    for q in recs[:n_queries]:
        cands = rng.sample(recs[n_queries:], n_candidates)
        meta[q["hashcode"]] = {"query": q, "candidates": cands}
        official_meta[q["hashcode"]] = {  # run.py passes labels to clean_text: strings, joined as UPAIR did
            "query": {**q, "component_labels": " ".join(q["component_labels"])},
            "candidates": [{**c, "component_labels": " ".join(c["component_labels"])} for c in cands]}
        for a in AXES:
            rels = [int(rng.random() < 0.4) for _ in cands]
            rels[rng.randrange(len(rels))] = 1  # at least one relevant per query and axis
            qrels[a] += [f"{q['hashcode']} 0 {c['hashcode']} {r}" for c, r in zip(cands, rels)]
    (root / "metadata.json").write_text(json.dumps(meta, indent=1))
    for a in AXES:
        (root / "test" / f"qrels_{a}.txt").write_text("\n".join(qrels[a]) + "\n")
    run_dir.mkdir(parents=True)
    (run_dir / "metadata.json").write_text(json.dumps(official_meta, indent=1))
    (run_dir / "dataset").symlink_to(root.resolve(), target_is_directory=True)
    (run_dir / "results").mkdir()


def save_official_checkpoint(model, path: Path) -> Path:
    """Save ``model`` as the UPAIR training code does: ``{"state_dict": {"module.<name>": tensor}}``."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    return path


def read_run(path: Path) -> dict[str, dict[str, float]]:
    """``{qid: {docid: score}}`` of a TREC run file."""
    out: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text().splitlines():
        q, _, d, _, s, _ = line.split()
        out.setdefault(q, {})[d] = float(s)
    return out


def run_official(run_dir: Path, arch: str, checkpoint: Path, cfg_dir: Path | None = None,
                 timeout: int = 1800, threads: int | None = None) -> dict:
    """Run the official ``run`` and ``evaluate`` in a subprocess (cwd ``run_dir``).

    Returns ``{"import_s", "run_s", "evaluate_s", "process_s", "runs": {our run: {q: {d: score}}},
    "run_files": {our run: path}, "stdout"}``; RuntimeError with the script's stderr on failure.
    """
    evaluation = reference_dir()
    if not (evaluation / "run.py").is_file():
        raise FileNotFoundError(f"the official UPAIR code is not at {evaluation}")
    code = _DRIVER % {"name": OFFICIAL_MODEL}
    threads = threads or (os.cpu_count() or 1)
    args = [sys.executable, "-c", code, str(cfg_dir or ""), str(evaluation), arch, str(checkpoint), str(threads)]
    t = time.perf_counter()
    proc = subprocess.run(args, cwd=run_dir, env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                          capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"the official script failed: {proc.stderr[-2000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("BENCH-JSON ")][-1]
    out = json.loads(line[len("BENCH-JSON "):])
    files = {r: run_dir / "results" / f.format(m=OFFICIAL_MODEL) for r, f in RUN_FILES.items()}
    out.update(process_s=wall, run_files=files, runs={r: read_run(p) for r, p in files.items()},
               stdout=proc.stdout)
    return out
