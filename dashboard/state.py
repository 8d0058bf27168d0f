"""Shared app state: the sidebar choices and cached wrappers around ``core``.

Every cache here is keyed by short strings (corpus spec, encoder spec, figure id), never
by arrays or models. Models and indices live in ``st.cache_resource`` (shared across
sessions, thread-safe in core); frames and coordinates in ``st.cache_data``.
"""
from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from core import Corpus, DatasetError, get_encoder, known_corpora, known_encoders, load_corpus
from core.figures import ImageError, open_image

if TYPE_CHECKING:
    import pandas as pd

CTX_KEY = "_upair_ctx"
PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
#: name → (file, title, icon); the first is the default page.
PAGE_TABLE = {
    "overview": ("overview.py", "Corpus", ":material/grid_view:"),
    "search": ("search.py", "Search", ":material/image_search:"),
    "scores": ("scores.py", "Scores", ":material/leaderboard:"),
    "map": ("map.py", "Map", ":material/scatter_plot:"),
}


def pages() -> dict[str, "st.Page"]:
    """The app's pages (``st.Page`` objects), usable with ``st.switch_page``."""
    return {name: st.Page(str(PAGES_DIR / f), title=t, icon=i, default=(name == "overview"))
            for name, (f, t, i) in PAGE_TABLE.items()}


@dataclass(frozen=True)
class Context:
    """What the sidebar selected for this run."""

    corpus_spec: str
    encoders: tuple[str, ...]
    k: int


@st.cache_resource(show_spinner="Loading corpus…", max_entries=8)
def corpus(spec: str) -> Corpus:
    """The corpus for ``spec`` (the demo is generated on first use)."""
    return load_corpus(spec)


def encoder_status() -> list[dict]:
    """One row per known encoder: spec, label, kind, available, reason, fix."""
    from core import config

    return _encoder_status(str(config.cache_dir()), os.environ.get("UPAIR_ENCODERS", ""))


@st.cache_data(show_spinner=False, ttl=300)
def _encoder_status(cache_root: str, extra: str) -> list[dict]:
    rows = []
    for spec in known_encoders():
        enc = get_encoder(spec)
        av = enc.availability()
        rows.append({"spec": spec, "label": enc.label or spec, "kind": enc.kind,
                     "available": av.ok, "reason": av.reason, "fix": av.fix})
    return rows


def encoder_label(spec: str) -> str:
    """Short display name of an encoder."""
    return get_encoder(spec).label or spec


@st.cache_data(show_spinner=False, max_entries=20_000)
def thumbnail(path: str, size: int = 256) -> bytes:
    """PNG bytes of a figure scaled to fit ``size`` px (cached by path)."""
    try:
        im = open_image(path)
    except ImageError:
        from PIL import Image

        im = Image.new("RGB", (size, size), (240, 240, 240))
    im.thumbnail((size, size))
    from PIL import Image

    square = Image.new("RGB", (size, size), "white")  # equal heights keep grids aligned
    square.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    im = square
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False)
    return buf.getvalue()


@st.cache_resource(show_spinner=False, max_entries=32)
def index(corpus_spec: str, spec: str, _progress=None):
    """Embeddings + faiss index of a corpus for one encoder (built on first use).

    ``_progress`` (not part of the cache key) receives build progress.
    """
    from core.search import get_index

    return get_index(corpus(corpus_spec), spec, progress=_progress, show_bar=False)


def ensure_indices(corpus_spec: str, specs: tuple[str, ...]) -> dict[str, str]:
    """Load or build every index, with a progress bar and ETA while encoding; {spec: error}."""
    from core.embed import EncoderUnavailable

    errors: dict[str, str] = {}
    for spec in specs:
        bar = None
        start = time.monotonic()

        def progress(done: int, total: int, label: str) -> None:
            nonlocal bar
            if bar is None:
                bar = st.progress(0.0, text=f"Encoding {label}…")
            rate = done / max(time.monotonic() - start, 1e-6)
            eta = (total - done) / rate if rate > 0 else 0
            bar.progress(done / total, text=f"Encoding {label}: {done}/{total} · about {eta:.0f} s left")

        try:
            index(corpus_spec, spec, _progress=progress)
        except (EncoderUnavailable, ValueError, RuntimeError, OSError) as exc:
            errors[spec] = str(exc)
        finally:
            if bar is not None:
                bar.empty()
    return errors


def reload_corpus() -> None:
    """Callback: forget the loaded corpora and indices so they are read again from disk."""
    corpus.clear()
    index.clear()


def keep(key: str) -> None:
    """Let widget ``key`` keep its value across ``st.switch_page`` (which resets widgets).

    Call before creating the widget; the value is remembered at the end of ``sidebar``.
    """
    kept = st.session_state.setdefault("_kept", {})
    if key not in st.session_state and key in kept:
        st.session_state[key] = kept[key]


def remember(*keys: str) -> None:
    """Store the current values of widgets for ``keep``."""
    kept = st.session_state.setdefault("_kept", {})
    for key in keys:
        if key in st.session_state:
            kept[key] = st.session_state[key]


def sidebar() -> Context:
    """Render the shared sidebar (corpus, encoders, k) and return the selection."""
    choices = known_corpora()
    labels = {c.spec: c.label for c in choices}
    with st.sidebar:
        st.markdown("### Corpus")
        options = [c.spec for c in choices] + ["custom"]
        for key in ("corpus_pick", "corpus_custom", "encoders", "k"):
            keep(key)
        picked = st.session_state.get("corpus_pick")
        if picked is not None and picked not in options:  # a spec that is not listed: treat as typed in
            st.session_state["corpus_custom"] = picked
            st.session_state["corpus_pick"] = "custom"
        pick = st.selectbox("Corpus", options, format_func=lambda s: labels.get(s, "Other folder…"),
                            key="corpus_pick", label_visibility="collapsed")
        spec = pick
        if pick == "custom":
            spec = st.text_input("Folder or spec", key="corpus_custom",
                                 placeholder="upair:/data/upair  ·  query-patents:/data/qp  ·  /any/folder",
                                 help="A UPAIR folder, a query-patents folder, or any folder of figures.").strip()
            if not spec:
                st.info("Enter a folder path to load it.")
                st.stop()
        st.button("Reload from disk", key="reload_corpus", on_click=reload_corpus, icon=":material/refresh:",
                  help="Re-read the corpus folder (new or changed figures are encoded; the rest comes from the cache).")
        st.markdown("### Encoders")
        status = encoder_status()
        available = [r["spec"] for r in status if r["available"]]
        if "encoders" in st.session_state:  # drop encoders that became unavailable
            st.session_state["encoders"] = [e for e in st.session_state["encoders"] if e in available]
        chosen = st.multiselect("Encoders", available, default=None if "encoders" in st.session_state else available,
                                key="encoders",
                                format_func=encoder_label, label_visibility="collapsed")
        off = [r for r in status if not r["available"]]
        if off:
            with st.expander(f"{len(off)} unavailable", expanded=False):
                for r in off:
                    st.markdown(f"<span style='color:#888'>**{r['label']}** — {r['reason']}</span>",
                                unsafe_allow_html=True)
                    if r["fix"]:
                        st.caption(f"Fix: {r['fix']}")
        k = st.slider("Neighbours (k)", 1, 50, 10 if "k" not in st.session_state else None, key="k")
    remember("corpus_pick", "corpus_custom", "encoders", "k")
    return Context(spec, tuple(chosen), int(k))


def context() -> Context:
    """The selection made in the sidebar by ``dashboard/app.py`` for this run."""
    return st.session_state[CTX_KEY]


def load_or_stop(spec: str) -> Corpus:
    """The corpus, or a clear error on the page and stop."""
    try:
        return corpus(spec)
    except (DatasetError, OSError, ValueError) as exc:
        st.error(f"Could not load corpus **{spec}**: {exc}")
        st.stop()


def push_query(fid: str) -> None:
    """Make a corpus figure the current query, remembering the previous ones (breadcrumb)."""
    trail: list[str] = st.session_state.setdefault("query_trail", [])
    if not trail or trail[-1] != fid:
        trail.append(fid)
    st.session_state["query_trail"] = trail[-12:]
    st.session_state["query_source"] = "corpus"


def loaded_indices(corpus_spec: str, encoders: tuple[str, ...]) -> dict:
    """The in-memory indices of the encoders that can run (the others report why in search)."""
    from core.embed import EncoderUnavailable

    out = {}
    for spec in encoders:
        try:
            out[spec] = index(corpus_spec, spec)
        except (EncoderUnavailable, ValueError, RuntimeError, OSError):
            continue
    return out


@st.cache_data(show_spinner=False, max_entries=512)
def search_results(corpus_spec: str, query: str, encoders: tuple[str, ...], k: int) -> dict[str, dict]:
    """Per encoder: ranked ids, scores and error for a query (figure id or upload path)."""
    from core.search import search

    res = search(corpus(corpus_spec), query, list(encoders), k=k, indices=loaded_indices(corpus_spec, encoders))
    return {s: {"ids": r.ids, "scores": [n.score for n in r.neighbours], "error": r.error} for s, r in res.items()}


@st.cache_data(show_spinner=False, max_entries=256)
def text_results(corpus_spec: str, text: str, encoders: tuple[str, ...], k: int) -> dict[str, dict]:
    """Per CLIP encoder: figures nearest to a text query."""
    from core.search import search_text

    res = search_text(corpus(corpus_spec), text, list(encoders), k=k, indices=loaded_indices(corpus_spec, encoders))
    return {s: {"ids": r.ids, "scores": [n.score for n in r.neighbours], "error": r.error} for s, r in res.items()}


def current_query() -> str | None:
    """The current query: a figure id of the corpus or the path of a stored upload."""
    trail = st.session_state.get("query_trail") or []
    return trail[-1] if trail else None


def back_to(fid: str) -> None:
    """Callback: return to an earlier query of the trail (dropping the ones after it)."""
    trail: list[str] = st.session_state.get("query_trail") or []
    if fid in trail:
        st.session_state["query_trail"] = trail[: trail.index(fid) + 1]


@st.cache_data(show_spinner=False, max_entries=64)
def map_frame(corpus_spec: str, spec: str, n_neighbors: int = 15, min_dist: float = 0.1) -> "pd.DataFrame":
    """One row per figure: id, x, y, patent, section, title (UMAP of the encoder's space)."""
    import pandas as pd

    from core.maps import MapParams, map_coords

    c = corpus(corpus_spec)
    emb = index(corpus_spec, spec).embeddings
    xy = map_coords(emb, MapParams(n_neighbors=n_neighbors, min_dist=min_dist))
    return pd.DataFrame({
        "id": list(emb.ids), "x": xy[:, 0], "y": xy[:, 1],
        "patent": [c.by_id[i].patent or "—" for i in emb.ids],
        "section": [c.by_id[i].section or "?" for i in emb.ids],
        "title": [c.by_id[i].title[:80] for i in emb.ids],
    })


def map_is_cached(corpus_spec: str, spec: str, n_neighbors: int = 15, min_dist: float = 0.1) -> bool:
    """Whether the map is on disk already (so no 'computing' notice is needed)."""
    from core.maps import MapParams, cached_map_exists

    return cached_map_exists(index(corpus_spec, spec).embeddings, MapParams(n_neighbors=n_neighbors, min_dist=min_dist))


@st.cache_data(show_spinner=False, max_entries=64)
def joint_frame(corpus_spec: str, spec: str, field: str = "desc") -> "pd.DataFrame":
    """Figures and their description texts in one CLIP space: id, kind, x, y, title, text."""
    import pandas as pd

    from core.embed import build_embeddings
    from core.maps import joint_coords

    c = corpus(corpus_spec)
    img = index(corpus_spec, spec).embeddings
    txt = build_embeddings(c, spec, field, show_bar=False)
    ixy, txy = joint_coords(img, txt)
    ids = list(img.ids)
    text_of = (lambda f: f.description) if field == "desc" else (lambda f: f.labels_text)
    return pd.DataFrame({
        "id": ids + ids,
        "kind": ["figure"] * len(ids) + ["description" if field == "desc" else "labels"] * len(ids),
        "x": list(ixy[:, 0]) + list(txy[:, 0]), "y": list(ixy[:, 1]) + list(txy[:, 1]),
        "title": [c.by_id[i].title[:80] for i in ids] * 2,
        "text": [text_of(c.by_id[i])[:120] for i in ids] * 2,
    })


@st.cache_data(show_spinner=False, max_entries=256)
def query_xy(corpus_spec: str, spec: str, query: str, n_neighbors: int = 15,
             min_dist: float = 0.1) -> tuple[float, float] | None:
    """Where the query sits on an encoder's map (its own point, or placed by neighbours);
    None when this encoder cannot embed the query (an upload, for a text encoder)."""
    from core.maps import place_query
    from core.search import query_vector

    c = corpus(corpus_spec)
    idx = index(corpus_spec, spec)
    frame = map_frame(corpus_spec, spec, n_neighbors, min_dist)
    if query in c.position:
        row = frame.iloc[c.position[query]]
        return float(row.x), float(row.y)
    try:
        vec = query_vector(c, idx, query)
    except ValueError:
        return None
    x, y = place_query(vec, idx.embeddings, frame[["x", "y"]].to_numpy())
    return float(x), float(y)


def encoder_kind(spec: str) -> str:
    """"clip", "classic" or "text"."""
    return get_encoder(spec).kind


@st.cache_data(show_spinner=False, max_entries=64)
def evaluation(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float):
    """(table, per_query, skipped) of ``core.evaluate`` for the selection (cached on disk too)."""
    from core.evaluate import evaluate

    res = evaluate(corpus(corpus_spec), list(encoders), runs=runs, fusion_weight=weight)
    return res.table, res.per_query, list(res.skipped)


@st.cache_data(show_spinner=False, max_entries=64)
def significance_vs_best(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
                         metric: str, test: str):
    """Every system against the best one per axis (Holm-corrected), as a frame."""
    from core.evaluate import significance

    _, per_query, _ = evaluation(corpus_spec, encoders, runs, weight)
    return significance(per_query, against="best", metric=metric, test=test)


@st.cache_data(show_spinner=False, max_entries=16)
def run_files_zip(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float) -> bytes:
    """A zip of the TREC run files, the qrels and the result CSVs of the selection."""
    import tempfile
    import zipfile

    from core.evaluate import evaluate

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        evaluate(corpus(corpus_spec), list(encoders), runs=runs, fusion_weight=weight, out_dir=tmp)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(tmp).as_posix())
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=256)
def query_run_scores(corpus_spec: str, spec: str, run: str, weight: float, qid: str) -> dict[str, float]:
    """Scores of one query's candidates under one run (for the drill-down)."""
    from core.evaluate import run_scores

    return run_scores(corpus(corpus_spec), spec, run, weight).get(qid, {})


EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"


def bundled_examples() -> list[Path]:
    """The example drawings shipped in ``assets/examples``."""
    return sorted(EXAMPLES_DIR.glob("*.png"))


def use_example(path: str) -> None:
    """Callback: make a bundled example the query (stored like an upload)."""
    from core.figures import store_upload

    p = Path(path)
    push_query(str(store_upload(p.read_bytes(), p.name)))
