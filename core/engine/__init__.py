"""Build engines: who runs the encoding mapper over a corpus.

``local`` runs it in this process; ``ray`` distributes it over a Ray cluster (an actor pool,
one model per actor). Both write every finished unit to the same content-addressed vector
cache the plain build uses, then the embeddings and the index are assembled locally from
that cache (nothing is encoded twice). Engines are named in ``ENGINES`` (data).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from ..corpora.base import Corpus
from ..embed import EncoderUnavailable, Progress, require, vector_namespace
from ..store import VectorStore, exclusive
from .units import UnitResult, WorkUnit, work_units

#: engine name -> module with ``distribute(jobs, spec, options) -> Iterator[UnitResult]``.
ENGINES: dict[str, str] = {"local": "core.engine.local", "ray": "core.engine.ray"}


@dataclass(frozen=True)
class EngineOptions:
    """Where and how wide an engine runs (``address``/``workers`` only matter for Ray)."""

    address: str | None = None
    workers: int | None = None


@dataclass(frozen=True)
class EngineReport:
    """What one encoder's engine run did, unit by unit."""

    spec: str
    engine: str
    units: int
    units_cached: int
    units_encoded: tuple[str, ...]
    items_encoded: int
    problems: tuple[str, ...] = ()


#: One job: a unit and the content keys of it that the cache still lacks.
Job = tuple[WorkUnit, list[str]]


def get_engine(name: str):
    """The engine module named ``name``; unknown names fail listing the engines."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name])


def pending_jobs(units: Iterable[WorkUnit], store: VectorStore) -> tuple[list[Job], int]:
    """(jobs for units with keys missing from ``store``, number of units already complete)."""
    from ..figures import figure_digest

    jobs, cached = [], 0
    for unit in units:
        missing = store.missing([figure_digest(f) for f in unit.figures])
        if missing:
            jobs.append((unit, missing))
        else:
            cached += 1
    return jobs, cached


def encode_corpus(corpus: Corpus, spec: str, engine: str = "local", options: EngineOptions = EngineOptions(),
                  progress: Progress | None = None) -> EngineReport:
    """Encode the images of ``corpus`` missing from the cache with ``engine``; each finished
    unit is written to the vector cache as soon as it arrives."""
    module = get_engine(engine)
    enc = require(spec)
    if not enc.has_images:
        raise EncoderUnavailable(f"{spec} encodes texts only; build it without --engine")
    ns = vector_namespace(enc, "image")
    units = work_units(corpus)
    with exclusive(f"embed|{ns}"):
        store = VectorStore(ns, dim=int(enc.dim))
        jobs, cached = pending_jobs(units, store)
        done: list[str] = []
        problems: list[str] = []
        items = 0
        results: Iterator[UnitResult] = module.distribute(jobs, spec, options) if jobs else iter(())
        for result in results:
            store.add(list(result.keys), result.vectors)
            done.append(result.unit)
            problems += result.problems
            items += len(result.keys)
            if progress:
                progress(len(done), len(jobs), f"{spec} · {result.unit}")
    return EngineReport(spec, engine, len(units), cached, tuple(done), items, tuple(problems))


def run_build(corpus: Corpus, encoders: list[str], engine: str = "local", options: EngineOptions = EngineOptions(),
              index_kind: str = "auto", progress: Progress | None = None,
              on_report: Callable[[EngineReport], None] | None = None) -> dict[str, object]:
    """Encode with ``engine``, then assemble embeddings and indices from the cache (as
    ``core.search.build`` does); text-only encoders are built locally."""
    from ..search import build

    get_engine(engine)
    for spec in encoders:
        try:
            enc = require(spec)
        except (EncoderUnavailable, ValueError):
            continue  # reported by build() below
        if enc.has_images:
            report = encode_corpus(corpus, spec, engine, options, progress)
            if on_report:
                on_report(report)
    return build(corpus, encoders, index_kind=index_kind, progress=progress)
