"""Map page extras: neighbourhood agreement of two encoders, thumbnails drawn at map points,
judged pairs as lines, and what a selection is exported to (cached calls into core)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from .corpora import corpus
from .encoders import index

if TYPE_CHECKING:
    import pandas as pd


@st.cache_data(show_spinner=False, max_entries=32)
def agreement_frame(corpus_spec: str, spec_a: str, spec_b: str, k: int) -> "pd.DataFrame":
    """One row per figure of A: id, jaccard (NaN where either encoder cannot read it), shared."""
    import pandas as pd

    from core.map_agreement import agreement

    res = agreement(index(corpus_spec, spec_a).embeddings, index(corpus_spec, spec_b).embeddings, int(k))
    return pd.DataFrame({"id": list(res.ids), "jaccard": res.jaccard, "shared": res.shared})


@st.cache_data(show_spinner=False, max_entries=256)
def neighbour_ids(corpus_spec: str, spec_a: str, spec_b: str, fid: str, k: int) -> tuple[list[str], list[str]]:
    """A figure's k neighbours under A and under B (the lists the agreement is computed from)."""
    from core.map_agreement import neighbours_of

    return neighbours_of(index(corpus_spec, spec_a).embeddings, index(corpus_spec, spec_b).embeddings, fid, int(k))


def agreement_seconds(corpus_spec: str) -> float:
    """Rough time of a first exact neighbour computation (n² similarities, two encoders)."""
    n = len(corpus(corpus_spec))
    return 2 * (0.2 + n * n * 512 / 2.0e10)


@st.cache_data(show_spinner=False, max_entries=32)
def point_thumbs(corpus_spec: str, ids: tuple[str, ...], size: int) -> dict[str, str]:
    """PNG data URIs of the figures drawn as pictures on the map, each framed by a thin grey
    line so that neighbouring drawings stay apart on the map's pale background."""
    import base64
    import io

    from PIL import Image, ImageDraw

    from .corpora import thumbnail

    c = corpus(corpus_spec)
    out = {}
    for i in ids:
        if i in c.by_id:
            im = Image.open(io.BytesIO(thumbnail(str(c.by_id[i].path), size))).convert("RGB")
            ImageDraw.Draw(im).rectangle([0, 0, im.width - 1, im.height - 1], outline=(140, 140, 150), width=2)
            buf = io.BytesIO()
            im.save(buf, "PNG")
            out[i] = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return out


def judged_pairs(corpus_spec: str, axis: str, relevant: bool = True) -> list[tuple[str, str]]:
    """(query, candidate) pairs judged on ``axis`` (relevant ones, or not relevant ones)."""
    from core.map_overlays import judged_pairs as pairs

    return pairs(corpus(corpus_spec), axis, relevant)
