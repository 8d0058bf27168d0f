"""Examiner search in the app: session state (regions, added figures, shortlist) and the
searches over ``core.examiner`` (cached in ``dashboard.services.examiner``, keyed by short strings).

A query in the app is a string (a corpus figure id or a stored upload's path). Per query the
session keeps an optional region (normalised box) and the figures added to it; the shortlist is
kept per corpus and survives page changes (plain session keys, not widget state).
"""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from core.examiner import QueryPart, Region, Shortlist, ShortlistItem

from . import services, session, sidebar

REGIONS = "ex_regions"
PARTS = "ex_parts"
SHORTLISTS = "ex_shortlists"
RESULTS = "_ex_results"  # the results the grid shows (for the star / add buttons)


# --------------------------------------------------------------------------- regions and added figures
def region(query: str) -> Region | None:
    """The region drawn on ``query`` (None: the whole figure)."""
    box = st.session_state.get(REGIONS, {}).get(query)
    return Region(*box) if box else None


def set_region(query: str, reg: Region | None) -> None:
    regions = st.session_state.setdefault(REGIONS, {})
    if reg is None:
        regions.pop(query, None)
    else:
        regions[query] = list(reg.as_tuple())


def added(query: str) -> list[str]:
    """Figures (ids or upload paths) added to ``query``, in the order added; figures of another
    corpus (an upload carried over on a corpus switch keeps its list) are left out."""
    parts = list(st.session_state.get(PARTS, {}).get(query, []))
    ctx = st.session_state.get(sidebar.CTX_KEY)
    if not parts or ctx is None or not getattr(ctx, "corpus_spec", ""):
        return parts
    ids = services.corpus(ctx.corpus_spec).by_id
    return [p for p in parts if p in ids or Path(p).is_file()]


def add_to_query(fid: str) -> None:
    """Callback: add a figure to the current query (several figures searched as one)."""
    q = session.current_query()
    # an upload byte-identical to a corpus figure is searched as that figure: add to what is searched
    q = st.session_state.get("upload_same_as", {}).get(q, q)
    if q is None or fid == q:
        return
    parts = st.session_state.setdefault(PARTS, {}).setdefault(q, [])
    if fid not in parts:
        parts.append(fid)


def remove_added(query: str, fid: str) -> None:
    """Callback: take an added figure out of ``query``."""
    parts = st.session_state.get(PARTS, {}).get(query, [])
    if fid in parts:
        parts.remove(fid)


def query_parts(corpus, query: str) -> tuple[QueryPart, ...]:
    """The query and its added figures as ``QueryPart``s (uploads read from their stored file)."""
    out = []
    for src in [query, *added(query)]:
        reg = region(src) if src == query else None
        if src in corpus.by_id:
            out.append(QueryPart(figure=src, region=reg, name=src))
        elif Path(src).is_file():
            out.append(QueryPart(image=Path(src).read_bytes(), name=session.upload_name(src), region=reg))
    return tuple(out)


def is_plain(query: str, before: str, classes: tuple[str, ...] = ()) -> bool:
    """Whether the query is one whole figure without a date bound or class filter (the page's ordinary search)."""
    return region(query) is None and not added(query) and not before and not classes


# --------------------------------------------------------------------------- searches
def search(corpus_spec: str, query: str, encoders: tuple[str, ...], k: int, combine: str, before: str,
           text: str | None, classes: tuple[str, ...] = ()) -> tuple[dict[str, dict], dict]:
    """(results as the grid takes them, facts: combination, description, excluded, before, classes, off_class)."""
    from .services import examiner

    spec = json.dumps({"q": query, "region": st.session_state.get(REGIONS, {}).get(query),
                       "added": added(query)}, sort_keys=True)
    return examiner.search(corpus_spec, spec, encoders, k, combine, before, text, tuple(classes))


def as_encoder_results(results: dict[str, dict]):
    """The grid's result dicts back as ``core.search.EncoderResult``s."""
    from core.search import EncoderResult, Neighbour

    return {s: EncoderResult(s, tuple(Neighbour(i, n + 1, sc) for n, (i, sc) in enumerate(zip(r["ids"], r["scores"]))),
                             r["error"]) for s, r in results.items()}


# --------------------------------------------------------------------------- shortlist
def shortlist(corpus_spec: str) -> Shortlist:
    """The shortlist of this corpus (empty at first)."""
    data = st.session_state.get(SHORTLISTS, {}).get(corpus_spec)
    return Shortlist.from_dict(data) if data else Shortlist(corpus_spec)


def save_shortlist(sl: Shortlist) -> None:
    st.session_state.setdefault(SHORTLISTS, {})[sl.corpus] = sl.to_dict()


def toggle_star(corpus_spec: str, fid: str) -> None:
    """Callback: star (or unstar) a hit of the current results."""
    sl = shortlist(corpus_spec)
    if fid in sl:
        save_shortlist(sl.remove(fid))
        return
    corpus = services.corpus(corpus_spec)
    results = as_encoder_results(st.session_state.get(RESULTS, {}))
    save_shortlist(sl.add(ShortlistItem.from_results(corpus, fid, results)))


def set_item_note(corpus_spec: str, fid: str, key: str) -> None:
    """Callback: store the note typed for a starred figure."""
    save_shortlist(shortlist(corpus_spec).with_note(fid, st.session_state.get(key, "")))


def set_item_category(corpus_spec: str, fid: str, key: str) -> None:
    """Callback: store the search-report category chosen for a starred figure (none: cleared)."""
    save_shortlist(shortlist(corpus_spec).with_category(fid, st.session_state.get(key) or ""))


def set_notes(corpus_spec: str, key: str) -> None:
    """Callback: store the examiner's general notes."""
    from dataclasses import replace

    save_shortlist(replace(shortlist(corpus_spec), notes=st.session_state.get(key, "")))
