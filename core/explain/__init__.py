"""Where two figures agree: match heatmaps and part-level search (no Streamlit).

- ``grids``: an encoder's local features on a grid over a figure (ViT patch tokens, timm feature
  maps, HOG cells); ``NoSpatialMap`` for encoders without one
- ``match``: cell heat, a query drawn at several sizes as templates, best-matching windows
- ``pair``: one hit's explanation for one query (heat + box) and its overlay picture
- ``parts``: the per-corpus part index (cached per figure, resumable) and part-level search
"""
from __future__ import annotations

from .grids import CellGrid, NoSpatialMap, cell_grid, spatial_support
from .match import SCALES, WindowMatch, best_windows, cell_heat, match_in, query_templates, window_heat
from .pair import HEAT_MEANING, Explanation, explain, overlay, overlay_png
from .parts import PartHit, PartIndex, build_part_index, search_parts

__all__ = ["CellGrid", "NoSpatialMap", "cell_grid", "spatial_support", "SCALES", "WindowMatch", "best_windows",
           "cell_heat", "match_in", "query_templates", "window_heat", "HEAT_MEANING", "Explanation", "explain",
           "overlay", "overlay_png", "PartHit", "PartIndex", "build_part_index", "search_parts"]
