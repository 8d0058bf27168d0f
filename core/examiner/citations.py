"""Citations of a query patent and how many of them each encoder finds.

A citations file maps a citing patent to the patents it cites: JSON (``{"US123A1": ["EP9B1", ...]}``,
the ``citations_data.json`` of the query-patents layout) or a CSV/TSV of ``citing,cited`` rows.
Patent numbers are compared without their kind code (``EP3629701A1`` = ``EP3629701B1``), since
the cited lists name family members and kind codes freely. A patent's citation of itself (or of
its own number with another kind code) is ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..corpora.base import Corpus
from ..corpora.citations import find_citations_file, parse_citations, patent_base, read_citations
from ..search import EncoderResult

def corpus_citations(corpus: Corpus) -> tuple[dict[str, tuple[str, ...]], Path | None]:
    """The corpus's own citations file (found by :func:`~core.corpora.citations.find_citations_file`:
    ``citations_data.json`` at its root, else one folder up) and its citations; ``({}, None)`` when none."""
    path = find_citations_file([corpus.root])
    return (read_citations(path), path) if path is not None else ({}, None)


def cited_by(citations: Mapping[str, tuple[str, ...]], patent: str) -> tuple[str, ...]:
    """The patents ``patent`` cites, as kind-code-free numbers, in file order, without itself."""
    own = patent_base(patent)
    entries = [c for k, v in citations.items() if patent_base(k) == own for c in v]
    out: list[str] = []
    for c in entries:
        b = patent_base(c)
        if b != own and b not in out:
            out.append(b)
    return tuple(out)


@dataclass(frozen=True)
class CitationCheck:
    """Which cited patents one encoder finds in its top ``k``.

    ``found`` maps a cited patent (without kind code) to the best rank of any of its figures;
    ``recall`` is ``len(found) / len(in_corpus)`` (None when no cited patent is in the corpus).
    """

    spec: str
    k: int
    cited: tuple[str, ...]
    in_corpus: tuple[str, ...]
    found: Mapping[str, int]

    @property
    def recall(self) -> float | None:
        return len(self.found) / len(self.in_corpus) if self.in_corpus else None


def citation_recall(corpus: Corpus, patents: list[str], results: Mapping[str, EncoderResult],
                    citations: Mapping[str, tuple[str, ...]], k: int) -> dict[str, CitationCheck]:
    """Per encoder, the patents cited by any of ``patents`` found in its top ``k``."""
    cited: list[str] = []
    for p in patents:
        cited += [c for c in cited_by(citations, p) if c not in cited]
    own = {patent_base(p) for p in patents}
    cited = [c for c in cited if c not in own]
    bases = {patent_base(f.patent) for f in corpus.figures if f.patent}
    in_corpus = tuple(c for c in cited if c in bases)
    out = {}
    for spec, res in results.items():
        found: dict[str, int] = {}
        for n in res.neighbours:
            if n.rank > k or n.id not in corpus.by_id:
                continue
            b = patent_base(corpus.by_id[n.id].patent)
            if b in in_corpus and b not in found:
                found[b] = n.rank
        out[spec] = CitationCheck(spec, k, tuple(cited), in_corpus, found)
    return out
