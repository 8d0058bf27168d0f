"""The service layer: every ``st.cache_*`` of the app and every call into ``core`` that computes.

One module per page family; pages call them as ``services.<family>.<function>`` and draw
the result. Every cache is keyed by short strings (corpus spec, encoder spec, figure id,
a selection's key), never by arrays or models. Models and indices live in
``st.cache_resource`` (shared across sessions, thread-safe in core); frames and coordinates
in ``st.cache_data``. Nothing here draws on the page.

- ``corpora``: the corpus of a spec, thumbnails, files by content, unreadable figures
- ``encoders``: encoder status, labels, capabilities, the in-memory indices
- ``search``, ``examiner``: search results (plain and examiner queries)
- ``explain``: match heatmaps, the part index and part-level search
- ``numerals``: reference numerals of hits (OCR, names) and family copies among hits
- ``maps``: UMAP frames, the joint image+text map, query placement, hover thumbnails
- ``map_agreement``: neighbourhood agreement of two encoders, pictures at map points, judged pairs
- ``scores``, ``judging``: evaluation tables, significance, run files, judged@k rankings
- ``sampling``: sampling configs, one query's draw, the export
- ``models``: the before/after comparison, training
- ``fetching``: the status of the background weight fetch ``make run`` starts (read only)

The few functions every page uses are re-exported here (``services.corpus``, ``services.thumbnail``,
``services.encoder_label`` …).
"""
from __future__ import annotations

from . import (corpora, encoders, examiner, explain, fetching, judging, map_agreement, maps, models, numerals, sampling,
               scores, search)
from .corpora import corpus, figure_with_bytes, reload_corpus, thumbnail, thumbnail_uri, unreadable_figures
from .encoders import (
    can, default_encoders, encoder_label, encoder_status, index, index_loaded, loaded_indices, model_health,
    refresh_encoders,
)

__all__ = [
    "corpora", "encoders", "examiner", "explain", "fetching", "judging", "map_agreement", "maps", "models", "numerals", "sampling",
    "scores", "search",
    "corpus", "thumbnail", "thumbnail_uri", "figure_with_bytes", "reload_corpus", "unreadable_figures",
    "can", "default_encoders", "encoder_label", "encoder_status", "index", "index_loaded", "loaded_indices",
    "model_health", "refresh_encoders",
]
