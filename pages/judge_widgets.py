"""Widgets of the Judge page: the figure pair, the UPAIR score cards with their answer
buttons (with keyboard shortcuts), the agreement tables and the adjudication queue."""
from __future__ import annotations

import html
import math
import threading
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core import Corpus, Figure
from core.annotation.agreement import disagreements, judgement_sets, krippendorff_alpha, pairwise
from core.annotation.judgements import (
    ADJUDICATOR,
    Journal,
    JudgementStore,
    PairJudgement,
)
from core.annotation.judgements_events import apply_events, pair_id
from core.annotation.judgements_sets import pair_history, provenance, set_exists, summary
from core.corpora.base import AXES, AXIS_LABELS
from dashboard import serve
from dashboard.services import judging


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
        row = st.container(horizontal=True, gap="small")  # buttons as wide as their labels, wrapping if need be
        for v, sc in zip((1, 0, None), g.keys):
            row.button(f"{VALUE_TEXT[v]} ({sc})", key=f"{key}-{axis}-{VALUE_TEXT[v].lower()}",
                       type="primary" if value == v and value != "unanswered" else "secondary",
                       on_click=on_answer, args=(axis, v), width="content")


KEYS_KEY = "judge_keys"
_APPLIED = "judge_keys_applied"  # {browser tab: highest event number applied}
_ECHO = "judge_echo"
_REFUSED = "judge_keys_refused"


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _session_lock() -> threading.Lock:
    """One lock per browser session: Streamlit may start a rerun while the previous run of the
    same session is still stopping, and both must not apply the same keys."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    sid = ctx.session_id if ctx is not None else "bare"
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(sid, threading.Lock())


def apply_keys(journal: Journal, order, positions: dict, pkey: str, key: str) -> None:
    """Apply the keyboard component's new events (before anything is drawn), moving
    ``positions[pkey]``; under the session's lock, reading the position inside it."""
    value = st.session_state.get(key)
    if not isinstance(value, dict):
        return
    client = str(value.get("client", ""))[:64]
    with _session_lock():
        applied = st.session_state.setdefault(_APPLIED, {})
        pos = min(max(positions[pkey], 0), len(order))
        res, applied[client] = apply_events(journal, order, pos, value.get("events") or [], applied.get(client, 0),
                                            tab=client)
        positions[pkey] = res.pos
    if res.refused:
        st.session_state[_REFUSED] = res.refused
    st.session_state["judge_keys_client"] = client


def key_catcher(journal: Journal, order, pos: int) -> None:
    """The keyboard component, and the latest lines of the journal read back from disk (what is
    stored, so an annotator sees exactly what was recorded)."""
    from dashboard.components.keyjudge import keyjudge

    client = st.session_state.get("judge_keys_client", "")
    keyjudge(order, pos, client, st.session_state.get(_APPLIED, {}).get(client, 0), key=KEYS_KEY)
    for msg in st.session_state.pop(_REFUSED, []):
        st.warning(msg, icon=":material/keyboard:")
    state = journal.read()
    last = state.lines[-6:]
    if last:
        index = {p: i for i, p in enumerate(order)}
        parts = []
        for j in reversed(last):
            n = index.get((j.query, j.candidate))
            text = f"**#{n + 1}** " if n is not None else ""
            text += f"`{pair_id((j.query, j.candidate))[:6]}` {summary(j.axes, j.skip)}"
            parts.append(f"~~{text}~~ (undone)" if j.entry in state.undone else text)
        st.caption("Stored: " + " · ".join(parts),
                   help="The latest lines of your journal, read back from disk: pair number in the queue, pair id, "
                        "V / S / P answers (1 yes, 0 no, ? unsure). Undone lines are struck through.")


def history_panel(store: JudgementStore, pair) -> None:
    """Every journal line about this pair, in every judgement set."""
    rows = pair_history(store, pair)
    with st.expander(f"History of this pair ({len(rows)} line(s))", icon=":material/history:"):
        if not rows:
            st.caption("No one has judged this pair yet.")
            return
        st.dataframe(pd.DataFrame([{"time (UTC)": e.time, "set": e.set, "from": e.source,
                                    "answers": summary(e.axes, e.skip), "change": e.change} for e in rows]),
                     hide_index=True, width="stretch")


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
    if "judge_refused" in st.session_state:
        st.error(st.session_state.pop("judge_refused"), icon=":material/lock:")
    st.caption(f"{len(queue)} disagreement(s), {len(open_)} still open. A decision is stored like any judgement "
               "(annotator 'adjudicated') and overrides the majority in the 'adjudicated' judgement set.")
    show_all = st.toggle("Show decided ones too", key="adj_all")
    for i, d in enumerate(queue if show_all else open_[:20]):
        q, c = corpus.by_id.get(d.query), corpus.by_id.get(d.candidate)
        if q is None or c is None:
            continue
        with st.container(border=True):
            cols = st.columns([1, 1, 2])
            cols[0].image(thumb(str(q.path)), caption="query", output_format="PNG")
            cols[1].image(thumb(str(c.path)), caption="candidate", output_format="PNG")
            votes = ", ".join(f"{n}: {VALUE_TEXT[v]}" for n, v in sorted(d.votes.items()))
            cols[2].markdown(f"**{AXIS_LABELS[d.axis]}** — *{GUIDELINE[d.axis].guide}*  \nVotes: {votes}"
                             + (f"  \nDecided: **{VALUE_TEXT[d.adjudicated]}**" if d.adjudicated is not None else ""))
            b1, b2 = cols[2].columns(2)
            key = f"adj-{i}-{d.axis}"
            pair = (adj, d.query, d.candidate, d.axis)
            b1.button("Relevant", key=key + "-yes", on_click=_adjudicate, args=(*pair, 1))
            b2.button("Not relevant", key=key + "-no", on_click=_adjudicate, args=(*pair, 0))


def _adjudicate(*args) -> None:
    """A decision's button: the service writes it, or refuses (served mode: not an adjudicator)."""
    try:
        judging.adjudicate(*args)
    except judging.WriteRefused as exc:
        st.session_state["judge_refused"] = str(exc)


def sets_provenance(store: JudgementStore, user: str) -> None:
    """Every set with where its lines came from; undo of the latest import of a set."""
    names = store.annotators()
    if not names:
        return
    st.markdown("**Judgement sets and their provenance**")
    for name in names:
        prov = provenance(store, name)
        live = [b for b in prov.imports if not b.undone]
        a, b = st.columns([4, 1], vertical_alignment="center")
        a.markdown(f"`{name}` — " + serve.shown_text("; ".join(prov.lines())))
        if live and not judging.write_refusal(name) and b.button("Undo import", key=f"judge-undo-import-{name}", icon=":material/undo:",
                             help=f"Restore '{name}' byte for byte to what it was before the import of "
                                  f"{serve.shown_text(live[-1].source)}"):
            try:
                judging.undo_import(store, name, by=user)
                st.session_state["judge_imported"] = f"Undid the import of {live[-1].source} into '{name}'."
            except ValueError as exc:
                st.session_state["judge_imported"] = serve.shown_error(exc)
            st.rerun()
    for p in store.problems():
        st.warning(serve.shown_text(p), icon=":material/report:")


def import_export_section(corpus: Corpus, store: JudgementStore, user: str) -> None:
    """Import TREC qrels into a new named judgement set (undoable); export a judgement set."""
    st.subheader("Import")
    st.caption("TREC qrels, one file per axis named qrels_visual.txt, qrels_semantic.txt, qrels_part_whole.txt, "
               "lines `qid iter docid grade`; grades 0 or 1 only (UPAIR is binary), both ids figures of this "
               "corpus, a pair given twice with one grade. Any problem refuses the whole import.")
    own = corpus.benchmark is not None and bool(corpus.benchmark.qrels)
    source = st.radio("From", (["This corpus's own qrels"] if own else []) + ["Uploaded files"], horizontal=True,
                      key="judge_import_from")
    files = None
    if source == "Uploaded files":
        files = st.file_uploader("qrels_<axis>.txt files", type=["txt"], accept_multiple_files=True,
                                 key="judge-qrels-files")
    name = st.text_input("Name of the judgement set to write", key="judge_import_name", placeholder="e.g. upair-2025",
                         help="An import always writes a named set of its own; a name in use needs confirmation.")
    target, problem = judging.import_target(store, name)
    if target and not problem:
        problem = judging.write_refusal(target)
    add = False
    if problem:
        st.error(problem, icon=":material/block:")
    elif target and set_exists(store, target):
        n = len(store.journal(target).judgements())
        st.warning(f"A judgement set named **{target}** exists ({n} judged pair(s)"
                   + (", typed by its annotator" if provenance(store, target).typed else "") + ").",
                   icon=":material/warning:")
        add = st.checkbox(f"Add these judgements to the existing set '{target}'", key="judge_import_add")
    ready = bool(target) and not problem and (add or not set_exists(store, target)) and \
        (source != "Uploaded files" or bool(files))
    in_use = bool(target) and not problem and set_exists(store, target)
    if not target or problem:
        label = "Import"
    elif in_use:
        label = f"Add to set '{target}'" if add else f"'{target}' is in use: tick the box to add to it"
    else:
        label = f"Import into new set '{target}'"
    if st.button(label, key="judge-import", disabled=not ready, icon=":material/upload:"):
        try:
            given = [(f.name, f.getvalue()) for f in files] if source == "Uploaded files" else None
            b = judging.import_qrels(store, corpus, target, given, add=add, by=user)
            st.session_state["judge_imported"] = f"Imported {b.lines} judged pairs into set '{b.set}' from {b.source}."
        except ValueError as exc:  # refused: names every file:line; nothing was written
            st.error(serve.shown_error(exc), icon=":material/block:")
    if "judge_imported" in st.session_state:
        st.success(st.session_state.pop("judge_imported"), icon=":material/task_alt:")
    sets_provenance(store, user)
    st.subheader("Export")
    sets = judgement_sets(store, corpus)
    if not sets:
        st.info("No judgements to export yet.")
        return
    chosen = st.selectbox("Judgement set", sets, key="judge_export_set")
    c1, c2 = st.columns(2)
    c1.download_button("Download TREC qrels (zip, one file per axis)", judging.qrels_zip(store, corpus, chosen),
                       f"qrels-{chosen.replace(':', '-')}.zip", "application/zip", icon=":material/download:")
    if serve.served():  # a folder written on the server, named by its path: the workbench's only
        return
    if c2.button("Write a UPAIR-layout folder", key="judge-export-upair", icon=":material/folder:",
                 help="metadata.json, test/images/ and test/qrels_<axis>.txt of the judged pairs"):
        out = judging.write_upair_export(store, corpus, chosen)
        st.success(f"Written to `{out}` — open it as a corpus with `upair:{out}`.")
