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
from core.store import key_of

Qrels = Mapping[str, Mapping[str, Mapping[str, int]]]
SET_LABELS = {"official": "Official qrels", "majority": "Majority of annotators",
              "adjudicated": "Adjudicated (majority, adjudicator overrides)"}
#: Session key the Judge page reads to open a pool made here.
REQUEST_KEY = "judge_request_pool"
UNJUDGED_BADGE = ("<span title='no judgement for this query in the chosen judgement set' style='background:#fff3cd;"
                  "color:#7a5b00;border:1px solid #e0c36a;border-radius:.5em;padding:0 .4em;font-size:.75em'>"
                  "unjudged</span>")


def set_label(name: str) -> str:
    """Display name of a judgement set."""
    return SET_LABELS.get(name, name.replace("annotator:", "Annotator: "))


def judgement_picker(corpus: Corpus, key: str) -> tuple[str, dict]:
    """A selectbox of the judgement sets there are (official, each annotator, majority,
    adjudicated); returns the chosen name and its qrels ``{axis: {qid: {docid: 0/1}}}``."""
    store = JudgementStore(corpus.name)
    sets = judgement_sets(store, corpus)
    if not sets:
        return "official", {}
    if st.session_state.get(key) not in sets:
        st.session_state.pop(key, None)
    name = st.selectbox("Judgements", sets, key=key, format_func=set_label,
                        help="Which judgements score the runs: the corpus's own qrels, one annotator's, the "
                             "majority, or the adjudicated set. New judgements count at once.")
    return name, judgement_set(name, store, corpus)


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
    if st.button(f"{label} ({len(pairs)} unjudged)", key=key, disabled=not pairs, icon=":material/rate_review:",
                 help=f"Send the unjudged hits among the top {k} of every selected system to the Judge page "
                      "as a pool (TREC-style pooling)."):
        name = f"top{k}-" + key_of(sorted(rankings), k, pairs)[:8]
        pool = save_pool(JudgementStore(corpus.name), name, pairs,
                         source=f"unjudged top-{k} of {', '.join(rankings)}")
        st.session_state[REQUEST_KEY] = pool.name
        from dashboard import navigation

        navigation.go("judge")
