"""The encoding pipeline's fast paths give the same numbers as the plain steps they replace."""
from __future__ import annotations

import hashlib
import io
import os

import numpy as np
import pytest
from PIL import Image

from core.figures import open_image


def _png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "RGBA", "P", "LA", "I;16"])
def test_grey_decode_equals_rgb_then_grey(mode):
    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    if mode == "RGBA":
        im = base.convert("RGBA")
        im.putalpha(Image.fromarray(rng.integers(0, 256, (37, 53), dtype=np.uint8)))
    elif mode == "LA":
        im = base.convert("LA")
    elif mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65535, (37, 53), dtype=np.uint16))
    else:
        im = base.convert(mode)
    data = _png(im)
    grey = open_image(data, mode="L")
    assert grey.mode == "L"
    expect = np.asarray(open_image(data).convert("L"))  # the old path: RGB, then PIL's RGB → L
    assert np.array_equal(np.asarray(grey), expect)


def test_open_image_refuses_other_modes():
    with pytest.raises(ValueError, match="mode"):
        open_image(_png(Image.new("L", (4, 4))), mode="CMYK")


@pytest.mark.parametrize("spec", ["hog", "ahdh"])
def test_grey_descriptors_decode_to_grey(spec):
    from core.encoders import get_encoder

    enc = get_encoder(spec)
    assert enc.image_mode == "L"
    rng = np.random.default_rng(2)
    arr = np.full((90, 60), 255, np.uint8)
    arr[20:70, 10:50] = rng.integers(0, 120, (50, 40), dtype=np.uint8)
    data = _png(Image.fromarray(arr))
    a = enc.encode_images([open_image(data)])
    b = enc.encode_images([open_image(data, mode="L")])
    assert np.array_equal(a, b)


def test_timm_batched_transform_equals_timm_per_image():
    pytest.importorskip("timm")
    import torch
    from timm.data import create_transform

    from core.encoders.timm_image import _batched_transform

    tf = create_transform(input_size=(3, 64, 64), interpolation="bicubic", mean=(0.485, 0.456, 0.406),
                          std=(0.229, 0.224, 0.225), crop_pct=0.95, crop_mode="center", is_training=False)
    rng = np.random.default_rng(0)
    ims = [Image.fromarray(rng.integers(0, 256, (120 + 9 * i, 100, 3), dtype=np.uint8)) for i in range(3)]
    ims.append(Image.fromarray(rng.integers(0, 256, (80, 160), dtype=np.uint8)))  # grey, landscape
    expect = torch.stack([tf(im.convert("RGB")) for im in ims])
    got = _batched_transform(tf, "RGB")(ims)
    assert got.shape == expect.shape and torch.equal(got, expect)  # same float ops, same order
    assert _batched_transform(lambda im: im, "RGB") is None  # not a Compose: applied as it is


def test_checkpoint_digest_remembered_across_processes(cache, tmp_path, monkeypatch):
    from core.encoders import clip
    from core.store import _memo_hash

    path = tmp_path / "w.pt"
    path.write_bytes(b"x" * 100_000)
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    assert clip.checkpoint_digest(path) == want
    assert list((cache / "digests").glob("*.json"))
    _memo_hash.cache_clear()  # a new process: only the memo on disk remains
    calls = []
    import core.store as store

    real = store.hash_file
    monkeypatch.setattr(store, "hash_file", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert clip.checkpoint_digest(path) == want and calls == []
    path.write_bytes(b"y" * 100_001)  # rewritten: size and mtime differ → hashed again
    os.utime(path, ns=(1, 1))
    assert clip.checkpoint_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(calls) == 1


def test_prefetching_batches_keep_order_and_problems():
    from core.embed import encode_batch, encode_batches
    from core.figures import ImageError

    def bad():
        raise ImageError("item 4 is damaged")

    items = [lambda i=i: np.full(3, i, np.float32) for i in range(7)]
    items[4] = bad
    batches = [items[i:i + 2] for i in range(0, 7, 2)]
    encode = lambda xs: np.stack(xs)  # noqa: E731
    p1, p2 = [], []
    got = np.concatenate(list(encode_batches(encode, batches, p1)))
    expect = np.concatenate([encode_batch(encode, b, p2) for b in batches])
    assert np.array_equal(got, expect, equal_nan=True) and p1 == p2 == ["item 4 is damaged"]
    assert np.isnan(got[4]).all() and got[6, 0] == 6


def test_decode_steps_smaller_than_a_batch_store_whole_batches(cache, monkeypatch):
    """A classic encoder's reader decodes 8 images per step (overlap from the first step on); the
    vectors equal encoding the decoded images directly and the store still gets one shard per batch."""
    from core.corpora import load_corpus
    from core.embed import build_embeddings
    from core.encoders import get_encoder
    from core.protocols import get_protocol
    from core.store import VectorStore

    corpus = load_corpus("demo")
    enc = get_encoder("hog")
    assert enc.decode_chunk == 8 and enc.decode_ahead and enc.batch_size == 64
    stored = []
    real_add = VectorStore.add
    monkeypatch.setattr(VectorStore, "add", lambda self, keys, vecs, meta=None:
                        stored.append(len(keys)) or real_add(self, keys, vecs, meta))
    emb = build_embeddings(corpus, "hog", show_bar=False)
    assert len(stored) > 2 and stored[:-1] == [64] * (len(stored) - 1) and 0 < stored[-1] <= 64
    figs = corpus.figures[:20]
    direct = enc.encode_images([get_protocol(enc.protocol).load_image(f, "L") for f in figs])
    assert np.array_equal(emb.vectors[[emb.ids.index(f.id) for f in figs]], direct)


def test_torch_on_every_core_decodes_before_encoding(monkeypatch):
    """With torch's threads on every core a reader thread would stall them: no decoding ahead on the
    CPU then; with a core free, or on a GPU, the reader decodes ahead."""
    import torch

    from core.encoders import get_encoder

    enc = get_encoder("clip:ViT-B-32:laion2b_s34b_b79k")  # constructed only: no weights read
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(torch, "get_num_threads", lambda: cores)
    assert enc.device == "cpu" and not enc.decode_ahead
    monkeypatch.setattr(torch, "get_num_threads", lambda: cores - 1)
    assert enc.decode_ahead == (cores > 1)
    monkeypatch.setattr(enc, "_device", "cuda")
    monkeypatch.setattr(torch, "get_num_threads", lambda: cores)
    assert enc.decode_ahead
