"""UPAIR Explorer — Streamlit entry point: shared sidebar, then the selected page."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import state  # noqa: E402

st.set_page_config(page_title="UPAIR Explorer", page_icon=":material/architecture:", layout="wide")

nav = st.navigation(list(state.pages().values()))
with st.sidebar:
    st.markdown("## :material/architecture: UPAIR Explorer")
    st.caption("Patent figure retrieval, encoder by encoder.")
st.session_state[state.CTX_KEY] = state.sidebar()
nav.run()
