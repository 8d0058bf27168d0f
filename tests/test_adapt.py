"""CLIP adaptation (core.adapt): pairs, split, leakage guard, messages; training on real figures."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.adapt import AdaptConfig, AdaptError, benchmark_patents, list_adapted, split_pairs
from core.corpora import load_corpus

pytestmark = pytest.mark.shared


def _bench_patents_by_hand(bench_root) -> set[str]:
    """Patents of the sample benchmark's queries and candidates, read from its files directly."""
    meta = json.loads(next(bench_root.rglob("metadata.json")).read_text())
    rows = meta if isinstance(meta, list) else list(meta.values()) if isinstance(meta, dict) else []
    patent_of = {}
    for r in rows:
        if isinstance(r, dict):
            fid = r.get("hashcode") or r.get("id") or r.get("figure_id")
            patent_of[fid] = r.get("patent_id") or r.get("publication_number") or r.get("patent")
    ids = set()
    for q in bench_root.rglob("qrels_*.txt"):
        for line in q.read_text().split("\n"):
            parts = line.split()
            if len(parts) == 4:
                ids.update((parts[0], parts[2]))
    return {patent_of[i] for i in ids if patent_of.get(i)}


def test_split_is_by_patent_and_leaves_benchmark_patents_out(query_patents, upair_samples):
    corpus = load_corpus(f"query-patents:{query_patents}")
    bench = load_corpus(f"upair:{upair_samples}")
    banned = benchmark_patents(bench)
    by_hand = {f.patent for f in bench.figures}  # every sample figure is a query or a candidate
    assert banned == by_hand and len(banned) == 10
    split = split_pairs(corpus, "desc", exclude=banned, val_fraction=0.1, seed=0)
    overlap = sorted({f.patent for f in corpus.figures} & by_hand)
    assert list(split.excluded_patents) == overlap and len(overlap) == 2  # EP4046527A1, WO2022034013A1
    assert split.excluded_figures == 2
    train_p, val_p = {p.patent for p in split.train}, {p.patent for p in split.val}
    assert not train_p & val_p and not (train_p | val_p) & banned
    assert len(split.train) + len(split.val) + split.excluded_figures + split.without_text == len(corpus) == 120
    assert split.val_patents == round(0.1 * (split.train_patents + split.val_patents))
    # texts are the protocol's cleaning of fig_desc; the split is reproducible and seed-dependent
    from core.protocols import upair_clean_text

    p = split.train[0]
    assert p.text == upair_clean_text(corpus.by_id[p.figure_id].description) and p.text
    again = split_pairs(corpus, "desc", exclude=banned, val_fraction=0.1, seed=0)
    assert again == split
    other = split_pairs(corpus, "desc", exclude=banned, val_fraction=0.1, seed=1)
    assert {p.patent for p in other.val} != val_p and other.digest != split.digest


def test_labels_are_joined_as_the_protocol_joins_them(query_patents):
    corpus = load_corpus(f"query-patents:{query_patents}")
    from core.protocols import get_protocol

    for name in ("upair", "clean"):
        split = split_pairs(corpus, "labels", protocol=name)
        p = (split.train + split.val)[0]
        assert p.text == get_protocol(name).figure_text(corpus.by_id[p.figure_id], "labels")


def _plain_folder(root, n=4):
    root.mkdir()
    for i in range(n):
        im = Image.new("L", (120, 90), 255)
        ImageDraw.Draw(im).rectangle([10 + 5 * i, 10, 80, 70], outline=0, width=2)
        im.save(root / f"f{i}.png")
    return root


@pytest.mark.slow  # imports open_clip + torch (and its training stack): 125 s once on a loaded machine
def test_clear_messages_for_bad_input(cache, tmp_path, query_patents, tiny_clip_arch):
    from core.adapt import adapt, plan
    from core.adapt.train import resolve_init

    bare = load_corpus(f"folder:{_plain_folder(tmp_path / 'bare')}")
    with pytest.raises(AdaptError, match=r"no figure with a figure description.*--text labels"):
        plan(bare, AdaptConfig(batch_size=2))
    corpus = load_corpus(f"query-patents:{query_patents}")
    with pytest.raises(AdaptError, match=r"fewer than one batch of 256.*--batch-size 64"):
        plan(corpus, AdaptConfig())  # UPAIR's batch of 256 on 120 figures
    with pytest.raises(AdaptError, match=r"unknown open_clip architecture 'ViT-Q-99'"):
        resolve_init("ViT-Q-99", "none")
    with pytest.raises(AdaptError, match=r"not downloaded.*fetch-weights clip:ViT-B-16:laion400m_e32"):
        resolve_init("ViT-B-16", "laion400m_e32")  # nothing is downloaded in the test cache
    with pytest.raises(AdaptError, match="bad model name"):
        adapt(corpus, "../evil", AdaptConfig(arch=tiny_clip_arch, pretrained="none", batch_size=8))
    with pytest.raises(AdaptError, match="mixed precision"):
        adapt(corpus, "m", AdaptConfig(arch=tiny_clip_arch, pretrained="none", batch_size=8, precision="amp",
                                       device="cpu"))
    with pytest.raises(AdaptError, match="learning rate"):
        AdaptConfig(lr=0).validate()


def test_upair_defaults():
    d = AdaptConfig()
    assert (d.arch, d.pretrained, d.lr, d.batch_size, d.max_steps, d.wd) == (
        "ViT-B-16", "laion400m_e32", 3.54e-6, 256, 33_000, 0.1)
    from core.adapt import UNPUBLISHED

    assert "wd" in UNPUBLISHED


# ----------------------------------------------------------------------------- training
class Interrupt(Exception):
    """Stands in for Ctrl-C / a killed process in the middle of an epoch."""


def _high_pass_start(tiny_clip_checkpoint, tmp_path_factory):
    """The tiny random CLIP with zero-mean patch filters: a random ViT maps line drawings to
    near-identical vectors (white patches dominate); filters blind to flat patches let it see the ink."""
    import torch

    sd = torch.load(tiny_clip_checkpoint, map_location="cpu", weights_only=True)
    w = sd["visual.conv1.weight"]
    sd["visual.conv1.weight"] = (w - w.mean(dim=(1, 2, 3), keepdim=True)) * 20
    path = tmp_path_factory.mktemp("adapt_start") / "start.pt"
    torch.save(sd, path)
    return path


@pytest.fixture(scope="module")
def one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model is faster on one thread, and the test machine is shared
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def trained(tiny_clip_arch, tiny_clip_checkpoint, tmp_path_factory, one_thread):
    """One adaptation of the tiny CLIP on the 120 query-patent figures + descriptions."""
    from tests.conftest import SHARED

    if not (SHARED / "query-patents").is_dir() or not (SHARED / "upair-samples").is_dir():
        pytest.skip(f"needs the shared UPAIR data at {SHARED}")
    from core.adapt import adapt

    start = _high_pass_start(tiny_clip_checkpoint, tmp_path_factory)
    cache = tmp_path_factory.mktemp("adapt_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UPAIR_CACHE", str(cache))
        corpus = load_corpus(f"query-patents:{SHARED / 'query-patents'}")
        bench = load_corpus(f"upair:{SHARED / 'upair-samples'}")
        cfg = AdaptConfig(arch=tiny_clip_arch, pretrained=str(start), lr=3e-4, batch_size=16, epochs=12,
                          warmup=0, patience=100, keep="last")
        seen = []
        res = adapt(corpus, "tiny-desc", cfg, benchmark=bench, progress=lambda d, t, m: seen.append((d, t, m)))
        yield {"res": res, "corpus": corpus, "bench": bench, "cfg": cfg, "start": start, "cache": cache,
               "seen": seen}


def _train_r1(spec, corpus, pairs) -> float:
    """Image→text recall@1 over the training pairs, through the normal encoder path."""
    from core.encoders import get_encoder
    from core.figures import load_figure_image

    enc = get_encoder(spec)
    img = enc.encode_images([load_figure_image(corpus.by_id[p.figure_id]) for p in pairs])
    txt = enc.encode_texts([p.text for p in pairs])
    return float(((img @ txt.T).argmax(axis=1) == np.arange(len(pairs))).mean())


@pytest.mark.slow
def test_training_learns_the_pairs(trained, monkeypatch):
    monkeypatch.setenv("UPAIR_CACHE", str(trained["cache"]))
    res, corpus = trained["res"], trained["corpus"]
    p = res.model.provenance
    assert not res.already_done and res.resumed_from_epoch == 0 and res.epochs_run == 12
    per_epoch = p["batches_per_epoch"]
    assert per_epoch == p["train_pairs"] // 16 and p["steps"] == 12 * per_epoch
    losses = np.array([loss for _, loss in p["history"]["steps"]])
    assert len(losses) == 12 * per_epoch
    assert losses[-per_epoch:].mean() < losses[:per_epoch].mean() - 0.3  # training loss falls
    # progress: one call per step, with loss and ETA
    seen = trained["seen"]
    assert [d for d, _, _ in seen] == list(range(1, 12 * per_epoch + 1)) and seen[-1][1] == 12 * per_epoch
    assert "loss" in seen[-1][2] and "ETA" in seen[-1][2]
    # recall on the training pairs rises above the untrained model's (own computation, not open_clip's)
    split = split_pairs(corpus, "desc", exclude=benchmark_patents(trained["bench"]))
    before = _train_r1(f"clip:{trained['cfg'].arch}:{trained['start']}", corpus, split.train)
    after = _train_r1(res.model.spec, corpus, split.train)
    assert after > before + 0.05, (before, after)
    # provenance says what it was trained on and what was left out
    assert p["excluded_patents"] == ["EP4046527A1", "WO2022034013A1"] and p["excluded_figures"] == 2
    assert p["text_field"] == "desc" and p["cleaning"].startswith("core.protocols:upair")
    assert p["corpus"]["fingerprint"] == corpus.fingerprint and p["pairs_digest"] == split.digest
    assert p["hyperparameters"]["lr"] == 3e-4 and p["hyperparameters"]["wd"] == 0.1
    assert p["best_val"]["val_loss"] == min(r["val_loss"] for r in p["history"]["val"][1:])
    assert p["kept_epoch"] == 12 and p["kept_val"] == p["history"]["val"][-1]  # keep="last"
    assert p["history"]["val"][0]["epoch"] == 0 and len(p["history"]["val"]) == 13
    assert p["pairs_per_second"] > 0


@pytest.mark.slow
def test_adapted_model_is_an_encoder_that_caches_and_searches(trained, monkeypatch, tmp_path):
    import torch

    from core.embed import build_embeddings
    from core.encoders import get_encoder, known_encoders
    from core.search import search

    monkeypatch.setenv("UPAIR_CACHE", str(trained["cache"]))
    res, corpus = trained["res"], trained["corpus"]
    spec = res.model.spec
    assert spec == f"clip:{trained['cfg'].arch}:cache/weights/tiny-desc.pt"
    assert [m.spec for m in list_adapted()] == [spec] and spec in known_encoders()
    ckpt = torch.load(res.model.checkpoint, map_location="cpu", weights_only=True)  # open_clip's format
    assert set(ckpt) == {"epoch", "name", "state_dict"} and ckpt["epoch"] == res.model.provenance["kept_epoch"]
    emb = build_embeddings(corpus, spec, "image", show_bar=False)
    assert emb.vectors.shape == (120, 64)
    enc = get_encoder(spec)
    monkeypatch.setattr(type(enc), "encode_images", lambda *a, **k: (_ for _ in ()).throw(AssertionError("re-encoded")))
    again = build_embeddings(corpus, spec, "image", show_bar=False)  # from the cache
    assert np.array_equal(again.vectors, emb.vectors)
    monkeypatch.undo()
    monkeypatch.setenv("UPAIR_CACHE", str(trained["cache"]))
    fig = corpus.figures[7]
    hits = search(corpus, fig.path, [spec], k=3)[spec]
    assert hits.error is None or not hits.error
    assert hits.neighbours[0].id == fig.id and hits.neighbours[0].score > 0.999


@pytest.mark.slow
def test_interrupted_run_resumes_and_a_finished_one_is_kept(tiny_clip_arch, tiny_clip_checkpoint, query_patents,
                                                            upair_samples, cache, one_thread):
    from core.adapt import adapt

    corpus = load_corpus(f"query-patents:{query_patents}")
    cfg = AdaptConfig(arch=tiny_clip_arch, pretrained=str(tiny_clip_checkpoint), lr=3e-4, batch_size=32,
                      epochs=3, warmup=0, patience=100)
    calls = []

    def stop_in_epoch_two(done, total, message):
        calls.append(done)
        if "epoch 2/3" in message:
            raise Interrupt

    with pytest.raises(Interrupt):
        adapt(corpus, "resume-me", cfg, progress=stop_in_epoch_two)
    state = json.loads((cache / "adapt" / "runs" / "resume-me" / "state.json").read_text())
    assert state["epoch"] == 1 and not list_adapted()  # nothing published before it finishes
    res = adapt(corpus, "resume-me", cfg)
    assert res.resumed_from_epoch == 1 and res.epochs_run == 2
    p = res.model.provenance
    per_epoch = p["batches_per_epoch"]
    assert [s for s, _ in p["history"]["steps"]] == list(range(1, 3 * per_epoch + 1))  # no step twice
    assert [r["epoch"] for r in p["history"]["val"]] == [0, 1, 2, 3]
    again = adapt(corpus, "resume-me", cfg)
    assert again.already_done and again.epochs_run == 0
    with pytest.raises(AdaptError, match="already exists with different data or settings"):
        adapt(corpus, "resume-me", cfg.with_(lr=1e-4))


def test_cli_dry_run_and_errors(cache, query_patents, upair_samples, capsys):
    from core.cli import main

    qp, ups = f"query-patents:{query_patents}", f"upair:{upair_samples}"
    assert main(["adapt", "--corpus", qp, "--benchmark", ups, "--out", "m", "--batch-size", "64", "--pretrained",
                 "none", "--dry-run"]) == 0  # the dry run checks the weights as the real run does
    out = capsys.readouterr().out
    assert "106 training pairs (106 patents), 12 validation pairs (12 patents)" in out
    assert "left out 2 benchmark patent(s) (2 figures): EP4046527A1, WO2022034013A1" in out
    assert main(["adapt", "--corpus", qp, "--out", "m"]) == 2  # UPAIR's batch of 256 > 108 pairs
    assert "fewer than one batch of 256" in capsys.readouterr().err
    assert main(["adapt", "--corpus", qp, "--out", "m", "--batch-size", "8", "--arch", "ViT-Q-99"]) == 2
    assert "unknown open_clip architecture" in capsys.readouterr().err
    assert main(["adapted"]) == 0 and "no adapted models yet" in capsys.readouterr().out


def test_device_and_precision_follow_the_machine(monkeypatch):
    import torch

    from core.adapt.train import _device_and_precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _device_and_precision(AdaptConfig()) == ("cpu", "fp32")
    with pytest.raises(AdaptError, match="no CUDA GPU"):
        _device_and_precision(AdaptConfig(device="cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _device_and_precision(AdaptConfig()) == ("cuda", "amp")  # mixed precision on the GPU
    assert _device_and_precision(AdaptConfig(precision="fp32")) == ("cuda", "fp32")
    assert _device_and_precision(AdaptConfig(device="cpu")) == ("cpu", "fp32")


@pytest.mark.slow
def test_early_stopping_publishes_the_best_epoch(tiny_clip_arch, tiny_clip_checkpoint, query_patents, cache,
                                                 one_thread, monkeypatch):
    import open_clip_train.train as oct_train
    import torch

    from core.adapt import adapt

    losses = iter([3.0, 2.0, 2.5, 2.6, 2.7, 2.8])  # epoch 0 (before training), 1, 2, ...

    def fake_evaluate(model, data, epoch, args, tb_writer=None, tokenizer=None):
        return {"clip_val_loss": next(losses), "image_to_text_R@1": 0.0, "epoch": epoch}

    monkeypatch.setattr(oct_train, "evaluate", fake_evaluate)
    corpus = load_corpus(f"query-patents:{query_patents}")
    cfg = AdaptConfig(arch=tiny_clip_arch, pretrained=str(tiny_clip_checkpoint), batch_size=32, epochs=5,
                      warmup=0, patience=2, lr=1e-4)
    res = adapt(corpus, "early", cfg)
    p = res.model.provenance
    assert [r["val_loss"] for r in p["history"]["val"]] == [3.0, 2.0, 2.5, 2.6]  # two epochs without improvement
    assert p["stopped_early"] and p["epochs_trained"] == 3 and p["epochs_planned"] == 5
    assert p["best_epoch"] == p["kept_epoch"] == 1 and p["kept_val"]["val_loss"] == 2.0
    assert torch.load(res.model.checkpoint, weights_only=True)["epoch"] == 1
