"""Where two figures agree (``core.explain``): one hit's heatmap picture, the part index and
part-level search, cached. Keyed by short strings (corpus spec, encoder spec, query, figure id,
a region as a tuple); the per-figure grids behind the part index are also cached on disk,
content-addressed (``cache/explain/``)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from .corpora import corpus


def _image(corpus_spec: str, source: str):
    """A corpus figure (by id) or an uploaded file (by path) as an RGB image."""
    from core.figures import load_figure_image, open_image

    c = corpus(corpus_spec)
    return load_figure_image(c.by_id[source]) if source in c.by_id else open_image(Path(source))


@st.cache_data(show_spinner=False, max_entries=64)
def support(spec: str) -> tuple[str, str]:
    """``(source, why not)`` of an encoder's spatial map (``core.explain.spatial_support``)."""
    from core.encoders import get_encoder
    from core.explain import spatial_support

    return spatial_support(get_encoder(spec))


@st.cache_data(show_spinner=False, max_entries=512)
def explanation(corpus_spec: str, spec: str, query: str, region: tuple[float, float, float, float] | None,
                fid: str, alpha: float = 0.55) -> dict:
    """The hit ``fid`` explained for ``query`` (its ``region`` if given) by encoder ``spec``:
    ``{"png", "box", "score", "mode", "source"}``, or ``{"none": why}``."""
    from core.embed import EncoderUnavailable, require
    from core.examiner import Region
    from core.explain import NoSpatialMap, explain, overlay_png

    try:
        enc = require(spec)
        hit = _image(corpus_spec, fid)
        ex = explain(enc, _image(corpus_spec, query), hit, Region(*region) if region else None)
    except (NoSpatialMap, EncoderUnavailable) as exc:
        return {"none": str(exc)}
    return {"png": overlay_png(hit, ex, alpha=alpha, max_side=512), "box": ex.box, "score": ex.score,
            "mode": ex.mode, "source": ex.source}


@st.cache_resource(show_spinner=False, max_entries=8)
def part_index(corpus_spec: str, spec: str):
    """The part index of a corpus for one encoder (built once per process; grids cached on disk)."""
    from core.explain import build_part_index

    return build_part_index(corpus(corpus_spec), spec)


def part_index_ready(corpus_spec: str, spec: str) -> tuple[int, int]:
    """``(figures whose grid is cached on disk, figures)``, without computing anything."""
    from core.encoders import get_encoder
    from core.explain.parts import grid_cache_dir
    from core.figures import figure_digest

    c = corpus(corpus_spec)
    folder = grid_cache_dir(get_encoder(spec))
    have = {p.stem for p in folder.glob("*.npy")} if folder.is_dir() else set()
    n = 0
    for f in c.figures:
        try:
            n += figure_digest(f) in have
        except OSError:
            pass
    return n, len(c.figures)


def build_with_progress(corpus_spec: str, spec: str, progress) -> None:
    """Build (or finish) the part index on disk, calling ``progress(done, total)``; then the
    cached index loads from disk."""
    from core.explain import build_part_index

    build_part_index(corpus(corpus_spec), spec, progress=progress)
    part_index.clear()


@st.cache_data(show_spinner=False, max_entries=256)
def part_results(corpus_spec: str, spec: str, query: str, region: tuple[float, float, float, float] | None,
                 k: int) -> dict:
    """Part-level hits of the query (its region, if any) for one encoder: ``{"hits": [...]}`` with
    figure, score, box, scale per hit, or ``{"none": why}``."""
    from core.embed import EncoderUnavailable
    from core.examiner import Region
    from core.explain import NoSpatialMap, search_parts

    image = _image(corpus_spec, query)
    if region:
        image = Region(*region).crop(image)
    try:
        index = part_index(corpus_spec, spec)
    except (NoSpatialMap, EncoderUnavailable) as exc:
        return {"none": str(exc)}
    hits = search_parts(index, image, k=k, exclude=(query,))
    return {"hits": [{"figure": h.figure, "score": h.score, "box": h.box, "scale": h.scale} for h in hits],
            "skipped": len(index.skipped)}


@st.cache_data(show_spinner=False, max_entries=1024)
def boxed_thumbnail(corpus_spec: str, fid: str, box: tuple[float, float, float, float], size: int = 256) -> bytes:
    """PNG thumbnail of a figure with a box drawn on it (the part that matched)."""
    import io

    from PIL import ImageDraw

    im = _image(corpus_spec, fid)
    im.thumbnail((size, size))
    w, h = im.size
    x0, y0, x1, y1 = box
    ImageDraw.Draw(im).rectangle([x0 * w, y0 * h, x1 * w - 1, y1 * h - 1], outline=(0, 114, 178), width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
