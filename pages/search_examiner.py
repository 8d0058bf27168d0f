"""Examiner widgets of the Search page: a region of the query figure, several figures as one
query, earlier art only, per-hit star / add buttons, hits by patent, citations, the shortlist
and its CSV / HTML report. ``pages/search.py`` calls each in one line."""
from __future__ import annotations

import html

import streamlit as st

from core import Corpus
from core.examiner import COMBINATION_LABELS, NO_DATES, Region, has_dates, query_priority
from dashboard import examiner
from dashboard import serve, services, session
from dashboard.components.cards import fig_label
from pages import search_examiner_classes

CROP_SIZE = 400


# --------------------------------------------------------------------------- the query
def _query_image(corpus: Corpus, query: str):
    from core.figures import open_image

    fig = corpus.by_id.get(query)
    return open_image(fig.path if fig else query)


def query_thumbnail(corpus: Corpus, query: str) -> bytes | None:
    """PNG of the query with its region outlined (None when the whole figure is searched)."""
    reg = examiner.region(query)
    if reg is None:
        return None
    from dashboard.services.examiner import part_thumbnail

    return part_thumbnail(corpus, examiner.query_parts(corpus, query)[0])


def region_label(query: str) -> str:
    """' ▣ x 10–60 %, y 20–80 %' for a query searched by a region ('' otherwise)."""
    reg = examiner.region(query)
    return f" ▣ {reg.label}" if reg else ""


#: session keys: whether the region editor is open, and for which (query, has a box) that was decided
REGION_OPEN, REGION_FOR = "ex-region-open", "_ex_region_for"


def region_tool(corpus: Corpus, query: str) -> None:
    """Draw (drag / resize) a box on the query figure to search by that region only."""
    reg = examiner.region(query)
    title = f"Search a region of the query figure{' · ' + reg.label if reg else ''}"
    # a toggle, not an expander: the cropper must mount visible, or it may measure its frame as 0 px high.
    # One key whose value is set here, never a key per region state: with two keys a stale value of the
    # other one came back (after clearing a box the toggle could not be turned off).
    marker = [query, reg is not None]
    if REGION_OPEN not in st.session_state or st.session_state.get(REGION_FOR) != marker:
        st.session_state[REGION_FOR] = marker  # a new query, or a box searched: open exactly when there is one
        st.session_state[REGION_OPEN] = reg is not None
    if not st.toggle(title, key=REGION_OPEN):
        return
    with st.container(border=True):
        image = _query_image(corpus, query)
        shown = image.copy()
        shown.thumbnail((CROP_SIZE, CROP_SIZE))
        gen = _gen(query)
        left, right = st.columns([3, 2], gap="medium")
        with left:
            _cropper(query, shown, reg, f"ex-crop-{abs(hash(query)) % 10**8}-{gen}")
        with right:
            _region_controls(query, image, examiner.region(query), gen)


def _gen(query: str, name: str = "_ex_crop_gen") -> int:
    return st.session_state.get(name, {}).get(query, 0)


def _cropper(query: str, shown, reg: Region | None, key: str) -> None:
    from streamlit_cropper import st_cropper

    st.caption("Drag the red box or its corners over the part you are looking for; the results follow.")
    default = None
    if reg is not None:
        l, t, r, b = reg.box(shown.size)
        default = (l, r, t, b)
    box = st_cropper(shown, realtime_update=True, box_color="#d62728", return_type="box", key=key,
                     should_resize_image=False, default_coords=default, stroke_width=2)
    if st.session_state.get(key) and box and box.get("width", 0) > 2 and box.get("height", 0) > 2:
        new = Region.from_pixels(box["left"], box["top"], box["width"], box["height"], shown.size)
        if new != reg:
            examiner.set_region(query, new)
            refresh_box(query, "_ex_slider_gen")  # the typed-box sliders show the new box
            st.rerun()


def _region_controls(query: str, image, reg: Region | None, gen: int) -> None:
    if reg is not None:
        st.image(reg.crop(image), caption=f"Searched region · {reg.label}", width=160)
        st.button("Search the whole figure", key="ex-region-clear", icon=":material/crop_free:",
                  on_click=_clear_region, args=(query, gen))
    else:
        st.caption("The whole figure is searched. Move the box, or type one below.")
    cur = reg.as_tuple() if reg else (0.2, 0.2, 0.8, 0.8)
    sgen = f"{gen}-{_gen(query, '_ex_slider_gen')}"
    xs = st.slider("Box, left–right (%)", 0, 100, (round(cur[0] * 100), round(cur[2] * 100)), key=f"ex-xs-{sgen}")
    ys = st.slider("Box, top–bottom (%)", 0, 100, (round(cur[1] * 100), round(cur[3] * 100)), key=f"ex-ys-{sgen}")
    if st.button("Search this box", key="ex-region-apply", icon=":material/crop:"):
        try:
            examiner.set_region(query, Region(xs[0] / 100, ys[0] / 100, xs[1] / 100, ys[1] / 100))
        except ValueError as exc:
            st.error(serve.shown_error(exc))
            return
        refresh_box(query)
        st.rerun()


def refresh_box(query: str, name: str = "_ex_crop_gen") -> None:
    """Redraw the box widgets of ``query`` from the stored region (after it changed elsewhere)."""
    gens = st.session_state.setdefault(name, {})
    gens[query] = gens.get(query, 0) + 1


def _clear_region(query: str, gen: int) -> None:
    examiner.set_region(query, None)
    refresh_box(query)
    st.session_state[REGION_FOR] = [query, False]  # the whole figure again: the editor stays open for a new box
    st.session_state[REGION_OPEN] = True


def query_tools(corpus_spec: str, corpus: Corpus, query: str) -> tuple[str, str]:
    """Added figures, how they are combined, and the prior-art date bound: (combine, before)."""
    extra = examiner.added(query)
    combine = "mean"
    if extra:
        st.markdown(f"**Also in the query** ({len(extra)})")
        for fid in extra:
            a, b = st.columns([1, 3], vertical_alignment="center")
            a.image(services.thumbnail(corpus.by_id[fid].path if fid in corpus.by_id else fid, 96), output_format="PNG")
            b.caption(html.escape(fig_label(corpus, fid)))
            b.button("Remove", key=f"ex-rm-{fid}", type="tertiary", icon=":material/close:",
                     on_click=examiner.remove_added, args=(query, fid))
        session.persist("ex_combine", "mean")
        combine = st.radio("Combine the figures", ["mean", "rrf"], key="ex_combine", horizontal=False,
                           format_func=lambda c: {"mean": "Mean of vectors", "rrf": "Rank fusion (RRF)"}[c],
                           help=COMBINATION_LABELS["mean"] + "; or " + COMBINATION_LABELS["rrf"] + ".")
    st.file_uploader("Add figures to the query", type=["png", "jpg", "jpeg", "tif", "tiff", "gif", "bmp", "webp"],
                     accept_multiple_files=True, key="ex_more", on_change=_on_more, args=(query,),
                     help="Several views of the invention, searched as one query.")
    before = _date_filter(corpus, query)
    search_examiner_classes.class_filter(corpus)
    return combine, before


def _on_more(query: str) -> None:
    from core.figures import ImageError, store_upload

    for up in st.session_state.get("ex_more") or []:
        try:
            if why := serve.session_upload_refused(up.getvalue()):  # served mode's limits per session
                raise ImageError(why)
            path = str(store_upload(up.getvalue(), up.name))
        except ImageError as exc:
            st.session_state["upload_error"] = f"**{up.name}** cannot be used: {serve.shown_error(exc)}"
            continue
        session.note_upload(path, up.name)
        parts = st.session_state.setdefault(examiner.PARTS, {}).setdefault(query, [])
        if path not in parts and path != query:
            parts.append(path)


def _date_filter(corpus: Corpus, query: str) -> str:
    if not has_dates(corpus):
        st.caption(NO_DATES)
        return ""
    figs = [q for q in [query, *examiner.added(query)] if q in corpus.by_id]
    prio = query_priority(corpus, figs)
    if not prio:
        import datetime as dt

        picked = st.date_input("Priority date of the query", value=None, key="ex_prio",
                               min_value=dt.date(1800, 1, 1), help="Needed to keep only earlier art.")
        prio = picked.isoformat() if picked else ""
    else:
        st.caption(f"Query priority date **{prio}**")
    session.persist("ex_before", False)
    on = st.toggle("Only earlier art", key="ex_before", disabled=not prio,
                   help="Keep hits whose patent's priority date is before the query's (undated hits are left out).")
    return prio if on and prio else ""


def search_facts(facts: dict) -> None:
    """One line saying how the query was searched (combination, date bound)."""
    bits = []
    if facts.get("combination") != "single":
        bits.append(f"{facts.get('parts', 'Several')} figures combined by {facts['description']}")
    if facts.get("before"):
        bits.append(f"only earlier art: priority before {facts['before']} ({facts['excluded']} figures left out)")
    if facts.get("classes"):
        bits.append(f"only CPC {', '.join(facts['classes'])} ({facts.get('off_class', 0)} more figures left out)")
    if bits:
        st.caption(" · ".join(bits))


def tie_warnings(results: dict[str, dict], facts: dict) -> None:
    """Say so when an encoder's hits all have one score (it does not tell them apart)."""
    from core.adapt.health import all_tie, tie_message

    if facts.get("combination") == "rrf":  # fused ranks tie by construction less often; scores are not cosines
        return
    for spec, r in results.items():
        if not r.get("error") and all_tie(r.get("scores") or []):
            st.warning(tie_message(services.encoder_label(spec), r["scores"]), icon=":material/drag_handle:")


# --------------------------------------------------------------------------- per hit
def hit_actions(fig, key: str) -> None:
    """Star into the shortlist and add to the query (inline buttons; the row shows the priority year)."""
    corpus_spec = st.session_state.get("_ex_corpus", "")
    starred = fig.id in examiner.shortlist(corpus_spec)
    st.button("★" if starred else "☆", key=f"ex-star-{key}-{fig.id}", type="tertiary",
              help="Remove from the shortlist" if starred else "Star into the shortlist",
              on_click=examiner.toggle_star, args=(corpus_spec, fig.id))
    st.button("+ query", key=f"ex-add-{key}-{fig.id}", type="tertiary", help="Add this figure to the query",
              on_click=examiner.add_to_query, args=(fig.id,))


def settings(corpus: Corpus, query: str) -> tuple[str, str]:
    """(combine, before) as the query tools' widgets hold them (they are drawn later in the run)."""
    combine = st.session_state.get("ex_combine") or "mean"
    if not st.session_state.get("ex_before") or not has_dates(corpus):
        return combine, ""
    prio = query_priority(corpus, [q for q in [query, *examiner.added(query)] if q in corpus.by_id])
    if not prio and st.session_state.get("ex_prio"):
        prio = st.session_state["ex_prio"].isoformat()
    return combine, prio


def results(corpus_spec: str, corpus: Corpus, query: str, encoders: tuple[str, ...], k: int,
            text: str | None) -> tuple[dict[str, dict], dict]:
    """The grid's results: the ordinary search for one whole figure, else the examiner search
    (region, added figures, earlier art only). Kept in the session for the star buttons."""
    combine, before = settings(corpus, query)
    classes = search_examiner_classes.chosen_classes(corpus)
    if examiner.is_plain(query, before, classes):
        res = services.search.search_results(corpus_spec, query, encoders, k, text)
        facts = {"combination": "single", "description": "", "excluded": 0, "before": ""}
    else:
        res, facts = examiner.search(corpus_spec, query, encoders, k, combine, before, text, classes)
    facts = dict(facts, parts=1 + len(examiner.added(query)))
    st.session_state[examiner.RESULTS] = res
    st.session_state["_ex_facts"] = facts  # the filters applied, for the report
    st.session_state["_ex_corpus"] = corpus_spec
    return res, facts
