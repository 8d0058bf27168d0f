"""Widgets of the Judge page: the figure pair, the UPAIR score cards with their answer
buttons (with keyboard shortcuts), the agreement tables and the adjudication queue."""
from __future__ import annotations

import html
import io
import math
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core import Corpus, Figure
from core.annotation.agreement import disagreements, judgement_set, judgement_sets, krippendorff_alpha, pairwise
from core.annotation.judgements import (
    ADJUDICATOR,
    Journal,
    JudgementStore,
    PairJudgement,
    export_qrels,
    export_upair,
    import_qrels,
    read_qrels_dir,
)
from core.corpora.base import AXES, AXIS_LABELS


@dataclass(frozen=True)
class Guide:
    """One axis of the UPAIR annotation guideline (supplementary material, A.2)."""

    question: str
    guide: str
    points: tuple[str, ...]
    yes: str
    no: str
    keys: tuple[str, str, str]  # shortcuts: yes, no, unsure


GUIDELINE = {
    "visual": Guide("How similar are the two images visually?", "Would these drawings look similar if traced?",
                    ("overall shape and structure", "layout and arrangement of components",
                     "level of detail and complexity", "ignore leading lines and arrows"),
                    "Nearly identical or very similar visual appearance", "Completely different visual appearance",
                    ("1", "2", "3")),
    "semantic": Guide("How semantically close are the concepts shown?", "Do these inventions solve the same problem?",
                      ("functional purpose", "core operating principles", "problem addressed", "application"),
                      "Nearly identical or very similar function and approach", "Completely different function/purpose",
                      ("4", "5", "6")),
    "part_whole": Guide("Does one image show one or more subparts of the invention in the other?",
                        "Is this image a detailed view or component of the other?",
                        ("one shows key or specific components of the other",
                         "a hierarchical relationship between the two"),
                        "One image shows one or more subparts of the other invention", "No shared components",
                        ("7", "8", "9")),
}
NAV_KEYS = {"back": "Left", "next": "Right", "skip": "S", "undo": "U"}
VALUE_TEXT = {1: "Yes", 0: "No", None: "Unsure"}


def figure_panel(fig: Figure, role: str, zoom: float, height: int) -> None:
    """A large, zoomable figure (scrolls inside a fixed frame when zoomed) with its texts."""
    st.markdown(f"**{role}**")
    with st.container(height=height, border=True):
        st.image(str(fig.path), width=int(560 * zoom) if zoom > 1 else "stretch")
    st.markdown(f"**{html.escape(fig.title) or '(no title)'}**")
    if fig.description:
        st.caption(fig.description)
    if fig.labels:
        chips = " ".join(f"<span class='upair-chip'>{html.escape(lab)}</span>" for lab in fig.labels[:40])
        st.markdown(f"<div style='line-height:1.9'>{chips}</div>", unsafe_allow_html=True)


CHIP_CSS = """<style>
.upair-chip{display:inline-block;padding:0 .45em;margin:0 .2em .2em 0;border-radius:.6em;
background:#eef2f7;border:1px solid #d5dde8;font-size:.8em;color:#333}
.upair-card{margin-bottom:.2em}
.upair-card td{padding:0 .4em;vertical-align:top;font-size:.8em;line-height:1.3;border:none}
.upair-card td:first-child{white-space:nowrap}
</style>"""


def score_card(axis: str, current: PairJudgement | None, on_answer, key: str) -> None:
    """The guideline of one axis and its Yes / No / Unsure buttons (the chosen one highlighted)."""
    g = GUIDELINE[axis]
    value = current.axes.get(axis, "unanswered") if current and not current.skip else "unanswered"
    with st.container(border=True):
        st.markdown(f"**{AXIS_LABELS[axis]}** — *{g.guide}*")
        st.markdown(
            "<table class='upair-card'><tr><td><b>1 · Yes</b></td><td>" + html.escape(g.yes) + "</td></tr>"
            "<tr><td><b>0 · No</b></td><td>" + html.escape(g.no) + "</td></tr></table>", unsafe_allow_html=True,
            help=g.question + " Consider: " + "; ".join(g.points) + ".")
        cols = st.columns([1, 1, 1.4])
        for col, v, sc in zip(cols, (1, 0, None), g.keys):
            col.button(VALUE_TEXT[v], key=f"{key}-{axis}-{VALUE_TEXT[v].lower()}", shortcut=sc,
                       type="primary" if value == v and value != "unanswered" else "secondary",
                       on_click=on_answer, args=(axis, v), width="stretch")


def current_summary(j: PairJudgement | None) -> str:
    """One line: what is recorded for the pair."""
    if j is None:
        return "Nothing recorded for this pair yet."
    if j.skip:
        return "Skipped."
    parts = [f"{AXIS_LABELS[a]}: {VALUE_TEXT[j.axes[a]] if a in j.axes else '—'}" for a in AXES]
    return "Recorded: " + " · ".join(parts)


def _fmt(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.3f}"


def agreement_section(store: JudgementStore) -> None:
    """Krippendorff's alpha per axis, Cohen's kappa per annotator pair, confusion tables."""
    people = store.all_judgements()
    st.caption(f"Annotators with judgements: {', '.join(people) or 'none yet'}. Unsure and skipped answers "
               "count as missing. Kappa: scikit-learn; alpha (nominal): krippendorff.")
    if len(people) < 2:
        st.info("Agreement needs at least two annotators on this corpus.", icon=":material/group:")
        return
    rows = []
    for axis in AXES:
        alpha = krippendorff_alpha(people, axis)
        for pa in pairwise(people, axis):
            rows.append({"axis": AXIS_LABELS[axis], "annotators": f"{pa.a} / {pa.b}", "shared pairs": pa.n,
                         "observed agreement": _fmt(pa.observed), "Cohen's kappa": _fmt(pa.kappa),
                         "Krippendorff's alpha (all)": _fmt(alpha)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    names = sorted(people)
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("Annotator A", names, key="agree_a")
    b = c2.selectbox("Annotator B", [n for n in names if n != a], key="agree_b")
    axis = c3.selectbox("Axis", AXES, format_func=AXIS_LABELS.get, key="agree_axis")
    pa = next((p for p in pairwise({a: people[a], b: people[b]}, axis)), None)
    if pa is not None:
        (n00, n01), (n10, n11) = pa.confusion
        first, second = (a, b) if pa.a == a else (b, a)
        st.markdown(f"Confusion on **{AXIS_LABELS[axis]}** (rows: {first}, columns: {second})")
        st.dataframe(pd.DataFrame([[n00, n01], [n10, n11]],
                                  index=[f"{first}: no", f"{first}: yes"], columns=[f"{second}: no", f"{second}: yes"]))


def adjudication_section(corpus: Corpus, store: JudgementStore, thumb) -> None:
    """The queue of disagreements; the adjudicator's decision is journalled under 'adjudicated'."""
    people = store.all_judgements()
    adj = store.journal(ADJUDICATOR)
    decided = adj.judgements()
    queue = disagreements(people, decided)
    open_ = [d for d in queue if d.adjudicated is None]
    st.caption(f"{len(queue)} disagreement(s), {len(open_)} still open. A decision is stored like any judgement "
               "(annotator 'adjudicated') and overrides the majority in the 'adjudicated' judgement set.")
    show_all = st.toggle("Show decided ones too", key="adj_all")
    for i, d in enumerate(queue if show_all else open_[:20]):
        q, c = corpus.by_id.get(d.query), corpus.by_id.get(d.candidate)
        if q is None or c is None:
            continue
        with st.container(border=True):
            cols = st.columns([1, 1, 2])
            cols[0].image(thumb(str(q.path)), caption="query")
            cols[1].image(thumb(str(c.path)), caption="candidate")
            votes = ", ".join(f"{n}: {VALUE_TEXT[v]}" for n, v in sorted(d.votes.items()))
            cols[2].markdown(f"**{AXIS_LABELS[d.axis]}** — *{GUIDELINE[d.axis].guide}*  \nVotes: {votes}"
                             + (f"  \nDecided: **{VALUE_TEXT[d.adjudicated]}**" if d.adjudicated is not None else ""))
            b1, b2 = cols[2].columns(2)
            key = f"adj-{i}-{d.axis}"
            pair = (adj, d.query, d.candidate, d.axis)
            b1.button("Relevant", key=key + "-yes", on_click=_adjudicate, args=(*pair, 1))
            b2.button("Not relevant", key=key + "-no", on_click=_adjudicate, args=(*pair, 0))


def _adjudicate(journal: Journal, query: str, candidate: str, axis: str, value: int) -> None:
    before = journal.judgements().get((query, candidate))
    axes = dict(before.axes) if before and not before.skip else {}
    axes[axis] = value
    journal.record(query, candidate, axes)


def import_export_section(corpus: Corpus, store: JudgementStore, journal: Journal) -> None:
    """Import TREC qrels as this annotator; export a judgement set as qrels or a UPAIR folder."""
    st.subheader("Import")
    if corpus.benchmark is not None and corpus.benchmark.qrels:
        st.button(f"Import this corpus's own qrels as annotator '{journal.annotator}'", key="judge-import",
                  on_click=lambda: st.session_state.update(
                      judge_imported=import_qrels(journal, corpus.benchmark.qrels, source="official")))
    files = st.file_uploader("…or TREC qrels files named qrels_visual.txt, qrels_semantic.txt, qrels_part_whole.txt",
                             type=["txt"], accept_multiple_files=True, key="judge-qrels-files")
    if files and st.button(f"Import {len(files)} file(s) as annotator '{journal.annotator}'", key="judge-import-files"):
        with tempfile.TemporaryDirectory() as tmp:
            for f in files:
                (Path(tmp) / Path(f.name).name).write_bytes(f.getvalue())
            try:
                st.session_state["judge_imported"] = import_qrels(journal, read_qrels_dir(tmp), source="upload")
            except ValueError as exc:  # no qrels_<axis>.txt among them, or a malformed line (file:line)
                st.error(str(exc))
    if "judge_imported" in st.session_state:
        st.success(f"Imported {st.session_state.pop('judge_imported')} judged pairs.")
    st.subheader("Export")
    sets = judgement_sets(store, corpus)
    if not sets:
        st.info("No judgements to export yet.")
        return
    chosen = st.selectbox("Judgement set", sets, key="judge_export_set")
    qrels = judgement_set(chosen, store, corpus)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w") as zf:
        for p in export_qrels(qrels, tmp):
            zf.write(p, Path(p).name)
    c1, c2 = st.columns(2)
    c1.download_button("Download TREC qrels (zip, one file per axis)", buf.getvalue(),
                       f"qrels-{chosen.replace(':', '-')}.zip", "application/zip", icon=":material/download:")
    if c2.button("Write a UPAIR-layout folder", key="judge-export-upair", icon=":material/folder:",
                 help="metadata.json, test/images/ and test/qrels_<axis>.txt of the judged pairs"):
        out = store.dir / "exports" / f"{chosen.replace(':', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
        export_upair(corpus, qrels, out)
        st.success(f"Written to `{out}` — open it as a corpus with `upair:{out}`.")
