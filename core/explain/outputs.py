"""Explanations written to a folder (``python -m core examine --explain DIR``) and part-level
search results as rows (``examine --parts``).

The folder is claimed through ``core.outdir`` (new, empty, or an earlier ``examine --explain``'s
own): per encoder ``<encoder slug>/<rank>-<figure>.png`` (the hit with the heat over it and the
best box) and one ``explain.json`` listing every picture with its figure, rank, score, box and
mode — or, for an encoder without a spatial map, the one-line reason.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..corpora.base import Corpus
from ..figures import load_figure_image
from .grids import NoSpatialMap, spatial_support
from .pair import HEAT_MEANING, explain, overlay_png
from .parts import PartHit

__all__ = ["COMMAND", "write_explanations", "part_rows"]

COMMAND = "examine --explain"


def _safe(name: str) -> str:
    """A file-name-safe version of an id or spec (letters, digits, ._-; at most 80 characters)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "item"


def write_explanations(folder: Path | str, corpus: Corpus, query_image, region, results: dict, top: int = 3
                       ) -> dict:
    """Explain the ``top`` hits of every encoder in ``results`` (``{spec: EncoderResult}``) into
    ``folder``; returns what ``explain.json`` holds."""
    from ..embed import require
    from ..outdir import open_output

    summary: dict = {"query_region": list(region.as_tuple()) if region is not None else None,
                     "meaning": HEAT_MEANING, "encoders": {}}
    with open_output(folder, COMMAND, "--explain") as out:
        for spec, res in results.items():
            entry: dict = {"hits": []}
            summary["encoders"][spec] = entry
            if res.error:
                entry["none"] = res.error
                continue
            enc = require(spec)
            source, why = spatial_support(enc)
            if not source:
                entry["none"] = why
                continue
            entry["source"] = source
            for n in res.neighbours[:top]:
                fig = corpus.by_id[n.id]
                hit_image = load_figure_image(fig)
                try:
                    ex = explain(enc, query_image, hit_image, region)
                except NoSpatialMap as exc:
                    entry["none"] = str(exc)
                    break
                rel = f"{_safe(spec)}/{n.rank:02d}-{_safe(n.id)}.png"
                out.write_bytes(rel, overlay_png(hit_image, ex))
                entry["hits"].append({"figure": n.id, "rank": n.rank, "score": n.score, "file": rel,
                                      "mode": ex.mode, "box": [round(v, 4) for v in ex.box],
                                      "box_cosine": round(ex.score, 6)})
        out.write_text("explain.json", json.dumps(summary, indent=1, sort_keys=True))
    return summary


def part_rows(corpus: Corpus, hits: list[PartHit]) -> list[list[str]]:
    """Table rows for part-level hits: rank, figure, patent, cosine, box (percent), size."""
    rows = []
    for rank, h in enumerate(hits, 1):
        fig = corpus.by_id.get(h.figure)
        x0, y0, x1, y1 = h.box
        rows.append([str(rank), h.figure, (fig.patent if fig else "") or "—", f"{h.score:.3f}",
                     f"x {x0 * 100:.0f}–{x1 * 100:.0f} %, y {y0 * 100:.0f}–{y1 * 100:.0f} %",
                     f"{h.scale * 100:.0f} %"])
    return rows
