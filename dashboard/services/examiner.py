"""The examiner's search (combined parts, regions, a date cut-off), cached by its JSON spec."""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from core.examiner import ExaminerQuery, QueryPart, Region

from .corpora import corpus
from .encoders import loaded_indices


@st.cache_data(show_spinner=False, max_entries=256)
def search(corpus_spec: str, spec: str, encoders: tuple[str, ...], k: int, combine: str, before: str,
           text: str | None, classes: tuple[str, ...] = ()) -> tuple[dict[str, dict], dict]:
    """(results as the grid takes them, facts) of an examiner query; ``spec`` is its JSON
    (``q``: the figure id or upload path, ``region``, ``added`` parts)."""
    from core.examiner import search_query

    c = corpus(corpus_spec)
    d = json.loads(spec)
    parts = []
    for src in [d["q"], *d["added"]]:
        reg = Region(*d["region"]) if d["region"] and src == d["q"] else None
        if src in c.by_id:
            parts.append(QueryPart(figure=src, region=reg, name=src))
        else:
            parts.append(QueryPart(image=Path(src).read_bytes(), name=Path(src).name, region=reg))
    q = ExaminerQuery(tuple(parts), combine)
    res = search_query(c, q, list(encoders), k=k, indices=loaded_indices(corpus_spec, encoders),
                       before=before, text=text if q.combination == "single" and parts[0].region is None else None,
                       classes=tuple(classes))
    out = {s: {"ids": r.ids, "scores": [n.score for n in r.neighbours], "error": r.error}
           for s, r in res.results.items()}
    return out, {"combination": res.combination, "description": res.description, "excluded": res.excluded,
                 "before": res.before, "classes": list(res.classes), "off_class": res.off_class}


def part_thumbnail(corpus_obj, part, size: int = 384) -> bytes:
    """PNG of a query part's figure with its region outlined, at most ``size`` pixels a side."""
    import io

    from core.examiner.report import part_picture

    im = part_picture(corpus_obj, part)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
