"""Examiner panels below the Search results: hits by patent (with a whole patent opened beside
the query), citations found per encoder, the shortlist with notes and its CSV / HTML report,
and the demo examples that show each feature."""
from __future__ import annotations

import html

import streamlit as st

from core import Corpus
from core.examiner import (ExaminerQuery, citation_recall, corpus_citations, group_by_patent, parse_citations,
                           patent_figures, render_report, report_filters)
from dashboard import examiner
from dashboard import serve, services, session, workspace
from dashboard.components.cards import fig_label
from pages import search_examiner_classes, search_explain


def panels(corpus_spec: str, corpus: Corpus, query: str, results: dict[str, dict], k: int, combine: str) -> None:
    """Tabs: by patent · citations · shortlist & report."""
    sl = examiner.shortlist(corpus_spec)
    t1, t2, t3 = st.tabs(["Patents among the hits", "Citations", f"Shortlist & report ({len(sl.items)})"])
    enc_results = examiner.as_encoder_results(results)
    own = sorted({corpus.by_id[q].patent for q in [query, *examiner.added(query)] if q in corpus.by_id
                  and corpus.by_id[q].patent})
    with t1:
        by_patent(corpus, query, enc_results, own)
    with t2:
        citations(corpus, enc_results, own, k)
    with t3:
        shortlist_panel(corpus_spec, corpus, query, enc_results, own, combine)


def by_patent(corpus: Corpus, query: str, results, own: list[str]) -> None:
    """Hits grouped per patent, filtered by CPC section and without the query's own patent."""
    import pandas as pd

    a, b = st.columns([3, 2])
    sections = a.multiselect("CPC sections", corpus.sections, key="ex_sections", placeholder="all sections")
    exclude = b.checkbox("Exclude the query's own patent", value=True, key="ex_exclude_own", disabled=not own)
    groups = group_by_patent(corpus, results, sections=sections, exclude_patents=own if exclude else ())
    if not groups:
        st.info("No patent among the hits passes these filters.", icon=":material/filter_alt_off:")
        return
    specs = list(results)
    rows = [{"patent": g.patent or g.key, "CPC": g.section, "title": g.title, "priority": g.priority_date or "—",
             "figures hit": f"{g.n_hits} / {g.total_figures}", "encoders": g.n_encoders,
             **{f"rank · {services.encoder_label(s)}": g.best_rank.get(s) for s in specs}} for g in groups]
    frame = pd.DataFrame(rows)
    for s in specs:  # "—" where no figure of the patent is in that list (not a raw "None")
        col = f"rank · {services.encoder_label(s)}"
        frame[col] = ["—" if pd.isna(v) else str(int(v)) for v in frame[col]]
    st.caption("One row per patent among every encoder's hits, best first; *rank* is the best rank of any of "
               "its figures in that encoder's list (—: none of its figures is in that list).")
    st.dataframe(frame, hide_index=True, width="stretch", key="ex_patents",
                 column_config={"title": st.column_config.TextColumn(width="medium")})
    pick = st.selectbox("Open all figures of a patent", [g.patent for g in groups if g.patent], index=None,
                        key="ex_open_patent", placeholder="Choose a patent…")
    if pick:
        whole_patent(corpus, query, pick, next(g for g in groups if g.patent == pick).figures)


def whole_patent(corpus: Corpus, query: str, patent: str, hit: tuple[str, ...]) -> None:
    """Every figure of ``patent`` (hits marked), and one of them large beside or over the query."""
    figs = patent_figures(corpus, patent)
    st.markdown(f"**{html.escape(patent)}** · {html.escape(corpus.by_id[figs[0]].title)} · {len(figs)} figures")
    cols = st.columns(min(len(figs), 8))
    for i, fid in enumerate(figs):
        with cols[i % len(cols)]:
            st.image(services.thumbnail(str(corpus.by_id[fid].path), 160),
                     caption=("● hit · " if fid in hit else "") + fid, width="stretch", output_format="PNG")
    a, b = st.columns([2, 1])
    other = a.selectbox("Compare with the query", figs, index=figs.index(hit[0]) if hit and hit[0] in figs else 0,
                        key=f"ex_cmp-{patent}")
    mode = b.segmented_control("Show", ["Side by side", "Overlay"], default="Side by side", key="ex_cmp_mode")
    q_img = services.thumbnail(corpus.by_id[query].path if query in corpus.by_id else query, 512)
    h_img = services.thumbnail(str(corpus.by_id[other].path), 512)
    if mode == "Overlay":
        st.image(overlay(q_img, h_img), caption="query in red, this figure in blue", width=560)
    else:
        c1, c2 = st.columns(2)
        c1.image(q_img, caption="query", width="stretch")
        c2.image(h_img, caption=f"{patent} · {other}", width="stretch")
    search_explain.patent_compare(corpus, query, other)  # heatmap: where it agrees with the query
    st.button("Use this figure as the query", key=f"ex-use-{other}", on_click=session.push_query, args=(other,))


def overlay(a_png: bytes, b_png: bytes) -> bytes:
    """Two line drawings on one white square: the first in red, the second in blue."""
    import io

    from PIL import Image, ImageChops, ImageOps

    a = Image.open(io.BytesIO(a_png)).convert("L")
    b = Image.open(io.BytesIO(b_png)).convert("L").resize(a.size)
    red = ImageOps.colorize(a, black=(214, 39, 40), white=(255, 255, 255))
    blue = ImageOps.colorize(b, black=(31, 119, 180), white=(255, 255, 255))
    out = io.BytesIO()
    ImageChops.multiply(red, blue).save(out, "PNG")
    return out.getvalue()


def citations(corpus: Corpus, results, own: list[str], k: int) -> None:
    """Which of the query patent's citations each encoder finds in its top k, and recall@k."""
    cits, path = corpus_citations(corpus)
    up = st.file_uploader("Citations file (JSON {citing: [cited…]} or CSV citing,cited)", type=["json", "csv", "tsv",
                          "txt"], key="ex_cit_file")
    if up is not None:
        try:
            cits, path = parse_citations(up.getvalue(), up.name), up.name
        except ValueError as exc:
            st.error(serve.shown_error(exc))
    patents = own or [p for p in [st.text_input("Patent number of the query", key="ex_cit_patent").strip()] if p]
    if not cits:
        st.info("This corpus has no citations file (citations_data.json); give one above.", icon=":material/info:")
        return
    if not patents:
        st.info("The query has no patent number; type it above to look up its citations.", icon=":material/info:")
        return
    checks = citation_recall(corpus, patents, results, cits, k)
    first = next(iter(checks.values()))
    st.caption(f"{', '.join(patents)} cites {len(first.cited)} patents ({html.escape(serve.shown_path(path))}); "
               f"{len(first.in_corpus)} of them are in this corpus.")
    if not first.in_corpus:
        st.info("None of the cited patents is in this corpus, so no encoder can find one: recall is undefined.",
                icon=":material/info:")
        return
    import pandas as pd

    rows = [{"encoder": services.encoder_label(s), "found": f"{len(c.found)} / {len(c.in_corpus)}",
             f"recall@{k}": c.recall, "cited patents found (rank)": ", ".join(f"{p} ({r})" for p, r in c.found.items())}
            for s, c in checks.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ex_citations",
                 column_config={f"recall@{k}": st.column_config.NumberColumn(format="%.2f")})


def shortlist_panel(corpus_spec: str, corpus: Corpus, query: str, results, own: list[str], combine: str) -> None:
    """The starred hits with notes; CSV and HTML report downloads."""
    sl = examiner.shortlist(corpus_spec)
    if not sl.items:
        st.caption("Star hits (☆ beside each result) to collect them here; the shortlist is saved on the server "
                   "with your workspace (the ws= in the address) and stays through reloads and restarts.")
    for i, item in enumerate(sl.items):
        a, b, cat, c = st.columns([1, 5, 1.7, 1], vertical_alignment="center")
        search_examiner_classes.category_picker(corpus_spec, item.figure, item.category, cat)
        a.image(services.thumbnail(str(corpus.by_id[item.figure].path), 96) if item.figure in corpus.by_id else None,
                output_format="PNG")
        ranks = ", ".join(f"{services.encoder_label(h.encoder)} #{h.rank} ({h.score:.3f})" for h in item.hits)
        b.markdown(f"**{html.escape(item.patent or item.figure)}** · figure {html.escape(item.figure)} · "
                   f"{html.escape(item.title)}  \n"
                   f"<span style='font-size:0.8em'>{html.escape(ranks or 'starred from an earlier query')}</span>",
                   unsafe_allow_html=True)
        nk = f"ex-note-{item.figure}"
        b.text_input("Note", value=item.note, key=nk, on_change=examiner.set_item_note,
                     args=(corpus_spec, item.figure, nk),
                     label_visibility="collapsed", placeholder="Note on this hit")
        c.button("Remove", key=f"ex-unstar-{i}", on_click=examiner.toggle_star, args=(corpus_spec, item.figure),
                 type="tertiary", icon=":material/close:")
    st.text_area("Examiner's notes", value=sl.notes, key="ex_notes", on_change=examiner.set_notes,
                 args=(corpus_spec, "ex_notes"))
    clear_button(corpus_spec, sl)
    parts = examiner.query_parts(corpus, query)
    if not parts:
        return
    q = ExaminerQuery(parts, combine)
    checks = {}
    cits, _ = corpus_citations(corpus)
    if cits and own:
        depth = max((len(r.neighbours) for r in results.values()), default=0)
        checks = citation_recall(corpus, own, results, cits, depth)
    before = st.session_state.get("_ex_facts", {}).get("before", "")
    classes = tuple(st.session_state.get("_ex_facts", {}).get("classes", ()))
    groups = group_by_patent(corpus, results, exclude_patents=own)
    filters = report_filters(before, classes)

    def html_report() -> str:  # built when the button is pressed (its pictures cost ~0.3 s), not on every run
        return render_report(corpus, q, sl, groups, list(results), checks, filters=filters)

    d1, d2 = st.columns(2)
    d1.download_button("Shortlist as CSV", sl.to_csv(), file_name="shortlist.csv", mime="text/csv",
                       key="ex_csv", icon=":material/table:", width="stretch")
    d2.download_button("Report (HTML, offline)", html_report, file_name="prior-art-report.html", mime="text/html",
                       key="ex_html", icon=":material/description:", width="stretch")


def clear_button(corpus_spec: str, sl) -> None:
    """Clear the shortlist, after asking (it is saved with the workspace; clearing cannot be undone)."""
    if not (sl.items or sl.notes):
        return
    if not st.session_state.get("_ex_confirm_clear"):
        st.button("Clear the shortlist…", key="ex_clear", icon=":material/delete_sweep:", type="tertiary",
                  on_click=lambda: st.session_state.update(_ex_confirm_clear=True))
        return
    n = len(sl.items)
    what = "the notes" if not n else ("the starred figure" if n == 1 else f"all {n} starred figures") + " and the notes"
    st.warning(f"Remove {what} from this corpus's shortlist? This cannot be undone.", icon=":material/delete_sweep:")
    a, b = st.columns(2)
    a.button("Yes, clear the shortlist", key="ex_clear_yes", type="primary", on_click=workspace.clear_shortlist,
             args=(corpus_spec,), width="stretch")
    b.button("Cancel", key="ex_clear_no", on_click=lambda: st.session_state.pop("_ex_confirm_clear", None),
             width="stretch")


# --------------------------------------------------------------------------- demo examples
def demo_examples(corpus: Corpus) -> list[tuple[str, str, dict]]:
    """(label, help, state) examples on the demo corpus, one per examiner feature."""
    if corpus.kind != "demo":
        return []
    from core.examiner import corpus_citations as _cc

    figs = corpus.figures
    full = [f for f in figs if f.id.endswith("-1")]
    late = max(full, key=lambda f: f.priority_date)
    cits, _ = _cc(corpus)
    cited = max(full, key=lambda f: (len(cits.get(f.patent, ())), f.id))
    second = next(f for f in figs if f.patent == full[3].patent and f.id != full[3].id)
    return [
        ("Region of a figure", "the upper-left part of an assembly drawing",
         {"q": full[2].id, "region": [0.05, 0.05, 0.55, 0.55]}),
        ("Two figures as one query", "two views of one invention, combined",
         {"q": full[3].id, "added": [second.id]}),
        ("Only earlier art", f"the latest patent ({late.priority_date}), hits before it",
         {"q": late.id, "before": True}),
        ("Citations found", f"{cited.patent}: {len(cits.get(cited.patent, ()))} cited patents",
         {"q": cited.id}),
    ]


def examples_row(corpus: Corpus) -> None:
    """Buttons that set up each demo example."""
    items = demo_examples(corpus)
    if not items:
        return
    st.caption("Examiner examples on the demo corpus")
    cols = st.columns(len(items))
    for i, (col, (label, help_, state)) in enumerate(zip(cols, items)):
        col.button(label, key=f"ex-example-{i}", help=help_, on_click=_apply_example, args=(state,),
                   width="stretch")


def _apply_example(state: dict) -> None:
    q = state["q"]
    session.push_query(q)
    examiner.set_region(q, None)
    st.session_state.setdefault(examiner.PARTS, {})[q] = list(state.get("added", []))
    if state.get("region"):
        from core.examiner import Region

        examiner.set_region(q, Region(*state["region"]))
    st.session_state["ex_before"] = bool(state.get("before"))
    from pages.search_examiner import refresh_box

    refresh_box(q)


__all__ = ["by_patent", "citations", "demo_examples", "examples_row", "fig_label", "overlay", "panels",
           "shortlist_panel", "whole_patent"]
