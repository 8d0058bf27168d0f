"""Nearest-neighbour search of a corpus across several encoders."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Mapping, Union

import numpy as np

from .corpora.base import Corpus
from .encoders import IMAGE, TEXT, TEXT_TO_IMAGE
from .embed import EncoderUnavailable, Progress, build_embeddings, encode_query_image, encode_query_text, require
from .figures import ImageError, open_image
from .index import VectorIndex, build_index

#: A query: a figure id of the corpus, an image path, raw image bytes, or a PIL image.
Query = Union[str, Path, bytes, "PIL.Image.Image"]  # noqa: F821


@dataclass(frozen=True)
class Neighbour:
    """One ranked result."""

    id: str
    rank: int
    score: float


@dataclass(frozen=True)
class EncoderResult:
    """The neighbours one encoder returns for a query, or why it returned none."""

    spec: str
    neighbours: tuple[Neighbour, ...] = ()
    error: str = ""

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.neighbours]


def get_index(corpus: Corpus, spec: str, index_kind: str = "auto", progress: Progress | None = None,
              show_bar: bool = True) -> VectorIndex:
    """Embeddings + faiss index of ``corpus`` for encoder ``spec`` (cached on disk)."""
    emb = build_embeddings(corpus, spec, "image", progress=progress, show_bar=show_bar)
    return build_index(emb, index_kind)


def build(corpus: Corpus, encoders: list[str], index_kind: str = "auto", progress: Progress | None = None,
          show_bar: bool = True) -> dict[str, VectorIndex | str]:
    """Build (or load) every encoder's index; unavailable encoders map to their reason."""
    out: dict[str, VectorIndex | str] = {}
    for spec in encoders:
        try:
            out[spec] = get_index(corpus, spec, index_kind, progress, show_bar)
        except (EncoderUnavailable, RuntimeError, ValueError) as exc:
            out[spec] = str(exc)
    return out


def _resolve_query(corpus: Corpus, query: Query):
    """(figure id or None, PIL image or None) for any query form."""
    if isinstance(query, str) and query in corpus.by_id:
        return query, None
    if isinstance(query, (str, Path)):
        return None, open_image(Path(query))
    if isinstance(query, bytes):
        return None, open_image(query)
    return None, query


#: Smallest side (pixels) and grey-level spread (0-255) of a query image that holds a drawing.
MIN_QUERY_SIDE = 8
MIN_QUERY_SPREAD = 8


def check_drawn(image, name: str = "the query image") -> None:
    """Raise ``ImageError`` when ``image`` cannot hold a drawing: smaller than
    ``MIN_QUERY_SIDE`` pixels, or one flat tone (all white, all black, NaN pixels)."""
    w, h = image.size
    if min(w, h) < MIN_QUERY_SIDE:
        raise ImageError(f"{name} is {w} x {h} pixels, too small to hold a drawing; choose a larger image.")
    grey = np.asarray(image.convert("L") if image.mode != "F" else image, dtype=np.float32)
    finite = grey[np.isfinite(grey)]
    if finite.size == 0 or float(finite.max() - finite.min()) < MIN_QUERY_SPREAD:
        tone = "no pixel values" if finite.size == 0 else f"one flat tone (grey level {float(finite.mean()):.0f})"
        raise ImageError(f"{name} has no drawn content ({tone}); neighbours of it would be arbitrary. "
                         "Choose an image with a drawing on it.")


def _ranked(pairs: list[tuple[str, float]]) -> tuple[Neighbour, ...]:
    return tuple(Neighbour(fid, i + 1, score) for i, (fid, score) in enumerate(pairs))


def query_vector(corpus: Corpus, index: VectorIndex, query: Query, text: str | None = None) -> np.ndarray:
    """The query's vector in ``index``'s space: the stored row for a corpus figure,
    else the encoded image (or text, for text-only encoders)."""
    fid, image = _resolve_query(corpus, query)
    return _vector(corpus, index, fid, image, text)


def _vector(corpus: Corpus, index: VectorIndex, fid: str | None, image, text: str | None) -> np.ndarray:
    emb = index.embeddings
    if fid is not None:
        return emb.vectors[corpus.position[fid]][None, :]
    enc = require(emb.spec)
    if IMAGE not in enc.capabilities:
        if not text:
            raise ValueError(f"{emb.spec} searches by text; this query has no description")
        return encode_query_text(emb.spec, text, corpus)
    return encode_query_image(emb.spec, image)


def _index(corpus: Corpus, spec: str, index_kind: str, indices: Mapping[str, VectorIndex] | None) -> VectorIndex:
    if indices is not None and spec in indices:
        return indices[spec]
    return get_index(corpus, spec, index_kind, show_bar=False)


def encoder_index(corpus: Corpus, spec: str, index_kind: str = "auto",
                  indices: Mapping[str, VectorIndex] | None = None) -> VectorIndex:
    """``indices[spec]`` when given there, else the (cached) index of ``spec`` over ``corpus``."""
    return _index(corpus, spec, index_kind, indices)


def search(corpus: Corpus, query: Query, encoders: list[str], k: int = 10, index_kind: str = "auto",
           text: str | None = None, indices: Mapping[str, VectorIndex] | None = None,
           exclude: Collection[str] = ()) -> dict[str, EncoderResult]:
    """Per encoder, the ``k`` nearest figures to ``query`` (itself and ``exclude`` left out).

    The query image is decoded once and encoded at most once per encoder. ``indices``
    may hold already loaded indices (the dashboard keeps them in memory); others are
    loaded or built. Encoders that cannot run (missing weights, no text for a text-only
    encoder) get an ``EncoderResult`` with ``error`` set, and so do image encoders when the
    query image has no drawn content (``check_drawn``). Raises ``ImageError`` when the query
    image itself is unusable, or blank for every encoder asked.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number of results, at least 1 (got {k!r})")
    fid, image = _resolve_query(corpus, query)
    blank = _blank_reason(image)
    results: dict[str, EncoderResult] = {}
    for spec in encoders:
        try:
            if blank and IMAGE in require(spec).capabilities:  # text-only encoders search by the text
                results[spec] = EncoderResult(spec, error=blank)
                continue
            index = _index(corpus, spec, index_kind, indices)
            if fid is not None and fid in index.embeddings.excluded:
                raise ImageError(f"figure {fid} cannot be a query: its image is unreadable "
                                 f"({corpus.by_id[fid].path}); it is left out of every index")
            vec = _vector(corpus, index, fid, image, text)
            if not np.isfinite(vec).all() or float(np.linalg.norm(vec)) < 1e-6:
                results[spec] = EncoderResult(spec, error="the query has no drawn content for this encoder "
                                                          "(its vector is zero); neighbours would be arbitrary")
                continue
            pairs = index.neighbours(vec, k, exclude=set(exclude) | ({fid} if fid else set()))
            results[spec] = EncoderResult(spec, _ranked(pairs))
        except ImageError:
            raise
        except (EncoderUnavailable, ValueError, NotImplementedError, RuntimeError) as exc:
            results[spec] = EncoderResult(spec, error=str(exc))
    if blank and results and all(r.error == blank for r in results.values()):
        raise ImageError(blank)
    return results


def _blank_reason(image) -> str:
    """Why a query image holds no drawing ("" when it does, or when there is no image)."""
    if image is None:
        return ""
    try:
        check_drawn(image)
    except ImageError as exc:
        return str(exc)
    return ""


def search_text(corpus: Corpus, text: str, encoders: list[str], k: int = 10,
                indices: Mapping[str, VectorIndex] | None = None) -> dict[str, EncoderResult]:
    """Text → figure search with every encoder that reads text: a text tower in the image
    space (CLIP, ``text-to-image``) or a text-only encoder over the figures' texts (TF-IDF)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number of results, at least 1 (got {k!r})")
    if not str(text or "").strip():
        raise ValueError("the query text is empty; type what the figures should show")
    results: dict[str, EncoderResult] = {}
    for spec in encoders:
        try:
            enc = require(spec)
            caps = enc.capabilities
            if not (TEXT_TO_IMAGE in caps or (TEXT in caps and IMAGE not in caps)):
                results[spec] = EncoderResult(spec, error=f"{spec} cannot search figures by text")
                continue
            index = _index(corpus, spec, "auto", indices)
            pairs = index.neighbours(encode_query_text(spec, text, corpus), k)
            results[spec] = EncoderResult(spec, _ranked(pairs))
        except (EncoderUnavailable, RuntimeError, ValueError) as exc:
            results[spec] = EncoderResult(spec, error=str(exc))
    return results
