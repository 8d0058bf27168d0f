"""Section g: the timm, PatentNet and sentence-transformers encoders, full pipeline versus
each model's own forward pass (random weights on CPU, loaded through their real specs)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from .common import Section, log, ratio, timer
from .encode import figure_corpus


def _save(path: Path, state) -> Path:
    import torch

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)
    return path


def timm_spec(model: str, work: Path, protocol: str = "") -> str:
    """``timm:<model>:<file>`` of the architecture with random weights."""
    import timm
    import torch

    path = work / "weights" / f"random-timm-{model}.pth"
    if not path.is_file():
        torch.manual_seed(0)
        _save(path, timm.create_model(model, pretrained=False, num_classes=0).state_dict())
    return f"timm:{model}:{path}" + (f"@{protocol}" if protocol else "")


def patentnet_spec(backbone: str, work: Path, protocol: str = "") -> str:
    """``patentnet:<file>[:<backbone>]`` of a random PatentNet saved from DataParallel."""
    import torch

    from core.encoders.patentnet import BACKBONE, build_patentnet

    path = work / "weights" / f"random-patentnet-{backbone}.pth"
    if not path.is_file():
        torch.manual_seed(0)
        _save(path, torch.nn.DataParallel(build_patentnet(backbone)).state_dict())
    tail = "" if backbone == BACKBONE else f":{backbone}"
    return f"patentnet:{path}{tail}" + (f"@{protocol}" if protocol else "")


def bert_spec(corpus, work: Path, large: bool) -> str:
    """``text:<folder>`` of a random BERT (PaECTER's shape when ``large``) with a WordPiece
    vocabulary made of the corpus's words."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = work / "weights" / ("random-bert-large" if large else "random-bert-tiny")
    if not (folder / "config.json").is_file():
        words: set[str] = set()
        for f in corpus.figures:
            words |= set(re.findall(r"[a-z]+", f"{f.title} {f.description} {f.labels_text}".lower()))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]))
        BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
        size = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                    max_position_embeddings=512) if large else dict(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=512)
        torch.manual_seed(0)
        BertModel(BertConfig(vocab_size=len(words) + 5, **size)).save_pretrained(folder)
    return f"text:{folder}"


def _row(label: str, spec: str, corpus, work: Path, idx: int, reps: int) -> dict:
    """Time the model's own forward pass on prepared inputs, then the pipeline on an empty cache
    (alternating, ``reps`` times; medians)."""
    import numpy as np

    from core import config
    from core.embed import build_embeddings, figure_text, require
    from core.encoders import IMAGE
    from core.figures import load_figure_image
    from core.store import clear_file_hashes

    enc = require(spec)
    n = len(corpus.figures)
    image = IMAGE in enc.capabilities
    with timer() as t_load:
        enc.load()
    images = [load_figure_image(f) for f in corpus.figures] if image else []
    all_texts = [] if image else [figure_text(f, "text", enc.protocol) for f in corpus.figures]
    texts = list(dict.fromkeys(all_texts))  # the pipeline encodes each distinct text once
    enc.encode_images(images[:2]) if image else enc.encode_texts(texts[:2])  # warm-up
    prep, fwd, pipe = [], [], []
    for rep in range(reps):
        with timer() as t_prep:
            tensors = [enc.preprocess(images[i:i + enc.batch_size]) for i in range(0, n, enc.batch_size)] \
                if image else None
        with timer() as t_fwd:
            out = np.concatenate([enc.forward_images(t) for t in tensors]) if image else enc.encode_texts(texts)
        clear_file_hashes()
        with config.use_cache(work / "encoders-cache" / f"{idx}-{rep}"), timer() as t_pipe:
            emb = build_embeddings(corpus, spec, "image" if image else "text", show_bar=False)
        prep.append(t_prep["s"] if image else 0.0)
        fwd.append(t_fwd["s"])
        pipe.append(t_pipe["s"])
    t_prep, t_fwd, t_pipe = (float(np.median(v)) for v in (prep, fwd, pipe))
    if not image:
        out = out[[texts.index(t) for t in all_texts]]
    return {
        "encoder": label, "what": "figures" if image else f"texts ({len(texts)} distinct)", "items": n, "dim": int(out.shape[1]),
        "load_s": t_load["s"], "prep_s": t_prep, "forward_s": t_fwd, "forward_ips": n / t_fwd,
        "pipeline_s": t_pipe, "pipeline_ips": n / t_pipe, "ratio_pipeline_vs_forward": ratio(t_pipe, t_fwd),
        "max_abs_diff_pipeline_vs_forward": float(np.max(np.abs(emb.vectors - out))),
        "forward_runs_s": fwd, "pipeline_runs_s": pipe,
    }


def device_agreement(spec: str, corpus, image: bool) -> float:
    """Smallest cosine between the vectors of a fresh CPU and a fresh CUDA instance of ``spec``."""
    import numpy as np

    from core.embed import figure_text
    from core.encoders import parse_spec
    from core.figures import load_figure_image

    kind, rest, protocol = parse_spec(spec)
    out = []
    for device in ("cpu", "cuda"):
        enc = kind.build(rest, {"protocol": protocol} if protocol else {})
        enc.use_device(device)
        if image:
            out.append(enc.encode_images([load_figure_image(f) for f in corpus.figures]))
        else:
            out.append(enc.encode_texts([figure_text(f, "text", enc.protocol) for f in corpus.figures]))
    return float(np.min(np.sum(out[0] * out[1], axis=1)))


def run(work: Path, quick: bool) -> Section:
    from core import config

    config.configure_threads()
    n = 8 if quick else 32
    reps = 2
    corpus, source_note = figure_corpus(n)
    if quick:
        cases = [("timm resnet10t [upair]", lambda: timm_spec("resnet10t", work, "upair")),
                 ("PatentNet head on resnet10t [upair]", lambda: patentnet_spec("resnet10t", work, "upair")),
                 ("text: tiny BERT (2 layers, 32-d)", lambda: bert_spec(corpus, work, large=False))]
    else:
        cases = [("timm ResNeXt-101 32x8d [upair, 384 px]", lambda: timm_spec("resnext101_32x8d", work, "upair")),
                 ("timm DINOv2 ViT-B/14 reg4 [518 px]", lambda: timm_spec("vit_base_patch14_reg4_dinov2", work)),
                 ("PatentNet Swin-V2-B [upair, 1 ch 384 px]",
                  lambda: patentnet_spec("swinv2_base_window12to24_192to384", work, "upair")),
                 ("text: BERT-large, PaECTER's shape (1024-d)", lambda: bert_spec(corpus, work, large=True))]
    sec = Section(
        name="encoders", title="g. New encoders: full pipeline vs each model's forward pass",
        method=(
            f"{source_note}. Random weights saved the way real weights arrive and loaded through the real "
            "specs (`timm:<model>:<file>`, `patentnet:<file>[:<backbone>]` from a DataParallel state dict, "
            "`text:<folder>`), on CPU. *Forward only* = `forward_images` on tensors preprocessed beforehand "
            "(text: `encode_texts` on texts cleaned beforehand, tokenising included); *pipeline* = "
            "`core.embed.build_embeddings` on an empty cache (hash, decode, preprocess, batch, encode, write "
            "shards). Medians of 2 alternating runs after a warm-up batch. CLIP-H (open_clip) is measured like the CLIP "
            "models of section a and is not repeated here (about 20x ViT-B-16's compute at 378 px)."
        ),
        columns=[("encoder", "encoder"), ("what", "input"), ("items", "items"), ("dim", "dim"),
                 ("load_s", "load s"), ("prep_s", "preprocess s"), ("forward_s", "forward only s"),
                 ("forward_ips", "forward items/s"), ("pipeline_s", "pipeline s"), ("pipeline_ips", "pipeline items/s"),
                 ("ratio_pipeline_vs_forward", "pipeline vs forward (time ratio)")],
    )
    for i, (label, make) in enumerate(cases):
        log(f"encoders: {label}")
        sec.rows.append(_row(label, make(), corpus, work, i, reps))
    sec.notes.append("Pipeline and forward-only vectors agree (max |difference| per component: "
                     + ", ".join(f"{r['encoder']} {r['max_abs_diff_pipeline_vs_forward']:.1e}" for r in sec.rows)
                     + ").")
    import torch

    if torch.cuda.is_available():
        for (label, make), row in zip(cases, sec.rows):
            row["min_cos_cpu_vs_cuda"] = device_agreement(make(), corpus, row["what"] == "figures")
        sec.columns.append(("min_cos_cpu_vs_cuda", "min cosine CPU vs CUDA"))
        sec.notes.append("CUDA runs in float16 autocast (core/encoders/device.py); vectors from the two devices "
                         "share the cache, which holds while the smallest cosine stays above 0.999.")
    else:
        sec.notes.append("No GPU here: on CUDA the encoders run in float16 autocast with larger batches "
                         "(core/encoders/device.py); CPU/GPU agreement is not measured on this machine.")
    return sec
