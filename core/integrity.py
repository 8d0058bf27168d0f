"""Figures whose image cannot be read: found once per corpus content, kept out of results.

An unreadable image (corrupt, empty, truncated, a decompression bomb) is never encoded as a
blank picture: the vector cache marks it (a row of NaN, see ``core.embed``), indices skip it,
and evaluation drops it from candidate lists and judgements, counting what it dropped.
"""
from __future__ import annotations

import threading
from dataclasses import replace

from . import config
from .corpora.base import Benchmark, Corpus
from .figures import ImageError, load_figure_image
from .store import atomic_write_json, key_of, load_json

_MEMO: dict[str, dict[str, str]] = {}
_LOCK = threading.Lock()


def _benchmark_ids(corpus: Corpus) -> list[str]:
    """Ids a benchmark evaluation touches: its queries and candidates (every figure when the
    benchmark ranks the whole corpus)."""
    b = corpus.benchmark
    if b is None or not b.candidates:
        return [f.id for f in corpus.figures]
    ids = dict.fromkeys(b.queries)
    for cands in b.candidates.values():
        ids.update(dict.fromkeys(cands))
    return [i for i in ids if i in corpus.by_id]


def _key(corpus: Corpus, ids: list[str]) -> str:
    return key_of("unreadable", 1, corpus.fingerprint, config.MAX_IMAGE_PIXELS, len(ids))


def _valid(found) -> bool:
    return isinstance(found, dict) and all(isinstance(v, str) for v in found.values())


def known_unreadable(corpus: Corpus) -> dict[str, str] | None:
    """The remembered result of ``unreadable_figures`` for this corpus content, or None when
    it has not been checked yet (nothing is decoded here)."""
    key = _key(corpus, _benchmark_ids(corpus))
    with _LOCK:
        if key in _MEMO:
            return dict(_MEMO[key])
    found = load_json(config.cache_dir() / "integrity" / f"{key}.json")
    return dict(found) if _valid(found) else None


def unreadable_figures(corpus: Corpus, decoded: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """``{figure id: message}`` of the benchmark figures (every figure without a benchmark)
    whose image cannot be decoded; checked once per corpus content, remembered in the cache.

    ``decoded``: ids whose image an encoder's reader has just decoded without error (the
    evaluation's single decode, see ``core.evaluation``); they are taken as readable and not
    decoded a second time. Only the others (none, or the few an encoder could not read, whose
    message comes from here) are opened."""
    ids = _benchmark_ids(corpus)
    key = _key(corpus, ids)
    with _LOCK:
        if key in _MEMO:
            return dict(_MEMO[key])
    path = config.cache_dir() / "integrity" / f"{key}.json"
    found = load_json(path)
    if not _valid(found):
        found = {}
        for fid in ids:
            if fid in decoded:
                continue
            try:
                load_figure_image(corpus.by_id[fid])
            except ImageError as exc:
                found[fid] = str(exc)
        try:
            atomic_write_json(path, found)
        except OSError:  # a read-only cache: the check is redone next time
            pass
    with _LOCK:
        _MEMO[key] = found
    return dict(found)


def without_figures(corpus: Corpus, drop: set[str] | dict[str, str]) -> Corpus:
    """``corpus`` with the figures ``drop`` removed from its figures, queries, candidate lists
    and judgements (the same object when nothing is dropped)."""
    drop = set(drop)
    if not drop:
        return corpus
    figures = tuple(f for f in corpus.figures if f.id not in drop)
    bench = corpus.benchmark
    if bench is not None:
        bench = Benchmark(
            queries=tuple(q for q in bench.queries if q not in drop),
            candidates={q: tuple(c for c in cs if c not in drop)
                        for q, cs in bench.candidates.items() if q not in drop},
            qrels={a: {q: {d: r for d, r in docs.items() if d not in drop} for q, docs in qr.items() if q not in drop}
                   for a, qr in bench.qrels.items()},
            qrels_files=dict(bench.qrels_files),
        )
    return replace(corpus, figures=figures, benchmark=bench)


def drop_unreadable(corpus: Corpus, decoded: set[str] | frozenset[str] = frozenset()
                    ) -> tuple[Corpus, dict[str, str]]:
    """(``corpus`` without its unreadable benchmark figures, ``{id: message}`` of those dropped);
    ``decoded`` as for ``unreadable_figures``."""
    bad = unreadable_figures(corpus, decoded)
    return without_figures(corpus, bad), bad
