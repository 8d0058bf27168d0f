"""The reference's three selection steps: merge per-index bands, deduplicate, cited candidates.

All randomness goes through the ``random.Random`` passed in, and every set is sorted before
it is sampled from, so a seed gives the same draw on any Python version (the reference calls
``random.sample`` on a set, which Python ≥ 3.11 refuses and older versions order by hash).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Sequence, TypeVar

import numpy as np

T = TypeVar("T")

#: Merge cases, in the reference's order of preference.
ALL = "all-index intersection"
PARTIAL = "intersection + description ∩ visual"
UNION = "union of samples per index"


@dataclass(frozen=True)
class Merged:
    """Merged candidates of one group: figure → summed score (summed in index order and not
    rounded, as the reference sums), the case, and who contributed."""

    scores: dict[str, float]
    case: str
    contributors: dict[str, tuple[str, ...]]  # figure → indices whose score was summed


def merge(per_index: Mapping[str, Mapping[str, float]], description: str | None, visual: str | None,
          rng: random.Random, min_intersection: int = 5, union_cap: int = 1000) -> Merged:
    """Combine the in-band candidates of every index as the reference does.

    At least ``min_intersection`` figures in every index's band: those, scores summed over all
    indices. Fewer but some: those, plus the description ∩ visual figures carrying only their
    description score. None: per index a random sample of at most ``union_cap`` of its band,
    scores summed where samples meet.
    """
    names = list(per_index)
    sets = [set(per_index[n]) for n in names]
    common = set.intersection(*sets) if sets else set()
    scores: dict[str, float] = {}
    contrib: dict[str, list[str]] = {}

    def add(fid: str, name: str) -> None:
        scores[fid] = scores.get(fid, 0.0) + per_index[name][fid]
        contrib.setdefault(fid, []).append(name)

    if common:
        for fid in sorted(common):
            for name in names:
                add(fid, name)
        case = ALL
        if len(common) < min_intersection:
            case = PARTIAL
            pair = set()
            if description and visual:
                pair = set(per_index.get(description, {})) & set(per_index.get(visual, {}))
            for fid in sorted(pair - common):
                add(fid, description)
    else:
        case = UNION
        for name in names:
            pool = sorted(per_index[name])
            for fid in rng.sample(pool, min(union_cap, len(pool))):
                add(fid, name)
    return Merged(scores, case,
                  {k: tuple(v) for k, v in contrib.items()})


@dataclass(frozen=True)
class Dropped(Generic[T]):
    """A candidate dropped as a near-duplicate of ``of`` (cosine on the dedup index): ``candidate``
    is its figure id where ``deduplicate`` drops it, the scored ``Candidate`` in a draw."""

    candidate: T
    of: str
    cosine: float

    @property
    def id(self) -> str:
        """The dropped figure's id."""
        return self.candidate if isinstance(self.candidate, str) else self.candidate.id


@dataclass(frozen=True)
class Deduped:
    kept: tuple[str, ...]
    dropped: tuple[Dropped[str], ...]


class NumpyNearest:
    """The kept vectors as a numpy matrix; nearest by one matrix-vector product."""

    def __init__(self, dim: int = 0):
        self._rows: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, v: np.ndarray) -> None:
        self._rows.append(np.asarray(v, dtype=np.float32))

    def nearest(self, v: np.ndarray) -> tuple[np.floating, int]:
        sims = np.stack(self._rows) @ np.asarray(v, dtype=np.float32)
        j = int(np.argmax(sims))
        return sims[j], j


class FaissNearest:
    """The kept vectors in a ``faiss.IndexFlatIP``, searched with k = 1, as the reference's
    ``is_duplicate`` does (its float32 score is compared with the threshold as it comes)."""

    def __init__(self, dim: int):
        import faiss

        self._index = faiss.IndexFlatIP(int(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, v: np.ndarray) -> None:
        self._index.add(np.asarray(v, dtype=np.float32).reshape(1, -1))

    def nearest(self, v: np.ndarray) -> tuple[np.floating, int]:
        D, I = self._index.search(np.asarray(v, dtype=np.float32).reshape(1, -1), 1)
        return D[0][0], int(I[0][0])


def deduplicate(pool: Sequence[str], n: int, vector: Callable[[str], np.ndarray], rng: random.Random,
                threshold: float = 0.90, seeds: Sequence[str] = (), factor: int = 2,
                nearest: Callable[[int], object] = NumpyNearest, reference_stop: bool = False) -> Deduped:
    """Draw up to ``n`` figures from ``pool`` at random, dropping any whose cosine to a figure
    already kept (or to a ``seeds`` figure) is ≥ ``threshold``.

    As the reference: rounds of ``factor`` × (still needed) random draws from what is left,
    each examined in order. A dropped figure leaves the pool (the reference leaves it in, and
    can loop forever once only duplicates remain; a duplicate never becomes unique later).
    ``nearest(dim)`` makes the store of kept vectors (``FaissNearest`` is the reference's
    arithmetic). ``reference_stop``: stop, as the reference does, after a round that leaves
    as many figures in the pool as were kept while fewer than ``n`` are kept.
    """
    seed_ids = list(seeds)
    left = sorted(set(pool) - set(seed_ids))
    kept: list[str] = []
    owners: list[str] = list(seed_ids)
    store = None
    dropped: list[Dropped[str]] = []

    def vec(fid: str) -> np.ndarray:
        return np.asarray(vector(fid), dtype=np.float32)

    for s in seed_ids:
        v = vec(s)
        store = store or nearest(v.shape[0])
        store.add(v)
    while len(kept) < n and left:
        draw = rng.sample(left, min(len(left), (n - len(kept)) * factor))
        gone: set[str] = set()
        for fid in draw:
            v = vec(fid)
            store = store or nearest(v.shape[0])
            if len(store):
                sim, j = store.nearest(v)
                if sim >= threshold:
                    dropped.append(Dropped(fid, owners[j], round(float(sim), 6)))
                    gone.add(fid)
                    continue
            kept.append(fid)
            owners.append(fid)
            store.add(v)
            gone.add(fid)
            if len(kept) >= n:
                break
        left = [f for f in left if f not in gone]
        if reference_stop and len(kept) < n and len(kept) == len(left):
            break
    return Deduped(tuple(kept), tuple(dropped))


def cited_pool(ranked: Sequence[str], patent_of: Mapping[str, str], cited: set[str],
               top_k: int | None = None) -> list[str]:
    """Figures among the first ``top_k`` of ``ranked`` (all when None) whose patent is cited."""
    head = ranked if top_k is None else ranked[:top_k]
    return [fid for fid in head if patent_of.get(fid) in cited]
