"""AppTests of the Search page's CPC class filter and the shortlist's X / Y / A categories,
each checked against core computed here (search_query with the same filter; the stored shortlist)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.examiner import ExaminerQuery, QueryPart, Shortlist, search_query
from tests.test_examiner_app import ENCODERS, _shown

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_caches")]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
K = 6
QUERY = "demo-05-1"


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("classes_app_cache")))
    corpus = load_corpus("demo")
    yield corpus
    mp.undo()


def _search_page(**state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = list(ENCODERS)
    at.session_state["k"] = K
    at.run()
    at.session_state["query_trail"] = [QUERY]
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def test_cpc_filter_keeps_only_that_class(demo_cache):
    corpus = demo_cache
    own = corpus.by_id[QUERY].section
    other = sorted({f.section for f in corpus.figures if f.section and f.section != own})[0]
    at = _search_page()
    field = at.text_input(key="ex_cpc")
    field.input(other.lower()).run()
    assert not at.exception, at.exception
    shown = _shown(at)
    want = search_query(corpus, ExaminerQuery((QueryPart(figure=QUERY),)), ENCODERS, k=K, classes=(other,))
    for s in ENCODERS:
        assert shown[s] == list(want.results[s].ids) and shown[s], s
        assert {corpus.by_id[i].section for i in shown[s]} == {other}
    assert any(f"only CPC {other}" in c.value for c in at.caption)
    at.text_input(key="ex_cpc").input("A01D, lawn").run()
    assert any("'lawn' is not a CPC symbol" in e.value for e in at.error)
    assert not at.exception


def test_categories_set_in_the_shortlist_reach_csv_and_report(demo_cache):
    at = _search_page()
    shown = _shown(at)
    a, b = shown["hog"][0], shown["hog"][1]
    at.button(key=f"ex-star-res-hog-1-{a}").click().run()
    at.button(key=f"ex-star-res-hog-2-{b}").click().run()
    at.segmented_control(key=f"ex-cat-{a}").set_value("X").run()
    at.segmented_control(key=f"ex-cat-{b}").set_value("A").run()
    assert not at.exception, at.exception
    sl = Shortlist.from_dict(at.session_state["ex_shortlists"]["demo"])
    assert [(i.figure, i.category) for i in sl.items] == [(a, "X"), (b, "A")]
    at.segmented_control(key=f"ex-cat-{b}").set_value(None).run()  # cleared
    sl = Shortlist.from_dict(at.session_state["ex_shortlists"]["demo"])
    assert [i.category for i in sl.items] == ["X", ""]
    assert at.segmented_control(key=f"ex-cat-{a}").value == "X"
    csv_rows = [r.split(",") for r in sl.to_csv().splitlines()]
    assert csv_rows[0][-1] == "category" and {r[-1] for r in csv_rows[1:] if r[1] == a} == {"X"}
