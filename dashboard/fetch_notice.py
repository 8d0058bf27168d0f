"""The sidebar's line about the baseline CLIP that ``make run`` fetches in the background: its
progress while it downloads, a button adding it to the encoders when it has arrived, and one line
saying how to fetch it later when there was no network. Served mode shows nothing (and never
starts a download)."""
from __future__ import annotations

import streamlit as st

from . import serve
from .services import fetching, refresh_encoders

#: Seconds between two looks at the status file while a fetch runs.
POLL_S = 1.0


def _use_baseline() -> None:
    refresh_encoders()  # the weights arrived after the encoder list was cached
    chosen = list(st.session_state.get("encoders") or [])
    spec = fetching.baseline_spec()
    if spec not in chosen:
        st.session_state["encoders"] = chosen + [spec]
    st.session_state["_baseline_used"] = True


def _draw(chosen: tuple[str, ...]) -> bool:
    """Draw the notice for the status now; True while the fetch is still running."""
    status = fetching.baseline_status()
    if status.state == "fetching":
        frac = status.done / status.total if status.total else 0.0
        st.progress(min(frac, 1.0), text=f"Downloading {fetching.baseline_label()}: {status.mb}")
        return True
    if status.state in ("offline", "failed"):
        st.caption(fetching.offline_note(), help=status.message or None)
    elif status.state == "ready" and status.updated and fetching.baseline_spec() not in chosen \
            and not st.session_state.get("_baseline_used"):
        st.button(f"Use {fetching.baseline_label()}", key="use_baseline_clip", on_click=_use_baseline,
                  icon=":material/add:", help="The UPAIR baseline CLIP (ViT-B-16, laion400m_e32) has been "
                                              "downloaded: add it to the encoders.")
    return False


@st.fragment(run_every=POLL_S)
def _watch(chosen: tuple[str, ...]) -> None:
    if not _draw(chosen):
        st.rerun()  # done: the whole app reruns once (the encoder list, the button), polling stops


def baseline_notice(chosen: tuple[str, ...]) -> None:
    """Render the notice under the encoder picker (nothing when no fetch was started)."""
    if serve.served():
        return
    if fetching.baseline_status().state == "fetching":
        _watch(chosen)
    else:
        _draw(chosen)
