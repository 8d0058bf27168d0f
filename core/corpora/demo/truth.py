"""Ground truth: the 0/1 judgement of every (query, figure) pair on every axis, and the query choice."""
from __future__ import annotations

from .catalog import CATALOG
from .plan import WHOLE_VIEWS, FigurePlan, Invention

def _visual_key(inv: Invention, fp: FigurePlan) -> tuple[str, str]:
    if fp.view in WHOLE_VIEWS:
        return ("family", inv.family)
    return ("kind", CATALOG[fp.part_key].kind)


def judge(q: tuple[Invention, FigurePlan], c: tuple[Invention, FigurePlan]) -> dict[str, int]:
    """0/1 judgements of candidate ``c`` for query ``q`` on every axis (see module docstring)."""
    (qi, qf), (ci, cf) = q, c
    visual = int(_visual_key(qi, qf) == _visual_key(ci, cf))
    semantic = int(qi.function == ci.function)
    pw = 0
    if qf.view in WHOLE_VIEWS and cf.view == "detail":
        pw = int(cf.part_key in qf.parts_shown)
    elif qf.view == "detail" and cf.view in WHOLE_VIEWS:
        pw = int(qf.part_key in cf.parts_shown)
    return {"visual": visual, "semantic": semantic, "part_whole": pw}


def choose_queries(inventions: list[Invention]) -> list[tuple[Invention, FigurePlan]]:
    """FIG. 1 of most inventions; a detail view for every sixth one (part-to-whole queries)."""
    detail_kinds: dict[str, int] = {}
    for inv in inventions:
        for fp in inv.figures:
            if fp.view == "detail":
                k = CATALOG[fp.part_key].kind
                detail_kinds[k] = detail_kinds.get(k, 0) + 1
    out = []
    for inv in inventions:
        pick = inv.figures[0]
        if inv.index % 6 == 5:
            for fp in inv.figures:
                if fp.view == "detail" and not fp.alt and detail_kinds[CATALOG[fp.part_key].kind] >= 2:
                    pick = fp
                    break
        out.append((inv, pick))
    return out
