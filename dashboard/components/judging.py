"""Judgements on the Scores and Search pages: which judgement set scores, judged@k per system,
unjudged marks, and "Judge these" (unjudged top-k hits → a pool on the Judge page)."""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import streamlit as st

from core import Corpus
from core.annotation.agreement import judgement_set, judgement_sets
from core.annotation.judgements import JudgementStore
from core.annotation.pooling import judged_at_k, judged_docs, save_pool, unjudged_top_k
from core.evaluation.selection import Selection
from core.store import key_of

Qrels = Mapping[str, Mapping[str, Mapping[str, int]]]
SET_LABELS = {"official": "Official qrels", "majority": "Majority of annotators",
              "adjudicated": "Adjudicated (majority, adjudicator overrides)"}
#: Session key the Judge page reads to open a pool made here.
REQUEST_KEY = "judge_request_pool"
#: The chosen judgement set, shared by the Scores and Search pages.
SET_KEY = "judgement_set"
UNJUDGED_BADGE = ("<span title='no judgement for this query in the chosen judgement set' style='background:#fff3cd;"
                  "color:#7a5b00;border:1px solid #e0c36a;border-radius:.5em;padding:0 .4em;font-size:.75em'>"
                  "unjudged</span>")


def set_label(name: str) -> str:
    """Display name of a judgement set."""
    return SET_LABELS.get(name, name.replace("annotator:", "Annotator: "))


def judgement_picker(corpus: Corpus, where=st, key: str = SET_KEY) -> tuple[str, dict]:
    """A selectbox of the judgement sets there are (official, each annotator, majority,
    adjudicated); returns the chosen name and its qrels ``{axis: {qid: {docid: 0/1}}}``."""
    from dashboard import session

    store = JudgementStore(corpus.name)
    sets = judgement_sets(store, corpus)
    if not sets:
        return "official", {}
    session.persist(key, sets[0])
    if st.session_state.get(key) not in sets:
        st.session_state[key] = sets[0]
    name = where.selectbox("Judgements", sets, key=key, format_func=set_label,
                        help="Which judgements score the runs: the corpus's own qrels, one annotator's, the "
                             "majority, or the adjudicated set. New judgements count at once.")
    return name, judgement_set(name, store, corpus)


def require_judgements(corpus: Corpus) -> None:
    """Stop the page with a way forward when the corpus's queries have no judgements at all yet
    (a fresh pool): neither its own qrels nor any annotator's."""
    if judgement_sets(JudgementStore(corpus.name), corpus):
        return
    st.info("Nothing is judged here yet (a fresh pool?): judge its pairs on the Judge page, then the scores "
            "follow the judgements.", icon=":material/rate_review:")
    if st.button("Judge this pool", key="judge-this-pool", icon=":material/rate_review:"):
        from dashboard import navigation

        st.session_state[REQUEST_KEY] = "benchmark"
        navigation.go("judge")
    st.stop()


def digest(qrels: Qrels) -> str:
    """Content key of a judgement set (for caches)."""
    return key_of({a: {q: dict(d) for q, d in per.items()} for a, per in qrels.items()})


def judged_frame(rankings: Mapping[str, Mapping[str, Sequence[str]]], qrels: Qrels, k: int) -> pd.DataFrame:
    """Per system: judged@k (mean over queries) and how many of its top-k hits are unjudged."""
    judged = judged_docs(qrels)
    rows = []
    for system, per_q in rankings.items():
        vals = [judged_at_k(r, judged.get(q, set()), k) for q, r in per_q.items()]
        unjudged = sum(1 for q, r in per_q.items() for d in list(r)[:k] if d not in judged.get(q, set()))
        rows.append({"system": system, f"judged@{k}": round(sum(vals) / len(vals), 4) if vals else 0.0,
                     "unjudged hits": unjudged, "queries": len(vals)})
    return pd.DataFrame(rows)


def judge_these(corpus: Corpus, rankings: Mapping[str, Mapping[str, Sequence[str]]], qrels: Qrels, k: int,
                key: str, label: str = "Judge these") -> None:
    """A button that pools the unjudged top-k hits of every system and opens them on the Judge page."""
    pairs = unjudged_top_k(rankings, qrels, k)
    if st.button(f"{label} ({len(pairs)})", key=key, disabled=not pairs, icon=":material/rate_review:",
                 help=f"Send the unjudged hits among the top {k} of every selected system to the Judge page "
                      "as a pool (TREC-style pooling)."):
        name = f"top{k}-" + key_of(sorted(rankings), k, pairs)[:8]
        pool = save_pool(JudgementStore(corpus.name), name, pairs,
                         source=f"unjudged top-{k} of {', '.join(rankings)}")
        st.session_state[REQUEST_KEY] = pool.name
        from dashboard import navigation

        navigation.go("judge")


def scores_section(corpus: Corpus, selection: Selection, qrels: Qrels, k: int) -> None:
    """judged@k per system of the selection on the benchmark queries, and "Judge these" for the unjudged hits."""
    from dashboard.services import judging

    rankings = judging.run_rankings(selection, k)
    if not rankings:
        return
    frame = judged_frame(rankings, qrels, k)
    st.caption(f"**judged@{k}**: the share of each system's top {k} (per query, averaged) that the chosen "
               "judgements cover; unjudged hits count as not relevant in every measure above.")
    a, b = st.columns([3, 1], vertical_alignment="center")
    a.dataframe(frame, hide_index=True, width="stretch",
                column_config={f"judged@{k}": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                              format="%.3f")})
    with b:
        judge_these(corpus, rankings, qrels, k, key="judge-these-scores")


def search_section(corpus: Corpus, query: str | None, results: Mapping[str, dict], qrels: Qrels, k: int) -> None:
    """For a corpus figure as query: judged@k per encoder and "Judge these" for its unjudged hits."""
    from dashboard import services

    if query is None or query not in corpus.by_id:
        return
    rankings = {services.encoder_label(s): {query: r["ids"]} for s, r in results.items() if not r["error"]}
    judged = judged_docs(qrels).get(query, set())
    parts = [f"{name} {judged_at_k(r[query], judged, k):.0%}" for name, r in rankings.items()]
    a, b = st.columns([3, 1], vertical_alignment="center")
    a.caption(f"judged@{k} for this query: " + " · ".join(parts) +
              ("" if judged else " — this figure has no judgements as a query yet."))
    with b:
        judge_these(corpus, rankings, qrels, k, key="judge-these-search")


def unjudged_badge(qrels: Qrels, query: str | None, fid: str) -> str:
    """The 'unjudged' mark for a hit of a query that has judgements but none for this hit."""
    if query is None:
        return ""
    per = [qrels.get(a, {}).get(query) for a in qrels]
    if not any(per) or any(fid in d for d in per if d):
        return ""
    return UNJUDGED_BADGE
