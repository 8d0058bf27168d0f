"""Near-identical figures (core.families): constructed copies (re-scaled, noised, re-compressed,
re-margined) are found, different drawings are not, and the thresholds hold at their boundary.
The bit distances are checked against a plain popcount; the cosine against numpy."""
from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from core.families import (MAX_HASH_BITS, MIN_COSINE, Family, copies_of_kept, families, hamming, hamming_matrix,
                           image_hash, near_identical)


def drawing(seed: int, size: int = 384) -> Image.Image:
    """A patent-like line drawing: boxes, circles and leader lines on white, laid out by ``seed``."""
    rng = random.Random(seed)
    im = Image.new("L", (size, size), 255)
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(5, 9)):
        x0, y0 = rng.randint(20, size - 140), rng.randint(20, size - 140)
        x1, y1 = x0 + rng.randint(30, 120), y0 + rng.randint(30, 120)
        (d.rectangle if rng.random() < 0.5 else d.ellipse)((x0, y0, x1, y1), outline=0, width=rng.randint(1, 3))
    for _ in range(rng.randint(4, 8)):
        d.line([(rng.randint(0, size), rng.randint(0, size)) for _ in range(2)], fill=0, width=1)
    return im


def rescaled(im, f=0.7):
    return im.resize((int(im.width * f), int(im.height * f)), Image.LANCZOS).resize(im.size, Image.LANCZOS)


def noised(im, sd=10.0, seed=0):
    arr = np.asarray(im, dtype=np.float64) + np.random.default_rng(seed).normal(0, sd, (im.height, im.width))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def recompressed(im, quality=35):
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def remargined(im):
    """The same drawing printed smaller with a wider margin (another office's page layout)."""
    return ImageOps.expand(im.resize((im.width - 60, im.height - 60), Image.LANCZOS), 30, fill=255)


COPIES = {"rescaled": rescaled, "noised": noised, "recompressed": recompressed, "remargined": remargined}


@pytest.mark.parametrize("how", COPIES)
def test_copies_are_within_the_hash_distance(how):
    for seed in range(6):
        im = drawing(seed)
        assert hamming(image_hash(im), image_hash(COPIES[how](im))) <= MAX_HASH_BITS, (how, seed)


def test_different_drawings_are_far_apart():
    hashes = np.array([image_hash(drawing(s)) for s in range(100, 130)], dtype=np.uint64)
    d = hamming_matrix(hashes)
    off = d[np.triu_indices(len(hashes), 1)]
    assert off.min() > MAX_HASH_BITS
    assert np.median(off) > 20


def test_hamming_matrix_is_a_popcount():
    rng = np.random.default_rng(1)
    h = rng.integers(0, 2**63, size=12, dtype=np.uint64) * 2 + rng.integers(0, 2, size=12, dtype=np.uint64)
    m = hamming_matrix(h)
    for i in range(12):
        for j in range(12):
            assert m[i, j] == bin(int(h[i]) ^ int(h[j])).count("1")


def test_threshold_boundaries():
    base = 0
    at, over = (1 << MAX_HASH_BITS) - 1, (1 << (MAX_HASH_BITS + 1)) - 1  # MAX_HASH_BITS and one more bit set
    assert near_identical(base, at) and not near_identical(base, over)
    v = np.array([1.0, 0.0])
    angle = np.arccos(MIN_COSINE)
    at_cos = np.array([np.cos(angle), np.sin(angle)])
    below = np.array([np.cos(angle + 1e-3), np.sin(angle + 1e-3)])
    assert near_identical(base, at, v, at_cos)  # exactly the threshold counts
    assert not near_identical(base, at, v, below)
    assert not near_identical(base, over, v, v)  # the hash must agree too
    assert not near_identical(None, base) and not near_identical(base, None)  # unreadable: nobody's copy
    with pytest.raises(ValueError, match="0..64"):
        families(["a"], {}, max_bits=65)
    with pytest.raises(ValueError, match="-1..1"):
        families(["a"], {}, min_cos=1.5)


def test_families_collapse_copies_in_rank_order():
    a, b = drawing(1), drawing(2)
    hashes = {"a": image_hash(a), "a_ep": image_hash(rescaled(a)), "b": image_hash(b),
              "a_wo": image_hash(recompressed(a)), "b_cn": image_hash(remargined(b))}
    fams = families(["a", "b", "a_ep", "b_cn", "a_wo", "lost"], hashes)
    assert fams == [Family("a", ("a_ep", "a_wo")), Family("b", ("b_cn",)), Family("lost")]


def test_cosine_vetoes_a_hash_match():
    """Two different drawings whose hashes happen to agree stay apart when the encoder disagrees."""
    hashes = {"x": 5, "y": 5}
    vecs = {"x": np.array([1.0, 0.0, 0.0]), "y": np.array([0.2, 1.0, 0.0])}
    assert [f.members for f in families(["x", "y"], hashes, vecs)] == [("x",), ("y",)]
    assert [f.members for f in families(["x", "y"], hashes)] == [("x", "y")]


def test_copies_of_kept_leaves_one_per_family():
    a = drawing(3)
    hashes = {"kept": image_hash(a), "c1": image_hash(noised(a)), "c2": image_hash(drawing(4)),
              "c3": image_hash(remargined(drawing(4)))}
    assert copies_of_kept(["c1", "c2", "c3"], ["kept"], hashes) == {"c1", "c3"}
