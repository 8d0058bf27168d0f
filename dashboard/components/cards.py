"""Figure cards, captions, details and V/S/P judgement badges."""
from __future__ import annotations

import html
from typing import Callable

import streamlit as st

from core import Corpus, Figure
from core.corpora import AXES, AXIS_LABELS

from .. import services, session
from .palette import JUDGEMENT_COLOURS, JUDGEMENT_MARKS, JUDGEMENT_WORDS


def badges(judgements: dict[str, int | None]) -> str:
    """HTML V / S / P badges: blue ✓ relevant, orange ✗ not relevant, grey – unjudged."""
    out = []
    for axis in AXES:
        j = judgements.get(axis)
        out.append(f"<span class='upair-badge' title='{AXIS_LABELS[axis]}: {JUDGEMENT_WORDS[j]}' "
                   f"style='display:inline-block;min-width:2em;text-align:center;border-radius:3px;"
                   f"margin-right:2px;font-size:0.72em;font-weight:600;color:white;"
                   f"background:{JUDGEMENT_COLOURS[j]}'>{axis[0].upper()}{JUDGEMENT_MARKS[j]}</span>")
    return "".join(out)


def figure_caption(fig: Figure) -> str:
    """Patent number (linked to Espacenet), CPC section and priority year as markdown."""
    pat = f"[{fig.patent}]({fig.espacenet_url})" if fig.patent else "—"
    return f"{pat}" + (f" · {fig.section}" if fig.section else "") + \
        (f" · priority {fig.priority_date[:4]}" if fig.priority_date else "")


def fig_label(corpus: Corpus, fid: str) -> str:
    """'patent · title' of a corpus figure, or the upload's file name."""
    f = corpus.by_id.get(fid)
    if f is None:
        return f"upload · {session.upload_name(fid)}"
    return f"{f.patent or f.id[:12]} · {f.title[:60]}"


def figure_card(fig: Figure, *, header: str = "", extra_html: str = "", button: str | None = None,
                key: str = "", on_click: Callable[[str], None] | None = None, size: int = 256,
                title_lines: int = 2) -> None:
    """A thumbnail with header line, patent link, title (full on hover) and an optional button."""
    if header or extra_html:
        st.markdown(f"<div style='font-size:0.85em'>{header} {extra_html}</div>", unsafe_allow_html=True)
    st.image(services.thumbnail(str(fig.path), size), width="stretch", output_format="PNG")
    if title_lines:
        st.markdown(f"<div title='{html.escape(fig.title)}' style='font-size:0.8em;line-height:1.2;"
                    f"display:-webkit-box;-webkit-line-clamp:{title_lines};-webkit-box-orient:vertical;"
                    f"overflow:hidden'>{html.escape(fig.title)}</div>", unsafe_allow_html=True)
    st.caption(figure_caption(fig))
    if button and on_click:
        st.button(button, key=f"{key}-{fig.id}", on_click=on_click, args=(fig.id,), width="stretch")


def figure_details(fig: Figure) -> None:
    """Full metadata of one figure."""
    st.markdown(f"**{fig.title or fig.id}**")
    st.markdown(figure_caption(fig))
    if fig.description:
        st.markdown(f"_{fig.description.strip()}_")
    if fig.labels:
        st.caption("Components: " + ", ".join(fig.labels))
    st.caption(f"id `{fig.id}`")


def figure_details_compact(fig: Figure) -> None:
    """Thumbnail and key metadata of a figure, for narrow columns."""
    st.image(services.thumbnail(str(fig.path), 256), width="stretch", output_format="PNG")
    st.markdown(f"**{fig.title or fig.id}**")
    st.caption(figure_caption(fig))
