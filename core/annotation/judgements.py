"""Relevance judgements: one append-only JSON-lines journal per annotator (qrels in and out of
a journal: ``judgements_qrels``).

A journal line is one of::

    {"v": 1, "id": "…", "t": "…Z", "annotator": "ann", "query": "q", "candidate": "c",
     "axes": {"visual": 1, "semantic": 0, "part_whole": null}, "skip": false}
    {"v": 1, "id": "…", "t": "…Z", "annotator": "ann", "undo": "<id of an earlier line>"}

Axis values are 1 (yes), 0 (no) or null (unsure); an axis not present was not answered.
Each line is written with a single ``write`` on an ``O_APPEND`` descriptor under an
exclusive ``flock`` and fsynced before the call returns, so two tabs (threads or processes)
of the same annotator interleave whole lines. Replaying the journal, the latest line of a
(query, candidate) pair wins and an undone line is ignored. A last line without its newline
(a crash mid-write) is reported as torn and ignored; everything before it is kept. A line
of the wrong shape (see ``record_problem``) is refused and named ``journal:line``.

A journal's file name is its annotator's name with every character outside
``[A-Za-z0-9._-]`` percent-encoded (``alice smith`` → ``alice%20smith.jsonl``), so names map
one-to-one to files. New lines carry the corpus they were made on (``corpus``); a journal
whose first line is unreadable, names another annotator than its file, or another corpus, is
not listed as an annotator but reported by ``JudgementStore.problems``.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from .. import config
from ..corpora.base import AXES
from ..store import key_of

JOURNAL_VERSION = 1
#: Name under which an adjudicator's decisions are journalled.
ADJUDICATOR = "adjudicated"
#: Names of judgement sets that are not annotators.
RESERVED = ("official", "majority")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")

Pair = tuple[str, str]
_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"


def journal_file_name(annotator: str) -> str:
    """The file name of an annotator's journal: reversible (``annotator_of_file`` undoes it)."""
    return urllib.parse.quote(annotator, safe=_SAFE) + ".jsonl"


def annotator_of_file(path: Path | str) -> str:
    """The annotator name a journal file name stands for."""
    name = Path(path).name
    return urllib.parse.unquote(name[:-len(".jsonl")] if name.endswith(".jsonl") else name)


def judgements_root() -> Path:
    """Where journals live: ``$UPAIR_JUDGEMENTS``, else ``judgements/`` beside the cache folder
    (outside it, so emptying the cache never deletes a judgement)."""
    return config.judgements_dir()


def corpus_dir(corpus_name: str, root: Path | None = None) -> Path:
    """The folder of one corpus's journals and pools (named after its spec, plus a digest)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", corpus_name.split("/")[-1] or corpus_name)[:40].strip("_") or "corpus"
    d = (root or judgements_root()) / f"{slug}-{key_of(corpus_name)[:10]}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def check_annotator(name: str) -> str:
    """The annotator name, stripped; a ValueError saying what is allowed otherwise."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ValueError(f"annotator name {name!r} is not usable: use 1-64 letters, digits, spaces, '.', '_' or '-', "
                         "starting with a letter or digit (e.g. 'alice')")
    if name.lower() in RESERVED:
        raise ValueError(f"{name!r} names a judgement set; choose another annotator name")
    return name


@dataclass(frozen=True)
class PairJudgement:
    """The current judgement of one (query, candidate) pair by one annotator."""

    query: str
    candidate: str
    axes: Mapping[str, int | None] = field(default_factory=dict)  # axis -> 1 / 0 / None (unsure)
    skip: bool = False
    time: str = ""
    entry: str = ""  # id of the journal line it comes from
    source: str = ""  # "" typed; the import batch id for an imported line

    @property
    def complete(self) -> bool:
        """Skipped, or every UPAIR axis answered (yes, no or unsure)."""
        return self.skip or all(a in self.axes for a in AXES)


@dataclass(frozen=True)
class JournalState:
    """A replayed journal: current judgements, the order lines were written, problems found."""

    judgements: Mapping[Pair, PairJudgement]
    order: tuple[str, ...]  # ids of live (not undone) judgement lines, oldest first
    pair_of: Mapping[str, Pair]  # line id -> pair
    torn: bool = False
    problems: tuple[str, ...] = ()
    lines: tuple[PairJudgement, ...] = ()  # every judgement line, undone ones too, oldest first
    undone: frozenset = frozenset()  # ids of withdrawn lines


_LAST_US = 0


def _now() -> str:
    """UTC time stamp to the microsecond, from one clock reading, strictly increasing within a process
    (two lines written in the same microsecond still sort in the order they were written)."""
    global _LAST_US
    us = max(time.time_ns() // 1000, _LAST_US + 1)
    _LAST_US = us
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + f".{us % 1_000_000:06d}Z"


def time_key(stamp: str) -> tuple[str, str]:
    """Sort key of a journal time stamp; stamps with milliseconds (older journals) and with
    microseconds compare by their value, not their text."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    return whole, frac.ljust(6, "0")


def _clean_axes(axes: Mapping[str, int | None]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for axis, value in axes.items():
        if axis not in AXES:
            raise ValueError(f"unknown axis {axis!r}; axes are {', '.join(AXES)}")
        if value is not None and value not in (0, 1):
            raise ValueError(f"axis value {value!r} for {axis}: use 1 (yes), 0 (no) or None (unsure)")
        out[axis] = None if value is None else int(value)
    return out


class Journal:
    """The append-only judgement journal of one annotator (for one corpus)."""

    def __init__(self, folder: Path, annotator: str, corpus: str = ""):
        self.annotator = check_annotator(annotator)
        self.corpus = corpus
        self.path = Path(folder) / journal_file_name(self.annotator)

    # ------------------------------------------------------------------ writing
    def _write(self, records: list[dict]) -> tuple[int, int]:
        """Append whole lines under an exclusive lock, then fsync (one write call); returns the
        file's size before and after (what an import's undo truncates back to)."""
        if not records:
            return (self.path.stat().st_size if self.path.exists() else 0,) * 2
        data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size:  # a torn last line must not swallow ours: start on a fresh line
                with open(self.path, "rb") as fh:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":
                        data = b"\n" + data
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            return size, size + len(data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _record(self, **kw) -> dict:
        extra = {"corpus": self.corpus} if self.corpus else {}
        return {"v": JOURNAL_VERSION, "id": secrets.token_hex(8), "t": _now(), "annotator": self.annotator,
                **extra, **kw}

    def record(self, query: str, candidate: str, axes: Mapping[str, int | None] | None = None,
               skip: bool = False, **extra) -> PairJudgement:
        """Append the full current judgement of a pair (durable when this returns)."""
        rec = self._record(query=str(query), candidate=str(candidate), axes=_clean_axes(axes or {}),
                           skip=bool(skip), **extra)
        self._write([rec])
        return PairJudgement(rec["query"], rec["candidate"], rec["axes"], rec["skip"], rec["t"], rec["id"])

    def record_many(self, items: Iterable[tuple[str, str, Mapping[str, int | None]]], **extra) -> int:
        """Append many pair judgements at once (one write, one fsync); returns how many."""
        recs = [self._record(query=str(q), candidate=str(c), axes=_clean_axes(a), skip=False, **extra)
                for q, c, a in items]
        self.last_span = self._write(recs)
        return len(recs)

    def undo(self, pair: Pair | None = None) -> PairJudgement | None:
        """Withdraw the latest live judgement line; returns the pair's judgement before the
        undo (so a page can go back to it), None when there is nothing to undo — or, with
        ``pair``, when the latest live line is not of that pair (nothing is written then)."""
        st = self.read()
        if not st.order:
            return None
        last = st.order[-1]
        pair_of_last = st.pair_of[last]
        if pair is not None and tuple(pair) != pair_of_last:
            return None
        pair = pair_of_last
        before = st.judgements.get(pair)
        self._write([self._record(undo=last)])
        return before

    # ------------------------------------------------------------------ reading
    def read(self) -> JournalState:
        """Replay the journal (missing file: empty state)."""
        return _read_journal(self.path)

    def judgements(self) -> dict[Pair, PairJudgement]:
        """Current judgement of every pair this annotator judged."""
        return dict(self.read().judgements)


@dataclass
class _Parsed:
    """Complete journal lines read so far (for incremental re-reads of an append-only file)."""

    offset: int = 0  # bytes consumed (always just after a newline)
    lines: int = 0
    ino: int = -1
    entries: list = field(default_factory=list)  # (line id, PairJudgement)
    undone: set = field(default_factory=set)
    problems: list = field(default_factory=list)


def _parse_line(line: bytes):
    """A journal record, None for a blank line, or False when unreadable."""
    if not line.strip():
        return None
    try:
        rec = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return rec if isinstance(rec, dict) else False


def _text(value) -> bool:
    return isinstance(value, str) and bool(value) and len(value) <= 1000


def record_problem(rec: dict) -> str:
    """Why a parsed journal line is not a valid record ("" when it is). Valid: ``v`` ≤
    ``JOURNAL_VERSION``, a text ``id``, and either ``undo`` (a text id) or text ``query`` and
    ``candidate``, ``axes`` mapping UPAIR axes to 1, 0 or null, and ``skip`` true/false."""
    if rec.get("v", JOURNAL_VERSION) not in range(1, JOURNAL_VERSION + 1):
        return f"journal version {rec.get('v')!r} is not one this tool reads (1..{JOURNAL_VERSION})"
    if not _text(rec.get("id")):
        return "no text 'id'"
    if "undo" in rec:
        return "" if _text(rec["undo"]) else "'undo' is not the text id of a line"
    if not (_text(rec.get("query")) and _text(rec.get("candidate"))):
        return "'query' and 'candidate' must be non-empty texts"
    axes = rec.get("axes", {})
    if not isinstance(axes, dict):
        return "'axes' is not an object"
    for axis, value in axes.items():
        if axis not in AXES:
            return f"unknown axis {str(axis)[:40]!r} (axes: {', '.join(AXES)})"
        if value is not None and (isinstance(value, bool) or value not in (0, 1)):
            return f"{axis} = {str(value)[:40]!r}; values are 1, 0 or null"
    if not isinstance(rec.get("skip", False), bool):
        return "'skip' is not true/false"
    return ""


def _add(rec: dict, entries: list, undone: set) -> None:
    if "undo" in rec:
        undone.add(rec["undo"])
    else:
        j = PairJudgement(rec["query"], rec["candidate"], dict(rec.get("axes", {})), rec.get("skip", False),
                          str(rec.get("t", "")), rec["id"], str(rec.get("import", "")))
        entries.append((rec["id"], j))


def _consume(p: _Parsed, data: bytes, where: str) -> tuple[list, set, list, bool]:
    """Fold the complete lines of ``data`` (read from ``p.offset``) into ``p``; the last line
    without a newline is parsed apart and returned as (entries, undone, problems, torn)."""
    end = data.rfind(b"\n") + 1
    for line in data[:end].split(b"\n")[:-1]:
        p.lines += 1
        rec = _parse_line(line)
        problem = "not a JSON object" if rec is False else record_problem(rec) if rec is not None else ""
        if problem:
            kind = "unreadable line" if rec is False else "line of the wrong shape"
            p.problems.append(f"{where}:{p.lines}: {kind} refused ({problem}); ignored")
        elif rec is not None:
            _add(rec, p.entries, p.undone)
    p.offset += end
    entries: list = []
    undone: set = set()
    rec = _parse_line(data[end:])
    if rec is False:  # cut off mid-write by a crash
        return [], set(), [f"{where}: last line {p.lines + 1} is incomplete (cut off by a crash); ignored"], True
    if rec is not None and record_problem(rec):
        why = record_problem(rec)
        return [], set(), [f"{where}:{p.lines + 1}: line of the wrong shape refused ({why}); ignored"], False
    if rec is not None:
        _add(rec, entries, undone)  # complete, only its newline is missing
    return entries, undone, [], False


def _fold(p: _Parsed, extra: tuple[list, set, list, bool]) -> JournalState:
    entries, undone, problems, torn = extra
    undone = p.undone | undone
    current: dict[Pair, PairJudgement] = {}
    pair_of: dict[str, Pair] = {}
    order = []
    for eid, j in (*p.entries, *entries):
        if eid in undone:
            continue
        pair = (j.query, j.candidate)
        pair_of[eid] = pair
        current[pair] = j
        order.append(eid)
    lines = tuple(j for _, j in (*p.entries, *entries))
    return JournalState(current, tuple(order), pair_of, torn, tuple(p.problems + problems), lines,
                        frozenset(undone))


def replay(raw: bytes, where: str = "journal") -> JournalState:
    """Current judgements from journal bytes: latest line per pair wins, undone lines dropped."""
    p = _Parsed()
    return _fold(p, _consume(p, raw, where))


_READ_CACHE: dict[str, _Parsed] = {}
_READ_LOCK = threading.Lock()


def _read_journal(path: Path) -> JournalState:
    """Replay a journal file, parsing only the bytes appended since the last read of it."""
    key = str(path)
    with _READ_LOCK:
        try:
            with open(path, "rb") as fh:
                ino, size = os.fstat(fh.fileno()).st_ino, os.fstat(fh.fileno()).st_size
                p = _READ_CACHE.get(key)
                if p is None or p.ino != ino or size < p.offset:
                    p = _Parsed(ino=ino)
                fh.seek(p.offset)
                extra = _consume(p, fh.read(), key)
        except FileNotFoundError:
            _READ_CACHE.pop(key, None)
            return JournalState({}, (), {})
        _READ_CACHE[key] = p
        return _fold(p, extra)


# ---------------------------------------------------------------------------- a corpus's journals
class JudgementStore:
    """Every annotator's journal for one corpus (and the pools queued for judging)."""

    def __init__(self, corpus_name: str, root: Path | None = None):
        self.corpus_name = corpus_name
        self.dir = corpus_dir(corpus_name, root)

    def journal(self, annotator: str) -> Journal:
        """The journal of ``annotator`` (created on its first judgement)."""
        return Journal(self.dir, annotator, self.corpus_name)

    def _scan(self) -> tuple[list[str], list[str]]:
        names, problems = [], []
        for path in sorted(self.dir.glob("*.jsonl")):
            name, problem = _journal_identity(path, self.corpus_name)
            if problem:
                problems.append(f"{path}: {problem}; not listed as an annotator")
            elif name is not None:
                names.append(name)
        return sorted(names), problems

    def annotators(self) -> list[str]:
        """Annotators with a journal, sorted (the adjudicator's journal included); journals that
        are not this corpus's are left out (``problems`` says why)."""
        return self._scan()[0]

    def problems(self) -> list[str]:
        """Journal files in this corpus's folder that are not listed as annotators, and why."""
        return self._scan()[1]

    def all_judgements(self, include_adjudicator: bool = False) -> dict[str, dict[Pair, PairJudgement]]:
        """{annotator: {pair: judgement}} for every annotator with a journal."""
        out = {}
        for name in self.annotators():
            if name == ADJUDICATOR and not include_adjudicator:
                continue
            out[name] = self.journal(name).judgements()
        return out


def _journal_identity(path: Path, corpus_name: str) -> tuple[str | None, str]:
    """(annotator, "") for a journal of this corpus; (None, why) otherwise; (None, "") for an
    empty file. The first line must be a valid record naming the annotator the file name
    stands for, and (when it names one) this corpus."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    if not first.strip():
        return None, ""
    rec = _parse_line(first)
    problem = "first line is not a JSON object" if rec is False else record_problem(rec)
    if problem:
        return None, f"not a judgement journal ({problem} on line 1)"
    expected = annotator_of_file(path)
    if rec.get("annotator") != expected:
        return None, (f"line 1 is by annotator {str(rec.get('annotator'))[:60]!r} but the file name stands for "
                      f"{expected!r} (a copied or renamed journal; rename it to "
                      f"{journal_file_name(str(rec.get('annotator')))!r} if it belongs here)")
    if rec.get("corpus", corpus_name) != corpus_name:
        return None, f"made on another corpus ({str(rec['corpus'])[:80]!r}, not {corpus_name!r})"
    return expected, ""
