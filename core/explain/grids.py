"""Where an encoder looks: a grid of local features over a figure.

``cell_grid(encoder, images)`` gives, per image, a :class:`CellGrid`: one feature vector per
cell of a regular grid laid over the figure as the encoder sees it (padded to a centred white
square, resized to the encoder's input size), with the cell's ink flag and where the grid lies
on the original figure. Three sources:

* ``tokens`` — open_clip ViTs: the last block's patch tokens after ``ln_post``, projected into
  the embedding space with the tower's ``proj`` (open_clip's ``forward_intermediates``);
* ``feature map`` — timm models (ViTs such as DINOv2 — patch tokens without the prefix tokens —
  and CNNs such as ResNeXt): the last stage's map from timm's ``forward_intermediates``
  (normalised as the model's head would see it);
* ``cells`` — HOG: per-cell orientation histograms of the same square image (each cell's
  histogram L2-Hys normalised on its own, a blank cell is zero), so identical pixels in an
  aligned cell give an identical feature.

Encoders without a spatial map (AHDH's adaptive tree, TF-IDF, text models, PatentNet) raise
:class:`NoSpatialMap` with a one-line reason; ``spatial_support`` answers without computing.

Every cell feature is L2-normalised; a cell without ink (no pixel darker than ``INK_LEVEL`` in
it) is zeroed, so white paper never "matches" white paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..encoders.base import Encoder

__all__ = ["CellGrid", "NoSpatialMap", "spatial_support", "cell_grid", "square_frame", "INK_LEVEL",
           "HOG_SIZE", "HOG_CELL", "GRID_VERSION"]

#: A pixel darker than this (0..255 grey) is ink.
INK_LEVEL = 200
#: HOG's spatial grid: the square image side and the cell size (16 x 16 cells).
HOG_SIZE, HOG_CELL = 256, 16
#: Bump when any grid changes (part of every cache key).
GRID_VERSION = "1"


class NoSpatialMap(ValueError):
    """The encoder gives one vector per figure and nothing per region (the message says why)."""


@dataclass(frozen=True)
class CellGrid:
    """Local features of one figure on a ``rows x cols`` grid.

    ``feats`` is float32 ``(rows, cols, dim)``, each ink cell's row L2-normalised, blank cells
    zero; ``ink`` is the bool ``(rows, cols)`` ink flag; ``frame`` is where the grid's square
    lies in the figure's normalised coordinates (``x0, y0, x1, y1``; outside 0..1 where the
    figure was padded to a square).
    """

    feats: np.ndarray
    ink: np.ndarray
    frame: tuple[float, float, float, float]
    source: str

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.feats.shape[0]), int(self.feats.shape[1])

    def cell_box(self, r0: int, c0: int, r1: int, c1: int) -> tuple[float, float, float, float]:
        """Cells ``[r0, r1) x [c0, c1)`` as a box in the figure's normalised coordinates, clipped to 0..1."""
        rows, cols = self.shape
        fx0, fy0, fx1, fy1 = self.frame
        x0 = fx0 + (fx1 - fx0) * c0 / cols
        x1 = fx0 + (fx1 - fx0) * c1 / cols
        y0 = fy0 + (fy1 - fy0) * r0 / rows
        y1 = fy0 + (fy1 - fy0) * r1 / rows
        clip = lambda v: float(min(1.0, max(0.0, v)))  # noqa: E731
        return clip(x0), clip(y0), clip(x1), clip(y1)


def square_frame(size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Where the centred white square an image of ``size`` (w, h) is padded to lies, in the
    image's normalised coordinates (the padding is outside 0..1)."""
    w, h = size
    side = max(w, h)
    ox, oy = (side - w) // 2, (side - h) // 2  # as core.protocols pads (integer offsets)
    return (-ox / w, -oy / h, (side - ox) / w, (side - oy) / h)


def _square_gray(image, size: int) -> np.ndarray:
    """The image padded to a centred white square and resized to ``size``: uint8 grey."""
    from PIL import Image

    from ..protocols import _pad_to_white_square

    im = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    sq = _pad_to_white_square(im)
    if sq.size != (size, size):
        sq = sq.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(sq.convert("L"), dtype=np.uint8)


def _ink_cells(gray: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Whether each of ``rows x cols`` equal cells of a square grey image holds ink."""
    s = gray.shape[0]
    ys = np.linspace(0, s, rows + 1).round().astype(int)
    xs = np.linspace(0, s, cols + 1).round().astype(int)
    dark = gray < INK_LEVEL
    return np.array([[bool(dark[ys[r]:ys[r + 1], xs[c]:xs[c + 1]].any()) for c in range(cols)]
                     for r in range(rows)], dtype=bool)


def _finish(feats: np.ndarray, ink: np.ndarray, frame, source: str) -> CellGrid:
    feats = np.asarray(feats, dtype=np.float32)
    norms = np.linalg.norm(feats, axis=-1, keepdims=True)
    feats = np.where(norms > 1e-12, feats / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
    feats[~ink] = 0.0
    return CellGrid(np.ascontiguousarray(feats), ink, tuple(float(v) for v in frame), source)


# --------------------------------------------------------------------------- which encoders
def spatial_support(enc: Encoder) -> tuple[str, str]:
    """``(source, "")`` when ``enc`` has a spatial map (``tokens``, ``feature map``, ``cells``),
    else ``("", one line saying why not)``. Cheap: loads no model."""
    from ..encoders.classic import AHDHEncoder, HOGEncoder

    if isinstance(enc, HOGEncoder):
        return "cells", ""
    if isinstance(enc, AHDHEncoder):
        return "", (f"{enc.label} describes the ink's density in an adaptive tree of regions that differs "
                    "from figure to figure, so there is no common grid to compare region by region.")
    if not enc.has_images:
        return "", f"{enc.label} reads text, not drawings: it has no spatial map."
    kind = getattr(enc, "kind", "")
    if kind == "clip":
        return "tokens", ""
    if kind == "timm":
        return "feature map", ""
    return "", f"{enc.label} gives one vector per figure; this tool has no way to read a map of regions from it."


def cell_grid(enc: Encoder, images: list) -> list[CellGrid]:
    """One :class:`CellGrid` per PIL image; :class:`NoSpatialMap` when ``enc`` has none."""
    source, why = spatial_support(enc)
    if not source:
        raise NoSpatialMap(why)
    if not images:
        return []
    if source == "cells":
        return [_hog_grid(enc, im) for im in images]
    if source == "tokens":
        return _clip_grids(enc, images)
    return _timm_grids(enc, images)


# --------------------------------------------------------------------------- HOG
def _hog_grid(enc, image) -> CellGrid:
    from skimage.feature import hog

    gray = _square_gray(image, HOG_SIZE)
    cells = hog(gray.astype(np.float32) / 255.0, orientations=enc.orientations,
                pixels_per_cell=(HOG_CELL, HOG_CELL), cells_per_block=(1, 1), block_norm="L2-Hys",
                feature_vector=False)
    feats = cells[:, :, 0, 0, :]
    ink = _ink_cells(gray, feats.shape[0], feats.shape[1]) & (np.abs(feats).sum(-1) > 0)
    return _finish(feats, ink, square_frame(image.size), "cells")


# --------------------------------------------------------------------------- torch encoders
def _grids_from_maps(maps: np.ndarray, images: list, size: int, source: str) -> list[CellGrid]:
    """``maps`` float ``(n, C, H, W)`` → grids, ink from each image's square at ``size``."""
    out = []
    for m, im in zip(maps, images):
        feats = np.transpose(m, (1, 2, 0))
        ink = _ink_cells(_square_gray(im, size), feats.shape[0], feats.shape[1])
        out.append(_finish(feats, ink, square_frame(im.size), source))
    return out


def _clip_grids(enc, images: list) -> list[CellGrid]:
    import torch

    model = enc.load()
    visual = model.visual
    if not hasattr(visual, "forward_intermediates") or not hasattr(visual, "patch_size"):
        raise NoSpatialMap(f"{enc.label}: its image tower has no patch tokens (not a ViT)")
    size = enc.image_size
    maps = []
    with torch.inference_mode():
        for i in range(0, len(images), enc.batch_size):
            x = enc.preprocess(images[i:i + enc.batch_size]).to(enc.device)
            out = visual.forward_intermediates(x, indices=1, normalize_intermediates=True,
                                               intermediates_only=True, output_fmt="NCHW")
            t = out["image_intermediates"][-1].float()  # (n, width, H, W) after ln_post
            proj = getattr(visual, "proj", None)
            if proj is not None:
                t = torch.einsum("nchw,cd->ndhw", t, proj.float())
            maps.append(t.cpu().numpy())
    return _grids_from_maps(np.concatenate(maps), images, size, "tokens")


def _timm_grids(enc, images: list) -> list[CellGrid]:
    import torch
    from timm.data import resolve_model_data_config

    from ..protocols import IMAGENET_MEAN, IMAGENET_STD, clean_preprocess, upair_preprocess

    model = enc.load()
    if enc.protocol == "upair":
        size, _ = enc.upair_input()
        prep = lambda ims: upair_preprocess(ims, size, 3)  # noqa: E731
    else:  # the model's mean/std on the padded square (no centre crop, so the grid covers the figure)
        cfg = resolve_model_data_config(model)
        size = int(cfg["input_size"][-1])
        mean, std = cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD)
        prep = lambda ims: clean_preprocess(ims, size, mean, std)  # noqa: E731
    maps = []
    with torch.inference_mode():
        for i in range(0, len(images), enc.batch_size):
            x = prep(images[i:i + enc.batch_size]).to(enc.device)
            try:
                inter = model.forward_intermediates(x, indices=1, norm=True, output_fmt="NCHW",
                                                    intermediates_only=True)
            except (AttributeError, TypeError, NotImplementedError) as exc:
                raise NoSpatialMap(f"{enc.label}: timm gives no feature map for this model ({exc})") from exc
            t = inter[-1] if isinstance(inter, (list, tuple)) else inter
            if t.ndim != 4:
                raise NoSpatialMap(f"{enc.label}: timm's feature map has shape {tuple(t.shape)}, not (n, C, H, W)")
            maps.append(t.float().cpu().numpy())
    return _grids_from_maps(np.concatenate(maps), images, size, "feature map")
