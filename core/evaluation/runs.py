"""Runs: which embeddings a run's scores come from, and the scores of every pair.

A run of an encoder with an image tower is ``image`` or ``image+desc`` / ``image+labels``
(late fusion ``minmax(image) + w * minmax(text)`` per query); text-only encoders give
``desc`` / ``labels``. Every source is encoded under the evaluation protocol
(``core.protocols``): encoders that follow protocols get the spec suffix ``@<protocol>``.
Scores are kept at full float precision (never rounded), so no tie appears that the
official run files do not have.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import config
from ..corpora.base import Corpus
from ..embed import EncoderUnavailable, Embeddings, Progress, build_embeddings, require
from ..protocols import DEFAULT_PROTOCOL, default_protocol_for, get_protocol
from ..qrels import rank_docs
from ..store import key_of
from .cache import CORPUS_CACHE
from .fusion import segment_minmax
from .pairs import Pairs, build_axis_data, build_pairs, pairs_to_dict

__all__ = [
    "RUNS", "DEFAULT_RUNS", "FUSION_TEXT_ENCODER", "SCORE_DECIMALS", "RunPlan", "plan_run", "protocol_spec",
    "pairs_of", "axis_data", "embeddings", "raw_scores", "run_array", "run_scores", "rank_candidates", "slug",
]

#: Every run name an encoder can have.
RUNS: tuple[str, ...] = ("image", "image+desc", "image+labels", "desc", "labels")
#: The runs evaluated by default (as published: image, and image fused 1:1 with a text field).
DEFAULT_RUNS: tuple[str, ...] = ("image", "image+desc", "image+labels")
#: The text encoder fused with visual encoders that have no text tower.
FUSION_TEXT_ENCODER = "tfidf"
#: Decimals ``rank_candidates`` rounds to (evaluation itself keeps full precision).
SCORE_DECIMALS = 8


def protocol_spec(spec: str, protocol: str) -> str:
    """``spec`` as encoded under ``protocol``: ``spec@protocol`` for encoders that follow
    protocols (none for ``clean``, the default), ``spec`` itself for the others.

    ValueError when ``spec`` already names a different protocol.
    """
    from ..encoders import parse_spec

    proto = get_protocol(protocol).name
    spec = spec.strip()
    kind, _rest, named = parse_spec(spec)
    base = spec.rpartition("@")[0] if named is not None else spec
    if named is not None and named != proto:
        raise ValueError(f"{spec} names protocol {named!r} but the evaluation runs under {proto!r}; "
                         f"drop '@{named}' or evaluate with protocol {named!r}")
    if not kind.protocols or proto == DEFAULT_PROTOCOL:
        return base
    return f"{base}@{proto}"


@dataclass(frozen=True)
class RunPlan:
    """Where a run's scores come from: an image source and/or a text source (spec, field).

    ``encoder`` is the spec as the user named it; the sources carry the protocol suffix.
    """

    encoder: str
    run: str
    image: tuple[str, str] | None
    text: tuple[str, str] | None
    protocol: str = DEFAULT_PROTOCOL

    @property
    def fused(self) -> bool:
        return self.image is not None and self.text is not None

    @property
    def sources(self) -> list[tuple[str, str]]:
        return [s for s in (self.image, self.text) if s]


def plan_run(spec: str, run: str, protocol: str = DEFAULT_PROTOCOL) -> RunPlan:
    """How ``run`` is computed for encoder ``spec`` under ``protocol``; ValueError when it cannot be."""
    if run not in RUNS:
        raise ValueError(f"unknown run {run!r}; choose from {', '.join(RUNS)}")
    proto = get_protocol(protocol).name
    source = protocol_spec(spec, proto)
    enc = require(source)
    field_ = run.split("+", 1)[1] if "+" in run else (run if run != "image" else None)
    wants_image = run.startswith("image")
    if wants_image and not enc.has_images:
        raise ValueError(f"{spec} is text-only; it has no {run!r} run (its runs are desc and labels)")
    if field_ is None:
        return RunPlan(spec, run, (source, "image"), None, proto)
    if enc.has_texts:
        text = (source, field_)
    elif wants_image:
        fusion = protocol_spec(FUSION_TEXT_ENCODER, proto)
        try:
            require(fusion)
        except EncoderUnavailable as exc:
            raise ValueError(f"{run} for {spec} needs the {FUSION_TEXT_ENCODER} text encoder: {exc}") from exc
        text = (fusion, field_)
    else:
        raise ValueError(f"{spec} has no text tower; it has no {run!r} run (fused runs use {FUSION_TEXT_ENCODER})")
    return RunPlan(spec, run, (source, "image") if wants_image else None, text, proto)


# --------------------------------------------------------------------------- memoised pieces
def pairs_of(corpus: Corpus) -> Pairs:
    """The benchmark's query×candidate pairs (memoised per corpus object)."""
    return CORPUS_CACHE.memo(corpus).get("pairs", lambda: build_pairs(corpus))


def axis_data(corpus: Corpus, axis: str, qrels=None, digest: str | None = None):
    """Judgements of ``axis`` (the benchmark's, or ``qrels`` with content key ``digest``)
    aligned with ``pairs_of(corpus)`` (memoised)."""
    return CORPUS_CACHE.memo(corpus).get(("axis", axis, digest if qrels is not None else None),
                                         lambda: build_axis_data(corpus, pairs_of(corpus), axis, qrels))


def embeddings(corpus: Corpus, spec: str, what: str, progress: Progress | None = None,
               show_bar: bool = False) -> Embeddings:
    """Embeddings via ``build_embeddings`` (only missing items are encoded), memoised."""
    key = ("emb", str(config.cache_dir()), spec, what)
    return CORPUS_CACHE.memo(corpus).get(
        key, lambda: build_embeddings(corpus, spec, what, progress=progress, show_bar=show_bar))


def _pair_cosines(pairs: Pairs, emb: Embeddings, chunk_elems: int = 1 << 23) -> np.ndarray:
    v = emb.vectors
    n = len(pairs)
    out = np.empty(n, dtype=np.float64)
    step = max(1, chunk_elems // max(1, v.shape[1]))
    qrows = pairs.qrow[pairs.qof] if n else np.zeros(0, dtype=np.int64)
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = np.einsum("ij,ij->i", v[qrows[a:b]], v[pairs.cand[a:b]])
    return out


def raw_scores(corpus: Corpus, spec: str, what: str, progress: Progress | None = None,
               show_bar: bool = False) -> np.ndarray:
    """Un-fused cosine of every pair (order of ``pairs_of(corpus)``), memoised per corpus.

    ``spec`` is a source spec (with its protocol suffix, see ``RunPlan``).
    """
    emb = embeddings(corpus, spec, what, progress, show_bar)
    return CORPUS_CACHE.memo(corpus).get(("raw", emb.key), lambda: _pair_cosines(pairs_of(corpus), emb))


def _normalised(corpus: Corpus, source: tuple[str, str], progress, show_bar) -> np.ndarray:
    emb = embeddings(corpus, *source, progress, show_bar)
    raw = raw_scores(corpus, *source, progress, show_bar)
    return CORPUS_CACHE.memo(corpus).get(("minmax", emb.key), lambda: segment_minmax(raw, pairs_of(corpus).offsets))


def run_array(corpus: Corpus, plan: RunPlan, fusion_weight: float, progress: Progress | None = None,
              show_bar: bool = False) -> np.ndarray:
    """Scores of every pair for one run (float64, full precision)."""
    if plan.fused:
        img = _normalised(corpus, plan.image, progress, show_bar)
        txt = _normalised(corpus, plan.text, progress, show_bar)
        return img + float(fusion_weight) * txt
    source = plan.image or plan.text
    return raw_scores(corpus, *source, progress, show_bar)


def run_scores(corpus: Corpus, spec: str, run: str = "image", fusion_weight: float = 1.0,
               progress: Progress | None = None, protocol: str | None = None) -> dict[str, dict[str, float]]:
    """``{qid: {docid: score}}`` of one run over every benchmark query's candidate list.

    ``protocol`` defaults to the corpus's (``core.protocols.default_protocol_for``).
    Raises EncoderUnavailable / ValueError when the encoder or the run is not possible.
    """
    plan = plan_run(spec, run, protocol or default_protocol_for(corpus))
    return pairs_to_dict(pairs_of(corpus), corpus, run_array(corpus, plan, fusion_weight, progress))


def rank_candidates(query_vector: np.ndarray, candidate_vectors: np.ndarray,
                    candidate_ids: Sequence[str]) -> list[tuple[str, float]]:
    """Rank candidates by cosine similarity to the query (vectors L2-normalised).

    Returns ``[(docid, score)]`` in trec_eval order (score desc, then docid desc), scores
    rounded to ``SCORE_DECIMALS``.
    """
    q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    c = np.asarray(candidate_vectors, dtype=np.float32).reshape(len(candidate_ids), -1)
    scores = np.round((c @ q).astype(np.float64), SCORE_DECIMALS)
    return rank_docs(dict(zip(candidate_ids, scores.tolist())))


def slug(spec: str) -> str:
    """A file-name-safe short name of an encoder spec (checkpoint paths shortened to stems)."""
    import re

    parts = spec.split(":", 2)
    short = spec
    if len(parts) == 3 and ("/" in parts[2] or "\\" in parts[2]):
        short = f"{parts[0]}:{parts[1]}:{Path(parts[2]).stem}"
    s = re.sub(r"[^A-Za-z0-9._+-]+", "_", short).strip("_") or "encoder"
    if short != spec or len(s) > 80:
        s = f"{s[:72]}-{key_of(spec)[:6]}"
    return s
