"""Offline tests of the CLIP, HOG, AHDH and TF-IDF encoders (no weights are downloaded)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from core.encoders import get_encoder
from core.figures import open_image


def _figures(root: Path, n: int) -> list[Path]:
    paths = sorted(root.glob("sections/*/*/*.png"))
    assert len(paths) >= n, f"expected at least {n} figures under {root}"
    # Spread over the sections so the figures differ.
    step = max(1, len(paths) // n)
    return paths[::step][:n]


def _resaved(im):
    """The same image after a PNG encode/decode round trip."""
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return open_image(buf.getvalue())


def _unit(x: np.ndarray) -> None:
    assert x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def wrong_arch(tmp_path_factory) -> str:
    """A second tiny architecture with a different embedding size."""
    import open_clip

    from tests.conftest import TINY_CLIP

    cfg = json.loads(json.dumps(TINY_CLIP))
    cfg["embed_dim"] = 32
    d = tmp_path_factory.mktemp("tiny_clip_narrow")
    (d / "TinyCLIP-Test-Narrow.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(d)
    return "TinyCLIP-Test-Narrow"


# --------------------------------------------------------------------------------------
# CLIP
# --------------------------------------------------------------------------------------


def test_clip_checkpoint_raw_and_wrapped_agree(tiny_clip_arch, tiny_clip_checkpoint, query_patents, tmp_path):
    import torch

    raw = torch.load(tiny_clip_checkpoint, map_location="cpu", weights_only=True)
    wrapped_path = tmp_path / "wrapped.pt"
    torch.save({"epoch": 3, "name": "upair", "state_dict": {"module." + k: v for k, v in raw.items()}}, wrapped_path)

    enc_raw = get_encoder(f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}")
    enc_wrapped = get_encoder(f"clip:{tiny_clip_arch}:{wrapped_path}")
    assert enc_raw.availability().ok and enc_wrapped.availability().ok
    assert enc_raw.kind == "clip" and enc_raw.has_texts and enc_raw.has_images
    assert enc_raw.label == f"CLIP {tiny_clip_arch} {Path(tiny_clip_checkpoint).name}"
    assert enc_raw.dim == 64

    images = [open_image(p) for p in _figures(query_patents, 6)]
    a = enc_raw.encode_images(images)
    b = enc_wrapped.encode_images(images)
    assert a.shape == (6, 64)
    _unit(a)
    np.testing.assert_allclose(a, b, atol=1e-6)
    # Different figures give different embeddings; the forward pass is deterministic.
    assert not np.allclose(a[0], a[1])
    np.testing.assert_allclose(enc_raw.forward_images(enc_raw.preprocess(images[:2])), a[:2], atol=1e-6)

    texts = ["A gear wheel with teeth", "an electron microscopy grid", ""]
    t = enc_raw.encode_texts(texts)
    assert t.shape == (3, 64)
    _unit(t)
    long_text = " ".join(["gear"] * 500)  # longer than the 77-token context: truncated
    _unit(enc_raw.encode_texts([long_text]))
    np.testing.assert_allclose(t, enc_wrapped.encode_texts(texts), atol=1e-6)

    # Identical weights in different files: the cache key follows the file's bytes.
    assert enc_raw.cache_key() != enc_wrapped.cache_key()
    assert enc_raw.cache_key() == get_encoder(f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}").cache_key()
    assert enc_raw.encode_images([]).shape == (0, 64)


def test_clip_checkpoint_for_wrong_arch_is_a_clear_error(tiny_clip_checkpoint, wrong_arch, tmp_path):
    from core.encoders.clip import ClipEncoder

    enc = ClipEncoder(wrong_arch, str(tiny_clip_checkpoint))
    assert enc.availability().ok  # the file exists; the mismatch shows on loading
    with pytest.raises(RuntimeError) as err:
        enc.encode_texts(["x"])
    msg = str(err.value)
    assert str(Path(tiny_clip_checkpoint).resolve()) in msg and wrong_arch in msg

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="junk.pt"):
        ClipEncoder(wrong_arch, str(junk)).load()


def test_clip_missing_checkpoint_is_unavailable(tiny_clip_arch, tmp_path, cache):
    missing = tmp_path / "nowhere" / "upair-clip-desc.pt"
    av = get_encoder(f"clip:{tiny_clip_arch}:{missing}").availability()
    assert not av.ok
    assert av.reason == f"checkpoint file not found: {missing.resolve()}"
    assert str(missing.resolve()) in av.fix and "README" in av.fix
    with pytest.raises(ValueError, match="nothing to download"):
        get_encoder(f"clip:{tiny_clip_arch}:{missing}").download()

    # The built-in spec for the UPAIR checkpoint resolves into the cache and reports its path.
    av = get_encoder("clip:ViT-B-16:cache/weights/upair-clip-desc.pt").availability()
    assert not av.ok and "checkpoint file not found:" in av.reason


def test_clip_pretrained_tag_not_downloaded(cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = get_encoder("clip:ViT-B-16:laion400m_e32")
    av = enc.availability()
    assert not av.ok
    assert av.reason == "weights for ViT-B-16/laion400m_e32 are not downloaded"
    assert "python -m core fetch-weights clip:ViT-B-16:laion400m_e32" in av.fix
    assert enc.label == "CLIP ViT-B-16 laion400m_e32"
    assert enc.dim == 512  # from the architecture config, without loading anything
    assert "laion400m_e32" in enc.cache_key()
    with pytest.raises(RuntimeError, match="not downloaded"):
        enc.encode_texts(["x"])


def test_clip_pretrained_tag_found_in_local_cache(cache, monkeypatch):
    """A file in the huggingface_hub cache layout counts as downloaded (no network)."""
    from core.encoders.clip import ClipEncoder

    enc = ClipEncoder("ViT-B-16", "laion400m_e32")
    snap = cache / "open_clip" / "models--timm--vit_base_patch16_clip_224.laion400m_e32" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "open_clip_pytorch_model.bin").write_bytes(b"x")
    assert enc.local_weights() == snap / "open_clip_pytorch_model.bin"
    assert enc.availability().ok


def test_clip_pretrained_tag_loads_from_local_cache(tiny_clip_arch, tiny_clip_checkpoint, cache, monkeypatch):
    """The pretrained-tag path end to end, with a fake tag whose weights sit in the hub cache."""
    import shutil

    import open_clip.pretrained

    from core.encoders.clip import ClipEncoder

    monkeypatch.setitem(
        open_clip.pretrained._PRETRAINED,
        tiny_clip_arch,
        {"faketag": {"hf_hub": "upair-test/tiny-clip/", "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}},
    )
    enc = ClipEncoder(tiny_clip_arch, "faketag")
    av = enc.availability()
    assert not av.ok and "not downloaded" in av.reason and f"clip:{tiny_clip_arch}:faketag" in av.fix
    snap = cache / "open_clip" / "models--upair-test--tiny-clip" / "snapshots" / "0" / "open_clip_pytorch_model.bin"
    snap.parent.mkdir(parents=True)
    shutil.copy(tiny_clip_checkpoint, snap)
    assert enc.availability().ok and enc.download() == snap  # already there: no network
    assert enc.mean_std == ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))  # the tag's normalisation (clean protocol)
    official = ClipEncoder(tiny_clip_arch, "faketag", protocol="upair")
    assert official.mean_std == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # ImageNet, as UPAIR
    assert official.spec.endswith("@upair") and official.cache_key() != enc.cache_key()
    ref = ClipEncoder(tiny_clip_arch, str(tiny_clip_checkpoint))
    texts = ["a gear", "a door frame"]
    np.testing.assert_allclose(enc.encode_texts(texts), ref.encode_texts(texts), atol=1e-6)
    assert enc.cache_key() != ref.cache_key()


def test_clip_loads_once_under_concurrency(tiny_clip_arch, tiny_clip_checkpoint, monkeypatch):
    import threading

    from core.encoders.clip import ClipEncoder

    enc = ClipEncoder(tiny_clip_arch, str(tiny_clip_checkpoint))
    calls = []
    real = enc._load_locked
    monkeypatch.setattr(enc, "_load_locked", lambda: (calls.append(1), real())[1])
    out: list = []
    threads = [threading.Thread(target=lambda: out.append(enc.encode_texts(["gear"]))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 4
    for o in out[1:]:
        np.testing.assert_allclose(o, out[0], atol=1e-6)


def test_clip_unknown_arch_and_tag(cache):
    from core.encoders.clip import ClipEncoder

    av = ClipEncoder("NoSuchArch-99", "laion400m_e32").availability()
    assert not av.ok and "NoSuchArch-99" in av.reason and "list_models" in av.fix
    av = ClipEncoder("ViT-B-16", "no_such_tag").availability()
    assert not av.ok and "no_such_tag" in av.reason and "laion400m_e32" in av.fix
    with pytest.raises(ValueError, match="no_such_tag"):
        ClipEncoder("ViT-B-16", "no_such_tag").download()


def test_clip_preprocess_pads_to_white_square(tiny_clip_arch, tiny_clip_checkpoint):
    from PIL import Image, ImageDraw

    enc = get_encoder(f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}")
    im = Image.new("RGB", (400, 100), "white")
    ImageDraw.Draw(im).line([(10, 50), (390, 50)], fill="black", width=3)
    x = enc.preprocess([im])
    size = enc.image_size
    assert tuple(x.shape) == (1, 3, size, size) and str(x.dtype) == "torch.float32"
    mean, std = enc.mean_std
    white = (1.0 - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    arr = x[0].numpy()
    # The image occupies the middle quarter of the rows; the top and bottom are padding.
    pad = size * 3 // 8 - 2
    for c in range(3):
        np.testing.assert_allclose(arr[c, :pad], white[c], atol=1e-5)
        np.testing.assert_allclose(arr[c, -pad:], white[c], atol=1e-5)
    # The black line survives in the middle row, identically in all three channels.
    mid = arr[:, size // 2]
    assert (mid < white[:, None] - 1.0).any()
    np.testing.assert_allclose(arr[0] * std[0] + mean[0], arr[2] * std[2] + mean[2], atol=1e-5)


# --------------------------------------------------------------------------------------
# HOG and AHDH
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["hog", "ahdh"])
def test_classic_descriptors(spec, query_patents):
    enc = get_encoder(spec)
    assert enc.kind == "classic" and enc.availability().ok and enc.has_images and not enc.has_texts
    assert spec in enc.cache_key()
    images = [open_image(p) for p in _figures(query_patents, 8)]
    x = enc.encode_images(images)
    assert x.shape == (8, enc.dim)
    _unit(x)
    np.testing.assert_array_equal(x, enc.encode_images(images))  # deterministic
    again = enc.encode_images([_resaved(im) for im in images[:2]])
    cos_same = np.sum(again * x[:2], axis=1)
    assert (cos_same > 0.999).all()
    sims = x @ x.T
    off = sims[~np.eye(len(sims), dtype=bool)]
    assert off.max() < 0.99 and off.mean() < cos_same.min() - 0.1
    assert enc.encode_images([]).shape == (0, enc.dim)


def test_hog_dim_documented():
    assert get_encoder("hog").dim == 1764


def test_ahdh_blank_and_tiny_images():
    from PIL import Image

    enc = get_encoder("ahdh")
    assert enc.dim == 4094
    x = enc.encode_images([Image.new("RGB", (300, 200), "white"), Image.new("L", (1, 1), 0)])
    assert x.shape == (2, enc.dim) and np.isfinite(x).all()
    assert not x[0].any()  # blank → zero vector
    np.testing.assert_allclose(np.linalg.norm(x[1]), 1.0, atol=1e-5)


def test_ahdh_invariant_to_shift_and_scale(query_patents):
    from PIL import Image

    enc = get_encoder("ahdh")
    paths = _figures(query_patents, 8)
    original = open_image(paths[0])
    gray = original.convert("L")
    bbox = Image.eval(gray, lambda v: 255 - v).getbbox()
    drawing = gray.crop(bbox)
    w, h = drawing.size
    bigger = drawing.resize((int(w * 1.4), int(h * 1.4)), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (bigger.width + 300, bigger.height + 120), 255)
    canvas.paste(bigger, (250, 20))  # off-centre, on a larger page
    x = enc.encode_images([original, canvas.convert("RGB")] + [open_image(p) for p in paths[1:]])
    moved = float(x[0] @ x[1])
    others = x[2:] @ x[0]
    assert moved > 0.95, moved
    assert moved > others.max(), (moved, others.max())


# --------------------------------------------------------------------------------------
# TF-IDF
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("FIG. 2A shows the Gear 12, and FIGS. 3-4", "figref shows the gear and figref"),
        ("Fig 3 is a side view of the housing 20.", "figref is a side view of the housing"),
        ("Figure 4b: schematic; see Figures 5 and 6", "figref schematic see figref"),
        ("FIG.10 and FIGS. 1A-1C (prior art)", "figref and figref prior art"),
        ("The figure shows a configuration", "the figure shows a configuration"),
        ("", ""),
    ],
)
def test_clean_protocol_text_cleaning(text, expected):
    """The ``clean`` protocol's own cleaning (figure references recognised before digits and
    punctuation go). It is deliberately NOT the official one: ``upair`` is, see test_protocols."""
    from core.encoders.text import clean_text
    from core.protocols import get_protocol, upair_clean_text

    assert clean_text(text) == expected
    assert get_protocol("clean").clean_text(text) == expected
    if text:
        assert upair_clean_text(text) != expected  # the two protocols really differ here


def test_tfidf_fit_encode():
    from core.encoders.text import TfidfEncoder

    corpus = [
        "FIG. 1 is a perspective view of a gear wheel 10 with helical teeth 12",
        "FIG. 2 shows a gear box with two gear wheels and a drive shaft",
        "FIG. 3 is a circuit diagram of an amplifier with a transistor and resistors",
        "FIG. 4 shows a flow chart of a method for training a neural network",
        "FIG. 5 is a cross-section of a pharmaceutical tablet coating",
    ]
    enc = get_encoder("tfidf")
    assert enc.kind == "text" and not enc.has_images and enc.has_texts and enc.availability().ok
    fresh = TfidfEncoder()
    with pytest.raises(RuntimeError, match="not fitted"):
        fresh.encode_texts(["gear"])
    with pytest.raises(RuntimeError, match="not fitted"):
        fresh.cache_key()

    a = TfidfEncoder().fit(corpus)
    assert a.fit(corpus) is a
    x = a.encode_texts(corpus)
    assert x.shape == (5, a.dim) and a.dim <= 4096
    _unit(x)
    q = a.encode_texts(["a helical gear wheel", "transistor amplifier circuit"])
    _unit(q)
    assert q[0] @ x[0] > q[0] @ x[2] and q[0] @ x[0] > q[0] @ x[3]
    assert q[1] @ x[2] > max(q[1] @ x[0], q[1] @ x[4])
    assert not a.encode_texts(["zzz qqq"]).any()  # out-of-vocabulary → zero row
    assert a.encode_texts([]).shape == (0, a.dim)

    b = TfidfEncoder().fit(corpus[:3])
    assert a.cache_key() != b.cache_key()
    assert a.cache_key() == TfidfEncoder().fit(list(corpus)).cache_key()
    with pytest.raises(ValueError, match="empty"):
        TfidfEncoder().fit(["12, 34.", ""])
