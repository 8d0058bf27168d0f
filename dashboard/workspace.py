"""The examiner's workspace in the app: saved server-side after every change, restored on the
next visit (F5, a new tab with the same link, a server restart).

A browser is recognised by the workspace id in the URL (``?ws=…``), generated on its first
visit; in served mode ``IDENTITY_KEY`` (set by the login) replaces it with
``core.examiner.workspace.id_for_user``. What is saved, per corpus, is listed in
``core.examiner.workspace``. The URL also carries the view: ``k``, ``enc`` (the encoders,
comma-separated) and ``region`` (of the current query), so a copied link reproduces it; on a
session's first run those URL values win over the saved ones.

``restore`` runs in the sidebar before the encoder and k widgets are drawn; ``save`` runs right
after the sidebar (so every callback's change — a star, a note — is on disk before the page
shows it) and again at the end of the run. A file is written only when its content changed.
"""
from __future__ import annotations

import json

import streamlit as st

from core.examiner import Region
from core.examiner import workspace as core_ws

from . import serve, session

WS_PARAM = "ws"
IDENTITY_KEY = "_workspace_user"  # served mode: the logged-in user's name
_ID = "_ws_id"
_RESTORED = "_ws_restored"  # corpus specs restored in this session
_SAVED = "_ws_saved"  # corpus spec → the JSON last written
_URL_DONE = "_ws_url_done"


def workspace_id() -> str:
    """This browser's workspace id: the login's, else ``?ws=`` of the URL, else a new one
    (written into the URL, so a reload or a bookmark finds the workspace again)."""
    user = st.session_state.get(IDENTITY_KEY)
    if user:
        return core_ws.id_for_user(str(user))
    wid = st.session_state.get(_ID)
    if wid is None:
        given = st.query_params.get(WS_PARAM)
        try:
            wid = core_ws.check_id(given, "the ws= parameter of the URL") if given else core_ws.new_id()
            if serve.served() and wid.startswith("u-"):  # a signed-in user's id is derived from the name:
                raise ValueError("the link's workspace belongs to a signed-in user")  # never opened from a URL
        except ValueError as exc:
            st.warning(f"{serve.shown_error(exc)}; a new workspace was started.", icon=":material/link_off:")
            wid = core_ws.new_id()
        st.session_state[_ID] = wid
    if st.query_params.get(WS_PARAM) != wid:
        st.query_params[WS_PARAM] = wid
    return wid


# --------------------------------------------------------------------------- tokens
def _token(query: str) -> str:
    from . import urlstate

    return urlstate.token(query)


def _query(tok: str, own: bool = False) -> str | None:
    """The session's query string for a token (figure id, or a stored upload's path). ``own``:
    the token comes from this workspace's own file; otherwise (a URL) served mode resolves only
    uploads this session made or restored (``urlstate.upload_path``)."""
    from . import urlstate

    if tok.startswith(urlstate.UPLOAD_PREFIX):
        path = urlstate.upload_path(tok, owned_only=not own)
        if path and own:  # restored from this workspace: the session owns it from now on
            st.session_state.setdefault(session.UPLOAD_NAMES, {}).setdefault(path, "uploaded figure")
        return path
    return tok


# --------------------------------------------------------------------------- restore
def restore(corpus_spec: str) -> None:
    """On the first visit of ``corpus_spec`` in this session, load its saved workspace into the
    session; then (first run only) apply the view the URL names (k, enc, region)."""
    if not corpus_spec:
        return
    done = st.session_state.setdefault(_RESTORED, set())
    if corpus_spec not in done:
        done.add(corpus_spec)
        try:
            ws = core_ws.load(corpus_spec, workspace_id())
        except OSError as exc:
            st.warning(f"Your saved workspace could not be read ({serve.shown_error(exc)}); starting afresh.", icon=":material/error:")
            ws = None
        if ws is not None:
            _apply(ws)
            st.session_state.setdefault(_SAVED, {})[corpus_spec] = json.dumps(ws.to_dict(), sort_keys=True)
    if not st.session_state.get(_URL_DONE):
        st.session_state[_URL_DONE] = True
        _apply_url()


def _apply(ws: core_ws.Workspace) -> None:
    from . import examiner as ex

    for p in ws.problems:
        st.warning(f"Workspace: {serve.shown_text(p)}", icon=":material/error:")
    trail = [q for q in (_query(t, own=True) for t in ws.trail) if q]
    st.session_state.setdefault("_trails", {})[ws.corpus] = trail
    regions = st.session_state.setdefault(ex.REGIONS, {})
    for tok, box in ws.regions.items():
        q = _query(tok, own=True)
        if q:
            regions[q] = box
    parts = st.session_state.setdefault(ex.PARTS, {})
    for tok, extra in ws.added.items():
        q = _query(tok, own=True)
        if q:
            parts[q] = [a for a in (_query(t, own=True) for t in extra) if a]
    for tok, name in ws.upload_names.items():
        q = _query(tok, own=True)
        if q:
            st.session_state.setdefault(session.UPLOAD_NAMES, {})[q] = name
    for tok, text in ws.upload_texts.items():
        q = _query(tok, own=True)
        if q:
            st.session_state.setdefault(session.UPLOAD_TEXTS, {})[q] = text
    if ws.shortlist:
        st.session_state.setdefault(ex.SHORTLISTS, {})[ws.corpus] = ws.shortlist
    if ws.encoders is not None:
        st.session_state["encoders"] = list(ws.encoders)  # the picker drops any not available now
    if ws.k is not None:
        st.session_state["k"] = ws.k
    st.session_state["ex_combine"] = ws.combine
    st.session_state["ex_before"] = ws.before


def _apply_url() -> None:
    """k, enc and region from the URL (a shared link); a bad value is named and ignored."""
    from . import examiner as ex

    qp = st.query_params
    if "k" in qp:
        try:
            k = int(qp["k"])
            if not core_ws.K_RANGE[0] <= k <= core_ws.K_RANGE[1]:
                raise ValueError
            st.session_state["k"] = k
        except ValueError:
            st.warning(f"The link's k={qp['k']!r} is not a whole number in 1..50; ignored.", icon=":material/link_off:")
    if "enc" in qp:
        st.session_state["encoders"] = [e for e in qp["enc"].split(",") if e]
    if "region" in qp and qp.get("q"):
        try:
            reg = Region.parse(qp["region"], "the link's region=")
        except ValueError as exc:
            st.warning(f"{serve.shown_error(exc)}; ignored.", icon=":material/link_off:")
            return
        q = _query(qp["q"])
        if q:
            st.session_state.setdefault(ex.REGIONS, {})[q] = list(reg.as_tuple())


# --------------------------------------------------------------------------- save
def _value(key: str, default=None):
    """A widget's value, or the one kept for it while its page is not drawn (``session.persist``)."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(session.KEPT, {}).get(key, default)


def snapshot(corpus_spec: str) -> core_ws.Workspace:
    """The session's workspace of ``corpus_spec`` as it stands."""
    from . import examiner as ex

    trail = list(st.session_state.get(session.TRAIL) or [])
    regions = st.session_state.get(ex.REGIONS, {})
    parts = st.session_state.get(ex.PARTS, {})
    involved = set(trail) | {a for q in trail for a in parts.get(q, [])}
    names = st.session_state.get(session.UPLOAD_NAMES, {})
    texts = st.session_state.get(session.UPLOAD_TEXTS, {})
    return core_ws.Workspace(
        corpus=corpus_spec, trail=[_token(q) for q in trail],
        regions={_token(q): list(b) for q, b in regions.items() if q in involved and b},
        added={_token(q): [_token(a) for a in parts[q]] for q in trail if parts.get(q)},
        upload_names={_token(q): n for q, n in names.items() if q in involved},
        upload_texts={_token(q): t for q, t in texts.items() if q in involved},
        shortlist=dict(st.session_state.get(ex.SHORTLISTS, {}).get(corpus_spec) or {}),
        encoders=list(_value("encoders") or []), k=_value("k"),
        combine=_value("ex_combine") or "mean", before=bool(_value("ex_before")))


def save(corpus_spec: str) -> None:
    """Write the workspace of ``corpus_spec`` when it changed since the last write, and keep
    the URL's view (k, enc) current."""
    if not corpus_spec or st.session_state.get("_corpus_active") != corpus_spec:
        return
    ws = snapshot(corpus_spec)
    text = json.dumps(ws.to_dict(), sort_keys=True)
    saved = st.session_state.setdefault(_SAVED, {})
    if saved.get(corpus_spec) != text:
        try:
            core_ws.save(ws, workspace_id())
        except OSError as exc:
            where = "the server's workspace folder" if serve.served() else str(core_ws.workspace_dir())
            st.error(f"Your workspace could not be saved ({serve.shown_error(exc)}): free space or fix the "
                     f"permissions of {where}; until then a reload loses your changes.", icon=":material/save:")
            return
        saved[corpus_spec] = text
    _store_view(ws)


def _store_view(ws: core_ws.Workspace) -> None:
    qp = st.query_params
    enc = ",".join(ws.encoders or [])
    if ws.k is not None and qp.get("k") != str(ws.k):
        qp["k"] = str(ws.k)
    if qp.get("enc") != enc:
        qp["enc"] = enc


def store_region(query: str) -> None:
    """Write the current query's region into the URL (or take it out)."""
    from . import examiner as ex

    reg = ex.region(query)
    if reg is None:
        if "region" in st.query_params:
            del st.query_params["region"]
    elif st.query_params.get("region") != reg.text:
        st.query_params["region"] = reg.text


def clear_shortlist(corpus_spec: str) -> None:
    """Callback (after the user confirmed): empty the shortlist and its notes."""
    from . import examiner as ex

    st.session_state.get(ex.SHORTLISTS, {}).pop(corpus_spec, None)
    st.session_state.pop("ex_notes", None)
    st.session_state.pop("_ex_confirm_clear", None)
