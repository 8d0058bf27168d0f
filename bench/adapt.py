"""Section i: CLIP adaptation throughput, core.adapt (open_clip_train's train step) vs the raw
forward + backward + optimiser step of the same model on tensors already in memory."""
from __future__ import annotations

import os
import time
from pathlib import Path

from .common import TINY_ARCH, Section, log, ratio, register_tiny_clip


def _raw_pairs_per_s(arch: str, batch: int, steps: int, size: int) -> float:
    """Pairs/s of model(images, texts) → ClipLoss → backward → AdamW step, inputs pre-made."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model(arch, pretrained=None, output_dict=True)
    model.train()
    loss = open_clip.ClipLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.1)
    images = torch.randn(batch, 3, size, size)
    texts = open_clip.get_tokenizer(arch)([f"a patent drawing of part {i}" for i in range(batch)])

    def step():
        opt.zero_grad()
        out = model(images, texts)
        loss(out["image_features"], out["text_features"], out["logit_scale"]).backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def _ours(arch: str, corpus, batch: int, epochs: int, work: Path) -> dict:
    from core.adapt import AdaptConfig, adapt
    from core.adapt.train import image_size_of

    os.environ["UPAIR_CACHE"] = str(work / f"cache-{arch}")
    cfg = AdaptConfig(arch=arch, pretrained="none", lr=1e-5, batch_size=batch, epochs=epochs, warmup=0,
                      patience=100, keep="last")
    from core.adapt.data import prepared_image

    for f in corpus.figures:  # image preparation is a one-off per corpus; timed apart
        prepared_image(f.path, image_size_of(arch))
    t0 = time.perf_counter()
    res = adapt(corpus, f"bench-{arch}", cfg)
    wall = time.perf_counter() - t0
    p = res.model.provenance
    return {"train_pps": p["pairs_per_second"], "wall_pps": p["steps"] * batch / wall, "steps": p["steps"],
            "train_s": p["train_seconds"], "wall_s": wall}


def run(work: Path, quick: bool) -> Section:
    from .encode import figure_corpus

    register_tiny_clip(work)
    corpus, note = figure_corpus(120)
    rows = []
    plans = [(TINY_ARCH, 16, 3)] if quick else [(TINY_ARCH, 16, 4), ("ViT-B-32", 16, 1)]
    from core.adapt.train import image_size_of

    for arch, batch, epochs in plans:
        log(f"adapt: {arch}")
        ours = _ours(arch, corpus, batch, epochs, work)
        raw = _raw_pairs_per_s(arch, batch, max(3, min(ours["steps"], 12)), image_size_of(arch))
        rows.append({"model": f"CLIP {arch} (random init)", "batch": batch, "steps": ours["steps"],
                     "ours_pps": ours["train_pps"], "ours_wall_pps": ours["wall_pps"], "raw_pps": raw,
                     "ratio_train_vs_raw": ratio(raw, ours["train_pps"]),
                     "ratio_wall_vs_raw": ratio(raw, ours["wall_pps"])})
    return Section(
        name="adapt", title="i. CLIP adaptation: training throughput vs the raw forward+backward pass",
        method=("`core.adapt.adapt` on the query-patent figures with their descriptions (open_clip_train's "
                "`train_one_epoch`: CSV data loading, decoding, augmentation, tokenising, forward, loss, "
                "backward, AdamW, LR schedule, per-step progress) against the same model's forward + "
                "ClipLoss + backward + AdamW step on tensors already in memory, same batch size, in the "
                "same run. 'train' counts the training epochs only; 'end to end' adds validation "
                f"after every epoch, checkpoints and publishing. {note}; images prepared beforehand."),
        columns=[("model", "model"), ("batch", "batch"), ("steps", "steps"), ("ours_pps", "ours, train (pairs/s)"),
                 ("ours_wall_pps", "ours, end to end (pairs/s)"), ("raw_pps", "raw fwd+bwd (pairs/s)"),
                 ("ratio_train_vs_raw", "raw / train"), ("ratio_wall_vs_raw", "raw / end to end")],
        rows=rows,
        notes=["Ratios above 1 are the cost of the real training loop over the bare compute; on a GPU the "
               "loader runs in worker processes (4 by default) and overlaps the compute."],
    )
