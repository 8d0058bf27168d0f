"""The Sample page's export: "Draw all queries and export" runs as a background job
(``services.sampling.export_job``) with a progress bar; the user may leave and come back (the job and
its result live in the process, the session remembers which export it asked for); a failure is one
line; the written folder is offered as a corpus."""
from __future__ import annotations

import streamlit as st

from dashboard import services
from dashboard.components import waiting

#: session key: the arguments of the export this session asked for (kept across pages)
ASKED = "_sample_export_asked"


def _open_corpus(spec: str) -> None:
    st.session_state["corpus_pick"] = spec


def export_section(corpus_spec: str, cfg_key: str, seed: int, method: str, protocol: str, families: bool) -> None:
    """The export button, then the export's progress, its one-line failure or its download and folder."""
    args = (corpus_spec, cfg_key, int(seed), method, protocol, bool(families))
    if st.button("Draw all queries and export", icon=":material/download:", key="sample_export"):
        st.session_state[ASKED] = args
        services.sampling.export_job(*args, start=True)
    asked = st.session_state.get(ASKED)
    if not asked or asked[0] != corpus_spec:
        return
    outcome = waiting.settle(services.sampling.export_job(*asked))
    if outcome == "running":
        waiting.progress_panel((services.sampling.export_key(*asked),))
        return
    if outcome is not None:
        st.session_state.pop(ASKED, None)
        st.error(outcome, icon=":material/block:")
        return
    done = services.sampling.exported(*asked)
    if done is None:  # the server restarted or dropped it: ask again
        st.session_state.pop(ASKED, None)
        return
    data, out = done
    _, a_cfg, a_seed, a_method, a_protocol, a_families = asked
    if asked != args:
        st.caption(f"The export below is of seed {a_seed}, {a_method} deduplication, protocol {a_protocol}"
                   + (", one copy per family" if a_families else "") + " (the choices above have changed since).")
    st.download_button("Download pools (.zip)", data, file_name=f"pools-seed{a_seed}-{a_method}.zip",
                       mime="application/zip", icon=":material/folder_zip:", key="sample_export_download")
    a, b = st.columns([4, 1], vertical_alignment="center")
    a.caption(f"Also written to `{out}` — a corpus `upair:{out}/pool` (judge it on the Judge page).")
    b.button("Open as corpus", key="sample_open_pool", icon=":material/folder_open:",
             on_click=_open_corpus, args=(f"upair:{out}/pool",))
