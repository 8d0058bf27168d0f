"""Who is judging, and whether they may write a judgement set (the gate the Judge page calls).

Workbench (``make run``): an annotator is a typed name, and every set is writable. Served mode
(``make serve``): annotators sign in — through Streamlit's OpenID Connect login (``st.login`` /
``st.user``) when ``[auth]`` is configured in the secrets file, otherwise with their passphrase
from ``[upair.annotators]`` (salted scrypt, compared in constant time) — and may write only
their own set (``adjudicated`` only those listed in ``upair.adjudicators``); every set stays
readable by everyone.
"""
from __future__ import annotations

import re
import time

import streamlit as st

from . import serve, session

SIGNED_IN = "_upair_signed_in"
ATTEMPTS = "_upair_signin_attempts"
#: Failed passphrase attempts a session may make per minute.
MAX_ATTEMPTS = 5


def oidc_configured() -> bool:
    """Whether Streamlit's own authentication (``[auth]`` in the secrets) is set up."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file, or an unreadable one: not configured
        return False


def _oidc_name() -> str | None:
    """The annotator name of the signed-in OIDC user (their e-mail, made a valid name)."""
    if not st.user.is_logged_in:
        return None
    raw = str(st.user.get("email") or st.user.get("name") or st.user.get("sub") or "")
    name = re.sub(r"[^A-Za-z0-9 ._-]", "_", raw.replace("@", "_at_"))[:64].strip(" ._-")
    return name or None


def current() -> str | None:
    """The annotator judging in this session (None: nobody yet)."""
    if not serve.served():
        name = (st.session_state.get("annotator") or "").strip()
        return name or None
    if oidc_configured():
        return _oidc_name()
    return st.session_state.get(SIGNED_IN)


def may_write(judgement_set: str) -> bool:
    """Whether this session may write the judgements of annotator (or set) ``judgement_set``."""
    if not serve.served():
        return True
    who = current()
    if who is None:
        return False
    from core.annotation.judgements import ADJUDICATOR

    if judgement_set == ADJUDICATOR:
        return who in serve.policy().adjudicators
    return judgement_set == who


def sign_in(name: str, passphrase: str, now: float | None = None) -> str | None:
    """Check a passphrase; the signed-in name, or None (wrong, unknown or too many attempts)."""
    now = time.monotonic() if now is None else now
    attempts = [t for t in st.session_state.get(ATTEMPTS, []) if now - t < 60]
    st.session_state[ATTEMPTS] = attempts
    if len(attempts) >= MAX_ATTEMPTS:
        return None
    line = dict(serve.policy().annotators).get(name.strip())
    # an unknown name costs the same scrypt as a known one, so the answer time tells nothing
    ok = serve.verify_passphrase(line or serve.hash_passphrase("", b"0" * 16), passphrase) and line is not None
    if not ok:
        attempts.append(now)
        return None
    st.session_state[SIGNED_IN] = name.strip()
    return name.strip()


def sign_out() -> None:
    st.session_state.pop(SIGNED_IN, None)


def annotator_name() -> str:
    """The annotator box of the Judge page's sidebar: in the workbench a typed name; served, a
    sign-in. Returns the name ('' = nobody yet: call ``stop_signed_out`` outside the sidebar)."""
    if not serve.served():
        session.persist("annotator", "")
        return st.text_input("Your name", key="annotator", placeholder="e.g. alice",
                             help="No account: a name keeps your judgements apart from other people's. "
                                  "Use the same name to resume.")
    if oidc_configured():
        name = _oidc_name()
        if name is None:
            st.button("Sign in to judge", key="oidc-login", on_click=st.login, icon=":material/login:")
            return ""
        st.caption(f"Signed in as **{name}**")
        st.button("Sign out", key="oidc-logout", on_click=st.logout, icon=":material/logout:")
        return name
    name = st.session_state.get(SIGNED_IN)
    if name:
        st.caption(f"Signed in as **{name}**")
        st.button("Sign out", key="signout", on_click=sign_out, icon=":material/logout:")
        return name
    if not serve.policy().annotators:
        st.caption("No annotators are set up on this server (see *Serving it to a room* in the README).")
        return ""
    with st.form("signin", border=False):
        user = st.text_input("Your name", key="signin_name", placeholder="e.g. alice")
        phrase = st.text_input("Passphrase", key="signin_phrase", type="password")
        go = st.form_submit_button("Sign in", icon=":material/login:")
    if go:
        if sign_in(user, phrase):
            st.rerun()
        st.error("Unknown annotator or wrong passphrase (5 tries a minute).", icon=":material/lock:")
    return ""


def stop_signed_out() -> None:
    """The Judge page's prompt while nobody judges in this session, then stop the page."""
    if serve.served():
        st.info("Sign in under **Annotator** in the sidebar to judge. Everyone's judgements stay readable on "
                "the Scores and Search pages.", icon=":material/lock:")
    else:
        st.info("Type your name under **Annotator** in the sidebar to start judging. There are no accounts: "
                "the name only keeps each person's judgements apart.", icon=":material/badge:")
    st.stop()


def require_write(judgement_set: str) -> None:
    """Stop the page with a note when this session may not write ``judgement_set``."""
    if not may_write(judgement_set):
        st.info(f"Only {'the adjudicators' if judgement_set == 'adjudicated' else judgement_set} may write "
                f"the set '{judgement_set}' on this server; you can read it.", icon=":material/lock:")
        st.stop()
