"""Harness for end-to-end comparisons with the reference's ``CandidateSampler`` (imported from
``../shared/reference/upair/src``, never copied; skipped with the reason when absent).

The reference is run as it is — ``set_thresholds`` and ``sample`` — on a collection this module
builds, with its model classes stubbed (the test feeds both sides the same vectors) and three
documented changes made from outside, each needed to run it at all or to give it a seedable draw:

1. ``random``: the reference calls ``random.sample`` on a set or on dict keys (refused by Python
   ≥ 3.11, ordered by hash before) with the unseeded global generator. The harness gives it a
   ``sample`` that draws from the *sorted* population with a generator seeded per query exactly
   as the project seeds it (``random.Random(f"{seed}:{query id}")``).
2. The loop fix: the reference leaves a dropped near-duplicate in the pool it draws from (and can
   loop forever once only duplicates remain). The harness removes a figure from that pool the
   moment the reference's ``is_duplicate`` says it is one — what the project does.
3. Cited state: the reference deduplicates a query's cited figures against the *previous*
   query's cited figures (``current_cited_candidates`` is not reset between queries). The harness
   resets it before each query, as the project draws each query on its own.
"""
from __future__ import annotations

import json
import random
import sys
import types
from pathlib import Path

import numpy as np
import pytest

REFERENCE_SRC = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "upair" / "src"
INDEX_DIMS = {"title": 12, "desc": 12, "label": 12, "clip": 16, "patentnet": 512, "resnext": 20}


def need_reference_sampler() -> Path:
    if not (REFERENCE_SRC / "candidate_sampler.py").is_file():
        pytest.skip(f"needs the reference UPAIR sampler at {REFERENCE_SRC} (absent on a fresh clone)")
    return REFERENCE_SRC


def import_reference():
    """(candidate_sampler module, PatentIndex); the encoders module stubbed (no weights)."""
    src = need_reference_sampler()
    stub = types.ModuleType("encoders")
    for name in ("PatentNetEncoder", "PaecterEncoder", "CLIPEncoder", "ResNext101Encoder"):
        setattr(stub, name, type(name, (), {}))
    saved = {k: sys.modules.get(k) for k in ("encoders", "candidate_sampler", "patent_index", "utils", "constants")}
    sys.modules["encoders"] = stub
    sys.path.insert(0, str(src))
    try:
        import candidate_sampler
        import patent_index
        return candidate_sampler, patent_index.PatentIndex
    finally:
        sys.path.remove(str(src))
        for k, v in saved.items():
            if k in ("candidate_sampler", "patent_index"):
                continue
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class SeededSample:
    """The reference's ``random`` module, made seedable (change 1) and with the loop fix (change 2)."""

    def __init__(self):
        self.rng = random.Random(0)
        self.pool: set | None = None

    def sample(self, population, k):
        if isinstance(population, set):
            self.pool = population  # the reference's all_hashcodes: the loop fix removes duplicates from it
        return self.rng.sample(sorted(population), k)


def run_reference(tmp: Path, groups: dict, index: dict, ids: list[str], patents: list[str],
                  queries: dict[str, dict], citations: dict, seed: int) -> dict[str, dict]:
    """Run the reference's ``set_thresholds`` and ``sample`` on the given vectors; its written
    candidate files, query file name → groups. ``queries``: file name → {"id", "patent",
    index name → vector}; ``index``: index name → (n, d) vectors in ``ids`` order."""
    import os

    cs, PatentIndex = import_reference()
    Sampler = cs.CandidateSampler
    ref = object.__new__(Sampler)
    ref.config = {"indices": {k: {"dim": v.shape[1]} for k, v in index.items()},
                  "cited_sample_size": 5, "thresholds_dict": str(tmp / "thresholds.json")}
    ref.group_config = groups
    ref.citations_data = citations
    ref.current_cited_candidates = None
    ref.indices = {}
    for name, x in index.items():
        pi = PatentIndex(dim=x.shape[1])
        pi.add(np.ascontiguousarray(x, dtype=np.float32), ids, patents, ids)
        ref.indices[name] = pi
    query_dict = {"A": {key: {"patent": q["patent"], "section": "A", **{n: q[n] for n in index}}
                        for key, q in queries.items()}}
    ref.load_query_dict = lambda: query_dict
    by_bytes = {np.ascontiguousarray(v, dtype=np.float32).tobytes(): h for v, h in zip(index["patentnet"], ids)}
    rnd = SeededSample()
    original_is_duplicate = Sampler.is_duplicate

    def is_duplicate(index_, vector, threshold):
        dup = original_is_duplicate(ref, index_, vector, threshold)
        if dup and rnd.pool is not None:  # change 2: a dropped duplicate leaves the pool
            rnd.pool.discard(by_bytes[np.ascontiguousarray(vector, dtype=np.float32).tobytes()])
        return dup

    original_cited = Sampler.select_cited_candidates
    key_of = {id(q): key for key, q in query_dict["A"].items()}

    def select_cited_candidates(query):
        rnd.rng = random.Random(f"{seed}:{queries[key_of[id(query)]]['id']}")  # change 1: seeded per query
        rnd.pool = None
        ref.current_cited_candidates = None  # change 3: no cited state carried from the previous query
        return original_cited(ref, query)

    ref.is_duplicate = is_duplicate
    ref.select_cited_candidates = select_cited_candidates
    tmp.mkdir(parents=True, exist_ok=True)
    saved_random, cwd = cs.random, os.getcwd()
    cs.random = rnd
    os.chdir(tmp)
    try:
        ref.set_thresholds(force=True)
        ref.sample()
    finally:
        cs.random = saved_random
        os.chdir(cwd)
    return {p.name[: -len(".json")]: json.loads(p.read_text()) for p in (tmp / "data" / "candidates" / "A").iterdir()}


def load_src_utils():
    """The reference sampler's own ``src/utils.py`` (clean_text, pad, preprocess), loaded as an
    isolated module (``ref_src_utils``); its sibling ``constants`` is removed again afterwards."""
    import importlib.util

    src = need_reference_sampler()
    saved = sys.modules.pop("constants", None)
    sys.path.insert(0, str(src))
    try:
        spec = importlib.util.spec_from_file_location("ref_src_utils", src / "utils.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("constants", None)
        if saved is not None:
            sys.modules["constants"] = saved
