"""Bench b's in-process half: ``core.evaluation.evaluate`` from an empty vector cache against the
bare batched forward pass over the same unique items, and warm re-scoring.

Run as ``python -m bench.eval_forward ROOT SPEC CFG_DIR WORK REPS THREADS`` (a fresh process, so
model loading and imports are timed apart and nothing is memoised from another section). After
the imports and one model load (both timed), every repetition runs, in this order:

* *ours*: ``evaluate`` under ``upair`` on a new empty cache, the model already loaded — hashing,
  decoding, preprocessing, encoding every unique figure and text once in batches, scoring;
* *bare forward*: the same encoder's batched forward pass alone (``forward_images`` on tensors
  preprocessed beforehand, in the encoder's batch size; ``encode_text`` on the unique texts,
  tokenised beforehand, 256 a batch), under ``torch.inference_mode`` — what no evaluation can
  beat on this machine with these threads.

Then warm re-scoring on the corpus object of the last run (its vectors in the cache): a new fusion
weight, a changed judgement set, and a protocol switch back to ``upair`` after ``clean`` (both
protocols' vectors cached). Prints one ``BENCH-JSON`` line.
"""
from __future__ import annotations

import json
import statistics
import sys
import time


def _bare(enc, images: list, texts: list[str]) -> dict:
    """Seconds of the bare batched forward pass over ``images`` (preprocessed here, not timed)
    and ``texts`` (tokenised here, not timed)."""
    import torch

    bs = enc.batch_size
    tensors = [enc.preprocess(images[i:i + bs]) for i in range(0, len(images), bs)]
    model = enc.load()
    tokens = [enc._tokenizer(texts[i:i + 256]) for i in range(0, len(texts), 256)]
    with torch.inference_mode():
        t0 = time.perf_counter()
        img = [enc.forward_images(t) for t in tensors]
        t1 = time.perf_counter()
        txt = [model.encode_text(t).float().numpy() for t in tokens]
        t2 = time.perf_counter()
    assert sum(len(x) for x in img) == len(images) and sum(len(x) for x in txt) == len(texts)
    return {"images_s": t1 - t0, "texts_s": t2 - t1, "s": t2 - t0}


#: Figures (and twice as many texts) timed one at a time for the batching factor (a per-item time).
SINGLE_ITEMS = 16


def _single(enc, images: list, texts: list[str]) -> dict:
    """Seconds per item of the same forward pass one item at a time (batch 1), as the official
    script runs it: the batching factor of the speed-up bound."""
    import torch

    tensors = [enc.preprocess([im]) for im in images]
    model = enc.load()
    tokens = [enc._tokenizer([t]) for t in texts]
    with torch.inference_mode():
        t0 = time.perf_counter()
        for t in tensors:
            enc.forward_images(t)
        t1 = time.perf_counter()
        for t in tokens:
            model.encode_text(t)
        t2 = time.perf_counter()
    return {"image_s": (t1 - t0) / max(1, len(images)), "text_s": (t2 - t1) / max(1, len(texts))}


def main(argv: list[str]) -> dict:
    root, spec, cfg, work, reps, threads = argv[0], argv[1], argv[2], argv[3], int(argv[4]), int(argv[5])
    t0 = time.perf_counter()
    if cfg:
        import open_clip

        open_clip.add_model_config(cfg)
    import torch

    torch.set_num_threads(threads)
    import core.evaluation as ev
    from core import config, integrity
    from core.corpora import load_corpus
    from core.embed import figure_text, require
    from core.figures import figure_digest
    from core.protocols import get_protocol
    from core.store import clear_file_hashes

    runs = ("image", "image+desc", "image+labels")
    t_import = time.perf_counter() - t0
    source = ev.protocol_spec(spec, "upair")
    enc = require(source)
    t1 = time.perf_counter()
    enc.load()
    enc.dim  # noqa: B018
    t_load = time.perf_counter() - t1

    corpus = load_corpus("upair:" + root)
    proto = get_protocol("upair")
    unique_figs = list({figure_digest(f): f for f in corpus.figures}.values())
    images = [proto.load_image(f, getattr(enc, "image_mode", "RGB")) for f in unique_figs]
    texts = list(dict.fromkeys(figure_text(f, w, "upair") for w in ("desc", "labels") for f in corpus.figures))
    torch.set_num_threads(threads)  # loading applies the project's default; the bench's count wins
    enc.encode_images(images[:2])  # warm-up of both paths (first-call allocations)
    enc.encode_texts(texts[:2])

    ours, bare, bare_img, bare_txt = [], [], [], []
    result = None
    for rep in range(reps):  # interleaved: ours, bare, ours, bare, ...
        ev.RESULT_CACHE.clear()
        ev.CORPUS_CACHE.clear()
        integrity._MEMO.clear()
        clear_file_hashes()
        with config.use_cache(f"{work}/cache-{rep}"):
            corpus = load_corpus("upair:" + root)
            t = time.perf_counter()
            result = ev.evaluate(corpus, [spec], runs=runs)
            ours.append(time.perf_counter() - t)
        assert result.protocol == "upair" and len(result.table), result.skipped
        b = _bare(enc, images, texts)
        bare.append(b["s"])
        bare_img.append(b["images_s"])
        bare_txt.append(b["texts_s"])

    single = _single(enc, images[:SINGLE_ITEMS], texts[:2 * SINGLE_ITEMS])
    warm = {"weight": [], "judgements": [], "protocol": [], "stored": []}
    with config.use_cache(f"{work}/cache-{reps - 1}"):
        ev.evaluate(corpus, [spec], runs=runs, protocol="clean")  # clean's vectors cached too
        qrels = {a: {q: dict(d) for q, d in qr.items()} for a, qr in corpus.benchmark.qrels.items()}
        for i in range(max(3, reps)):
            t = time.perf_counter()
            ev.evaluate(corpus, [spec], runs=runs, fusion_weight=0.5 + 0.1 * i)
            warm["weight"].append(time.perf_counter() - t)
            axis = sorted(qrels)[0]
            q = sorted(qrels[axis])[i % len(qrels[axis])]
            d = sorted(qrels[axis][q])[0]
            qrels[axis][q][d] = 1 - qrels[axis][q][d]  # one judgement flipped: a new judgement set
            t = time.perf_counter()
            ev.evaluate(corpus, [spec], runs=runs, qrels=qrels)
            warm["judgements"].append(time.perf_counter() - t)
            ev.RESULT_CACHE.clear()  # the switch re-scores (no stored result of either protocol)
            ev.evaluate(corpus, [spec], runs=runs, protocol="clean")
            ev.RESULT_CACHE.clear()
            t = time.perf_counter()
            ev.evaluate(corpus, [spec], runs=runs, protocol="upair")
            warm["protocol"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ev.evaluate(corpus, [spec], runs=runs, protocol="upair")
            warm["stored"].append(time.perf_counter() - t)
    med = statistics.median
    return {
        "import_s": t_import, "model_load_s": t_load, "threads": torch.get_num_threads(),
        "unique_images": len(images), "unique_texts": len(texts), "figures": len(corpus.figures),
        "ours_runs_s": ours, "bare_runs_s": bare, "bare_images_runs_s": bare_img, "bare_texts_runs_s": bare_txt,
        "ours_s": med(ours), "bare_s": med(bare), "bare_images_s": med(bare_img), "bare_texts_s": med(bare_txt),
        "single_image_s": single["image_s"], "single_text_s": single["text_s"], "warm_runs_s": warm, "warm_s": {k: med(v) for k, v in warm.items()},
    }


if __name__ == "__main__":
    print("BENCH-JSON " + json.dumps(main(sys.argv[1:])))
