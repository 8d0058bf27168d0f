"""Judge page: three-axis relevance judgements of a queue of pairs, agreement, adjudication."""

import streamlit as st

from core.annotation.judgements import ADJUDICATOR, JudgementStore, check_annotator
from core.annotation.judgements_queue import blind_order, progress, resume_at
from core.annotation.pooling import benchmark_pool, list_pools, load_pool
from core.corpora.base import AXES
from dashboard import identity, serve, services, sidebar
from dashboard.components.status import load_or_stop
from pages import judge_widgets

ctx = sidebar.context()
corpus = load_or_stop(ctx.corpus_spec)
st.title("Judge")
st.markdown(judge_widgets.CHIP_CSS, unsafe_allow_html=True)
if corpus.synthetic:
    st.caption(":material/science: Synthetic demo corpus — generated drawings; judging it tests the tool.")

with ctx.slot or st.sidebar:  # at the top of the sidebar, not below the encoder lists
    st.markdown("### Annotator")
    name = identity.annotator_name()  # workbench: a typed name; served (make serve): who signed in
if not name.strip():
    identity.stop_signed_out()
try:
    annotator = check_annotator(name)
    if annotator == ADJUDICATOR:
        raise ValueError(f"'{ADJUDICATOR}' is where adjudication decisions are kept; type your own name "
                         "(adjudicate under Adjudicate)")
except ValueError as exc:
    st.error(serve.shown_error(exc))
    st.stop()
identity.require_write(annotator)  # served mode: the signed-in annotator's own set (always, by construction)

store = JudgementStore(corpus.name)
journal = store.journal(annotator)
pools = (["benchmark"] if corpus.benchmark is not None else []) + list_pools(store)
requested = st.session_state.pop("judge_request_pool") if "judge_request_pool" in st.session_state else None
# (a pool made by "Judge these" on Scores or Search)
if requested in pools:
    st.session_state["judge_queue"] = requested
if "judge_queue" in st.session_state and st.session_state["judge_queue"] not in pools:  # another corpus's
    del st.session_state["judge_queue"]
    st.session_state["judge_mode"] = "Judge"
top = st.columns([3, 2], vertical_alignment="center")
mode = top[0].segmented_control("Mode", ["Judge", "Agreement", "Adjudicate", "Import / export"], key="judge_mode",
                                default="Judge", label_visibility="collapsed") or "Judge"

# ---- the queue ------------------------------------------------------------------------------
if mode == "Judge":
    if not pools:
        st.info("Nothing to judge yet: this corpus has no benchmark queries. Make a pool with **Judge these** "
                "on the Scores or Search page.", icon=":material/playlist_add:")
        st.stop()
    queue = top[1].selectbox("Queue", pools, key="judge_queue", label_visibility="collapsed",
                         format_func=lambda p: "All benchmark candidates" if p == "benchmark" else f"Pool: {p}")
    pool = benchmark_pool(corpus) if queue == "benchmark" else load_pool(store, queue)
    order = blind_order([p for p in pool.pairs if p[0] in corpus.by_id and p[1] in corpus.by_id], annotator, pool.name)
    if not order:
        st.warning(f"The queue **{queue}** holds no pair whose figures are in this corpus; pick another queue "
                   "or the corpus it was pooled from.", icon=":material/playlist_remove:")
        st.stop()
    judged = journal.judgements()
    positions = st.session_state.setdefault("judge_pos", {})
    pkey = f"{corpus.name}|{annotator}|{pool.name}"
    if pkey not in positions:  # resume at the first pair not done
        positions[pkey] = resume_at(order, judged)
    # whole judgements typed on the keyboard (one event each, applied in order, only to their pair)
    judge_widgets.apply_keys(journal, order, positions, pkey, key=judge_widgets.KEYS_KEY)
    pos = min(max(positions[pkey], 0), len(order))
    judged = journal.judgements()

    def move(step: int) -> None:
        positions[pkey] = min(max(pos + step, 0), len(order))

    def answer(axis: str, value) -> None:
        q, c = order[pos]
        before = journal.judgements().get((q, c))
        axes = dict(before.axes) if before and not before.skip else {}
        axes[axis] = value
        journal.record(q, c, axes)
        if st.session_state.get("judge_auto", True) and all(a in axes for a in AXES):
            move(1)

    def skip() -> None:
        journal.record(*order[pos], skip=True)
        move(1)

    def undo() -> None:
        before = journal.undo()
        if before is not None and (before.query, before.candidate) in order:
            positions[pkey] = order.index((before.query, before.candidate))

    pr = progress(order, judged)
    st.progress(pr.done / max(pr.total, 1),
                text=f"{pr.done} of {pr.total} pairs judged · "
                     f"{pr.queries_done} of {len(pr.per_query)} queries complete")
    nav = st.container(horizontal=True, vertical_alignment="center", gap="small")
    nav.button("Back", key="judge-back", on_click=move, args=(-1,),
               disabled=pos == 0, icon=":material/arrow_back:", width="content")
    nav.button("Next", key="judge-next", on_click=move, args=(1,),
               disabled=pos >= len(order), icon=":material/arrow_forward:", width="content")
    nav.button("Skip", key="judge-skip", on_click=skip,
               disabled=pos >= len(order), icon=":material/skip_next:", width="content")
    nav.button("Undo", key="judge-undo", on_click=undo,
               icon=":material/undo:", width="content",
               help="Withdraw your latest answer (it stays in the journal).")
    zoom = nav.select_slider("Zoom", [1.0, 1.5, 2.0, 3.0], key="judge_zoom", format_func=lambda z: f"Zoom {z:.0%}",
                               label_visibility="collapsed", width=220)
    nav.toggle("Auto-advance", value=True, key="judge_auto",
               help="Go to the next pair once all three axes are answered.")
    judge_widgets.key_catcher(journal, order, pos)
    if pos >= len(order):
        st.success(f"All {len(order)} pairs of this queue are judged. Thank you, {annotator}! "
                   "Go **Back** to revise, or pick another queue.", icon=":material/task_alt:")
        st.stop()
    q, c = order[pos]
    done_q, n_q = pr.per_query[q]
    qi = list(pr.per_query).index(q) + 1
    cur = judged.get((q, c))
    st.caption(f"Pair {pos + 1} of {len(order)} · query {qi} of {len(pr.per_query)}, {done_q} of its {n_q} "
               f"candidate(s) judged · {judge_widgets.current_summary(cur)}")
    left, right, panel = st.columns([5, 5, 5], gap="medium")
    with left:
        judge_widgets.figure_panel(corpus.by_id[q], "Query", zoom, 440)
    with right:
        judge_widgets.figure_panel(corpus.by_id[c], "Candidate", zoom, 440)
    with panel:
        for axis in AXES:
            judge_widgets.score_card(axis, cur, answer, "judge")
    st.caption("Keys: 1 / 2 / 3 visual yes / no / unsure · 4 / 5 / 6 semantic · 7 / 8 / 9 part-whole — the "
               "three keys of a pair are stored together, then the next pair comes · ← back · → next · "
               "S skip · U undo. Type at any speed: keys wait in the browser until the server has stored "
               "the pair before. "
               "Encoders, ranks and scores are hidden."
               + ("" if serve.served() else f" Journal: `{journal.path}`"))  # no server path in served mode
    judge_widgets.history_panel(store, (q, c))

elif mode == "Agreement":
    judge_widgets.agreement_section(store)

elif mode == "Adjudicate":
    identity.require_write(ADJUDICATOR)
    judge_widgets.adjudication_section(corpus, store, services.thumbnail)

else:
    judge_widgets.import_export_section(corpus, store, annotator)
