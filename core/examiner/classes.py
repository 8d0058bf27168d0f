"""Filtering hits by CPC class: what the corpus knows, and "only these classes".

A figure's classes are its full CPC symbols where the corpus carries them (``cpc`` in sidecars or
metadata records), else its CPC section letter (the query-patents layout's ``sections/<S>/``
folder). A filter is a list of symbols at any depth (``A01D, H04N5``; see
``core.corpora.cpc``); a figure passes when one of its classes lies inside one of them. A figure
whose classes are not known to the depth a filter asks (only the section ``A`` against
``A01D``), or not at all, never passes — as an undated figure is never earlier art.
"""
from __future__ import annotations

from ..corpora.base import Corpus
from ..corpora.cpc import Cpc, parse_cpc
from ..figures import Figure

NO_CLASSES = ("This corpus has no CPC classes (no section folders, no cpc in its sidecars or metadata), "
              "so hits cannot be filtered by class.")


def parse_class_filter(text: str | list | tuple, source: str = "the CPC filter") -> tuple[str, ...]:
    """Canonical symbols of a comma-separated filter (``"A01D, h04n 5/00"`` → ``("A01D", "H04N5/00")``);
    ``()`` for a blank one; ValueError naming ``source`` and the bad entry otherwise."""
    items = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    out: list[str] = []
    for item in items:
        if not str(item).strip():
            continue
        code = parse_cpc(str(item))
        if code is None:
            raise ValueError(f"{source}: {str(item).strip()!r} is not a CPC symbol; give a section (A), class (A01), "
                             "subclass (A01D), group (A01D34) or subgroup (A01D34/73), comma-separated")
        if code.text not in out:
            out.append(code.text)
    return tuple(out)


def figure_classes(fig: Figure) -> tuple[Cpc, ...]:
    """The figure's CPC symbols (its section alone when it has no full codes)."""
    codes = [c for c in (parse_cpc(x) for x in fig.cpc) if c is not None]
    if not codes and fig.section:
        sec = parse_cpc(fig.section)
        codes = [sec] if sec is not None else []
    return tuple(codes)


def in_classes(fig: Figure, classes: tuple[str, ...]) -> bool:
    """Whether one of the figure's classes lies inside one of ``classes`` (canonical symbols)."""
    wanted = [c for c in (parse_cpc(x) for x in classes) if c is not None]
    return any(code.within(w) for code in figure_classes(fig) for w in wanted)


def not_in_classes(corpus: Corpus, classes: tuple[str, ...]) -> set[str]:
    """Ids of the figures outside ``classes`` (or whose classes are unknown to that depth)."""
    return {f.id for f in corpus.figures if not in_classes(f, classes)}


def class_depth(corpus: Corpus) -> str:
    """``"codes"`` when some figure carries full CPC symbols, ``"sections"`` when only section
    letters are known, ``""`` when the corpus has no classes."""
    if any(f.cpc for f in corpus.figures):
        return "codes"
    return "sections" if any(f.section for f in corpus.figures) else ""
