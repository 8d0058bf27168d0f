"""CPC class filter and search-report categories of the examiner room (core.corpora.cpc,
core.examiner.classes, the shortlist's X / Y / A, the report's search facts, ``examine --cpc``).

Expectations are recomputed independently: class membership by enumerating the levels of a
symbol as strings, the filtered ranking by brute force over the stored vectors."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace

import numpy as np
import pytest

from core import load_corpus
from core.corpora.cpc import parse_cpc, parse_cpc_list
from core.examiner import (CATEGORIES, ExaminerQuery, QueryPart, Shortlist, ShortlistItem, class_depth, in_classes,
                           not_before, not_in_classes, parse_category, parse_class_filter, render_report,
                           report_filters, search_query)
from core.search import get_index

ENC = "hog"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("classes_cache")))
    corpus = load_corpus("demo")
    yield corpus, {ENC: get_index(corpus, ENC, show_bar=False)}
    mp.undo()


# --- the grammar ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, canon", [("A", "A"), ("a01", "A01"), ("A01D", "A01D"), ("a01d 34", "A01D34"),
                                         ("A01D 34/73", "A01D34/73"), (" h04n 5/00 ", "H04N5/00"),
                                         ("A01D034/73", "A01D34/73"), ("Y02E", "Y02E")])
def test_symbols_at_every_depth(text, canon):
    assert parse_cpc(text).text == canon


@pytest.mark.parametrize("bad", ["", "Z", "A1", "A01DD", "A01D/73", "A01D34/7", "1A", "A01D 34/73x", "AB"])
def test_not_symbols(bad):
    assert parse_cpc(bad) is None


def _levels(code: str) -> set[str]:
    """Independent: the symbol's ancestors as strings, read left to right."""
    m = re.match(r"^([A-HY])(\d\d)?([A-Z])?(\d+)?(/\d+)?$", code)
    parts, out, acc = [g for g in m.groups()], set(), ""
    for p in parts:
        if p is None:
            break
        acc += p
        out.add(acc)
    return out


CODES = ["A01D34/73", "A01D34/00", "A01D3/00", "A01B", "A47L9/28", "B62D", "H04N5/232"]
FILTERS = ["A", "A01", "A01D", "A01D34", "A01D3", "A01D34/73", "A47", "B", "H04N5", "H04N", "G"]


@pytest.mark.parametrize("flt", FILTERS)
def test_within_equals_string_levels(flt):
    for code in CODES:
        want = flt in _levels(code)
        assert parse_cpc(code).within(parse_cpc(flt)) is want, (code, flt)


def test_filter_text_and_sidecar_lists():
    assert parse_class_filter("a01d, H04N 5/00,,A01D") == ("A01D", "H04N5/00")
    assert parse_class_filter(" ") == ()
    with pytest.raises(ValueError, match=r"the CPC filter: 'lawn' is not a CPC symbol"):
        parse_class_filter("A01D, lawn")
    assert parse_cpc_list("A01D 34/73; B62D,nonsense") == ("A01D34/73", "B62D")
    assert parse_cpc_list(["H04N5/232", 7, None, "H04N5/232"]) == ("H04N5/232",)
    assert parse_cpc_list(None) == ()


def test_section_only_figures_pass_a_section_filter_but_not_a_deeper_one(demo):
    corpus, _ = demo
    fig = next(f for f in corpus.figures if f.section)
    assert in_classes(fig, (fig.section,))
    assert not in_classes(fig, (fig.section + "01",))  # unknown to that depth: never passes
    full = replace(fig, cpc=("A01D34/73",), section="A")
    assert in_classes(full, ("A01D",)) and in_classes(full, ("A",)) and not in_classes(full, ("A01B",))
    assert class_depth(corpus) == "sections"


# --- the filter in search_query ----------------------------------------------------------------

def _brute(index, vec, exclude):
    vecs = index.embeddings.vectors.astype(np.float64)
    sims = vecs @ vec.astype(np.float64).reshape(-1)
    order = sorted(range(len(sims)), key=lambda i: (-sims[i], i))
    return [index.embeddings.ids[i] for i in order if index.embeddings.ids[i] not in exclude]


def test_class_filter_with_earlier_art_equals_brute_force(demo):
    corpus, indices = demo
    q = next(f for f in corpus.figures if f.priority_date and f.section)
    sections = sorted({f.section for f in corpus.figures if f.section})
    keep = tuple(s for s in sections if s != q.section)[:2]
    query = ExaminerQuery((QueryPart(figure=q.id),))
    res = search_query(corpus, query, [ENC], k=8, indices=indices, before=q.priority_date, classes=keep)
    # independent: the allowed set by plain loops over the figures
    allowed = {f.id for f in corpus.figures if f.section in keep and f.priority_date and f.priority_date < q.priority_date}
    exclude = {f.id for f in corpus.figures} - allowed | {q.id}
    vec = indices[ENC].embeddings.vectors[indices[ENC].embeddings.ids.index(q.id)]
    want = _brute(indices[ENC], vec, exclude)[:8]
    assert res.results[ENC].ids == want and want
    assert res.classes == keep
    late = not_before(corpus, q.priority_date)
    assert res.off_class == len({f.id for f in corpus.figures if f.section not in keep} - late - {q.id})
    assert all(corpus.by_id[i].section in keep for i in res.results[ENC].ids)


def test_no_filter_is_the_plain_search(demo):
    corpus, indices = demo
    q = corpus.figures[0]
    query = ExaminerQuery((QueryPart(figure=q.id),))
    a = search_query(corpus, query, [ENC], k=5, indices=indices)
    b = search_query(corpus, query, [ENC], k=5, indices=indices, classes=())
    assert a.results[ENC].ids == b.results[ENC].ids and b.off_class == 0
    everything = tuple(sorted({f.section for f in corpus.figures if f.section}))
    c = search_query(corpus, query, [ENC], k=5, indices=indices, classes=everything)
    assert c.results[ENC].ids == a.results[ENC].ids
    assert not_in_classes(corpus, everything) == {f.id for f in corpus.figures if not f.section}


# --- categories -------------------------------------------------------------------------------

def test_categories_are_the_standard_three():
    assert list(CATEGORIES) == ["X", "Y", "A"]
    assert "alone" in CATEGORIES["X"] and "combined" in CATEGORIES["Y"] and "background" in CATEGORIES["A"]
    assert parse_category(" y ") == "Y" and parse_category(None) == ""
    with pytest.raises(ValueError, match="'P' is not a search-report category"):
        parse_category("P")


def test_category_is_stored_and_old_shortlists_read(demo):
    corpus, _ = demo
    f1, f2 = corpus.figures[:2]
    sl = Shortlist("demo").add(ShortlistItem(f1.id, f1.patent)).add(ShortlistItem(f2.id, f2.patent))
    sl = sl.with_category(f1.id, "x")
    assert [i.category for i in sl.items] == ["X", ""]
    back = Shortlist.from_dict(json.loads(json.dumps(sl.to_dict())))
    assert back == sl
    old = sl.to_dict()
    for item in old["items"]:
        del item["category"]  # a workspace written before categories existed
    assert [i.category for i in Shortlist.from_dict(old).items] == ["", ""]
    with pytest.raises(ValueError, match="category"):
        sl.with_category(f2.id, "Q")
    assert sl.add(ShortlistItem(f1.id, f1.patent)).items[0].category == "X"  # re-starring keeps it
    rows = list(csv.DictReader(io.StringIO(sl.to_csv())))
    assert [r["category"] for r in rows] == ["X", ""]


def test_report_lists_search_categories_and_links(demo):
    corpus, indices = demo
    q = next(f for f in corpus.figures if f.priority_date)
    query = ExaminerQuery((QueryPart(figure=q.id),))
    res = search_query(corpus, query, [ENC], k=4, indices=indices, classes=(q.section,))
    sl = Shortlist("demo")
    for i, fid in enumerate(res.results[ENC].ids[:3]):
        sl = sl.add(ShortlistItem.from_results(corpus, fid, res.results)).with_category(fid, "XYA"[i])
    page = render_report(corpus, query, sl, encoders=[ENC], when="2026-12-02 01:00",
                         filters=report_filters("2020-01-01", (q.section,)))
    assert "<h2>Search</h2>" in page and "2026-12-02 01:00" in page and ENC in page
    assert "priority date before 2020-01-01" in page and f"CPC classes: {q.section}" in page
    for c in "XYA":
        assert f'data-category="{c}"' in page and CATEGORIES[c] in page
    patents = {corpus.by_id[i.figure].patent for i in sl.items} | {q.patent}
    for p in patents:
        assert f"pn%3D{p}" in page, p
    assert report_filters() == {}
    assert "Filters</th><td>none" in render_report(corpus, query, Shortlist("demo"), encoders=[ENC])


# --- the command line -------------------------------------------------------------------------

def test_examine_cpc_on_the_command_line(demo, tmp_path, capsys):
    from core.cli import main

    corpus, _ = demo
    q = corpus.figures[0]
    other = sorted({f.section for f in corpus.figures if f.section and f.section != q.section})[0]
    csv_path, html_path = tmp_path / "s.csv", tmp_path / "r.html"
    rc = main(["examine", q.id, "--corpus", "demo", "--encoders", ENC, "-k", "5", "--cpc", other.lower(),
               "--csv", str(csv_path), "--report", str(html_path)])
    out = capsys.readouterr().out
    assert rc == 0 and f"CPC {other} (" in out
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert rows and all(corpus.by_id[r["figure"]].section == other for r in rows)
    assert f"CPC classes: {other}" in html_path.read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["examine", q.id, "--corpus", "demo", "--encoders", ENC, "--cpc", "lawn"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--cpc" in err and "'lawn' is not a CPC symbol" in err
