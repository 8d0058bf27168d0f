"""Reference numerals and family copies of the Search page's hits, cached (core.numerals, core.families).

Numerals are read on demand for the figures shown (each image once: the core cache keeps the
OCR per image content); families are found among one encoder's hits with the pHash and that
encoder's own vectors.
"""
from __future__ import annotations

import streamlit as st

from .corpora import corpus
from .encoders import loaded_indices


@st.cache_data(show_spinner=False, max_entries=8)
def ocr_unavailable(engine: str = "tesseract") -> str:
    """"" when the OCR engine can run, else why not (with the install command)."""
    from core.numerals import engine_available

    return engine_available(engine)


@st.cache_data(show_spinner=False, max_entries=1024)
def figure_numerals(corpus_spec: str, ids: tuple[str, ...], engine: str = "tesseract") -> dict[str, dict]:
    """Per figure id: its numerals (text, key, box, label), the parts found (numeral, name), the
    names its description gives, the image size and why it could not be read ("" when it could)."""
    from core.figures import ImageError, load_figure_image
    from core.numerals import build_numerals

    c = corpus(corpus_spec)
    build = build_numerals(c, engine, ids=[i for i in ids if i in c.by_id])
    out = {}
    for fid, fn in build.figures.items():
        try:
            size = load_figure_image(c.by_id[fid]).size
        except ImageError:
            size = (0, 0)
        out[fid] = {"numerals": [{"text": n.text, "key": n.key, "box": list(n.box), "label": n.label}
                                 for n in fn.numerals],
                    "parts": fn.parts(), "names": dict(fn.names), "size": list(size), "error": fn.error}
    return out


@st.cache_data(show_spinner=False, max_entries=512)
def families(corpus_spec: str, spec: str, ids: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """(lead, copies) of ranked hits ``ids`` of encoder ``spec``: pHash within the core's bit
    distance and that encoder's cosine at least its threshold; hash only when no vectors."""
    from core.families import corpus_hashes, vectors_of
    from core.families import families as find

    c = corpus(corpus_spec)
    hashes = corpus_hashes(c, [i for i in ids if i in c.by_id])
    idx = loaded_indices(corpus_spec, (spec,)).get(spec)
    vectors = vectors_of(idx.embeddings, ids) if idx is not None else {}
    return [(f.lead, f.copies) for f in find(list(ids), hashes, vectors)]
