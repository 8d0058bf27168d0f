"""Search page, examiner: the CPC class filter (beside "Only earlier art") and the shortlist's
search-report categories X / Y / A. ``pages/search_examiner*.py`` call each in one line."""
from __future__ import annotations

import streamlit as st

from core import Corpus
from core.examiner import CATEGORIES, NO_CLASSES, class_depth, parse_class_filter
from dashboard import examiner, session

KEY = "ex_cpc"


def chosen_classes(corpus: Corpus) -> tuple[str, ...]:
    """The CPC classes the filter holds (canonical symbols); () when empty, unusable or the corpus has none."""
    if not class_depth(corpus):
        return ()
    try:
        return parse_class_filter(st.session_state.get(KEY) or "", "CPC classes")
    except ValueError:
        return ()  # the widget says why


def class_filter(corpus: Corpus) -> None:
    """The filter's text field (with what this corpus knows), or one line when the corpus has no classes."""
    depth = class_depth(corpus)
    if not depth:
        st.caption(NO_CLASSES)
        return
    session.persist(KEY, "")
    known = ("this corpus knows CPC sections only (A–H, Y)" if depth == "sections"
             else "full CPC symbols where the figure's metadata has them, else its section")
    st.text_input("Only CPC classes", key=KEY, placeholder="e.g. A01D, H04N" if depth == "codes" else "e.g. A, H",
                  help="Keep hits in one of these classes, comma-separated, at any depth: section A, class A01, "
                       f"subclass A01D, group A01D34, subgroup A01D34/73 — {known}. A figure whose class is not "
                       "known to the depth asked is left out. Combines with Only earlier art.")
    try:
        parse_class_filter(st.session_state.get(KEY) or "", "CPC classes")
    except ValueError as exc:
        st.error(str(exc), icon=":material/block:")


def category_picker(corpus_spec: str, figure: str, category: str, where) -> None:
    """X / Y / A for one shortlisted figure (clicking the chosen one again clears it)."""
    key = f"ex-cat-{figure}"
    st.session_state[key] = category or None
    where.segmented_control("Category", list(CATEGORIES), key=key, label_visibility="collapsed",
                            help="Search-report category: " + "; ".join(f"{c} = {m}" for c, m in CATEGORIES.items()),
                            on_change=examiner.set_item_category, args=(corpus_spec, figure, key))
