"""Figure–text pairs for adaptation: cleaned text, a split by patent, and the leakage guard.

A pair is one figure with its description or its component labels, cleaned as the chosen
protocol cleans text before encoding. Every patent that appears among a benchmark's
queries or candidates is left out, so an adapted model is never scored on figures it was
trained on; the remaining patents are split into training and validation so that no
patent is on both sides.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..corpora.base import Corpus
from ..store import key_of
from .spec import TEXT_FIELDS, AdaptError

__all__ = ["Pair", "PairSplit", "protocol_of", "figure_pairs", "benchmark_patents", "split_pairs"]


@dataclass(frozen=True)
class Pair:
    """One training example: a figure's image and its cleaned text."""

    figure_id: str
    patent: str
    image: Path
    text: str

    @property
    def group(self) -> str:
        """The unit of the split: the patent, or the figure itself when the patent is unknown."""
        return self.patent or f"figure:{self.figure_id}"


@dataclass(frozen=True)
class PairSplit:
    """Training and validation pairs plus what was left out and why."""

    train: tuple[Pair, ...]
    val: tuple[Pair, ...]
    text_field: str
    cleaning: str
    excluded_patents: tuple[str, ...]  # benchmark patents present in the corpus, left out
    excluded_figures: int
    without_text: int  # figures whose cleaned text was empty
    digest: str  # content address of both sides (ids, texts, image files)

    @property
    def train_patents(self) -> int:
        return len({p.group for p in self.train})

    @property
    def val_patents(self) -> int:
        return len({p.group for p in self.val})


def protocol_of(name: str = "upair"):
    """The ``core.protocols`` protocol whose text cleaning the pairs use (AdaptError if unknown).

    ``upair`` is the official UPAIR cleaning (what the paper encoded text with), ``clean``
    the project's.
    """
    from ..protocols import get_protocol

    try:
        return get_protocol(name)
    except ValueError as exc:
        raise AdaptError(str(exc)) from None


def figure_pairs(corpus: Corpus, text_field: str, protocol: str = "upair") -> tuple[list[Pair], int]:
    """Every figure with a non-empty cleaned text, and how many had none.

    Raises AdaptError when no figure of the corpus has that text at all.
    """
    if text_field not in TEXT_FIELDS:
        raise AdaptError(f"unknown text field {text_field!r}; use one of: {', '.join(TEXT_FIELDS)}")
    proto = protocol_of(protocol)
    pairs: list[Pair] = []
    missing = 0
    for fig in corpus.figures:
        text = proto.figure_text(fig, text_field)
        if text.strip():
            pairs.append(Pair(fig.id, fig.patent, Path(fig.path), text))
        else:
            missing += 1
    if not pairs:
        other = "labels" if text_field == "desc" else "desc"
        what = "figure description (fig_desc)" if text_field == "desc" else "component labels"
        raise AdaptError(
            f"corpus {corpus.name} has no figure with a {what}: nothing to pair the images with. "
            f"Use --text {other}, or a corpus whose figures carry that text (UPAIR metadata.json or "
            "query-patents / folder .json sidecars)"
        )
    return pairs, missing


def benchmark_patents(corpus: Corpus | None) -> set[str]:
    """Patents of every figure among a benchmark's queries or candidates (empty without one)."""
    if corpus is None or corpus.benchmark is None:
        return set()
    ids: set[str] = set()
    for q in corpus.benchmark.queries:
        ids.add(q)
        ids.update(corpus.candidates_for(q))
    by_id = corpus.by_id
    return {by_id[i].patent for i in ids if i in by_id and by_id[i].patent}


def _side(group: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) per (seed, patent)."""
    h = hashlib.sha256(f"{seed}\x1f{group}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def _digest(train: Iterable[Pair], val: Iterable[Pair]) -> str:
    from ..figures import file_digest

    rows = [[side, p.figure_id, p.text, file_digest(p.image)] for side, ps in (("t", train), ("v", val)) for p in ps]
    return key_of(rows)


def split_pairs(corpus: Corpus, text_field: str = "desc", *, protocol: str = "upair",
                exclude: Iterable[str] = (), val_fraction: float = 0.1, seed: int = 0) -> PairSplit:
    """Pairs of ``corpus`` without the ``exclude`` patents, split by patent.

    The validation side holds about ``val_fraction`` of the patents (at least one); which
    ones depends only on the seed and the patent numbers, so the split is reproducible.
    """
    if not 0 < val_fraction < 1:
        raise AdaptError(f"val_fraction must lie in (0, 1) (got {val_fraction})")
    pairs, missing = figure_pairs(corpus, text_field, protocol)
    cleaning = f"core.protocols:{protocol_of(protocol).key}"
    banned = set(exclude)
    present = {f.patent for f in corpus.figures} & banned
    kept = [p for p in pairs if p.patent not in banned]
    n_excluded = sum(1 for f in corpus.figures if f.patent in banned)
    groups = sorted({p.group for p in kept}, key=lambda g: (_side(g, seed), g))
    if len(groups) < 2:
        raise AdaptError(
            f"only {len(groups)} patent(s) with a {text_field} text remain after leaving out "
            f"{len(present)} benchmark patent(s); a split by patent needs at least two. Add figures "
            "from more patents"
        )
    n_val = min(len(groups) - 1, max(1, round(val_fraction * len(groups))))
    val_groups = set(groups[:n_val])
    train = tuple(p for p in kept if p.group not in val_groups)
    val = tuple(p for p in kept if p.group in val_groups)
    return PairSplit(train=train, val=val, text_field=text_field, cleaning=cleaning,
                     excluded_patents=tuple(sorted(present)), excluded_figures=n_excluded,
                     without_text=missing, digest=_digest(train, val))
