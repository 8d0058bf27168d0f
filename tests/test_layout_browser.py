"""Nothing cut: every page of the demo at 1280x800 and 1920x1080 in headless Chromium, each text
element measured (scrollWidth against clientWidth, text running past a clipping box, plotly tick
labels outside their chart). Titles kept to one line on purpose carry their whole text on hover
and are not counted (see tests/layout_probe.py). Screenshots: tests/screenshots/layout-*.png."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.browsing import MARKS, SHOTS, chromium, demo_server, no_errors, settle
from tests.layout_probe import cut_text

pytestmark = MARKS
SIZES = [(1280, 800), (1920, 1080)]
DOCS = SHOTS.parent.parent / "docs"
#: States written to docs/<state>-<width>.png with UPAIR_DOCS_SHOTS=1 (make screenshots): every page.
DOC_STATES = {"corpus", "search", "search-cards", "scores", "map", "map-pictures", "judge", "judge-agreement",
              "judge-adjudicate", "judge-import", "sample", "models"}


#: Pages whose parts lie below the first screen (Scores: bootstrap bars, pool bias, axis disagreement,
#: drill-down; Map: pictures and agreement; Search: the examiner tools; Sample: the draw and export):
#: also written whole, at this width, as docs/<state>-full-1280.png.
FULL_STATES, FULL_WIDTH, FULL_MAX_PX = {"search", "scores", "map-agreement", "sample"}, 1280, 7000


def _full_page_shot(page, path, width: int, height: int) -> None:
    """The whole page: Streamlit scrolls its main block, not the document, so the viewport is made
    as tall as that block for the shot (at most FULL_MAX_PX), then put back."""
    tall = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(int(tall), height), FULL_MAX_PX)})
    time.sleep(1.5)  # charts redraw at the new size
    settle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": height})
    time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "layout_cache", ("hog", "ahdh", "tfidf"))


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _wait_text(page, text: str) -> None:
    page.get_by_text(text).first.wait_for(timeout=180_000)
    settle(page)


def _states(page, url: str):
    """(name, action) for every page and the states of it a user meets first."""
    yield "corpus", lambda: (page.goto(url), _wait_text(page, "Search with this"))
    yield "search", lambda: (page.goto(url + "/search?corpus=demo&q=demo-47-1"), _wait_text(page, "Use as query"))
    yield "search-cards", lambda: (page.get_by_text("Cards", exact=True).first.click(), settle(page),
                                   _wait_text(page, "Use as query"))
    yield "scores", lambda: (page.goto(url + "/scores"), _wait_text(page, "Results per axis"))
    yield "map", lambda: (page.goto(url + "/map"), _wait_text(page, "figures on each map"))
    yield "map-pictures", lambda: (page.get_by_text("Pictures", exact=True).first.click(), settle(page))
    yield "map-agreement", lambda: (page.get_by_text("Compare the neighbourhoods").first.click(), settle(page))

    def judge():
        page.goto(url + "/judge")
        settle(page)
        page.get_by_role("textbox", name="Your name").fill("alice")
        page.keyboard.press("Enter")
        _wait_text(page, "Candidate")
    yield "judge", judge
    for mode in ("Agreement", "Adjudicate", "Import / export"):
        yield f"judge-{mode.split()[0].lower()}", (lambda m=mode: (page.get_by_text(m, exact=True).first.click(),
                                                                   settle(page)))
    yield "sample", lambda: (page.goto(url + "/sample"), settle(page))
    yield "models", lambda: (page.goto(url + "/models"), settle(page))


def test_no_text_is_cut_on_any_page(server, browser):
    """One walk through the states at both sizes: each state is reached at 1280x800, measured, then
    the window is resized to 1920x1080 and the same state measured again (the layout is CSS and the
    charts and tables redraw on a resize, so this is what a load at that size lays out; one walk
    instead of two halves the test's time)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    (w0, h0), others = SIZES[0], SIZES[1:]
    page = browser.new_page(viewport={"width": w0, "height": h0})
    cut: list[str] = []
    for name, act in _states(page, server):
        act()
        time.sleep(0.5)
        no_errors(page)
        for i, (width, height) in enumerate(SIZES):
            if i:
                page.set_viewport_size({"width": width, "height": height})
                time.sleep(1.0)  # charts and tables redraw at the new size
            page.screenshot(path=str(SHOTS / f"layout-{name}-{width}.png"))
            if os.environ.get("UPAIR_DOCS_SHOTS", "0") == "1":
                if name in DOC_STATES:
                    page.screenshot(path=str(DOCS / f"{name}-{width}.png"))
                if width == FULL_WIDTH and name in FULL_STATES:
                    _full_page_shot(page, DOCS / f"{name}-full-{width}.png", width, height)
            cut += [f"{name} at {width}x{height}: {json.dumps(c, ensure_ascii=False)}" for c in cut_text(page)]
        if others:
            page.set_viewport_size({"width": w0, "height": h0})
            time.sleep(0.5)
    page.close()
    assert not cut, f"{len(cut)} cut text element(s):\n" + "\n".join(cut[:60])


REPORT_JS = r"""() => {
  const out = [];
  for (const el of document.querySelectorAll('td, th, .fig, .fig b, .id')) {
    if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName} '${el.innerText.slice(0, 40)}' overflows (${el.scrollWidth} > ${el.clientWidth})`);
  }
  const figs = [...document.querySelectorAll('.fig')].map(e => e.getBoundingClientRect());
  for (let i = 0; i < figs.length; i++) for (let j = i + 1; j < figs.length; j++) {
    const a = figs[i], b = figs[j];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) out.push(`figures ${i} and ${j} overlap`);
  }
  return out;
}"""


@pytest.mark.parametrize("width,height", SIZES)
def test_report_links_every_patent_and_lays_out_without_overlap(browser, tmp_path, monkeypatch, width, height):
    from core import load_corpus
    from core.examiner import ExaminerQuery, QueryPart, Shortlist, ShortlistItem, group_by_patent, render_report
    from core.examiner import search_query
    from core.search import get_index

    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "cache"))
    corpus = load_corpus("demo")
    indices = {"hog": get_index(corpus, "hog", show_bar=False)}
    q = ExaminerQuery((QueryPart(figure="demo-03-1"),))
    res = search_query(corpus, q, ("hog",), k=10, indices=indices).results
    sl = Shortlist("demo")
    for f in res["hog"].ids[:4]:
        sl = sl.add(ShortlistItem.from_results(corpus, f, res, note="a note"))
    long_id = "f" * 40 + "_fig_0003_a_very_long_file_name_without_spaces"  # a real corpus's hash-like figure id
    sl = sl.add(ShortlistItem(long_id, "EP" + "1" * 30 + "A1", "x" * 90))
    for fid, cat in zip(res["hog"].ids[:3], "XYA"):  # search-report categories and filters are laid out too
        sl = sl.with_category(fid, cat)
    patents = group_by_patent(corpus, res)
    html = render_report(corpus, q, sl, patents, ("hog",),
                         filters={"earlier art": "priority date before 2020-01-01", "CPC classes": "A01D, H04N5/232"})
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(path.as_uri())
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"layout-report-{width}.png"), full_page=True)
    assert page.evaluate(REPORT_JS) == []
    links = page.eval_on_selector_all("a.patent", "els => els.map(e => [e.textContent, e.href])")
    linked = {t for t, _ in links}
    assert all(h.startswith("https://worldwide.espacenet.com/patent/search?q=pn%3D") for _, h in links)
    assert {i.patent for i in sl.items} <= linked and {p.patent for p in patents if p.patent} <= linked
    page.close()
