"""A self-contained HTML report of an examiner's search, readable offline.

Images are embedded as PNG data URIs (no external file, script or style sheet); every text
taken from the corpus, the query or the examiner is HTML-escaped.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
from html import escape
from typing import Mapping, Sequence

from ..corpora.base import Corpus
from ..figures import espacenet_url, open_image
from .citations import CitationCheck
from .patents import PatentHit
from .query import COMBINATION_LABELS, ExaminerQuery, QueryPart
from .shortlist import CATEGORIES, Shortlist

THUMB = 360
_CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2rem}
.fig{display:inline-block;vertical-align:top;margin:0 1rem 1rem 0;width:380px;max-width:100%;overflow-wrap:anywhere}
.fig img{border:1px solid #bbc;background:#fff;max-width:360px}
.id{font-family:ui-monospace,monospace;font-size:.85em;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.4rem 0;max-width:100%}
td,th{border:1px solid #ccd;padding:.2rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.muted{color:#667}td.date,td.num{white-space:nowrap}
.note{white-space:pre-wrap;background:#f6f7f9;padding:.5rem;border-left:3px solid #889}
.cat{display:inline-block;min-width:1.4em;text-align:center;font-weight:700;border:1px solid #556;border-radius:3px;
padding:0 .25rem;margin-right:.3rem}.cat-X{background:#fde2e1}.cat-Y{background:#fff1cc}.cat-A{background:#e6eef8}
table.facts th{background:#f6f7f9;width:11rem}"""


def _patent_link(patent: str) -> str:
    """The patent number linked to Espacenet ("—" when unknown)."""
    if not patent:
        return "—"
    return f'<a class="patent" href="{_e(espacenet_url(patent))}">{_e(patent)}</a>'


def data_uri(image, size: int = THUMB) -> str:
    """A PIL image, downscaled to fit ``size`` px, as a PNG data URI."""
    im = image.copy()
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def part_picture(corpus: Corpus, part: QueryPart):
    """The query figure with its region outlined in red (the whole figure when there is none)."""
    from PIL import ImageDraw

    im = part.full_image(corpus).convert("RGB")
    if part.region is not None:
        left, top, right, bottom = part.region.box(im.size)
        width = max(2, round(max(im.size) / 150))
        ImageDraw.Draw(im).rectangle((left, top, right - 1, bottom - 1), outline=(220, 30, 30), width=width)
    return im


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _query_html(corpus: Corpus, query: ExaminerQuery) -> str:
    rows = [f"<p>Combination: {_e(COMBINATION_LABELS[query.combination])}</p>"]
    for part in query.parts:
        region = f"<br>Region: {_e(part.region.label)}" if part.region else "<br>Whole figure"
        fig = corpus.by_id.get(part.figure) if part.figure else None
        extra = f"<br>{_patent_link(fig.patent)} · {_e(fig.title)}" if fig else ""
        rows.append(f'<div class="fig"><img alt="{_e(part.label)}" src="{data_uri(part_picture(corpus, part))}">'
                    f"<br><b>{_e(part.name or part.figure or 'uploaded figure')}</b>{extra}{region}</div>")
    return "\n".join(rows)


def _items_html(corpus: Corpus, shortlist: Shortlist) -> str:
    if not shortlist.items:
        return '<p class="muted">No result was starred.</p>'
    out = []
    for item in shortlist.items:
        fig = corpus.by_id.get(item.figure)
        img = f'<img alt="{_e(item.figure)}" src="{data_uri(open_image(fig.path))}">' if fig else ""
        hits = "".join(f"<tr><td>{_e(h.encoder)}</td><td class=\"num\">{h.rank}</td>"
                       f"<td class=\"num\">{h.score:.4f}</td></tr>" for h in item.hits)
        table = (f"<table><tr><th>encoder</th><th>rank</th><th>score</th></tr>{hits}</table>" if hits
                 else '<p class="muted">not in any encoder\'s current list</p>')
        date = f"<br>priority date {_e(item.priority_date)}" if item.priority_date else ""
        note = f'<div class="note">{_e(item.note)}</div>' if item.note else ""
        cat = (f'<span class="cat cat-{_e(item.category)}" title="{_e(CATEGORIES[item.category])}">'
               f"{_e(item.category)}</span>") if item.category else ""
        out.append(f'<div class="fig result" data-figure="{_e(item.figure)}" data-category="{_e(item.category)}">'
                   f"{img}<br>{cat}<b>{_patent_link(item.patent)}</b>"
                   f' · figure <span class="id">{_e(item.figure)}</span><br>{_e(item.title)}{date}{table}{note}</div>')
    return "\n".join(out)


def _patents_html(patents: Sequence[PatentHit], encoders: Sequence[str]) -> str:
    if not patents:
        return ""
    head = "".join(f"<th>best rank: {_e(s)}</th>" for s in encoders)
    rows = []
    for p in patents:
        ranks = "".join(f'<td class="num">{p.best_rank.get(s, "—")}</td>' for s in encoders)
        who = _patent_link(p.patent) if p.patent else f'<span class="id">{_e(p.key)}</span>'
        rows.append(f"<tr><td>{who}</td><td class=\"date\">{_e(p.section)}</td><td>{_e(p.title)}</td>"
                    f'<td class="date">{_e(p.priority_date)}</td><td>{p.n_hits} / {p.total_figures}</td>{ranks}</tr>')
    return ("<h2>Patents among the hits</h2><table><tr><th>patent</th><th class=\"date\">CPC</th><th>title</th><th>priority</th>"
            f"<th>figures hit</th>{head}</tr>{''.join(rows)}</table>")


def _citations_html(checks: Mapping[str, CitationCheck]) -> str:
    if not checks:
        return ""
    rows = []
    for spec, c in checks.items():
        recall = f"{c.recall:.3f}" if c.recall is not None else "—"
        found = ", ".join(f"{p} (rank {r})" for p, r in c.found.items()) or "none"
        rows.append(f"<tr><td>{_e(spec)}</td><td>{len(c.found)} / {len(c.in_corpus)}</td><td>{recall}</td>"
                    f"<td>{_e(found)}</td></tr>")
    k = next(iter(checks.values())).k
    return (f"<h2>Citations found in the top {k}</h2><table><tr><th>encoder</th><th>cited found / in corpus</th>"
            f"<th>recall@{k}</th><th>found</th></tr>{''.join(rows)}</table>")


def report_filters(before: str = "", classes: tuple[str, ...] = ()) -> dict[str, str]:
    """The filters of a search as the report lists them (only those applied)."""
    out = {}
    if before:
        out["earlier art"] = f"priority date before {before}"
    if classes:
        out["CPC classes"] = ", ".join(classes)
    return out


def _categories_html(shortlist: Shortlist) -> str:
    used = [c for c in CATEGORIES if any(i.category == c for i in shortlist.items)]
    if not used:
        return ""
    return ('<p class="muted">Categories: ' + "; ".join(f'<span class="cat cat-{c}">{c}</span>{_e(CATEGORIES[c])}'
                                                      for c in CATEGORIES) + ".</p>")


def _search_html(corpus: Corpus, query: ExaminerQuery, encoders: Sequence[str], filters: Mapping[str, str],
                 when: str) -> str:
    """What was searched, how and when: corpus, query, encoders, filters, date."""
    parts = " + ".join(p.label for p in query.parts)
    rows = [("Corpus", f"{corpus.name} ({len(corpus)} figures)"), ("Query", parts),
            ("Combination", COMBINATION_LABELS[query.combination]),
            ("Encoders", ", ".join(encoders) or "—"),
            ("Filters", "; ".join(f"{k}: {v}" for k, v in filters.items() if v) or "none"),
            ("Date of the search", when)]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<h2>Search</h2><table class="facts">{body}</table>'


def render_report(corpus: Corpus, query: ExaminerQuery, shortlist: Shortlist, patents: Sequence[PatentHit] = (),
                  encoders: Sequence[str] = (), citations: Mapping[str, CitationCheck] | None = None,
                  title: str = "Prior-art search report", when: str = "",
                  filters: Mapping[str, str] | None = None) -> str:
    """The report as one HTML string (what was searched — query, encoders, filters, date —, the
    query with its region, starred results with their categories, patents, citations, notes).
    ``filters`` names each filter applied with its value (e.g. ``{"earlier art": "priority before
    2019-05-01", "CPC classes": "A01D"}``)."""
    when = when or _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    encoders = list(encoders) or sorted({h.encoder for i in shortlist.items for h in i.hits})
    synthetic = '<p class="muted">The corpus is synthetic (generated drawings, not real patents).</p>' \
        if corpus.synthetic else ""
    notes = f'<h2>Examiner\'s notes</h2><div class="note">{_e(shortlist.notes)}</div>' if shortlist.notes else ""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            f'<p class="muted">Corpus {_e(corpus.name)} · {len(corpus)} figures · {_e(when)}</p>{synthetic}'
            f"{_search_html(corpus, query, encoders, filters or {}, when)}"
            f"<h2>Query</h2>{_query_html(corpus, query)}"
            f"<h2>Chosen results ({len(shortlist.items)})</h2>"
            '<p class="muted">Ranks and scores are those of the query searched when the result was starred.</p>'
            f"{_categories_html(shortlist)}"
            f"{_items_html(corpus, shortlist)}"
            f"{_patents_html(patents, encoders)}{_citations_html(citations or {})}{notes}</body></html>")
