"""timm, PatentNet, sentence-transformers and hub-CLIP encoders, offline: small random-init
models saved the way real weights arrive, loaded back through their specs, encoding real
figures and texts, cached and searchable like the others."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.encoders import DOWNLOADABLE, IMAGE, PROTOCOLS, TEXT, TEXT_TO_IMAGE, get_encoder
from core.figures import open_image


def _unit(x: np.ndarray, n: int, d: int) -> None:
    assert x.dtype == np.float32 and x.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


def _figures(root: Path, n: int) -> list:
    paths = sorted(root.glob("sections/*/*/*.png"))
    return [open_image(p) for p in paths[:: max(1, len(paths) // n)][:n]]


@pytest.fixture(autouse=True)
def _fresh_registry():
    get_encoder.cache_clear()
    yield
    get_encoder.cache_clear()


def _corpus(upair_samples):
    from core.corpora import load_corpus

    return load_corpus(f"upair:{upair_samples}")


def _assert_cached_and_searchable(corpus, spec: str, dim: int, monkeypatch) -> None:
    from core import embed
    from core.search import build, search

    out = build(corpus, [spec])
    assert not isinstance(out[spec], str), out[spec]
    emb = out[spec].embeddings
    _unit(emb.vectors, len(corpus), dim)
    # Second build: everything comes from the cache, nothing is encoded.
    enc = get_encoder(spec)
    with monkeypatch.context() as m:
        for name in ("encode_images", "encode_texts"):
            m.setattr(enc, name, lambda *a, **k: pytest.fail("re-encoded a cached item"))
        again = embed.build_embeddings(corpus, spec, what=emb.what, show_bar=False)
    np.testing.assert_array_equal(again.vectors, emb.vectors)
    query = corpus.figures[0].id
    res = search(corpus, query, [spec], k=3)[spec]
    assert not res.error and len(res.neighbours) == 3 and query not in {n.id for n in res.neighbours}
    scores = emb.vectors @ emb.vectors[0]
    scores[0] = -np.inf
    assert res.neighbours[0].score == pytest.approx(float(scores.max()), abs=1e-5)


def _shard_devices(cache: Path) -> set[str]:
    return {json.loads(p.read_text()).get("device") for p in (cache / "vectors").glob("*/shard-*.npy.json")}


# --------------------------------------------------------------------------------------
# timm
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resnet_checkpoint(tmp_path_factory) -> Path:
    """Random resnet10t weights (with its classifier) saved as a plain state dict."""
    import timm
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("timm") / "resnet10t-random.pth"
    torch.save(timm.create_model("resnet10t", pretrained=False).state_dict(), path)
    return path


@pytest.mark.slow
def test_timm_checkpoint_encodes_like_the_model(resnet_checkpoint, query_patents, cache):
    import timm
    import torch
    from timm.data import create_transform, resolve_model_data_config

    enc = get_encoder(f"timm:resnet10t:{resnet_checkpoint}")
    assert enc.availability().ok and enc.capabilities == frozenset({IMAGE, PROTOCOLS})
    images = _figures(query_patents, 4)
    x = enc.encode_images(images)
    _unit(x, 4, 512)
    assert not np.allclose(x[0], x[1])
    # Independently: the same weights in a timm model without classifier, timm's own eval transform.
    ref = timm.create_model("resnet10t", pretrained=False, num_classes=0)
    state = torch.load(resnet_checkpoint, weights_only=True)
    ref.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc.")})
    ref.eval()
    tf = create_transform(**resolve_model_data_config(ref), is_training=False)
    with torch.inference_mode():
        y = ref(torch.stack([tf(im.convert("RGB")) for im in images])).numpy()
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    np.testing.assert_allclose(x, y, atol=1e-5)
    assert enc.load_report["missing"] == [] and set(enc.load_report["unexpected"]) <= {"fc.weight", "fc.bias"}


def test_timm_upair_protocol_uses_the_official_preprocessing(resnet_checkpoint, query_patents):
    import torch

    from core.protocols import upair_preprocess

    enc = get_encoder(f"timm:resnet10t:{resnet_checkpoint}@upair")
    assert enc.spec.endswith("@upair") and enc.protocol == "upair"
    images = _figures(query_patents, 2)
    t = enc.preprocess(images)
    assert tuple(t.shape) == (2, 3, 176, 176)  # the model's own input size (not a UPAIR encoder)
    assert torch.equal(t, upair_preprocess(images, 176, 3))
    assert enc.cache_key() != get_encoder(f"timm:resnet10t:{resnet_checkpoint}").cache_key()
    resnext = get_encoder("timm:resnext101_32x8d.tv_in1k@upair")
    assert resnext.upair_input() == (384, 3)  # as UPAIR built its pools


@pytest.mark.slow
def test_timm_hub_weights_from_the_local_cache(resnet_checkpoint, query_patents, cache):
    import shutil

    enc = get_encoder("timm:resnet10t.c3_in1k")
    assert DOWNLOADABLE in enc.capabilities
    av = enc.availability()
    assert not av.ok and "not downloaded" in av.reason
    assert "python -m core fetch-weights timm:resnet10t.c3_in1k" in av.fix
    snap = cache / "huggingface" / "models--timm--resnet10t.c3_in1k" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    shutil.copy(resnet_checkpoint, snap / "pytorch_model.bin")
    get_encoder.cache_clear()
    enc = get_encoder("timm:resnet10t.c3_in1k")
    assert enc.availability().ok and enc.local_weights() == snap / "pytorch_model.bin"
    ref = get_encoder(f"timm:resnet10t:{resnet_checkpoint}")
    images = _figures(query_patents, 3)
    np.testing.assert_allclose(enc.encode_images(images), ref.encode_images(images), atol=1e-5)


def test_timm_unknown_model_and_missing_file(cache, tmp_path):
    import timm  # noqa: F401 - the precise answer needs timm

    av = get_encoder("timm:no_such_net_v9").availability()
    assert not av.ok and "unknown timm model 'no_such_net_v9'" in av.reason and "timm.list_models" in av.fix
    av = get_encoder(f"timm:resnet10t:{tmp_path / 'nope.pth'}").availability()
    assert not av.ok and "checkpoint file not found" in av.reason and str(tmp_path / "nope.pth") in av.fix


@pytest.mark.slow
def test_timm_cached_and_searchable(resnet_checkpoint, upair_samples, cache, monkeypatch):
    _assert_cached_and_searchable(_corpus(upair_samples), f"timm:resnet10t:{resnet_checkpoint}", 512, monkeypatch)
    assert _shard_devices(cache) == {"cpu"}


# --------------------------------------------------------------------------------------
# PatentNet
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patentnet_file(tmp_path_factory) -> tuple[Path, object]:
    """PatentNet's head on a small backbone, saved from DataParallel with one extra (ArcFace) key."""
    import torch

    from core.encoders.patentnet import build_patentnet

    torch.manual_seed(1)
    model = build_patentnet("resnet10t")
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode matters
        for bn in (model.head[1], model.head[4]):
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
    state = torch.nn.DataParallel(model).state_dict()
    assert all(k.startswith("module.") for k in state)
    state["module.arcface.weight"] = torch.randn(10, 512)
    path = tmp_path_factory.mktemp("patentnet") / "patentnet-small.pth"
    torch.save(state, path)
    return path, model.eval()


@pytest.mark.slow
def test_patentnet_loads_dataparallel_checkpoint(patentnet_file, query_patents, caplog):
    import torch

    from core.encoders.patentnet import gray_tensor

    path, model = patentnet_file
    enc = get_encoder(f"patentnet:{path}:resnet10t")
    assert enc.availability().ok and enc.kind == "patentnet" and enc.dim == 512
    images = _figures(query_patents, 4)
    x = enc.encode_images(images)
    _unit(x, 4, 512)
    assert enc.load_report == {"missing": [], "unexpected": ["arcface.weight"]}
    assert "arcface.weight" in caplog.text  # reported, not silently ignored
    t = enc.preprocess(images)
    assert tuple(t.shape) == (4, 1, 384, 384) and float(t.min()) >= -1.0 and float(t.max()) <= 1.0
    with torch.inference_mode():
        y = model(gray_tensor(images)).numpy()
    np.testing.assert_allclose(x, y / np.linalg.norm(y, axis=1, keepdims=True), atol=1e-5)


def test_patentnet_upair_preprocessing(patentnet_file, query_patents):
    import torch

    from core.protocols import upair_preprocess

    path, _ = patentnet_file
    enc = get_encoder(f"patentnet:{path}:resnet10t@upair")
    images = _figures(query_patents, 2)
    assert enc.upair_input() == (384, 1)
    assert torch.equal(enc.preprocess(images), upair_preprocess(images, 384, 1))
    # On RGB drawings the official and the own transform differ only by resampling order.
    clean = get_encoder(f"patentnet:{path}:resnet10t").preprocess(images)
    assert float((enc.preprocess(images) - clean).abs().mean()) < 0.02


def test_patentnet_mismatched_or_missing_checkpoint(patentnet_file, tmp_path, cache):
    import torch

    path, _ = patentnet_file
    state = torch.load(path, weights_only=True)
    partial = tmp_path / "no-head.pth"
    torch.save({k: v for k, v in state.items() if ".head." not in k and not k.startswith("module.head")}, partial)
    with pytest.raises(RuntimeError, match=r"leaves \d+ parameter\(s\) unset .*head"):
        get_encoder(f"patentnet:{partial}:resnet10t").encode_images(_blank(1))
    av = get_encoder("patentnet:").availability()
    assert not av.ok and "swin-arcface-test_epoch19.pth" in av.fix
    assert str(cache / "weights" / "swin-arcface-test_epoch19.pth") in av.reason


def _blank(n):
    from PIL import Image

    return [Image.new("RGB", (40, 30), "white") for _ in range(n)]


# --------------------------------------------------------------------------------------
# sentence-transformers (text:<folder>)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, upair_samples_dir) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary built from the samples' words, saved with its tokenizer."""
    import re

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from core.corpora import load_corpus

    words: set[str] = set()
    for f in load_corpus(f"upair:{upair_samples_dir}").figures:
        words |= set(re.findall(r"[a-z]+", f"{f.title} {f.description} {f.labels_text}".lower()))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    folder = tmp_path_factory.mktemp("tiny-bert")
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(2)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def upair_samples_dir() -> Path:
    from tests.conftest import SHARED

    path = SHARED / "upair-samples"
    if not path.exists():
        pytest.skip(f"needs the shared UPAIR data at {path}")
    return path


@pytest.mark.slow
def test_text_folder_mean_pooled_like_the_reference(tiny_bert, upair_samples_dir):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from core.protocols import get_protocol

    enc = get_encoder(f"text:{tiny_bert}")
    assert enc.availability().ok and enc.capabilities == frozenset({TEXT, PROTOCOLS}) and enc.dim == 32
    corpus = _corpus(upair_samples_dir)
    texts = [get_protocol("clean").figure_text(f, "desc") for f in corpus.figures[:5]]
    x = enc.encode_texts([*texts, ""])
    _unit(x[:5], 5, 32)
    assert not x[5].any()  # empty text: a zero row
    # Independently, as the UPAIR reference encodes PaECTER: AutoModel + attention-masked mean.
    tok, model = AutoTokenizer.from_pretrained(tiny_bert), AutoModel.from_pretrained(tiny_bert).eval()
    batch = tok(texts, padding=True, truncation=True, return_tensors="pt", max_length=128)
    with torch.no_grad():
        hidden = model(**batch)[0]
    mask = batch["attention_mask"].unsqueeze(-1).float()
    y = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy()
    np.testing.assert_allclose(x[:5], y / np.linalg.norm(y, axis=1, keepdims=True), atol=1e-5)


@pytest.mark.slow
def test_text_folder_cached_searchable_and_in_text_search(tiny_bert, upair_samples, cache, monkeypatch):
    from core.search import search

    spec = f"text:{tiny_bert}"
    corpus = _corpus(upair_samples)
    _assert_cached_and_searchable(corpus, spec, 32, monkeypatch)
    # A query that is not in the corpus is matched by its text.
    res = search(corpus, _blank(1)[0], [spec], k=2, text="a gear wheel")[spec]
    assert not res.error and len(res.neighbours) == 2
    # Text search ranks the figures' own texts against the typed text.
    from core.embed import build_embeddings, encode_query_text
    from core.search import search_text

    hits = search_text(corpus, "a gear wheel", [spec], k=3)[spec]
    emb = build_embeddings(corpus, spec, show_bar=False)
    scores = emb.vectors @ encode_query_text(spec, "a gear wheel", corpus)[0]
    assert not hits.error and [n.id for n in hits.neighbours] == [emb.ids[i] for i in np.argsort(-scores)[:3]]


def test_text_unavailable_hub_model_and_bad_folder(cache, tmp_path):
    enc = get_encoder("text:mpi-inno-comp/paecter")
    av = enc.availability()
    assert not av.ok and "not downloaded" in av.reason
    assert av.fix.startswith("run `") and "python -m core fetch-weights text:mpi-inno-comp/paecter`" in av.fix
    assert DOWNLOADABLE in enc.capabilities and TEXT_TO_IMAGE not in enc.capabilities
    av = get_encoder(f"text:{tmp_path}").availability()
    assert not av.ok and "config.json" in av.reason


# --------------------------------------------------------------------------------------
# open_clip from the hub (clip:hf-hub:<org>/<repo>)
# --------------------------------------------------------------------------------------


def test_hub_clip_from_the_local_cache(tiny_clip_arch, tiny_clip_checkpoint, query_patents, cache):
    import shutil

    from tests.conftest import TINY_CLIP

    spec = "clip:hf-hub:example/TinyPatentCLIP"
    av = get_encoder(spec).availability()
    assert not av.ok and "python -m core fetch-weights clip:hf-hub:example/TinyPatentCLIP" in av.fix
    snap = cache / "huggingface" / "models--example--TinyPatentCLIP" / "snapshots" / "feedbeef"
    snap.mkdir(parents=True)
    (snap / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP, "preprocess_cfg": {}}))
    shutil.copy(tiny_clip_checkpoint, snap / "open_clip_pytorch_model.bin")
    get_encoder.cache_clear()
    enc = get_encoder(spec)
    assert enc.availability().ok and enc.dim == 64 and {TEXT_TO_IMAGE, DOWNLOADABLE} <= enc.capabilities
    images = _figures(query_patents, 3)
    same = get_encoder(f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}")
    np.testing.assert_allclose(enc.encode_images(images), same.encode_images(images), atol=1e-5)
    np.testing.assert_allclose(enc.encode_texts(["a gear"]), same.encode_texts(["a gear"]), atol=1e-5)
    assert enc.spec == spec and enc.cache_key().endswith("rev=feedbeef")


@pytest.mark.slow
def test_patentnet_reads_the_reference_models_checkpoint(tmp_path):
    """A checkpoint saved from the official code's own PatentNet (Swin-V2-B, DataParallel) loads
    through ``patentnet:<file>`` with no missing or unexpected key, every tensor equal."""
    import importlib.util

    import torch

    from tests.conftest import SHARED

    src = SHARED.parent / "reference" / "upair" / "src" / "encoders.py"
    if not src.is_file():
        pytest.skip(f"needs the official UPAIR code at {src}")
    spec = importlib.util.spec_from_file_location("upair_reference_encoders", src)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.manual_seed(3)
    net = ref.PatentNet("swinv2_base_window12to24_192to384_22kft1k", pretrained=False, embedding_size=512)
    path = tmp_path / "swin-arcface-test_epoch19.pth"
    torch.save(torch.nn.DataParallel(net).state_dict(), path)
    enc = get_encoder(f"patentnet:{path}@upair")
    mine, theirs = enc.load().state_dict(), net.state_dict()
    assert enc.load_report == {"missing": [], "unexpected": []}
    # (a forward pass of Swin-V2-B at 384 px takes ~15 s here; the small-backbone tests cover it)
    mine, theirs = enc.load().state_dict(), net.state_dict()
    assert set(mine) == set(theirs)  # the same module tree, key for key
    for k, v in theirs.items():
        assert torch.equal(mine[k].cpu(), v), k
