"""Cached services: ``st.cache_*`` wrappers around ``core``, keyed by short strings.

Every cache here is keyed by short strings (corpus spec, encoder spec, figure id), never
by arrays or models. Models and indices live in ``st.cache_resource`` (shared across
sessions, thread-safe in core); frames and coordinates in ``st.cache_data``. Nothing here
draws on the page.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from core import Corpus, get_encoder, known_encoders, load_corpus
from core.figures import ImageError, open_image

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"


@st.cache_resource(show_spinner="Loading corpus…", max_entries=8)
def corpus(spec: str) -> Corpus:
    """The corpus for ``spec`` (the demo is generated on first use)."""
    return load_corpus(spec)


def encoder_status() -> list[dict]:
    """One row per known encoder: spec, label, kind, available, reason, fix."""
    from core import config

    return _encoder_status(str(config.cache_dir()), ",".join(config.env_at_import("UPAIR_ENCODERS") or ()))


@st.cache_data(show_spinner=False, ttl=300)
def _encoder_status(cache_root: str, extra: str) -> list[dict]:
    rows = []
    for spec in known_encoders():
        try:
            enc = get_encoder(spec)
        except ValueError as exc:  # a bad entry of $UPAIR_ENCODERS: listed, everything else works
            rows.append({"spec": spec, "label": spec, "kind": "invalid", "available": False,
                         "reason": f"invalid entry in UPAIR_ENCODERS: {exc}",
                         "fix": "correct or remove it in the UPAIR_ENCODERS environment variable"})
            continue
        av = enc.availability()
        rows.append({"spec": spec, "label": enc.label or spec, "kind": enc.kind,
                     "available": av.ok, "reason": av.reason, "fix": av.fix})
    return rows


def encoder_label(spec: str) -> str:
    """Short display name of an encoder."""
    return get_encoder(spec).label or spec


def can(spec: str, capability: str) -> bool:
    """Whether encoder ``spec`` declares ``capability`` (``core.encoders.has_capability``)."""
    from core.encoders import has_capability

    return has_capability(spec, capability)


@st.cache_data(show_spinner=False, max_entries=20_000)
def thumbnail(path: str, size: int = 256) -> bytes:
    """PNG bytes of a figure scaled to fit ``size`` px, centred on a white square (cached by path)."""
    from PIL import Image

    try:
        im = open_image(path)
    except ImageError:
        im = Image.new("RGB", (size, size), (240, 240, 240))
    im.thumbnail((size, size))
    square = Image.new("RGB", (size, size), "white")  # equal heights keep grids aligned
    square.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    buf = io.BytesIO()
    square.save(buf, "PNG", optimize=False)
    return buf.getvalue()


@st.cache_resource(show_spinner=False, max_entries=32)
def index(corpus_spec: str, spec: str):
    """Embeddings + faiss index of a corpus for one encoder (built on first use)."""
    from core.search import get_index

    idx = get_index(corpus(corpus_spec), spec, show_bar=False)
    _loaded().add((corpus_spec, spec))
    if spec.startswith("clip:") and "cache/weights/" in spec:  # an adapted model: are its vectors collapsed?
        from core.adapt.health import check_embeddings

        if check_embeddings(spec, corpus(corpus_spec), idx.embeddings):
            model_health.clear()
    return idx


@st.cache_resource(show_spinner=False)
def _loaded() -> set[tuple[str, str]]:
    return set()


def index_loaded(corpus_spec: str, spec: str) -> bool:
    """Whether the index is in memory already (nothing to encode or load)."""
    return (corpus_spec, spec) in _loaded()


def reload_corpus() -> None:
    """Callback: forget the loaded corpora and indices so they are read again from disk."""
    corpus.clear()
    index.clear()
    _loaded().clear()
    corpus_digests.clear()


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


def _as_dict(res) -> dict[str, dict]:
    return {s: {"ids": r.ids, "scores": [n.score for n in r.neighbours], "error": r.error} for s, r in res.items()}


@st.cache_data(show_spinner=False, max_entries=512)
def search_results(corpus_spec: str, query: str, encoders: tuple[str, ...], k: int,
                   text: str | None = None) -> dict[str, dict]:
    """Per encoder: ranked ids, scores and error for a query (figure id or upload path;
    ``text`` describes an upload for text encoders)."""
    from core.search import search

    return _as_dict(search(corpus(corpus_spec), query, list(encoders), k=k, text=text or None,
                           indices=loaded_indices(corpus_spec, encoders)))


@st.cache_data(show_spinner=False, max_entries=256)
def text_results(corpus_spec: str, text: str, encoders: tuple[str, ...], k: int) -> dict[str, dict]:
    """Per text-capable encoder: figures nearest to a text query."""
    from core.search import search_text

    return _as_dict(search_text(corpus(corpus_spec), text, list(encoders), k=k,
                                indices=loaded_indices(corpus_spec, encoders)))


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
             min_dist: float = 0.1, text: str | None = None) -> tuple[float, float] | None:
    """Where the query sits on an encoder's map (its own point, or placed by neighbours);
    None when this encoder cannot embed the query (an upload without text, for a text encoder)."""
    from core.maps import place_query
    from core.search import query_vector

    c = corpus(corpus_spec)
    idx = index(corpus_spec, spec)
    frame = map_frame(corpus_spec, spec, n_neighbors, min_dist)
    if query in c.position:
        row = frame.iloc[c.position[query]]
        return float(row.x), float(row.y)
    try:
        vec = query_vector(c, idx, query, text=text or None)
    except ValueError:
        return None
    x, y = place_query(vec, idx.embeddings, frame[["x", "y"]].to_numpy())
    return float(x), float(y)


def judgement_qrels(corpus_spec: str, judgements: str):
    """The qrels of a judgement set (``core.annotation``); None for the corpus's own ("official")."""
    if judgements == "official":
        return None
    from core.annotation.agreement import judgement_set
    from core.annotation.judgements import JudgementStore

    return judgement_set(judgements, JudgementStore(corpus(corpus_spec).name), corpus(corpus_spec))


@st.cache_data(show_spinner=False, max_entries=64)
def evaluation(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
               judgements: str = "official", judged_digest: str = "", protocol: str = ""):
    """(table, per_query, skipped) of ``core.evaluation.evaluate`` for the selection (cached on disk too),
    scored by the judgement set ``judgements`` (``core.annotation``; ``judged_digest``, its
    content key, makes a new judgement a new cache entry), under the evaluation ``protocol``
    (``core.protocols``; "" = the corpus's default)."""
    from core.evaluation import evaluate

    qrels = judgement_qrels(corpus_spec, judgements)
    res = evaluate(corpus(corpus_spec), list(encoders), runs=runs, fusion_weight=weight, qrels=qrels,
                   protocol=protocol or None)
    return res.table, res.per_query, list(res.skipped)


@st.cache_data(show_spinner=False, max_entries=64)
def significance_vs_best(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
                         metric: str, test: str, judgements: str = "official", judged_digest: str = "",
                         protocol: str = ""):
    """Every system against the best one per axis (Holm-corrected), as a frame."""
    from core.evaluation import significance

    _, per_query, _ = evaluation(corpus_spec, encoders, runs, weight, judgements, judged_digest, protocol)
    return significance(per_query, against="best", metric=metric, test=test)


@st.cache_data(show_spinner=False, max_entries=16)
def run_files_zip(corpus_spec: str, encoders: tuple[str, ...], runs: tuple[str, ...], weight: float,
                  protocol: str = "", judgements: str = "official", judged_digest: str = "") -> bytes:
    """A zip of the TREC run files, the qrels (of the judgement set) and the result CSVs of the selection."""
    import tempfile
    import zipfile

    from core.evaluation import evaluate

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        evaluate(corpus(corpus_spec), list(encoders), runs=runs, fusion_weight=weight, out_dir=tmp,
                 protocol=protocol or None, qrels=judgement_qrels(corpus_spec, judgements))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(tmp).as_posix())
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=256)
def query_run_scores(corpus_spec: str, spec: str, run: str, weight: float, qid: str,
                     protocol: str = "") -> dict[str, float]:
    """Scores of one query's candidates under one run (for the drill-down)."""
    from core.evaluation import run_scores

    return run_scores(corpus(corpus_spec), spec, run, weight, protocol=protocol or None).get(qid, {})


@st.cache_data(show_spinner=False, max_entries=8)
def corpus_digests(corpus_spec: str, size: int) -> dict[str, str]:
    """``{SHA-1 of the file: figure id}`` of the corpus files that are ``size`` bytes long
    (only those can equal an upload of that size, so only those are hashed)."""
    from core.figures import figure_digest

    out: dict[str, str] = {}
    for f in corpus(corpus_spec).figures:
        try:
            if f.member or os.path.getsize(f.path) == size:  # shard members carry their digest
                out.setdefault(figure_digest(f), f.id)
        except OSError:
            continue
    return out


def figure_with_bytes(corpus_spec: str, data: bytes) -> str | None:
    """The id of the corpus figure whose file has exactly these bytes, if any."""
    import hashlib

    return corpus_digests(corpus_spec, len(data)).get(hashlib.sha1(data).hexdigest())


def bundled_examples() -> list[Path]:
    """The example drawings shipped in ``assets/examples``."""
    return sorted(EXAMPLES_DIR.glob("*.png"))


def default_encoders(available: list[str]) -> list[str]:
    """The encoders a new session starts with: every available one except models adapted
    here (a user picks those; ``core.adapt.health``)."""
    from core.adapt.health import default_specs
    from core.encoders import sidecar_checkpoint_specs

    return default_specs(available, sidecar_checkpoint_specs())


def model_health() -> dict:
    """``{encoder spec: core.adapt.health.Health}`` of every adapted model."""
    from core import config

    return _model_health(str(config.cache_dir()))


@st.cache_data(show_spinner=False, ttl=60)
def _model_health(cache_root: str) -> dict:
    from core.adapt.health import health_by_spec

    return health_by_spec()


model_health.clear = _model_health.clear


def refresh_encoders() -> None:
    """Forget the cached encoder status (after weights arrived), so no restart is needed."""
    _encoder_status.clear()


#: The Corpus page names unreadable figures of corpora up to this size (each image decoded
#: once per corpus content, remembered in the cache); larger ones are named as they are built.
UNREADABLE_CHECK_MAX = 50_000


def unreadable_figures(corpus) -> dict[str, str]:
    """``{figure id: message}`` of the corpus's figures whose image cannot be read ({} for
    sharded or very large corpora, which are checked as they are encoded)."""
    if len(corpus) > UNREADABLE_CHECK_MAX or any(f.member for f in corpus.figures[:1]):
        return {}
    from core.integrity import unreadable_figures as check

    return check(corpus)
