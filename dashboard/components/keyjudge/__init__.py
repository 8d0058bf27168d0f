"""Keyboard judging as a Streamlit component (static HTML/JS in ``frontend/``, no build step, works
offline): keys are captured and buffered in the browser, and a whole judgement (pair id and the
three axes) is sent as one event; see ``core.annotation.judgements_events``."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import streamlit.components.v1 as components

from core.annotation.judgements import Pair
from core.annotation.judgements_events import pair_id

_FRONTEND = Path(__file__).resolve().parent / "frontend"
_component = components.declare_component("upair_keyjudge", path=str(_FRONTEND))
BEHIND, AHEAD = 50, 400  # pairs around the current one the browser may type into


def keyjudge(order: Sequence[Pair], pos: int, client: str, acked: int, key: str, disabled: bool = False):
    """Render the key catcher; returns its value ``{client, events}`` (None before the first key)."""
    base = max(pos - BEHIND, 0)
    window = [pair_id(p) for p in order[base:pos + AHEAD]]
    return _component(pairs=window, base=base, pos=pos, total=len(order), client=client, acked=acked,
                      disabled=disabled, key=key, default=None)
