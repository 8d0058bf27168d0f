"""Map coordinates: an encoder's UMAP, the joint image+text map, where a query sits (cached)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from .. import jobs
from ..jobs import Job
from .corpora import corpus
from .encoders import encoder_label, index

if TYPE_CHECKING:
    import pandas as pd


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


def map_seconds(corpus_spec: str, spec: str | None = None) -> float:
    """About how long a first map of the corpus takes (``core.maps.estimate_seconds``, from the fits
    measured on this machine), for ``spec``'s dimension when it is given."""
    from core.maps import estimate_seconds

    if spec is None:
        return estimate_seconds(len(corpus(corpus_spec)))
    vectors = index(corpus_spec, spec).embeddings.vectors
    return estimate_seconds(int(vectors.shape[0]), int(vectors.shape[1]))


def map_is_cached(corpus_spec: str, spec: str, n_neighbors: int = 15, min_dist: float = 0.1) -> bool:
    """Whether the map is on disk already (so no 'computing' notice is needed)."""
    from core.maps import MapParams, cached_map_exists

    return cached_map_exists(index(corpus_spec, spec).embeddings, MapParams(n_neighbors=n_neighbors, min_dist=min_dist))


def map_key(corpus_spec: str, spec: str, n_neighbors: int = 15, min_dist: float = 0.1) -> str:
    """The job key of one map's first fit (one such job per process, shared by every session)."""
    return f"map:{corpus_spec}:{spec}:{int(n_neighbors)}:{float(min_dist):g}"


def map_job(corpus_spec: str, spec: str, n_neighbors: int = 15, min_dist: float = 0.1) -> Job | None:
    """None when the map is on disk already; else the background job fitting it (started here, or
    the one another session started): ``core.maps.map_coords`` writes the layout to the map cache,
    from which ``map_frame`` then reads it. ``meta`` holds ``eta`` (the measured estimate,
    ``map_seconds``), ``measured`` (whether fits on this machine were measured, or the estimate is
    the constants'), ``label`` and ``n``."""
    if map_is_cached(corpus_spec, spec, n_neighbors, min_dist):
        return None
    from core.maps import MapParams, map_coords

    emb = index(corpus_spec, spec).embeddings  # resolved here, in the script's thread (a cached resource)
    params = MapParams(n_neighbors=n_neighbors, min_dist=min_dist)
    key = map_key(corpus_spec, spec, n_neighbors, min_dist)
    known = jobs.get(key)
    if known is not None:  # running, or ended and not yet taken by a page (which forgets it)
        return known
    from core import maps_timing

    label = encoder_label(spec)
    return jobs.start(key, f"The {label} map", lambda progress: map_coords(emb, params, progress) is None,
                      eta=map_seconds(corpus_spec, spec), measured=bool(maps_timing.fits()), label=label,
                      n=len(emb.ids))


def joint_job(corpus_spec: str, spec: str, field: str = "desc") -> Job | None:
    """None when this process has the joint map's inputs on disk already (a joint job ended well
    here); else the background job encoding the texts and fitting the joint layout (both cached on
    disk, from which ``joint_frame`` then reads them), shared by every session. ``meta`` as
    ``map_job``'s."""
    key = f"map:joint:{corpus_spec}:{spec}:{field}"
    if key in _joint_ready():
        return None
    known = jobs.get(key)
    if known is not None:
        return known
    from core import maps_timing
    from core.embed import build_embeddings
    from core.maps import estimate_seconds, joint_coords

    c, img = corpus(corpus_spec), index(corpus_spec, spec).embeddings  # resolved in the script's thread

    def work(progress) -> bool:
        joint_coords(img, build_embeddings(c, spec, field, progress=progress, show_bar=False), progress=progress)
        _joint_ready().add(key)
        return True

    n = len(img.ids)  # figures; the fit is of their images and texts, 2n points
    return jobs.start(key, "The joint map", work, eta=estimate_seconds(2 * n, int(img.vectors.shape[1])),
                      measured=bool(maps_timing.fits()), label=f"joint {encoder_label(spec)}", n=n)


@st.cache_resource(show_spinner=False)
def _joint_ready() -> set[str]:
    return set()


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


@st.cache_data(show_spinner=False, max_entries=8)
def thumb_uris(corpus_spec: str, ids: tuple[str, ...], size: int) -> dict[str, str]:
    """``{figure id: PNG data URI}`` of the figures' thumbnails (the map's hover pictures)."""
    from .corpora import thumbnail_uri

    c = corpus(corpus_spec)
    return {i: thumbnail_uri(c.by_id[i].path, size) for i in ids if i in c.by_id}


def thin_points(xy) -> tuple[list[int], tuple | None]:
    """(indices of the points to draw as markers, (counts, centres) of a density of every point or
    None): above ``core.maps.MAX_DRAWN`` points a bounded subset keeping every region is drawn."""
    from core.maps import MAX_DRAWN, density, visible_points

    if len(xy) <= MAX_DRAWN:
        return list(range(len(xy))), None
    return list(visible_points(xy, MAX_DRAWN)), density(xy, bins=160)
