"""Hits grouped by patent: which earlier patents show the query, not only which figures."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping

from ..corpora.base import Corpus
from ..search import EncoderResult


@dataclass(frozen=True)
class PatentHit:
    """One patent among the hits.

    ``figures`` are its figures found by any encoder (best first); ``best_rank`` maps each
    encoder that found one of them to its best rank; ``total_figures`` counts its figures in
    the corpus. A figure without a patent number forms a group of its own (``patent`` = "").
    """

    key: str
    patent: str
    section: str
    title: str
    best_figure: str
    figures: tuple[str, ...]
    best_rank: Mapping[str, int]
    best_score: Mapping[str, float]
    total_figures: int
    priority_date: str = ""
    publication_date: str = ""

    @property
    def n_hits(self) -> int:
        """How many of its figures hit (in any encoder's list)."""
        return len(self.figures)

    @property
    def n_encoders(self) -> int:
        return len(self.best_rank)


def patent_key(corpus: Corpus, fid: str) -> str:
    """The grouping key of a figure: its patent number, or ``figure:<id>`` when it has none."""
    fig = corpus.by_id[fid]
    return fig.patent or f"figure:{fid}"


def group_by_patent(corpus: Corpus, results: Mapping[str, EncoderResult], sections: Collection[str] = (),
                    exclude_patents: Collection[str] = ()) -> list[PatentHit]:
    """Patents of the hits, best first (smallest best rank over encoders, then more encoders,
    more figures hit, patent key). ``sections`` keeps only those CPC sections (empty: all);
    ``exclude_patents`` drops patents by number (e.g. the query's own)."""
    ranks: dict[str, dict[str, dict[str, int]]] = {}  # patent -> figure -> encoder -> rank
    for spec, res in results.items():
        for n in res.neighbours:
            if n.id not in corpus.by_id:
                continue
            key = patent_key(corpus, n.id)
            ranks.setdefault(key, {}).setdefault(n.id, {})[spec] = n.rank
    totals: dict[str, int] = {}
    for f in corpus.figures:
        k = f.patent or f"figure:{f.id}"
        totals[k] = totals.get(k, 0) + 1
    out = []
    excluded = set(exclude_patents)
    for key, figs in ranks.items():
        first = corpus.by_id[next(iter(figs))]
        if first.patent and first.patent in excluded:
            continue
        if sections and first.section not in sections:
            continue
        out.append(_hit(corpus, key, figs, results, totals[key]))
    return sorted(out, key=lambda h: (min(h.best_rank.values()), -h.n_encoders, -h.n_hits, h.key))


def _hit(corpus: Corpus, key: str, figs: dict[str, dict[str, int]], results: Mapping[str, EncoderResult],
         total: int) -> PatentHit:
    order = sorted(figs, key=lambda f: (min(figs[f].values()), -len(figs[f]), f))
    best_rank: dict[str, int] = {}
    for f in figs:
        for spec, r in figs[f].items():
            best_rank[spec] = min(best_rank.get(spec, r), r)
    best_score = {}
    for spec, r in best_rank.items():
        best_score[spec] = next(n.score for n in results[spec].neighbours if n.rank == r)
    fig = corpus.by_id[order[0]]
    return PatentHit(key=key, patent=fig.patent, section=fig.section, title=fig.title, best_figure=order[0],
                     figures=tuple(order), best_rank=dict(sorted(best_rank.items())),
                     best_score=dict(sorted(best_score.items())), total_figures=total,
                     priority_date=fig.priority_date, publication_date=fig.publication_date)


def patent_figures(corpus: Corpus, patent: str) -> list[str]:
    """Every figure id of ``patent`` in corpus order."""
    return [f.id for f in corpus.figures if f.patent == patent]
