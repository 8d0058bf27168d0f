"""The examiner's shortlist: starred hits with their ranks and scores per encoder, and notes.

Plain data (frozen dataclasses, ``to_dict`` / ``from_dict``), so it survives page changes in a
session and can be saved; ``to_csv`` writes one row per (figure, encoder that found it).
Each item may carry a search-report category (``CATEGORIES``: X, Y, A); a stored shortlist
without categories (older workspaces) reads as uncategorised.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from typing import Mapping

from ..corpora.base import Corpus
from ..search import EncoderResult
from ..textio import CSV_LINE_END, csv_row

CSV_COLUMNS = ("patent", "figure", "encoder", "rank", "score", "priority_date", "title", "note", "category")
#: Search-report categories of a cited document (the standard meanings, as in EPO / PCT search reports).
CATEGORIES: dict[str, str] = {
    "X": "particularly relevant if taken alone",
    "Y": "particularly relevant if combined with another document of the same category",
    "A": "technological background",
}


def parse_category(value, source: str = "the category") -> str:
    """``X`` / ``Y`` / ``A`` (any case, spaces ignored), or "" for none; ValueError naming ``source`` otherwise."""
    text = str(value or "").strip().upper()
    if text and text not in CATEGORIES:
        raise ValueError(f"{source}: {value!r} is not a search-report category; use one of {', '.join(CATEGORIES)} "
                         "(or leave it empty)")
    return text


@dataclass(frozen=True)
class Hit:
    """Where one encoder ranked a figure."""

    encoder: str
    rank: int
    score: float


@dataclass(frozen=True)
class ShortlistItem:
    """A starred figure: its patent, the encoders that found it, and the examiner's note."""

    figure: str
    patent: str = ""
    title: str = ""
    priority_date: str = ""
    hits: tuple[Hit, ...] = ()
    note: str = ""
    category: str = ""  # "X", "Y", "A" (CATEGORIES) or "" when not set

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", parse_category(self.category))

    @classmethod
    def from_results(cls, corpus: Corpus, figure: str, results: Mapping[str, EncoderResult],
                     note: str = "") -> "ShortlistItem":
        """The figure with its rank and score in every encoder's list that holds it."""
        fig = corpus.by_id[figure]
        hits = tuple(Hit(spec, n.rank, n.score) for spec, res in results.items()
                     for n in res.neighbours if n.id == figure)
        return cls(figure, fig.patent, fig.title, fig.priority_date, hits, note)


@dataclass(frozen=True)
class Shortlist:
    """Starred figures of one corpus, in the order starred, and the examiner's general notes."""

    corpus: str
    items: tuple[ShortlistItem, ...] = ()
    notes: str = ""
    query: Mapping = field(default_factory=dict)  # what the query was (labels, regions), for the report

    def __contains__(self, figure: str) -> bool:
        return any(i.figure == figure for i in self.items)

    def add(self, item: ShortlistItem) -> "Shortlist":
        """With ``item`` (merging its hits into an existing item of the same figure)."""
        for i, old in enumerate(self.items):
            if old.figure == item.figure:
                hits = {h.encoder: h for h in old.hits} | {h.encoder: h for h in item.hits}
                merged = replace(old, hits=tuple(hits.values()), note=item.note or old.note,
                                 category=item.category or old.category)
                return replace(self, items=self.items[:i] + (merged,) + self.items[i + 1:])
        return replace(self, items=self.items + (item,))

    def remove(self, figure: str) -> "Shortlist":
        return replace(self, items=tuple(i for i in self.items if i.figure != figure))

    def with_note(self, figure: str, note: str) -> "Shortlist":
        return replace(self, items=tuple(replace(i, note=note) if i.figure == figure else i for i in self.items))

    def with_category(self, figure: str, category: str) -> "Shortlist":
        """With the search-report category of ``figure`` set ("" clears it); ValueError for an unknown one."""
        cat = parse_category(category)
        return replace(self, items=tuple(replace(i, category=cat) if i.figure == figure else i for i in self.items))

    def to_dict(self) -> dict:
        return {"corpus": self.corpus, "notes": self.notes, "query": dict(self.query),
                "items": [{"figure": i.figure, "patent": i.patent, "title": i.title,
                           "priority_date": i.priority_date, "note": i.note, "category": i.category,
                           "hits": [[h.encoder, h.rank, h.score] for h in i.hits]} for i in self.items]}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Shortlist":
        items = tuple(ShortlistItem(str(d["figure"]), str(d.get("patent", "")), str(d.get("title", "")),
                                    str(d.get("priority_date", "")),
                                    tuple(Hit(str(e), int(r), float(s)) for e, r, s in d.get("hits", [])),
                                    str(d.get("note", "")),
                                    parse_category(d.get("category", ""), f"the category of {d['figure']}"))
                      for d in data.get("items", []))
        return cls(str(data.get("corpus", "")), items, str(data.get("notes", "")), dict(data.get("query", {})))

    def to_csv(self) -> str:
        """One row per (figure, encoder that found it); a figure no encoder ranked gets one row.
        Cells a spreadsheet would evaluate (a title ``=HYPERLINK(…)``) are neutralised
        (``core.textio.csv_cell``)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator=CSV_LINE_END)
        w.writerow(csv_row(CSV_COLUMNS))
        for i in self.items:
            for h in i.hits or (None,):
                w.writerow(csv_row([i.patent, i.figure, h.encoder if h else "", h.rank if h else "",
                                    f"{h.score:.6f}" if h else "", i.priority_date, i.title, i.note, i.category]))
        return buf.getvalue()
