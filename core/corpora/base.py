"""Corpus and benchmark records shared by every loader."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

from ..errors import DatasetError
from ..figures import Figure, figure_digest
from ..textio import decode_text

__all__ = ["AXES", "AXIS_LABELS", "Benchmark", "Corpus", "DatasetError", "decode_text"]

#: The three UPAIR judgement axes, in display order.
AXES: tuple[str, ...] = ("visual", "semantic", "part_whole")
AXIS_LABELS = {"visual": "Visual", "semantic": "Semantic", "part_whole": "Part-whole"}


@dataclass(frozen=True)
class Benchmark:
    """Query → candidate lists and per-axis binary judgements (TREC qrels).

    ``candidates`` maps a query id to the ids ranked for it; an empty mapping means
    "the whole corpus minus the query". ``qrels[axis][qid][docid]`` is 0 or 1.
    """

    queries: tuple[str, ...]
    candidates: Mapping[str, tuple[str, ...]]
    qrels: Mapping[str, Mapping[str, Mapping[str, int]]]
    qrels_files: Mapping[str, str] = field(default_factory=dict)

    def judgement(self, axis: str, qid: str, docid: str) -> int | None:
        """1 / 0 when judged, None when the pair is unjudged on that axis."""
        return self.qrels.get(axis, {}).get(qid, {}).get(docid)


@dataclass(frozen=True)
class Corpus:
    """A loaded figure collection; ``name`` is the spec it was loaded from."""

    name: str
    kind: str
    root: Path
    figures: tuple[Figure, ...]
    benchmark: Benchmark | None = None
    synthetic: bool = False
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.figures)

    @cached_property
    def by_id(self) -> dict[str, Figure]:
        """Figures keyed by id."""
        return {f.id: f for f in self.figures}

    @cached_property
    def position(self) -> dict[str, int]:
        """Row of each figure id in corpus order (the row of its embedding)."""
        return {f.id: i for i, f in enumerate(self.figures)}

    @cached_property
    def fingerprint(self) -> str:
        """Content address of the corpus: ids, image bytes and texts, in order."""
        h = hashlib.sha256()
        for f in self.figures:
            for part in (f.id, figure_digest(f), f.title, f.description, "\x1f".join(f.labels)):
                h.update(part.encode("utf-8", "surrogatepass"))
                h.update(b"\x1e")
        return h.hexdigest()

    def candidates_for(self, qid: str) -> tuple[str, ...]:
        """The ids ranked for a query: its candidate list, or the whole corpus minus itself."""
        if self.benchmark is not None and self.benchmark.candidates.get(qid):
            return tuple(c for c in self.benchmark.candidates[qid] if c in self.by_id)
        return tuple(f.id for f in self.figures if f.id != qid)

    @property
    def sections(self) -> list[str]:
        """Sorted CPC sections present."""
        return sorted({f.section for f in self.figures if f.section})
