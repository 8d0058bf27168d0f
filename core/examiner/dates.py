"""Dates of patents: what the corpus knows, and "only earlier art" filtering.

Dates come from the figures' ``priority_date`` / ``publication_date`` (sidecar JSON or
metadata records, ``YYYY-MM-DD`` or ``YYYYMMDD``), compared as calendar dates by the one
parser :func:`parse_date`. A figure is *before* a date when its priority date is strictly
earlier; a figure without a priority date, or with one that is not a real date, is never
"before" anything.
"""
from __future__ import annotations

import re
from datetime import date as _date
from typing import Iterable

from ..corpora.base import Corpus

NO_DATES = ("This corpus has no dates (no priority_date / publication_date in its sidecars or "
            "metadata), so hits cannot be filtered to earlier art.")


_DATE = re.compile(r"^(\d{4})(-?)(\d{2})\2(\d{2})$")


def parse_date(text) -> _date | None:
    """A calendar date from ``YYYY-MM-DD`` or ``YYYYMMDD`` (the same date either way); None for
    anything else (``2020-13-45``, ``garbage``, ``2020-0101``)."""
    if isinstance(text, _date):
        return text
    m = _DATE.match(str(text or "").strip())
    if not m:
        return None
    try:
        return _date(int(m[1]), int(m[3]), int(m[4]))
    except ValueError:
        return None


def _bound(date) -> _date:
    d = parse_date(date)
    if d is None:
        raise ValueError(f"{date!r} is not a date: give a real calendar date as YYYY-MM-DD or YYYYMMDD")
    return d


def has_dates(corpus: Corpus) -> bool:
    """True when any figure carries a priority or publication date."""
    return any(f.priority_date or f.publication_date for f in corpus.figures)


def not_before(corpus: Corpus, date: str) -> set[str]:
    """Ids of the figures that are not prior art to ``date`` (priority date missing, same or later)."""
    bound = _bound(date)
    late = set()
    for f in corpus.figures:
        d = parse_date(f.priority_date)
        if d is None or d >= bound:
            late.add(f.id)
    return late


def query_priority(corpus: Corpus, figure_ids: Iterable[str]) -> str:
    """The earliest priority date among the given corpus figures, as ``YYYY-MM-DD`` ("" when
    none has a real one)."""
    dates = [parse_date(corpus.by_id[f].priority_date) for f in figure_ids if f in corpus.by_id]
    dates = [d for d in dates if d is not None]
    return min(dates).isoformat() if dates else ""
