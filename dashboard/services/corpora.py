"""The corpus of a spec, its thumbnails, its files by content, its unreadable figures (cached)."""
from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import streamlit as st

from core import Corpus, load_corpus
from core.figures import ImageError, open_image

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"


@st.cache_resource(show_spinner="Loading corpus…", max_entries=8)
def corpus(spec: str) -> Corpus:
    """The corpus for ``spec`` (the demo is generated on first use)."""
    return load_corpus(spec)


def reload_corpus() -> None:
    """Callback: forget the loaded corpora and indices so they are read again from disk."""
    from .encoders import forget_indices

    corpus.clear()
    forget_indices()
    corpus_digests.clear()


#: Thumbnails kept in memory per process (a few to ~50 KB each; ~10 pages' worth of figures at every size).
THUMBNAILS_KEPT = 2048


def thumbnail(path: str | Path, size: int = 256) -> bytes:
    """PNG bytes of a figure scaled to fit ``size`` px, centred on a white square (cached by path;
    greyscale when the figure has no colour). Show them with ``st.image(..., output_format="PNG")``:
    Streamlit's "auto" re-encodes an opaque PNG as JPEG on every run.

    A plain LRU, not ``st.cache_data``: bytes are immutable, so every session shares one copy, and a
    repeat call costs a dict lookup instead of hashing the arguments and unpickling a copy (a Scores
    rerun asks for ~100 of them: ~0.1 s that way)."""
    return _thumbnail(str(path), int(size))


@functools.lru_cache(maxsize=THUMBNAILS_KEPT)
def _thumbnail(path: str, size: int) -> bytes:
    from PIL import Image

    try:
        im = open_image(path)
    except ImageError:
        im = Image.new("RGB", (size, size), (240, 240, 240))
    im.thumbnail((size, size))
    square = Image.new("RGB", (size, size), "white")  # equal heights keep grids aligned
    square.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    if _grey(square):  # a drawing in black and white: one channel, a third of the bytes to send
        square = square.convert("L")
    buf = io.BytesIO()
    square.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def _grey(im) -> bool:
    """Whether an RGB image's three channels are equal at every pixel."""
    import numpy as np

    a = np.asarray(im)
    return bool((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all())


@functools.lru_cache(maxsize=THUMBNAILS_KEPT)
def _thumbnail_uri(path: str, size: int) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(_thumbnail(path, size)).decode("ascii")


def thumbnail_uri(path: str | Path, size: int = 256) -> str:
    """``thumbnail(path, size)`` as a ``data:image/png;base64,…`` URI (for HTML and image columns)."""
    return _thumbnail_uri(str(path), int(size))


@st.cache_data(show_spinner=False, max_entries=8)
def corpus_digests(corpus_spec: str, size: int) -> dict[str, str]:
    """``{SHA-1 of the file: figure id}`` of the corpus files that are ``size`` bytes long
    (only those can equal an upload of that size, so only those are hashed)."""
    from core.figures import figure_digest

    out: dict[str, str] = {}
    for f in corpus(corpus_spec).figures:
        try:
            if f.member or os.path.getsize(f.path) == size:  # shard members carry their digest
                out.setdefault(figure_digest(f), f.id)
        except OSError:
            continue
    return out


def figure_with_bytes(corpus_spec: str, data: bytes) -> str | None:
    """The id of the corpus figure whose file has exactly these bytes, if any."""
    import hashlib

    return corpus_digests(corpus_spec, len(data)).get(hashlib.sha1(data).hexdigest())


def bundled_examples() -> list[Path]:
    """The example drawings shipped in ``assets/examples``."""
    return sorted(EXAMPLES_DIR.glob("*.png"))


#: The Corpus page names unreadable figures of corpora up to this size (each image decoded
#: once per corpus content, remembered in the cache); larger ones are named as they are built.
UNREADABLE_CHECK_MAX = 50_000


def unreadable_figures(corpus) -> dict[str, str]:
    """``{figure id: message}`` of the corpus's figures whose image cannot be read ({} for
    sharded or very large corpora, which are checked as they are encoded)."""
    if len(corpus) > UNREADABLE_CHECK_MAX or any(f.member for f in corpus.figures[:1]):
        return {}
    from core.integrity import unreadable_figures as check

    return check(corpus)
