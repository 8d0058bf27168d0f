"""Judgement sets: each journal is a named set with a provenance log; imports make new sets,
can be undone as one step; the history of a pair across every set.

A set is written by its annotator's own judging, or by an import. An import never lands in a
set that exists unless the caller says ``add=True`` (``SetInUse`` otherwise). Every import is
logged in ``provenance/<journal file>`` (append-only, fsynced): batch id, source file, time, who,
lines, the journal's size before and after and the SHA-256 of its bytes before. Undoing the last
import truncates the journal back to its size before (removes it when the import created it),
which restores it byte for byte — refused when anything was written after the import or the
bytes before it changed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..corpora.base import AXES
from . import judgements as jm
from .judgements_qrels import qrels_pairs
from .judgements import ADJUDICATOR, Journal, JudgementStore, Pair, PairJudgement, time_key

Qrels = Mapping[str, Mapping[str, Mapping[str, int]]]


class SetInUse(ValueError):
    """An import named a judgement set that exists, without ``add=True``."""


@dataclass(frozen=True)
class ImportBatch:
    """One import into a set, as logged in its provenance."""

    id: str
    set: str
    source: str
    t: str
    by: str
    lines: int
    offset: int  # journal size before
    size: int  # journal size after
    sha_before: str
    undone: bool = False


@dataclass(frozen=True)
class Provenance:
    """Where a set's lines came from: typed (lines per annotator) and imports."""

    set: str
    typed: Mapping[str, int]
    imports: tuple[ImportBatch, ...]
    first: str = ""
    last: str = ""

    def lines(self) -> list[str]:
        """Human-readable lines."""
        out = [f"typed by {who}: {n} line(s)" for who, n in sorted(self.typed.items())]
        for b in self.imports:
            state = "undone" if b.undone else "in the set"
            out.append(f"imported from {b.source} at {b.t} by {b.by or 'unknown'}: {b.lines} line(s) ({state})")
        return out or ["empty"]


def _prov_path(journal: Journal) -> Path:
    return journal.path.parent / "provenance" / journal.path.name


def _append_event(journal: Journal, event: dict) -> None:
    path = _prov_path(journal)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def imports(journal: Journal) -> list[ImportBatch]:
    """The imports logged for a set, oldest first (undone ones marked)."""
    path = _prov_path(journal)
    if not path.exists():
        return []
    batches: dict[str, dict] = {}
    undone: set[str] = set()
    for line in path.read_bytes().splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a torn last line: the import it would describe was not acknowledged
        if ev.get("event") == "import":
            batches[ev["id"]] = ev
        elif ev.get("event") == "undo-import":
            undone.add(ev.get("batch"))
    fields = ("id", "set", "source", "t", "by", "lines", "offset", "size", "sha_before")
    return [ImportBatch(*(b[f] for f in fields), undone=b["id"] in undone) for b in batches.values()]


def _sha(path: Path, upto: int) -> str:
    h = hashlib.sha256()
    if upto:
        with open(path, "rb") as fh:
            h.update(fh.read(upto))
    return h.hexdigest()


def set_exists(store: JudgementStore, name: str) -> bool:
    """Whether a set (journal) of that name has any line."""
    path = store.journal(name).path
    return path.exists() and path.stat().st_size > 0


def import_set(store: JudgementStore, name: str, qrels: Qrels, source: str, *, add: bool = False,
               by: str = "") -> ImportBatch:
    """Journal validated qrels (grades 0/1, see ``judgements_check``) into the set ``name``.

    A new name makes a new set; an existing one raises ``SetInUse`` unless ``add``. Returns
    the logged batch (undo it with ``undo_import``)."""
    journal = store.journal(name)  # the name grammar and the reserved names are checked here
    if journal.annotator == ADJUDICATOR:
        raise ValueError(f"'{ADJUDICATOR}' holds adjudication decisions; import into another set name")
    if set_exists(store, name) and not add:
        n = len(journal.judgements())
        raise SetInUse(f"a judgement set named {name!r} exists ({n} judged pair(s)); choose a new name, or "
                       "confirm adding to it")
    batch = secrets.token_hex(8)
    items = qrels_pairs(qrels)  # validated: grades are 0 or 1
    journal.record_many(items, source=str(source), **{"import": batch})
    offset, size = journal.last_span
    ev = {"event": "import", "id": batch, "set": journal.annotator, "source": str(source), "t": jm._now(),
          "by": by, "lines": len(items), "offset": offset, "size": size, "sha_before": _sha(journal.path, offset)}
    _append_event(journal, ev)
    return imports(journal)[-1]


def undo_import(store: JudgementStore, name: str, by: str = "") -> ImportBatch:
    """Undo the latest import into ``name`` that is not undone: the journal is restored byte for
    byte. ValueError (nothing changed) when there is none, or the journal changed since."""
    journal = store.journal(name)
    live = [b for b in imports(journal) if not b.undone]
    if not live:
        raise ValueError(f"no import into {name!r} to undo")
    b = live[-1]
    fd = os.open(journal.path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size != b.size:
            raise ValueError(f"{size - b.size} byte(s) were written to {name!r} after the import of {b.source} "
                             "(judgements made since); undo those first — nothing changed")
        if _sha(journal.path, b.offset) != b.sha_before:
            raise ValueError(f"the journal of {name!r} before the import has changed; nothing changed")
        os.ftruncate(fd, b.offset)
        os.fsync(fd)
        if b.offset == 0:
            os.unlink(journal.path)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    with jm._READ_LOCK:
        jm._READ_CACHE.pop(str(journal.path), None)
    _append_event(journal, {"event": "undo-import", "batch": b.id, "t": jm._now(), "by": by})
    return next(x for x in imports(journal) if x.id == b.id)


def provenance(store: JudgementStore, name: str) -> Provenance:
    """Typed lines per annotator and the imports of a set."""
    journal = store.journal(name)
    st = journal.read()
    typed: dict[str, int] = {}
    for j in st.lines:
        if not j.source:
            typed[journal.annotator] = typed.get(journal.annotator, 0) + 1
    times = [j.time for j in st.lines]
    return Provenance(journal.annotator, typed, tuple(imports(journal)), min(times, default=""),
                      max(times, default=""))


@dataclass(frozen=True)
class HistoryEntry:
    """One journal line about a pair."""

    set: str
    time: str
    axes: Mapping[str, int | None]
    skip: bool
    source: str  # "typed" or "import <file>"
    undone: bool
    change: str  # what differs from that set's previous live line of the pair


def pair_history(store: JudgementStore, pair: Pair) -> list[HistoryEntry]:
    """Every line about ``pair`` in every set of the store, oldest first."""
    out = []
    for name in store.annotators():
        journal = store.journal(name)
        st = journal.read()
        sources = {b.id: b.source for b in imports(journal)}
        prev: PairJudgement | None = None
        for j in st.lines:
            if (j.query, j.candidate) != tuple(pair):
                continue
            undone = j.entry in st.undone
            if prev is None:
                change = "first judgement"
            else:
                before, after = summary(prev.axes, prev.skip), summary(j.axes, j.skip)
                change = f"{before} → {after}" if before != after else "same answers again"
            src = f"import {sources.get(j.source, j.source)}" if j.source else "typed"
            out.append(HistoryEntry(name, j.time, dict(j.axes), j.skip, src, undone,
                                    change + (" (withdrawn by undo)" if undone else "")))
            if not undone:
                prev = j
    return sorted(out, key=lambda e: time_key(e.time))


def summary(axes: Mapping, skip: bool) -> str:
    """``V1 S0 P?`` style summary of a judgement."""
    if skip:
        return "skipped"
    sym = {1: "1", 0: "0", None: "?"}
    return " ".join(f"{k}{sym[axes[a]] if a in axes else '–'}" for k, a in zip("VSP", AXES))
