"""Late fusion of score lists: per-query min-max normalisation and weighted sums."""
from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["minmax", "fuse", "segment_minmax"]


def minmax(scores):
    """Min-max normalise one query's scores to [0, 1]; a constant list becomes zeros.

    Accepts an array-like (returns float64 array) or ``{docid: score}`` (returns a dict).
    """
    if isinstance(scores, Mapping):
        keys = list(scores)
        vals = minmax(np.fromiter((float(scores[k]) for k in keys), dtype=np.float64, count=len(keys)))
        return dict(zip(keys, vals.tolist()))
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s.copy()
    lo, hi = float(s.min()), float(s.max())
    if not hi > lo:
        return np.zeros_like(s)
    return (s - lo) / (hi - lo)


def fuse(image_scores, text_scores, weight: float = 1.0):
    """Late fusion of one query: ``minmax(image) + weight * minmax(text)``.

    Arrays must be aligned; dicts are fused on the image dict's docids (a docid missing
    from the text dict gets text score 0 before normalisation).
    """
    if isinstance(image_scores, Mapping):
        keys = list(image_scores)
        img = np.fromiter((float(image_scores[k]) for k in keys), dtype=np.float64, count=len(keys))
        txt = np.fromiter((float(text_scores.get(k, 0.0)) for k in keys), dtype=np.float64, count=len(keys))
        return dict(zip(keys, fuse(img, txt, weight).tolist()))
    img = np.asarray(image_scores, dtype=np.float64)
    txt = np.asarray(text_scores, dtype=np.float64)
    if img.shape != txt.shape:
        raise ValueError(f"image and text scores differ in shape: {img.shape} vs {txt.shape}")
    return minmax(img) + float(weight) * minmax(txt)


def segment_minmax(scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``minmax`` applied to every segment ``scores[offsets[i]:offsets[i+1]]`` at once.

    Segments are the candidate lists of the queries (``Pairs.offsets``); a constant
    segment becomes zeros, exactly as ``minmax`` does.
    """
    scores = np.asarray(scores, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(scores) == 0:
        return scores.copy()
    lens = np.diff(offsets)
    nonempty = np.flatnonzero(lens > 0)
    starts = offsets[:-1][nonempty]
    nseg = len(lens)
    lo = np.zeros(nseg)
    hi = np.zeros(nseg)
    lo[nonempty] = np.minimum.reduceat(scores, starts)
    hi[nonempty] = np.maximum.reduceat(scores, starts)
    seg = np.repeat(np.arange(nseg), lens)
    lo_p, span_p = lo[seg], (hi - lo)[seg]
    return np.where(span_p > 0, (scores - lo_p) / np.where(span_p > 0, span_p, 1.0), 0.0)
