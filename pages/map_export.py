"""Map page: what a box/lasso selection can become — a CSV of its figures, a ``folder:`` subset
corpus the app opens, or a pool of pairs on the Judge page's queue."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import Corpus
from core.textio import frame_csv
from dashboard import services

NEAREST = 5


def selection_csv(corpus: Corpus, ids: list[str], frame: pd.DataFrame) -> str:
    """The selection as CSV: id, patent, section, title and the position on the left map."""
    pos = frame.set_index("id")
    rows = [{"id": i, "patent": corpus.by_id[i].patent, "section": corpus.by_id[i].section,
             "title": corpus.by_id[i].title, "x": float(pos.loc[i, "x"]), "y": float(pos.loc[i, "y"])}
            for i in ids]
    return frame_csv(pd.DataFrame(rows, columns=["id", "patent", "section", "title", "x", "y"]), index=False)


def pairs_for(corpus: Corpus, corpus_spec: str, ids: list[str], query: str | None, spec: str, how: str
              ) -> list[tuple[str, str]]:
    """The pairs a selection sends to the Judge queue: the query against every selected figure,
    or every selected figure against its nearest neighbours under ``spec``; pairs the corpus's
    own judgements already cover are left out."""
    from core.annotation.pooling import judged_docs

    if how == "query":
        pairs = [(query, i) for i in ids if query and i != query]
    else:
        pairs = [(i, n) for i in ids for n in services.map_agreement.neighbour_ids(corpus_spec, spec, spec, i, NEAREST)[0]]
    judged = judged_docs(corpus.benchmark.qrels) if corpus.benchmark is not None else {}
    return [(q, c) for q, c in pairs if c not in judged.get(q, ())]


def actions(corpus: Corpus, corpus_spec: str, ids: list[str], frame: pd.DataFrame, query: str | None,
            spec: str) -> None:
    """Download, save-as-corpus and send-to-Judge for the selected figures."""
    c1, c2, c3 = st.columns([1.2, 1.6, 2.6], vertical_alignment="bottom")
    c1.download_button("CSV of the selection", selection_csv(corpus, ids, frame), file_name="map-selection.csv",
                       mime="text/csv", key="map_sel_csv", icon=":material/download:",
                       help="One row per selected figure: id, patent, CPC section, title, map position.")
    if c2.button("Save as a folder corpus", key="map_sel_subset", icon=":material/create_new_folder:",
                 help="Copy the selected figures (images and metadata, ids kept) into a new folder under the "
                      "cache, which the app opens as a corpus of its own."):
        from core.subsets import write_subset

        try:
            st.session_state["_map_subset"] = f"folder:{write_subset(corpus, ids, 'map-selection')}"
        except (ValueError, OSError) as exc:
            st.error(f"Could not write the subset: {exc}")
    with c3:
        judge_button(corpus, corpus_spec, ids, query, spec)
    made = st.session_state.get("_map_subset")
    if made:
        a, b = st.columns([4, 1], vertical_alignment="center")
        a.success(f"Saved: `{made}`", icon=":material/folder:")
        b.button("Open it", key="map_open_subset", on_click=_open, args=(made,))


def _open(spec: str) -> None:
    st.session_state["corpus_pick"] = spec
    st.session_state.pop("_map_subset", None)
    st.session_state.pop("map_selection", None)


def judge_button(corpus: Corpus, corpus_spec: str, ids: list[str], query: str | None, spec: str) -> None:
    """Send pairs made from the selection to the Judge page as a pool."""
    from core.annotation.judgements import JudgementStore
    from core.annotation.pooling import save_pool
    from core.store import key_of
    from dashboard import navigation
    from dashboard.components.judging import REQUEST_KEY

    ways = (["query"] if query in corpus.by_id else []) + ["nearest"]
    how = st.selectbox("Judge", ways, key="map_sel_judge_how",
                       format_func=lambda w: "each against the current query" if w == "query"
                       else f"each with its {NEAREST} nearest ({services.encoder_label(spec)})")
    if st.button("Send to the Judge queue", key="map_sel_judge", icon=":material/rate_review:",
                 help="Save the pairs (not yet judged in the corpus's own judgements) as a pool and open it on "
                      "the Judge page."):
        pairs = pairs_for(corpus, corpus_spec, ids, query, spec, how)
        if not pairs:
            st.warning("Every such pair is judged already.")
            return
        pool = save_pool(JudgementStore(corpus.name), f"map-{key_of(pairs)[:8]}", pairs,
                         source=f"map selection of {len(ids)} figures, " +
                                ("against the query" if how == "query" else f"{NEAREST} nearest under {spec}"))
        st.session_state[REQUEST_KEY] = pool.name
        navigation.go("judge")
