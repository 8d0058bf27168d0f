"""Families of near-identical figures: a pHash within ``MAX_HASH_BITS`` bits AND (where the
encoder's vectors are known) a cosine of at least ``MIN_COSINE``.

Neither test alone is enough on patent drawings: mostly-white line drawings of different
things can share a pHash within 6 bits (seen in the query patents), and an encoder puts two
different drawings of one device close together. Both together mark the same drawing: the
US/EP/WO/CN publications of one family, or a re-scan.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .hashes import hamming

#: Most bits two pHashes (of 64) may differ in for the same drawing (copies measured ≤ 8).
MAX_HASH_BITS = 10
#: Least cosine of the encoder's vectors for the same drawing.
MIN_COSINE = 0.90


@dataclass(frozen=True)
class Family:
    """A figure (``lead``, the best-ranked) and its near-identical copies (``copies``, in rank order)."""

    lead: str
    copies: tuple[str, ...] = ()

    @property
    def members(self) -> tuple[str, ...]:
        return (self.lead,) + self.copies


def check_thresholds(max_bits: int, min_cos: float) -> None:
    """ValueError naming the value when a threshold is out of range."""
    if isinstance(max_bits, bool) or not isinstance(max_bits, int) or not 0 <= max_bits <= 64:
        raise ValueError(f"hash distance {max_bits!r} must be a whole number of bits in 0..64")
    if not -1.0 <= float(min_cos) <= 1.0:
        raise ValueError(f"cosine threshold {min_cos!r} must lie in -1..1")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def near_identical(ha: int | None, hb: int | None, va=None, vb=None, max_bits: int = MAX_HASH_BITS,
                   min_cos: float = MIN_COSINE) -> bool:
    """Whether two figures are the same drawing: hashes within ``max_bits`` and, when both
    vectors are given, their cosine at least ``min_cos``. A figure without a hash (unreadable)
    is nobody's copy."""
    if ha is None or hb is None or hamming(ha, hb) > max_bits:
        return False
    if va is None or vb is None:
        return True
    return cosine(va, vb) >= min_cos - 1e-6  # float32 vectors: a cosine printed as the threshold counts


def families(ranked: Sequence[str], hashes: Mapping[str, int], vectors: Mapping[str, np.ndarray] | None = None,
             max_bits: int = MAX_HASH_BITS, min_cos: float = MIN_COSINE) -> list[Family]:
    """``ranked`` ids grouped into families, in rank order: each figure joins the first earlier
    family whose lead it is a copy of (compared with leads only, so chains of small changes do
    not merge different drawings), else starts its own."""
    check_thresholds(max_bits, min_cos)
    vectors = vectors or {}
    leads: list[str] = []
    copies: dict[str, list[str]] = {}
    for fid in ranked:
        home = next((lead for lead in leads
                     if near_identical(hashes.get(fid), hashes.get(lead), vectors.get(fid), vectors.get(lead),
                                       max_bits, min_cos)), None)
        if home is None:
            leads.append(fid)
            copies[fid] = []
        else:
            copies[home].append(fid)
    return [Family(lead, tuple(copies[lead])) for lead in leads]


def copies_of_kept(candidates: Sequence[str], kept: Sequence[str], hashes: Mapping[str, int],
                   vectors: Mapping[str, np.ndarray] | None = None, max_bits: int = MAX_HASH_BITS,
                   min_cos: float = MIN_COSINE) -> set[str]:
    """The ``candidates`` that are copies of a figure in ``kept`` or of an earlier candidate (so
    a draw keeps one figure of each family)."""
    check_thresholds(max_bits, min_cos)
    vectors = vectors or {}
    seen = list(kept)
    out: set[str] = set()
    for fid in candidates:
        if any(near_identical(hashes.get(fid), hashes.get(o), vectors.get(fid), vectors.get(o), max_bits, min_cos)
               for o in seen):
            out.add(fid)
        else:
            seen.append(fid)
    return out


def vectors_of(embeddings, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """The vectors of ``ids`` in an encoder's ``embeddings`` (``.ids``, ``.vectors``), for the cosine
    half of the copy test; ids the embeddings do not hold are left out."""
    row = {fid: i for i, fid in enumerate(embeddings.ids)}
    return {fid: embeddings.vectors[row[fid]] for fid in ids if fid in row}
