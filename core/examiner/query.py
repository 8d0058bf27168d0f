"""An examiner's query: one or more figures, each whole or a boxed region of it, combined per encoder.

Combination (per encoder), named in every result:

* ``single`` — one figure: exactly ``core.search.search`` on that figure (or its cropped region).
* ``mean`` — the mean of the parts' L2-normalised vectors, L2-normalised again, searched like
  one query vector (scores are cosines with that mean).
* ``rrf`` — reciprocal-rank fusion: each part is searched alone to depth ``RRF_DEPTH`` and a
  figure scores ``sum over parts of 1 / (RRF_K + rank)`` (absent from a part's list: 0); ties
  go to the better best rank, then the id.

The query's own corpus figures are never returned. A region of a corpus figure is searched as
the cropped image (so text-only encoders, which need a description, cannot search by it).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..corpora.base import Corpus
from ..embed import EncoderUnavailable, require
from ..encoders import IMAGE
from ..figures import ImageError, open_image
from ..index import VectorIndex
from ..search import EncoderResult, Neighbour, check_drawn, encoder_index, query_vector, search

COMBINATIONS = ("mean", "rrf")
COMBINATION_LABELS = {
    "single": "one figure",
    "mean": "mean of the figures' normalised vectors",
    "rrf": "reciprocal-rank fusion of the per-figure rankings",
}
RRF_K = 60
RRF_DEPTH = 100


@dataclass(frozen=True)
class Region:
    """A box on a figure in normalised coordinates (0..1, origin top-left), rounded to 1e-4."""

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        vals = [round(float(v), 4) for v in (self.x0, self.y0, self.x1, self.y1)]
        if not all(0.0 <= v <= 1.0 for v in vals) or vals[0] >= vals[2] or vals[1] >= vals[3]:
            raise ValueError(f"a region needs 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1; got {vals}. "
                             "Draw the box inside the figure.")
        for name, v in zip(("x0", "y0", "x1", "y1"), vals):
            object.__setattr__(self, name, v)

    @classmethod
    def from_pixels(cls, left: float, top: float, width: float, height: float, image_size: tuple[int, int]) -> "Region":
        """The region of a pixel box (left, top, width, height) on an image of ``image_size`` (w, h)."""
        w, h = image_size
        return cls(max(0.0, left / w), max(0.0, top / h), min(1.0, (left + width) / w), min(1.0, (top + height) / h))

    @classmethod
    def parse(cls, text: str, source: str = "the region") -> "Region":
        """``x0,y0,x1,y1`` (as in a URL) as a region; ValueError naming ``source``."""
        try:
            vals = [float(v) for v in str(text).split(",")]
            if len(vals) != 4:
                raise ValueError(f"needs 4 numbers, got {len(vals)}")
            return cls(*vals)
        except ValueError as exc:
            raise ValueError(f"{source} {text!r} is not a box x0,y0,x1,y1 in 0..1: {exc}") from None

    @property
    def text(self) -> str:
        """``x0,y0,x1,y1`` (what ``parse`` reads)."""
        return ",".join(f"{v:g}" for v in self.as_tuple())

    def box(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Pixel box (left, top, right, bottom) on an image of ``size`` (w, h); at least 1 pixel."""
        w, h = size
        left, top = int(math.floor(self.x0 * w)), int(math.floor(self.y0 * h))
        right, bottom = max(left + 1, int(math.ceil(self.x1 * w))), max(top + 1, int(math.ceil(self.y1 * h)))
        return left, top, min(right, w), min(bottom, h)

    def crop(self, image):
        """The part of a PIL image inside the region."""
        return image.crop(self.box(image.size))

    @property
    def label(self) -> str:
        """Short human text, e.g. ``x 10–60 %, y 20–80 %``."""
        return (f"x {self.x0 * 100:.0f}–{self.x1 * 100:.0f} %, "
                f"y {self.y0 * 100:.0f}–{self.y1 * 100:.0f} %")

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class QueryPart:
    """One figure of a query: a corpus figure id, or uploaded image bytes; whole or a region."""

    figure: str = ""
    image: bytes = field(default=b"", repr=False)
    name: str = ""
    region: Region | None = None

    def __post_init__(self) -> None:
        if bool(self.figure) == bool(self.image):
            raise ValueError("a query part is either a corpus figure id or an uploaded image, not both or neither")

    @property
    def key(self) -> str:
        """Identity of the part: the figure (id or image SHA-1) and the region."""
        src = f"fig:{self.figure}" if self.figure else "img:" + hashlib.sha1(self.image).hexdigest()
        reg = ",".join(f"{v:.4f}" for v in self.region.as_tuple()) if self.region else "whole"
        return f"{src}@{reg}"

    @property
    def label(self) -> str:
        base = self.name or self.figure or "uploaded figure"
        return f"{base} [{self.region.label}]" if self.region else base

    def full_image(self, corpus: Corpus):
        """The whole figure as an RGB PIL image."""
        if self.figure:
            return open_image(corpus.by_id[self.figure].path)
        return open_image(self.image, name=self.name or None)

    def searchable(self, corpus: Corpus):
        """What ``core.search`` takes for this part: the figure id (whole corpus figure) or a PIL image."""
        if self.figure and self.region is None:
            if self.figure not in corpus.by_id:
                raise ValueError(f"figure {self.figure!r} is not in corpus {corpus.name}; pick a figure of this corpus")
            return self.figure
        image = self.full_image(corpus)
        return self.region.crop(image) if self.region else image


@dataclass(frozen=True)
class ExaminerQuery:
    """The figures searched together and how their rankings are combined (``mean`` or ``rrf``)."""

    parts: tuple[QueryPart, ...]
    combine: str = "mean"

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("the query has no figure; pick, upload or add one")
        if self.combine not in COMBINATIONS:
            raise ValueError(f"unknown combination {self.combine!r}; use one of {', '.join(COMBINATIONS)}")

    @property
    def combination(self) -> str:
        """``single`` for one figure, else ``mean`` or ``rrf``."""
        return "single" if len(self.parts) == 1 else self.combine

    @property
    def key(self) -> str:
        """Identity of the whole query (parts in order, regions, combination)."""
        return hashlib.sha1("|".join([self.combination, *(p.key for p in self.parts)]).encode()).hexdigest()[:16]

    def corpus_figures(self) -> set[str]:
        """Corpus figure ids the query is made of (never returned as results)."""
        return {p.figure for p in self.parts if p.figure}

    def with_part(self, part: QueryPart) -> "ExaminerQuery":
        """This query plus ``part`` (unchanged when an identical part is already in it)."""
        if any(p.key == part.key for p in self.parts):
            return self
        return ExaminerQuery(self.parts + (part,), self.combine)

    def without(self, index: int) -> "ExaminerQuery | None":
        """This query without its ``index``-th part (None when nothing would remain)."""
        rest = self.parts[:index] + self.parts[index + 1:]
        return ExaminerQuery(rest, self.combine) if rest else None


@dataclass(frozen=True)
class ExaminerResult:
    """Per encoder, the combined ranking, with the combination used and what was left out."""

    results: Mapping[str, EncoderResult]
    combination: str
    excluded: int = 0  # figures left out by the date filter
    before: str = ""  # the priority-date bound applied ("" = none)
    classes: tuple[str, ...] = ()  # the CPC class filter applied (() = none)
    off_class: int = 0  # figures left out by the class filter (and not already by the date)

    @property
    def description(self) -> str:
        text = COMBINATION_LABELS[self.combination]
        if self.combination == "rrf":
            text += f" (k = {RRF_K}, depth {RRF_DEPTH})"
        return text


def combine_mean(vectors: list[np.ndarray]) -> np.ndarray:
    """L2-normalised mean of L2-normalised row vectors, as a (1, d) float32 array."""
    rows = [np.asarray(v, dtype=np.float64).reshape(-1) for v in vectors]
    rows = [r / (np.linalg.norm(r) or 1.0) for r in rows]
    mean = np.mean(rows, axis=0)
    return np.ascontiguousarray((mean / (np.linalg.norm(mean) or 1.0))[None, :], dtype=np.float32)


def fuse_rrf(rankings: list[list[str]], k: int, rrf_k: int = RRF_K) -> tuple[Neighbour, ...]:
    """Reciprocal-rank fusion of id rankings (best first); the top ``k`` as neighbours."""
    score: dict[str, float] = {}
    best: dict[str, int] = {}
    for ranking in rankings:
        for r, fid in enumerate(ranking, 1):
            score[fid] = score.get(fid, 0.0) + 1.0 / (rrf_k + r)
            best[fid] = min(best.get(fid, r), r)
    order = sorted(score, key=lambda f: (-score[f], best[f], f))[:k]
    return tuple(Neighbour(f, i + 1, score[f]) for i, f in enumerate(order))


def _combined(corpus: Corpus, index: VectorIndex, sources: list, k: int, combine: str,
              exclude: set[str]) -> tuple[Neighbour, ...]:
    if combine == "mean":
        vec = combine_mean([query_vector(corpus, index, s) for s in sources])
        pairs = index.neighbours(vec, k, exclude=exclude)
        return tuple(Neighbour(f, i + 1, s) for i, (f, s) in enumerate(pairs))
    depth = max(RRF_DEPTH, k)
    rankings = [[f for f, _ in index.neighbours(query_vector(corpus, index, s), depth, exclude=exclude)]
                for s in sources]
    return fuse_rrf(rankings, k)


#: Why a text-only encoder (TF-IDF) does not answer a query of several figures.
TEXT_ONLY_SEVERAL = ("{spec} reads text, not drawings: a region or an uploaded figure of this query has no "
                     "text of its own (search whole corpus figures, or use an image encoder)")


def _check_parts(query: ExaminerQuery, sources: list) -> None:
    """Every part of a query of several figures holds a drawing, checked the same way whatever
    the combination (``mean`` or ``rrf``); ImageError naming the part otherwise."""
    for i, (part, src) in enumerate(zip(query.parts, sources), 1):
        if not isinstance(src, str):
            check_drawn(src, name=f"query figure {i} ({part.label})")


def _check_vectors(query: ExaminerQuery, index: VectorIndex, sources: list, corpus: Corpus) -> None:
    """A corpus figure whose image is unreadable, or a part whose vector is zero, cannot be part of
    a query (it would add an arbitrary ranking under ``rrf`` and nothing under ``mean``)."""
    emb = index.embeddings
    for i, (part, src) in enumerate(zip(query.parts, sources), 1):
        if isinstance(src, str) and src in emb.excluded:
            raise ImageError(f"query figure {i} ({part.label}) cannot be part of the query: its image is unreadable "
                             f"({corpus.by_id[src].path}); remove it from the query")
        vec = query_vector(corpus, index, src)
        if not np.isfinite(vec).all() or float(np.linalg.norm(vec)) < 1e-6:
            raise ImageError(f"query figure {i} ({part.label}) has no drawn content for {emb.spec} (its vector is "
                             "zero); remove it from the query")


def search_query(corpus: Corpus, query: ExaminerQuery, encoders: list[str], k: int = 10,
                 indices: Mapping[str, VectorIndex] | None = None, before: str = "",
                 text: str | None = None, classes: tuple[str, ...] = ()) -> ExaminerResult:
    """Per encoder, the ``k`` figures nearest to the query, combined as ``query.combination`` says.

    ``before`` (ISO date) keeps only figures whose patent's priority date is earlier (figures
    without a date are left out too). ``classes`` (canonical CPC symbols, ``classes.parse_class_filter``)
    keeps only figures inside one of them; both filters combine (a hit passes both). ``text`` is
    the description text-only encoders use for a single whole figure. Raises ``ImageError`` when a
    query image is unusable.
    """
    from .classes import not_in_classes
    from .dates import not_before

    own = query.corpus_figures()
    late = not_before(corpus, before) if before else set()
    off = not_in_classes(corpus, tuple(classes)) if classes else set()
    exclude = own | late | off
    counts = dict(classes=tuple(classes), off_class=len(off - own - late))
    sources = [p.searchable(corpus) for p in query.parts]
    if query.combination == "single":
        res = search(corpus, sources[0], encoders, k=k, indices=indices, exclude=exclude, text=text)
        if query.parts[0].region is not None:
            res = {s: (EncoderResult(s, error=f"{s} reads text, not drawings: a region of a figure has no text "
                                              "of its own") if r.error and "searches by text" in r.error else r)
                   for s, r in res.items()}
        return ExaminerResult(res, "single", len(late - own), before, **counts)
    _check_parts(query, sources)
    results: dict[str, EncoderResult] = {}
    for spec in encoders:
        try:
            if IMAGE not in require(spec).capabilities and not all(isinstance(x, str) for x in sources):
                results[spec] = EncoderResult(spec, error=TEXT_ONLY_SEVERAL.format(spec=spec))
                continue
            index = encoder_index(corpus, spec, indices=indices)
            _check_vectors(query, index, sources, corpus)
            results[spec] = EncoderResult(spec, _combined(corpus, index, sources, k, query.combine, exclude))
        except ImageError:
            raise
        except (EncoderUnavailable, ValueError, NotImplementedError, RuntimeError) as exc:
            results[spec] = EncoderResult(spec, error=str(exc))
    return ExaminerResult(results, query.combination, len(late - own), before, **counts)
