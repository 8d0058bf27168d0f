"""Perceptual hashes of figures (imagehash's DCT ``phash``, 64 bits), cached per corpus content.

A pHash survives re-scaling, re-compression, slight noise and small shifts of the same drawing,
and differs in about half its bits between different drawings; the hash is of the image's
grey levels on a white background (transparency flattened by ``core.figures``).
"""
from __future__ import annotations

import threading
from typing import Iterable

import numpy as np

from .. import config
from ..corpora.base import Corpus
from ..figures import ImageError, figure_digest, load_figure_image
from ..store import atomic_write_json, key_of, load_json, sha256_bytes

#: Bits per hash side: hash_size 8 → 64-bit hashes.
HASH_SIZE = 8
HASHES_VERSION = 1
_MEMO: dict[str, dict[str, int]] = {}
_LOCK = threading.Lock()


#: Grey level (0-255) darker than which a pixel counts as ink when cropping to the drawing.
INK_LEVEL = 200


def image_hash(image) -> int:
    """The 64-bit pHash of a PIL image's drawing, as an unsigned integer.

    The image is first cropped to its ink (pixels darker than ``INK_LEVEL``): family members
    print one drawing at other scales and margins, which moves an uncropped hash by up to
    14 bits; cropped, by at most 2 (measured on the query-patent figures, README)."""
    import imagehash
    from PIL import ImageOps

    grey = image.convert("L")
    box = ImageOps.invert(grey).point(lambda v: 255 if v > 255 - INK_LEVEL else 0).getbbox()
    if box:
        grey = grey.crop(box)
    h = imagehash.phash(grey, hash_size=HASH_SIZE)
    return int(str(h), 16)


def hamming(a: int, b: int) -> int:
    """Bits in which two hashes differ."""
    return int(a ^ b).bit_count()


def hamming_matrix(hashes: np.ndarray) -> np.ndarray:
    """Pairwise bit distances of a vector of uint64 hashes (n × n, int)."""
    h = np.asarray(hashes, dtype=np.uint64)
    x = h[:, None] ^ h[None, :]
    bytes_ = x.view(np.uint8).reshape(len(h), len(h), 8)
    return np.unpackbits(bytes_, axis=2).sum(axis=2).astype(np.int64)


def _version() -> str:
    from importlib import metadata

    return metadata.version("imagehash")


def corpus_hashes(corpus: Corpus, ids: Iterable[str] | None = None) -> dict[str, int]:
    """``{figure id: pHash}`` of the corpus's readable figures (of ``ids`` when given); computed
    once per image content and kept in the cache (checked by its SHA-256 on load)."""
    key = key_of("phash", HASHES_VERSION, HASH_SIZE, _version(), corpus.fingerprint)
    path = config.cache_dir() / "families" / f"{key}.json"
    memo = str(path)  # per cache folder: what is remembered is what that folder holds
    with _LOCK:
        known = dict(_MEMO.get(memo, {}))
    if not known:
        doc = load_json(path)
        if isinstance(doc, dict) and isinstance(doc.get("hashes"), dict) \
                and sha256_bytes(repr(sorted(doc["hashes"].items())).encode()) == doc.get("sha256"):
            known = {k: int(v, 16) for k, v in doc["hashes"].items() if isinstance(v, str)}
    want = list(ids) if ids is not None else [f.id for f in corpus.figures]
    missing = [i for i in want if i not in known and i in corpus.by_id]
    for fid in missing:
        try:
            figure_digest(corpus.by_id[fid])
            known[fid] = image_hash(load_figure_image(corpus.by_id[fid]))
        except (ImageError, OSError):
            continue  # unreadable figures have no hash and are no one's duplicate
    if missing:
        hexes = {k: f"{v:016x}" for k, v in known.items()}
        try:
            atomic_write_json(path, {"hashes": hexes, "sha256": sha256_bytes(repr(sorted(hexes.items())).encode())})
        except OSError:  # a read-only cache: hashed again next time
            pass
    with _LOCK:
        _MEMO[memo] = dict(known)
    return {i: known[i] for i in want if i in known}
