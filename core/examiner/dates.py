"""Dates of patents: what the corpus knows, and "only earlier art" filtering.

Dates come from the figures' ``priority_date`` / ``publication_date`` (sidecar JSON or
metadata records, ISO ``YYYY-MM-DD``). A figure is *before* a date when its priority date is
strictly earlier; a figure without a priority date is never "before" anything.
"""
from __future__ import annotations

from typing import Iterable

from ..corpora.base import Corpus

NO_DATES = ("This corpus has no dates (no priority_date / publication_date in its sidecars or "
            "metadata), so hits cannot be filtered to earlier art.")


def has_dates(corpus: Corpus) -> bool:
    """True when any figure carries a priority or publication date."""
    return any(f.priority_date or f.publication_date for f in corpus.figures)


def not_before(corpus: Corpus, date: str) -> set[str]:
    """Ids of the figures that are not prior art to ``date`` (priority date missing, same or later)."""
    return {f.id for f in corpus.figures if not f.priority_date or f.priority_date >= date}


def query_priority(corpus: Corpus, figure_ids: Iterable[str]) -> str:
    """The earliest priority date among the given corpus figures ("" when none has one)."""
    dates = [corpus.by_id[f].priority_date for f in figure_ids if f in corpus.by_id]
    dates = [d for d in dates if d]
    return min(dates) if dates else ""
