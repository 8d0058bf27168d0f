"""UPAIR Explorer — Streamlit entry point: shared sidebar, then the selected page."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import navigation, serve, session, sidebar, workspace  # noqa: E402

ICON = ROOT / "assets" / "icon.png"
st.set_page_config(page_title="UPAIR Explorer", page_icon=str(ICON) if ICON.is_file() else None, layout="wide")

#: A file the browser refuses (over the upload limit) never reaches the app, so the uploader's own
#: message is the only one: show it in full beside the file name (Streamlit hides it behind a hover).
UPLOAD_REFUSAL_CSS = """
[data-testid='stFileChip'][aria-invalid='true'] { flex-wrap: wrap; max-width: 100%; }
[data-testid='stFileChip'][aria-invalid='true'] span[role='alert'] {
  position: static !important; clip: auto !important; clip-path: none !important; width: auto !important;
  height: auto !important; overflow: visible !important; white-space: normal !important; margin: 0 0 0 0.5rem;
  color: #b3261e; font-weight: 600; font-size: 0.9rem; }
"""
#: Widget labels and button texts wrap onto a second line rather than ending in "…".
WRAP_LABELS_CSS = (".stMarkdownEllipsis, .stMarkdownEllipsis p, [data-testid=stWidgetLabel] p "
                   "{ white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }")
st.html("<style>[data-testid='stMainBlockContainer'] { padding-top: 2.5rem; }" + UPLOAD_REFUSAL_CSS
        + WRAP_LABELS_CSS + "</style>")
try:
    from core.config import check_environment

    check_environment()  # an unusable UPAIR_* variable: one line naming it, no traceback
    serve.check()
except ValueError as exc:
    st.error(f"{exc}. Restart the app after fixing it.", icon=":material/settings_alert:")
    st.stop()
SERVED = serve.served()
if SERVED:  # served mode (make serve): no traceback reaches a browser, also from callbacks
    st.set_option("client.showErrorDetails", "none")
nav = st.navigation(list(navigation.pages().values()))
with st.sidebar:
    st.markdown("## :material/architecture: UPAIR Explorer")
    st.caption("Patent figure retrieval, encoder by encoder.")
try:
    st.session_state[sidebar.CTX_KEY] = sidebar.sidebar()
    workspace.save(sidebar.context().corpus_spec)  # a callback's change (a star, a note) is on disk before it shows
    nav.run()
except Exception as exc:  # the error boundary: st.stop / st.rerun are not Exceptions and pass through
    if not SERVED:
        raise  # the workbench shows the traceback
    st.error(f"Something went wrong on this page. It was logged as incident **{serve.incident(exc)}**; "
             "please tell the person running this server.", icon=":material/error:")
finally:
    session.remember()
    if sidebar.CTX_KEY in st.session_state:
        workspace.save(sidebar.context().corpus_spec)
