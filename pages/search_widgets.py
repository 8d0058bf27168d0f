"""Widgets of the Search page: query pickers, the query panel, the breadcrumb, result grids."""
from __future__ import annotations

import html

import streamlit as st

from core import Corpus
from core.corpora import AXES
from dashboard import services, session
from dashboard.components.cards import badges, fig_label, figure_card, figure_caption, figure_details
from dashboard.components.judging import unjudged_badge
from pages import search_explain
from pages.search_examiner import hit_actions, query_thumbnail, region_label
from pages.search_numerals import family_badge

#: What a result's score is, per search mode.
SCORE_LABELS = {"image": ("cosine", "cosine similarity of the query's and the figure's embeddings"),
                "text": ("cosine", "cosine similarity of the text query's and the figure's embeddings")}


def use_example(path: str) -> None:
    """Callback: make a bundled example the query (stored like an upload, with its description)."""
    import json
    from pathlib import Path

    from core.figures import store_upload

    p = Path(path)
    stored = str(store_upload(p.read_bytes(), p.name))
    text = ""
    side = p.with_suffix(".json")
    if side.is_file():
        try:
            meta = json.loads(side.read_text())
            text = str(meta.get("fig_desc") or meta.get("description") or meta.get("title") or "")
        except (OSError, ValueError):
            text = ""
    session.note_upload(stored, p.name, text)
    session.push_query(stored)


def sidecar_text(data: bytes) -> str:
    """The description in a sidecar file: plain text, or a JSON object's fig_desc / description."""
    import json

    raw = data.decode("utf-8", errors="replace").strip()
    if raw.startswith("{"):
        try:
            meta = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(meta, dict):
            return str(meta.get("fig_desc") or meta.get("description") or meta.get("title") or "")
    return raw


def example_picker(corpus: Corpus) -> None:
    """Pick a query from the corpus (benchmark queries first) or a bundled example."""
    qs = list(corpus.benchmark.queries) if corpus.benchmark else []
    qset = set(qs)
    options = qs + [f.id for f in corpus.figures if f.id not in qset]
    st.caption(f"{len(qs)} benchmark queries (with judgements) listed first, marked ★." if qs else
               "This corpus has no judgements; any figure can be a query.")

    def picked() -> None:
        if st.session_state.get("example_pick"):
            session.push_query(st.session_state["example_pick"])

    st.selectbox("Figure", options, index=None, key="example_pick", on_change=picked,
                 format_func=lambda fid: ("★ " if fid in qset else "") + fig_label(corpus, fid),
                 placeholder="Choose a figure…")
    st.caption("Or press **Search with this** under any figure on the Corpus page.")
    examples = services.corpora.bundled_examples()
    if examples:
        st.markdown("**Bundled examples** (synthetic drawings that are not in any corpus)")
        cols = st.columns(max(len(examples), 4))
        for col, path in zip(cols, examples):
            with col:
                st.image(services.thumbnail(str(path), 160), width="stretch", output_format="PNG")
                st.button("Use", key=f"example-{path.stem}", on_click=use_example, args=(str(path),),
                          width="stretch")


def breadcrumb(corpus: Corpus, trail: list[str]) -> None:
    """The previous queries, each named distinctly; clicking one goes back to it."""
    shown = trail[-8:]

    def short(q: str) -> str:
        f = corpus.by_id.get(q)
        if f is None:
            return f"upload · {session.upload_name(q)}{region_label(q)}"
        return f"{f.patent or f.id} · {f.title[:32]}{'…' if len(f.title) > 32 else ''}{region_label(q)}"

    first = [short(q) for q in shown]
    labels = list(first)
    for i, (q, lab) in enumerate(zip(shown, first)):  # same patent and title: name the figure
        if first.count(lab) > 1:
            f = corpus.by_id.get(q)
            labels[i] = f"{f.patent or ''} · figure {f.id}" if f else f"{lab} ({i + 1})"
    st.caption("Query trail — click to go back")
    cols = st.columns(len(shown))
    for i, (col, fid, lab) in enumerate(zip(cols, shown, labels)):
        last = i == len(shown) - 1
        with col:
            st.button(("▶ " if last else "") + lab, key=f"crumb-{i}-{fid}", disabled=last, width="stretch",
                      help=fig_label(corpus, fid), on_click=session.back_to, args=(fid,))


def query_panel(corpus: Corpus, query: str, same_as: str | None = None) -> None:
    """The query image and its metadata (an upload equal to a corpus figure says which)."""
    fig = corpus.by_id.get(query)
    st.markdown("**Query**")
    st.image(query_thumbnail(corpus, query) or services.thumbnail(fig.path if fig else query, 384), width="stretch",
             output_format="PNG")
    if fig is None:
        st.caption(f"Uploaded figure **{html.escape(session.upload_name(query))}** (not in the corpus)")
        return
    if same_as:
        st.info(f"Your upload **{same_as}** is byte-identical to this corpus figure, so it is searched "
                "as that figure (itself left out, judgements shown).", icon=":material/content_copy:")
    figure_details(fig)
    b = corpus.benchmark
    if b is not None and query in b.queries:
        judged = {d for ax in b.qrels.values() for d in ax.get(query, {})}
        st.success(f"Benchmark query · {len(judged)} judged candidates", icon=":material/fact_check:")


def overlap_summary(results: dict[str, dict]) -> None:
    """How many of the top-k each pair of encoders shares (heatmap)."""
    specs = [s for s, r in results.items() if not r["error"]]
    if len(specs) < 2:
        return
    import plotly.graph_objects as go

    names = [services.encoder_label(s) for s in specs]
    sets = [set(results[s]["ids"]) for s in specs]
    z = [[len(a & b) for b in sets] for a in sets]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="%{y} ∩ %{x}: %{z} shared<extra></extra>", showscale=False))
    fig.update_layout(height=60 + 34 * len(specs), margin=dict(l=0, r=0, t=24, b=0), font=dict(size=10),
                      title=dict(text="Shared top-k neighbours", font=dict(size=12)))
    fig.update_xaxes(tickangle=-30)
    st.plotly_chart(fig, width="stretch", key="overlap", config={"displayModeBar": False})


def _marks(corpus: Corpus, query: str | None, fid: str, counts: dict[str, int], k: int, qrels=None) -> str:
    b = corpus.benchmark
    qrels = qrels if qrels is not None else (b.qrels if b is not None else {})  # the chosen judgement set
    extra = ""
    if query is not None and any(query in ax for ax in qrels.values()):
        extra += unjudged_badge(qrels, query, fid) or badges({ax: qrels.get(ax, {}).get(query, {}).get(fid)
                                                              for ax in AXES})
    n = counts.get(fid, 0)
    if n > 1:
        extra += (f" <span title='in the top-{k} of {n} encoders' style='color:#0072B2;"
                  f"font-weight:600'>⬤ {n}</span>")
    return extra


def _score(score: float, kind: str) -> str:
    word, meaning = SCORE_LABELS[kind]
    return f"<span title='{meaning}'>{word} {score:.3f}</span>"


def result_columns(corpus: Corpus, query: str | None, results: dict[str, dict], k: int, key: str = "res",
                   score_kind: str = "image", compact: bool = True, self_hit: str | None = None,
                   qrels=None) -> None:
    """One column per encoder, rank rows aligned across columns: rank, labelled score, V/S/P
    badges, agreement marks, 'Use as query'. ``compact`` shows one line per hit."""
    specs = list(results)
    counts: dict[str, int] = {}
    for r in results.values():
        for fid in r["ids"]:
            counts[fid] = counts.get(fid, 0) + 1
    head = st.columns(len(specs))
    for col, spec in zip(head, specs):
        with col:
            st.markdown(f"#### {services.encoder_label(spec)}")
            if results[spec]["error"]:
                st.caption(f":material/block: {results[spec]['error']}")
    depth = max((len(r["ids"]) for r in results.values() if not r["error"]), default=0)
    box = st.container(key=f"{key}-grid-{'compact' if compact else 'cards'}")
    with box:
        for rank in range(1, depth + 1):
            cols = st.columns(len(specs), border=not compact)
            for col, spec in zip(cols, specs):
                r = results[spec]
                if r["error"] or rank > len(r["ids"]):
                    continue
                fid, score = r["ids"][rank - 1], r["scores"][rank - 1]
                fig = corpus.by_id[fid]
                header = f"<b>#{rank}</b> · {_score(score, score_kind)}"
                if fid == self_hit:
                    header += " · <b title='the file you uploaded is this corpus figure'>= your upload</b>"
                header += family_badge(r, fid)
                with col:
                    if compact:
                        _compact_row(fig, header, _marks(corpus, query, fid, counts, k, qrels),
                                     f"{key}-{spec}-{rank}", (query, spec))
                    else:
                        figure_card(fig, header=header, extra_html=_marks(corpus, query, fid, counts, k, qrels),
                                    button="Use as query", key=f"{key}-{spec}-{rank}", on_click=session.push_query)
                        with st.container(horizontal=True, gap="small"):
                            hit_actions(fig, f"{key}-{spec}-{rank}")
                            search_explain.explain_button(query, spec, fig, f"{key}-{spec}-{rank}")
                    search_explain.hit_panel(st.session_state.get("_ex_corpus", ""), query, spec, fid)


def patent_line(fig) -> str:
    """HTML: the patent number linked to Espacenet and the priority year (what an examiner scans for)."""
    parts = []
    if fig.patent:
        parts.append(f"<a href='{html.escape(fig.espacenet_url)}' target='_blank' rel='noopener' "
                     f"title='{html.escape(fig.patent)} on Espacenet'>{html.escape(fig.patent)}</a>")
    if fig.priority_date:
        parts.append(f"<span title='priority date {fig.priority_date}'>{fig.priority_date[:4]}</span>")
    return " · ".join(parts)


def _compact_row(fig, header: str, marks: str, key: str, explain: tuple = (None, "")) -> None:
    """One hit in three short lines: thumbnail beside rank · score · patent (Espacenet) · year, the marks
    and the title (one line, full on hover), and the actions (which wrap rather than being cut).

    Two elements and the buttons: the thumbnail is inline in the text's HTML (held to the left
    by ``COMPACT_CSS``), not an image element in a column of its own. Every element is a message
    the server sends on every run, and a results page holds ~30 hits: fewer per hit is what
    a search costs the served app (README, served load)."""
    pat = patent_line(fig)
    st.markdown(f"<div class='upair-hit'><img class='upair-thumb' alt='{html.escape(fig.id)}' "
                f"src='{services.thumbnail_uri(str(fig.path), 128)}'><div class='upair-line'>{header}"
                + (f" · <span class='upair-patent'>{pat}</span>" if pat else "") + "</div>"
                f"<div style='display:flex;gap:4px;align-items:baseline'><span class='upair-marks' "
                f"style='flex:none'>{marks}</span><span class='upair-title' style='min-width:0' "
                f"title='{html.escape(fig.title)}'>{html.escape(fig.title)}</span></div></div>",
                unsafe_allow_html=True)
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key=f"acts-{key}"):
        st.button("Use as query", key=f"{key}-{fig.id}", on_click=session.push_query, args=(fig.id,),
                  type="tertiary", icon=":material/search:")
        hit_actions(fig, key)  # star, add to the query
        search_explain.explain_button(*explain, fig, key)  # heatmap of where it matches


COMPACT_CSS = """
<style>
div[class*="-grid-compact"], div[class*="-grid-compact"] [data-testid="stVerticalBlock"] { gap: 0.15rem; }
div[class*="-grid-compact"] [data-testid="stHorizontalBlock"] { gap: 0.5rem; }
div[class*="st-key-acts-"] { flex-wrap: wrap; row-gap: 0; column-gap: 0.35rem; }  /* actions wrap, never cut */
div[class*="st-key-acts-"] > * { flex: none; width: auto; }
div[class*="st-key-acts-"] p { white-space: nowrap; }
div[class*="-grid-compact"] [data-testid="stElementContainer"] { margin: 0; }
div[class*="-grid-compact"] [data-testid="stMarkdownContainer"] { margin-bottom: 0; }
div[class*="-grid-compact"] [data-testid="stMarkdownContainer"] p { margin: 0; }
div[class*="-grid-compact"] button[kind="tertiary"] { min-height: 0; height: 1.15rem; padding: 0; line-height: 1; }
div[class*="-grid-compact"] button[kind="tertiary"] p { font-size: 0.72rem; }
div[class*="-grid-compact"] [data-testid="stImage"] img { max-height: 56px; object-fit: contain; }
/* a hit: its thumbnail held in the left 22 % of the column, beside its text and its actions */
.upair-hit { position: relative; padding-left: calc(22% + 0.5rem); font-size: 0.78em;
  line-height: 1.35; }
.upair-thumb { position: absolute; left: 0; top: 0; width: 22%; height: 54px; object-fit: contain; }
div[class*="-grid-compact"] div[class*="st-key-acts-"] { padding-left: calc(22% + 0.5rem); }
.upair-title { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.upair-line, .upair-marks { overflow-wrap: anywhere; }
.upair-patent { white-space: nowrap; }
</style>
"""
