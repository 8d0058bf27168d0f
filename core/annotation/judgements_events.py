"""Whole judgements sent by the keyboard component as events, applied to a queue in order.

An event names the pair it was typed for (``pair_id``); it is applied only when that is the pair
the queue is at (``undo``: the pair of the journal's latest live line), so a key can never land
on another pair. Events are numbered per browser tab (``client``); each number is applied once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..corpora.base import AXES
from ..store import key_of
from .judgements import Journal, Pair

KINDS = ("judge", "skip", "undo", "back", "next")


def pair_id(pair: Pair) -> str:
    """A short, stable id of a (query, candidate) pair (what the browser names a pair by)."""
    return key_of("pair", pair[0], pair[1])[:16]


@dataclass
class Applied:
    """What applying a batch of events did."""

    pos: int
    stored: list = field(default_factory=list)  # (absolute index, pair, axes or "skip" / "undo")
    refused: list = field(default_factory=list)  # messages


def _axes(raw) -> dict[str, int | None] | None:
    if not isinstance(raw, Mapping) or set(raw) != set(AXES):
        return None
    if any(v is not None and (isinstance(v, bool) or v not in (0, 1)) for v in raw.values()):
        return None
    return {a: raw[a] for a in AXES}


def apply_events(journal: Journal, order: Sequence[Pair], pos: int, events: Sequence, applied: int,
                 tab: str = "") -> tuple[Applied, int]:
    """Apply the events numbered above ``applied`` in order; returns what happened and the new
    highest applied number. ``pos`` is the queue position the page shows; stored lines carry the
    event number (``keys``) and the browser tab (``tab``) they came from."""
    out = Applied(pos)
    ids = {pair_id(p): i for i, p in enumerate(order)}
    for ev in sorted((e for e in events if isinstance(e, Mapping) and isinstance(e.get("seq"), int)),
                     key=lambda e: e["seq"]):
        if ev["seq"] <= applied:
            continue
        applied = ev["seq"]
        kind, pid = ev.get("kind"), ev.get("pair")
        cur = order[out.pos] if out.pos < len(order) else None
        if kind not in KINDS:
            out.refused.append(f"unknown key event {str(kind)[:20]!r}; ignored")
        elif kind == "undo":
            i = ids.get(pid)
            before = journal.undo(order[i]) if i is not None else None
            if before is None:
                out.refused.append("Undo refused: your latest stored judgement is not of the pair the keys meant "
                                   "(another tab?); nothing undone")
            else:
                out.pos = i
                out.stored.append((i, order[i], "undo"))
        elif kind == "back" and out.pos == len(order) and pid is None:
            out.pos -= 1
        elif cur is None or pid != pair_id(cur):
            out.refused.append(f"a {kind} typed for another pair than the one shown (pair {out.pos + 1}) was not "
                               "recorded")
        elif kind == "judge":
            axes = _axes(ev.get("axes"))
            if axes is None:
                out.refused.append("a judgement without exactly three axis answers was not recorded")
                continue
            journal.record(*cur, axes, keys=ev["seq"], tab=tab)
            out.stored.append((out.pos, cur, axes))
            out.pos += 1
        elif kind == "skip":
            journal.record(*cur, skip=True, keys=ev["seq"], tab=tab)
            out.stored.append((out.pos, cur, "skip"))
            out.pos += 1
        elif kind == "back":
            out.pos = max(out.pos - 1, 0)
        else:
            out.pos = min(out.pos + 1, len(order))
    return out, applied
