"""The search query in the URL (``?corpus=…&q=…``), so Back, bookmarks and shared links
restore a search, and a scroll back to the top when the query changes."""
from __future__ import annotations

import time

import streamlit as st

from core import Corpus, config

from . import serve, session

UPLOAD_PREFIX = "upload:"


def token(query: str) -> str:
    """The URL form of a query: the figure id, or ``upload:<sha1>`` for a stored upload."""
    if session.is_upload(query):
        from pathlib import Path

        return UPLOAD_PREFIX + Path(query).stem
    return query


def upload_path(tok: str, owned_only: bool = True) -> str | None:
    """The stored upload an ``upload:<sha1>`` token names (None: none, or — served mode,
    ``owned_only`` — not one of this session's workspace: a hash seen elsewhere opens nothing)."""
    stem = tok[len(UPLOAD_PREFIX):]
    path = config.cache_dir() / "uploads" / f"{stem}.png"
    if not (stem.isalnum() and path.is_file()):
        return None
    if owned_only and serve.served() and str(path) not in st.session_state.get(session.UPLOAD_NAMES, {}):
        return None  # uploaded by this session, or restored from its own workspace, only
    return str(path)


def resolve(tok: str, corpus: Corpus) -> str | None:
    """The query a URL token names, when it exists here (None otherwise)."""
    if tok.startswith(UPLOAD_PREFIX):
        return upload_path(tok)
    return tok if tok in corpus.by_id else None


def restore_corpus() -> None:
    """On a session's first run, take the corpus named in the URL (a shared link)."""
    if "_url_seen" in st.session_state:
        return
    st.session_state["_url_seen"] = True
    spec = st.query_params.get("corpus")
    if spec and "corpus_pick" not in st.session_state:
        st.session_state["corpus_pick"] = serve.corpus_from_url(spec)  # served: a label of the allow-list


def restore_query(corpus: Corpus) -> None:
    """Follow a query named in the URL that this session did not write (a link, Back/Forward)."""
    tok = st.query_params.get("q")
    if not tok or tok == st.session_state.get("_url_q"):
        return
    st.session_state["_url_q"] = tok
    query = resolve(tok, corpus)
    trail = st.session_state.get(session.TRAIL) or []
    if query is not None and query in trail[:-1]:  # Back to an earlier query: step back, no new crumb
        session.back_to(query)
    elif query is not None and query != session.current_query():
        session.push_query(query)
    elif query is None:
        shown = "an upload of another session" if tok.startswith(UPLOAD_PREFIX) and serve.served() else tok
        st.warning(f"The link names a figure that is not in this corpus ({shown}).", icon=":material/link_off:")


def store_query(query: str, corpus_spec: str) -> None:
    """Write the current query (and corpus) into the URL."""
    tok = token(query)
    st.session_state["_url_q"] = tok
    shown = serve.url_corpus(corpus_spec)  # served mode: the allow-list label, never a server path
    if st.query_params.get("q") != tok or st.query_params.get("corpus") != shown:
        st.query_params.update({"corpus": shown, "q": tok})


def scroll_to_top_if_asked() -> None:
    """Scroll the page to the top after a new query was chosen further down (call it last on
    the page; it keeps the top for a moment while the new results settle)."""
    if not st.session_state.pop("_scroll_top", False):
        return
    st.html(f"<script>/* {time.time_ns()} */"
            "(() => { const m = document.querySelector('[data-testid=\"stMain\"]'); let n = 0;"
            "const t = setInterval(() => { if (m) m.scrollTo({top: 0}); window.scrollTo({top: 0});"
            "if (++n >= 12) clearInterval(t); }, 100); })();</script>", unsafe_allow_javascript=True)


def scroll_to_anchor_if_asked(flag: str, anchor: str) -> None:
    """Scroll to a heading's anchor when session flag ``flag`` was set (e.g. a row was clicked)."""
    if not st.session_state.pop(flag, False):
        return
    st.html(f"<script>/* {time.time_ns()} */"
            f"const a = document.getElementById('{anchor}');"
            "if (a) a.scrollIntoView({block: 'start'});</script>", unsafe_allow_javascript=True)
