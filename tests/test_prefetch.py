"""Background warming (``dashboard.services.prefetch``): the queue's rules, and the Scores page's
slider step to a neighbouring weight finding its evaluation already computed."""
from __future__ import annotations

import threading

import pytest

from core.corpora import load_corpus
from dashboard.services import prefetch

from .test_app import _app


@pytest.fixture
def warming(monkeypatch):
    monkeypatch.setenv("UPAIR_PREFETCH", "1")
    prefetch.forget()
    yield prefetch
    assert prefetch.idle(60)
    prefetch.forget()


def test_off_by_variable_and_each_key_once(monkeypatch):
    monkeypatch.setenv("UPAIR_PREFETCH", "0")
    assert not prefetch.submit("off", lambda: None)
    monkeypatch.setenv("UPAIR_PREFETCH", "1")
    prefetch.forget()
    ran: list[str] = []
    assert prefetch.submit("a", lambda: ran.append("a"))
    assert prefetch.idle(10) and ran == ["a"]
    assert not prefetch.submit("a", lambda: ran.append("again"))  # done: not again
    assert prefetch.submit("b", lambda: 1 / 0)  # an error is logged and forgotten
    assert prefetch.idle(10) and prefetch.submit("c", lambda: ran.append("c")) and prefetch.idle(10)
    assert ran == ["a", "c"]
    prefetch.forget()


def test_newest_first_and_the_oldest_dropped(warming):
    gate, ran = threading.Event(), []
    assert warming.submit("hold", gate.wait)  # occupies the worker while the queue fills
    for i in range(warming.QUEUE_MAX + 2):
        assert warming.submit(f"w{i}", lambda i=i: ran.append(i))
    gate.set()
    assert warming.idle(10)
    newest = list(range(warming.QUEUE_MAX + 2))[::-1][: warming.QUEUE_MAX]
    assert ran[0] == warming.QUEUE_MAX + 1 and set(ran) == set(newest) and len(ran) == warming.QUEUE_MAX


@pytest.mark.slow
def test_slider_step_to_a_neighbour_is_already_computed(cache, monkeypatch, warming):
    import core.evaluation as ev

    real, calls = ev.evaluate, []

    def counted(*args, **kwargs):
        calls.append((round(float(kwargs.get("fusion_weight", 1.0)), 2), threading.current_thread().name))
        return real(*args, **kwargs)

    monkeypatch.setattr(ev, "evaluate", counted)
    at = _app("demo", encoders=["hog", "tfidf"])
    at.switch_page("../pages/scores.py").run()
    assert not at.exception and not at.error
    assert warming.idle(120)
    assert {w for w, t in calls if t == "upair-prefetch"} == {0.9, 1.1}  # both neighbours, in the background
    page_calls = len([c for c in calls if c[1] != "upair-prefetch"])
    at.slider(key="fusion_w").set_value(1.1).run()
    assert not at.exception and not at.error
    assert len([c for c in calls if c[1] != "upair-prefetch"]) == page_calls  # the step computed nothing
    assert warming.idle(120)
    assert (1.2, "upair-prefetch") in calls  # and the next weight ahead is warmed in turn
    shown = {i.split(" ▼")[0]: float(at.dataframe[0].value.loc[i, "MAP"]) for i in at.dataframe[0].value.index}
    expect = real(load_corpus("demo"), ["hog", "tfidf"], fusion_weight=1.1).table  # computed here, not cached
    row = expect[(expect.axis == "visual") & (expect.metric == "AP") & (expect.run == "image+desc")
                 & (expect.encoder == "hog")]
    assert abs(shown["HOG · image+desc"] - float(row.value.iloc[0])) < 1e-12  # the warmed value is the right one
