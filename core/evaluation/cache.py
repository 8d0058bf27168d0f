"""Explicit caches of the evaluation: what is derived from a corpus object, and finished results.

``CorpusCache`` keeps, per live corpus object, the values evaluation derives from it (the pair
table, per-axis judgements, embeddings, pair scores, per-query min-max) so a new fusion
weight only re-fuses and re-scores; an entry dies with its corpus. ``ResultCache`` keeps
finished per-query results: a bounded in-memory LRU in front of content-addressed JSON
files under ``cache_dir()/eval``.
"""
from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Hashable

from .. import config
from ..store import atomic_write_json, load_json

log = logging.getLogger(__name__)

__all__ = ["CorpusMemo", "CorpusCache", "ResultCache", "CORPUS_CACHE", "RESULT_CACHE"]


class CorpusMemo:
    """Values derived from one corpus object, built once per key (thread-safe)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value under ``key``, built with ``build()`` the first time (outside the lock:
        builds may be slow; when two threads race, the first stored value wins)."""
        try:
            return self._items[key]
        except KeyError:
            pass
        value = build()
        with self._lock:
            return self._items.setdefault(key, value)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class CorpusCache:
    """One ``CorpusMemo`` per live corpus object (corpora are frozen dataclasses, so the memo
    lives here, not on them); entries are dropped when their corpus is garbage-collected."""

    def __init__(self) -> None:
        self._memos: dict[int, tuple[weakref.ref, CorpusMemo]] = {}
        self._lock = threading.Lock()

    def memo(self, corpus: object) -> CorpusMemo:
        """The memo of ``corpus`` (created on first use)."""
        k = id(corpus)
        with self._lock:
            entry = self._memos.get(k)
            if entry is not None and entry[0]() is corpus:
                return entry[1]
            memo = CorpusMemo()
            self._memos[k] = (weakref.ref(corpus, lambda ref, k=k: self._drop(k, ref)), memo)
            return memo

    def _drop(self, k: int, ref: weakref.ref) -> None:
        with self._lock:
            entry = self._memos.get(k)
            if entry is not None and entry[0] is ref:
                del self._memos[k]

    def clear(self) -> None:
        """Forget every memo."""
        with self._lock:
            self._memos.clear()

    def __len__(self) -> int:
        return len(self._memos)


class ResultCache:
    """Finished evaluation results by key: memory (LRU, per cache folder) then JSON on disk."""

    def __init__(self, max_items: int = 256) -> None:
        self.max_items = int(max_items)
        self._memory: "OrderedDict[str, dict]" = OrderedDict()
        self._lock = threading.Lock()
        self._pool = None
        self._pending: list = []

    @staticmethod
    def path(key: str, prefix: str = "") -> Path:
        """Where the result ``key`` is stored on disk."""
        return config.cache_dir() / "eval" / f"{prefix}{key}.json"

    def _mkey(self, key: str) -> str:
        return f"{config.cache_dir()}|{key}"

    def get(self, key: str, valid: Callable[[dict], bool] = lambda d: True) -> dict | None:
        """The stored result ``key`` (validated: its own key inside, and ``valid``), else None."""
        mkey = self._mkey(key)
        with self._lock:
            if mkey in self._memory:
                self._memory.move_to_end(mkey)
                return self._memory[mkey]
        data = load_json(self.path(key))
        if not isinstance(data, dict) or data.get("key") != key or not valid(data):
            return None
        self._remember(mkey, data)
        return data

    def put(self, key: str, data: dict) -> None:
        """Store ``data`` (which must carry ``"key": key``) in memory now and, when writable, on
        disk by a writer thread (atomically, as before; ``flush`` waits for it; pending writes
        finish before the interpreter exits), so re-scoring never waits for the disk."""
        self._remember(self._mkey(key), data)
        path = self.path(key)  # the cache folder of this call, not of the writer's moment
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upair-results")
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._pool.submit(_write, path, key, data))

    def flush(self) -> None:
        """Wait until every result put so far is on disk (or failed to be written, logged)."""
        with self._lock:
            pending, self._pending = list(self._pending), []
        for f in pending:
            f.result()

    def _remember(self, mkey: str, data: dict) -> None:
        with self._lock:
            self._memory[mkey] = data
            self._memory.move_to_end(mkey)
            while len(self._memory) > self.max_items:
                self._memory.popitem(last=False)

    def clear(self) -> None:
        """Forget the in-memory results (files on disk stay)."""
        with self._lock:
            self._memory.clear()


def _write(path: Path, key: str, data: dict) -> None:
    try:
        atomic_write_json(path, data)
    except OSError as exc:  # a read-only cache must not stop the evaluation
        log.warning("could not cache evaluation result %s: %s", key, exc)


#: The process-wide caches used by ``core.evaluation``.
CORPUS_CACHE = CorpusCache()
RESULT_CACHE = ResultCache()
