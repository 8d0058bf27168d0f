"""Thumbnail grids whose cards can become the search query."""
from __future__ import annotations

import streamlit as st

from core import Corpus

from .. import navigation, session
from .cards import figure_card


def use_as_query(fid: str) -> None:
    """Callback: make a corpus figure the current search query and go to the search page."""
    session.push_query(fid)
    st.session_state["_goto_search"] = True


def follow_search_request() -> None:
    """Go to the search page when a card's button asked for it in this run."""
    if st.session_state.pop("_goto_search", False):
        navigation.go("search")


def figure_grid(corpus: Corpus, ids: list[str], key: str, columns: int = 8) -> None:
    """A compact grid of thumbnails with patent links; each can become the search query."""
    for row in range(0, len(ids), columns):
        cols = st.columns(columns)
        for col, fid in zip(cols, ids[row:row + columns]):
            with col:
                figure_card(corpus.by_id[fid], button="Search", key=key, on_click=use_as_query, size=160,
                            title_lines=1)
    follow_search_request()


def pager(n: int, per_page: int, key: str, noun: str = "figures") -> slice:
    """A page number input ('Page (of P; n figures)') and the slice of items it shows."""
    pages = max(1, -(-n // per_page))
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = 1
    if pages == 1:
        st.caption(f"All {n} {noun} shown.")
        return slice(0, n)
    col, _ = st.columns([1, 2])
    page = col.number_input(f"Page (of {pages}; {n} {noun}, {per_page} a page)", 1, pages, 1, key=key)
    return slice((page - 1) * per_page, page * per_page)
