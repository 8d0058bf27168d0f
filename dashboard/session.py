"""Per-session state that belongs to one corpus: the query trail, upload names and texts,
widget values kept across page switches, and the reset when the corpus changes.

Keys are plain strings in ``st.session_state``. Everything a corpus owns is listed in
``CORPUS_SCOPED`` and dropped when the sidebar switches corpus, so nothing from one
corpus (a query id, a selection, an error) shows up on another.
"""
from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

TRAIL = "query_trail"
KEPT = "_kept"
PERSIST = "_persist_keys"
UPLOAD_NAMES = "upload_names"
UPLOAD_TEXTS = "upload_texts"
#: Session keys that describe the current corpus; dropped on a corpus switch.
UPLOAD_GEN = "_upload_gen"
CARRIED_NOTE = "_carried_note"
CORPUS_SCOPED = ("map_selection", "map_sel_page", "drill_q", "cmp_a", "cmp_b", "cmp_axis", "cmp_metric",
                 "example_pick", "upload_error", "overview-filter", "overview-sections", "overview-onlyq",
                 "overview-page", "_goto_search", "_url_q")


# --------------------------------------------------------------------------- widgets kept across pages
def persist(key: str, default=None) -> None:
    """Let widget ``key`` keep its value across page switches (Streamlit drops the state of
    widgets a run does not draw). Call before creating the widget, which then needs no
    ``value=``; ``default`` is its first value."""
    kept = st.session_state.setdefault(KEPT, {})
    st.session_state.setdefault(PERSIST, set()).add(key)
    if key not in st.session_state:
        if key in kept:
            st.session_state[key] = kept[key]
        elif default is not None:
            st.session_state[key] = default


def remember() -> None:
    """Store the current values of every persisted widget (end of each run)."""
    kept = st.session_state.setdefault(KEPT, {})
    for key in st.session_state.get(PERSIST, ()):
        if key in st.session_state:
            kept[key] = st.session_state[key]


def forget(*keys: str) -> None:
    """Drop keys from the session and from the kept widget values."""
    kept = st.session_state.get(KEPT, {})
    for key in keys:
        st.session_state.pop(key, None)
        kept.pop(key, None)


# --------------------------------------------------------------------------- the query trail
def is_upload(query: str) -> bool:
    """Whether a query is a stored upload (a file under the cache's uploads folder)."""
    from core import config

    p = Path(query)
    return p.suffix == ".png" and _resolved(str(p.parent)) == _resolved(str(config.cache_dir() / "uploads"))


@functools.lru_cache(maxsize=256)
def _resolved(folder: str) -> Path:
    """``Path(folder).resolve()``, remembered (asked for every query of the trail on every run)."""
    return Path(folder).resolve()


def push_query(fid: str) -> None:
    """Make a figure (id or stored upload path) the current query, remembering earlier ones."""
    trail: list[str] = [q for q in st.session_state.get(TRAIL) or [] if q != fid]
    trail.append(fid)
    st.session_state[TRAIL] = trail[-12:]
    st.session_state["_scroll_top"] = True


def current_query() -> str | None:
    """The current query: a figure id of the corpus or the path of a stored upload."""
    trail = st.session_state.get(TRAIL) or []
    return trail[-1] if trail else None


def back_to(fid: str) -> None:
    """Callback: return to an earlier query of the trail (dropping the ones after it)."""
    trail: list[str] = st.session_state.get(TRAIL) or []
    if fid in trail:
        st.session_state[TRAIL] = trail[: trail.index(fid) + 1]
        st.session_state["_scroll_top"] = True


def upload_name(path: str) -> str:
    """The file name the user uploaded under ``path`` ('uploaded figure' when unknown)."""
    return st.session_state.get(UPLOAD_NAMES, {}).get(path, "uploaded figure")


def upload_text(path: str) -> str:
    """The description given for an upload ('' when none)."""
    return st.session_state.get(UPLOAD_TEXTS, {}).get(path, "")


def note_upload(path: str, name: str, text: str = "") -> None:
    """Remember an upload's file name and optional description."""
    st.session_state.setdefault(UPLOAD_NAMES, {})[path] = name
    if text:
        st.session_state.setdefault(UPLOAD_TEXTS, {})[path] = text


def set_upload_text(path: str, text: str) -> None:
    """Set (or clear) the description of an upload."""
    texts = st.session_state.setdefault(UPLOAD_TEXTS, {})
    if text.strip():
        texts[path] = text.strip()
    else:
        texts.pop(path, None)


def keep_valid(valid: set[str]) -> None:
    """Drop trail entries that are neither figures of the corpus (``valid``) nor stored uploads."""
    trail = st.session_state.get(TRAIL) or []
    ok = [q for q in trail if q in valid or (is_upload(q) and Path(q).is_file())]
    if ok != trail:
        st.session_state[TRAIL] = ok


# --------------------------------------------------------------------------- corpus switches
def switch_corpus(old: str | None, new: str) -> str | None:
    """Start clean on corpus ``new``: keep each corpus's own trail, carry an upload over.

    Returns a note for the user when something was carried over, else None.
    """
    trails = st.session_state.setdefault("_trails", {})
    trail = st.session_state.get(TRAIL) or []
    if old is not None:
        trails[old] = list(trail)
        for key in ("q", "corpus"):  # the URL named the old corpus's query
            if key in st.query_params:
                del st.query_params[key]
    forget(*CORPUS_SCOPED)
    restored = list(trails.get(new, []))
    note = None
    if trail and is_upload(trail[-1]) and (not restored or restored[-1] != trail[-1]):
        restored = [q for q in restored if q != trail[-1]] + [trail[-1]]
        note = f"Kept your query **{upload_name(trail[-1])}** (an upload) from the previous corpus."
    st.session_state[TRAIL] = restored
    # a fresh uploader on the new corpus (the old one would still show the previous corpus's file)
    if old is not None:
        st.session_state[UPLOAD_GEN] = st.session_state.get(UPLOAD_GEN, 0) + 1
    if note:  # kept until the Search page has shown it, wherever the switch was made
        st.session_state[CARRIED_NOTE] = note
    return note


def upload_key() -> str:
    """The Search uploader's widget key: a new one after each corpus switch."""
    gen = st.session_state.get(UPLOAD_GEN, 0)
    return "upload" if not gen else f"upload-{gen}"


def carried_note() -> str | None:
    """The note about an upload carried over from the previous corpus, once."""
    return st.session_state.pop(CARRIED_NOTE, None)
