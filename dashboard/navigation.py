"""The app's page table (data) and the ``st.Page`` objects built from it.

Adding a page is one line in ``PAGE_TABLE``: its name, the file under ``pages/``, the
title shown in the navigation and a Material icon. The first entry is the default page.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


class PageSpec(NamedTuple):
    """One navigation entry."""

    file: str
    title: str
    icon: str


#: name → (file under pages/, title, icon); the first entry opens by default.
PAGE_TABLE: dict[str, PageSpec] = {
    "overview": PageSpec("overview.py", "Corpus", ":material/grid_view:"),
    "search": PageSpec("search.py", "Search", ":material/image_search:"),
    "scores": PageSpec("scores.py", "Scores", ":material/leaderboard:"),
    "map": PageSpec("map.py", "Map", ":material/scatter_plot:"),
    "judge": PageSpec("judge.py", "Judge", ":material/rate_review:"),
    "sample": PageSpec("sample.py", "Sample", ":material/shuffle:"),
    "models": PageSpec("models.py", "Models", ":material/model_training:"),
}
DEFAULT_PAGE = next(iter(PAGE_TABLE))


def pages() -> dict[str, "st.Page"]:
    """The app's pages (``st.Page`` objects), usable with ``st.switch_page``."""
    return {name: st.Page(str(PAGES_DIR / p.file), title=p.title, icon=p.icon, url_path=name,
                          default=(name == DEFAULT_PAGE))
            for name, p in PAGE_TABLE.items()}


def go(name: str) -> None:
    """Switch to page ``name`` of ``PAGE_TABLE``."""
    st.switch_page(pages()[name])
