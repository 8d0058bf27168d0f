"""Training-free visual descriptors for binary patent drawings: HOG and AHDH.

Both work on grayscale versions of the figures, never download anything and are always
available. Outputs are float32 rows with unit L2 norm (an empty/blank image gives a zero
row, which cosine similarity treats as "similar to nothing").
"""
from __future__ import annotations

import numpy as np

from .base import IMAGE, Encoder, l2_normalise

__all__ = ["HOGEncoder", "AHDHEncoder", "ink_bbox", "pad_to_square"]

#: Grey values strictly below this count as ink when cropping to the drawing's extent.
_CROP_INK = 250
#: Otsu's threshold is clipped to this range, so near-blank pages do not turn scanner or
#: compression noise into ink, and dark pages still keep their lines.
_OTSU_RANGE = (64, 230)


def _gray(image) -> np.ndarray:
    """``PIL.Image`` (any mode) → 2-D uint8 array."""
    if image.mode != "L":
        image = image.convert("L")
    return np.asarray(image, dtype=np.uint8)


def ink_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` half-open bounding box of the True pixels, None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def pad_to_square(gray: np.ndarray, fill: int = 255) -> np.ndarray:
    """Centre a 2-D array on a square canvas of ``fill`` (white) as large as its longer side."""
    h, w = gray.shape
    side = max(h, w)
    if h == w:
        return gray
    out = np.full((side, side), fill, dtype=gray.dtype)
    y, x = (side - h) // 2, (side - w) // 2
    out[y : y + h, x : x + w] = gray
    return out


# --------------------------------------------------------------------------------------
# HOG
# --------------------------------------------------------------------------------------


class ClassicEncoder(Encoder):
    """Training-free image descriptors: no weights, always available, image-only."""

    kind = "classic"
    capabilities = frozenset({IMAGE})
    batch_size = 64
    image_mode = "L"
    #: one image at a time: small reader steps let decoding overlap from the first images on
    decode_chunk = 8


class HOGEncoder(ClassicEncoder):
    """Histogram of oriented gradients over the whole drawing (scikit-image).

    Pipeline: grayscale → (optionally) crop to the inked bounding box → pad to a white
    square (centred) → resize to ``size`` x ``size`` (bilinear, antialiased) →
    ``skimage.feature.hog`` with ``orientations`` bins, ``pixels_per_cell`` square cells
    and ``cells_per_block`` square blocks (L2-Hys block norm) → L2 normalise.

    With the defaults (128 px, 16 px cells, 2x2 blocks, 9 bins) there are 8x8 cells and
    7x7 overlapping blocks, so ``dim = 7 * 7 * 2 * 2 * 9 = 1764``.
    """

    spec = "hog"
    label = "HOG"
    VERSION = "1"

    def __init__(
        self,
        size: int = 128,
        orientations: int = 9,
        pixels_per_cell: int = 16,
        cells_per_block: int = 2,
        crop: bool = True,
    ) -> None:
        if size % pixels_per_cell:
            raise ValueError(f"size ({size}) must be a multiple of pixels_per_cell ({pixels_per_cell})")
        cells = size // pixels_per_cell
        if cells < cells_per_block:
            raise ValueError("fewer cells than cells_per_block; use a larger size or smaller cells")
        self.size = int(size)
        self.orientations = int(orientations)
        self.pixels_per_cell = int(pixels_per_cell)
        self.cells_per_block = int(cells_per_block)
        self.crop = bool(crop)
        blocks = cells - cells_per_block + 1
        self._dim = blocks * blocks * cells_per_block * cells_per_block * orientations

    @property
    def dim(self) -> int:
        return self._dim

    def cache_key(self) -> str:
        return (
            f"hog|v{self.VERSION}|size={self.size}|orient={self.orientations}"
            f"|ppc={self.pixels_per_cell}|cpb={self.cells_per_block}|norm=L2-Hys|crop={int(self.crop)}"
        )

    def prepare(self, image) -> np.ndarray:
        """The ``size`` x ``size`` float image (0 = black, 1 = white) HOG is computed on."""
        from PIL import Image

        gray = _gray(image)
        if self.crop:
            box = ink_bbox(gray < _CROP_INK)
            if box is not None:
                y0, y1, x0, x1 = box
                gray = gray[y0:y1, x0:x1]
        square = Image.fromarray(np.ascontiguousarray(pad_to_square(gray)), mode="L")
        square = square.resize((self.size, self.size), Image.Resampling.BILINEAR)
        return np.asarray(square, dtype=np.float32) / 255.0

    def _one(self, image) -> np.ndarray:
        from skimage.feature import hog

        return hog(
            self.prepare(image),
            orientations=self.orientations,
            pixels_per_cell=(self.pixels_per_cell, self.pixels_per_cell),
            cells_per_block=(self.cells_per_block, self.cells_per_block),
            block_norm="L2-Hys",
            feature_vector=True,
        ).astype(np.float32, copy=False)

    def encode_images(self, images: list) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.stack([self._one(im) for im in images]))


# --------------------------------------------------------------------------------------
# AHDH
# --------------------------------------------------------------------------------------


def _rect_sums(table: np.ndarray, y0, y1, x0, x1) -> np.ndarray:
    """Sums over half-open rectangles from a zero-padded summed-area table (vectorised)."""
    return table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]


class AHDHEncoder(ClassicEncoder):
    """Adaptive hierarchical density histogram (Sidiropoulos et al., PatMedia).

    A descriptor designed for binary patent drawings:

    1. Binarise the grayscale image: ink = grey value below Otsu's threshold (clipped to
       64..230; figures downscaled to 384 px, as in UPAIR, have mostly grey antialiased
       lines, which a fixed 128 would lose) or below a fixed ``threshold``. Then crop to
       the ink's bounding box, which makes the descriptor invariant to translation and
       scale of the drawing on the page. Crops larger than
       ``max_side`` are downscaled first (any ink in a cell keeps the cell inked, so thin
       lines survive).
    2. Level 0 is the whole crop. Each region at level ``l`` is split at the centroid of its
       ink pixels into four sub-regions (top-left, top-right, bottom-left, bottom-right),
       giving ``4**l`` regions at level ``l`` for ``l = 0 .. levels-1``.
    3. Every region ``r`` contributes three numbers: ``sqrt(d_r)``, ``sqrt(d_r) * u_r`` and
       ``sqrt(d_r) * v_r`` where ``d_r`` is the share of the image's ink pixels that lie in
       ``r`` (the densities of one level sum to 1) and ``(u_r, v_r)`` is the position of the
       region's ink centroid relative to the region, mapped to ``[-1, 1]`` (0 = centre).
       The square root is the Hellinger map for histograms: each level's density part has
       unit norm, and centroids of regions holding little ink (noisy) weigh little. With
       ``position_bins > 0`` the relative positions are quantised to that many bins per
       axis (bin centres). Empty regions give zeros (centroid = region centre).
    4. Concatenate over levels (the constant level-0 density is dropped) and L2 normalise.

    ``dim = 3 * (4**levels - 1) / 3 - 1 = 4**levels - 2``; 4094 with the default 6 levels.
    A blank image gives a zero vector.
    """

    spec = "ahdh"
    label = "AHDH"
    VERSION = "1"

    def __init__(
        self,
        levels: int = 6,
        threshold: int | None = None,
        position_bins: int = 0,
        max_side: int = 1024,
    ) -> None:
        if not 1 <= levels <= 8:
            raise ValueError("levels must be between 1 and 8")
        self.levels = int(levels)
        self.threshold = None if threshold is None else int(threshold)
        self.position_bins = int(position_bins)
        self.max_side = int(max_side)

    @property
    def dim(self) -> int:
        return 4**self.levels - 2

    def cache_key(self) -> str:
        thr = f"otsu{_OTSU_RANGE[0]}-{_OTSU_RANGE[1]}" if self.threshold is None else str(self.threshold)
        return (
            f"ahdh|v{self.VERSION}|levels={self.levels}|threshold={thr}"
            f"|bins={self.position_bins}|max_side={self.max_side}|crop=1|hellinger"
        )

    # -- steps ---------------------------------------------------------------------

    def binarise(self, image) -> np.ndarray:
        """Boolean ink mask (True = black/foreground) of a PIL image."""
        gray = _gray(image)
        if self.threshold is not None:
            return gray < self.threshold
        if int(gray.min()) >= _OTSU_RANGE[1]:  # nothing darker than paper noise: no ink
            return np.zeros(gray.shape, dtype=bool)
        from skimage.filters import threshold_otsu

        t = float(np.clip(threshold_otsu(gray), *_OTSU_RANGE))
        return gray < t

    def _crop(self, mask: np.ndarray) -> np.ndarray | None:
        box = ink_bbox(mask)
        if box is None:
            return None
        y0, y1, x0, x1 = box
        mask = mask[y0:y1, x0:x1]
        h, w = mask.shape
        if max(h, w) > self.max_side:
            from PIL import Image

            scale = self.max_side / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = Image.fromarray(mask.astype(np.uint8) * 255, mode="L").resize(size, Image.Resampling.BOX)
            mask = np.asarray(small) > 0
        return mask

    def describe(self, mask: np.ndarray) -> np.ndarray:
        """The (unnormalised) descriptor of a boolean ink mask."""
        out = np.zeros(self.dim + 1, dtype=np.float64)  # +1: level-0 density, dropped below
        mask = self._crop(mask)
        if mask is None:
            return out[1:].astype(np.float32)
        h, w = mask.shape
        ink = mask.astype(np.int64)
        # Zero-padded summed-area tables of ink, and of ink weighted by 2x+1 / 2y+1
        # (twice the pixel-centre coordinate, which keeps everything in exact integers).
        def table(a: np.ndarray) -> np.ndarray:
            t = np.zeros((h + 1, w + 1), dtype=np.int64)
            np.cumsum(np.cumsum(a, axis=0), axis=1, out=t[1:, 1:])
            return t

        t_n = table(ink)
        t_x = table(ink * (2 * np.arange(w, dtype=np.int64) + 1)[None, :])
        t_y = table(ink * (2 * np.arange(h, dtype=np.int64) + 1)[:, None])
        total = float(t_n[h, w])

        y0 = np.array([0]); y1 = np.array([h]); x0 = np.array([0]); x1 = np.array([w])
        pos = 0
        bins = self.position_bins
        for level in range(self.levels):
            n = _rect_sums(t_n, y0, y1, x0, x1).astype(np.float64)
            sx = _rect_sums(t_x, y0, y1, x0, x1).astype(np.float64)
            sy = _rect_sums(t_y, y0, y1, x0, x1).astype(np.float64)
            has = n > 0
            safe = np.where(has, n, 1.0)
            # Ink centroid in continuous coordinates (pixel i spans [i, i+1)); centre if empty.
            cx = np.where(has, sx / (2.0 * safe), (x0 + x1) / 2.0)
            cy = np.where(has, sy / (2.0 * safe), (y0 + y1) / 2.0)
            wid = np.maximum(x1 - x0, 1)
            hei = np.maximum(y1 - y0, 1)
            u = np.where(has, 2.0 * (cx - x0) / wid - 1.0, 0.0)
            v = np.where(has, 2.0 * (cy - y0) / hei - 1.0, 0.0)
            if bins > 0:
                u = np.where(has, (np.clip(np.floor((u + 1.0) / 2.0 * bins), 0, bins - 1) + 0.5) / bins * 2.0 - 1.0, 0.0)
                v = np.where(has, (np.clip(np.floor((v + 1.0) / 2.0 * bins), 0, bins - 1) + 0.5) / bins * 2.0 - 1.0, 0.0)
            root = np.sqrt(n / total)
            k = n.size
            out[pos : pos + k] = root
            out[pos + k : pos + 2 * k] = root * u
            out[pos + 2 * k : pos + 3 * k] = root * v
            pos += 3 * k
            if level == self.levels - 1:
                break
            # Split each region at its centroid: pixel i goes left when its centre i+0.5 < cx.
            mx = np.clip(np.ceil(cx - 0.5).astype(np.int64), x0, x1)
            my = np.clip(np.ceil(cy - 0.5).astype(np.int64), y0, y1)
            # Children in the order TL, TR, BL, BR, contiguous per parent.
            y0, y1, x0, x1 = (
                np.stack([y0, y0, my, my], axis=1).ravel(),
                np.stack([my, my, y1, y1], axis=1).ravel(),
                np.stack([x0, mx, x0, mx], axis=1).ravel(),
                np.stack([mx, x1, mx, x1], axis=1).ravel(),
            )
        return out[1:].astype(np.float32)

    def encode_images(self, images: list) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.stack([self.describe(self.binarise(im)) for im in images]))
