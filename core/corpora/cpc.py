"""CPC classification symbols: the one grammar, for what corpora carry and what a user filters by.

A symbol is read at any depth of the hierarchy: section ``A``, class ``A01``, subclass ``A01D``,
main group ``A01D34`` and subgroup ``A01D34/73`` (spaces and case ignored: ``a01d 34/73``).
A figure's classes come from its sidecar or metadata record (``cpc``: a string separated by
``,`` ``;`` or whitespace-free tokens, or a list); malformed symbols are dropped by the loader.
"""
from __future__ import annotations

import re
from typing import NamedTuple

_SYMBOL = re.compile(r"^([A-HY])(?:(\d{2})(?:([A-Z])(?:(\d{1,4})(?:/(\d{2,6}))?)?)?)?$")


class Cpc(NamedTuple):
    """A CPC symbol split by level ("" for a level not given)."""

    section: str
    klass: str = ""
    subclass: str = ""
    group: str = ""
    subgroup: str = ""

    @property
    def text(self) -> str:
        """The canonical spelling, e.g. ``A01D34/73``, ``A01D``, ``H``."""
        return (self.section + self.klass + self.subclass + self.group
                + (f"/{self.subgroup}" if self.subgroup else ""))

    def within(self, prefix: "Cpc") -> bool:
        """Whether this symbol lies inside ``prefix`` (every level ``prefix`` gives is the same here)."""
        return all(p == "" or p == s for s, p in zip(self, prefix))


def parse_cpc(text: str) -> Cpc | None:
    """A CPC symbol from ``text`` (``A01D 34/73``, ``a01d``, ``H``), or None when it is not one."""
    norm = re.sub(r"\s+", "", str(text or "")).upper()
    m = _SYMBOL.match(norm)
    if not m:
        return None
    section, klass, sub, group, subgroup = (g or "" for g in m.groups())
    return Cpc(section, klass, sub, group.lstrip("0") or ("0" if group else ""), subgroup)


def parse_cpc_list(value) -> tuple[str, ...]:
    """The canonical symbols of a sidecar/metadata ``cpc`` value (string or list); others dropped."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;|\n]", str(value))
    out: list[str] = []
    for item in items:
        code = parse_cpc(str(item)) if isinstance(item, (str, int)) else None
        if code is not None and code.text not in out:
            out.append(code.text)
    return tuple(out)
