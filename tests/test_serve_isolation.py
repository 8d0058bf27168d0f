"""Two sessions of one served app (two ``AppTest``s in one process, as two browsers on one server):
neither sees the other's queries, uploads, shortlist or judging position, while indices are
loaded once per process and shared."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from tests.test_serve_app import APP, PHRASE, _sign_in, figures, served  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def _drawing(i: int) -> bytes:
    im = Image.new("L", (96, 96), 255)
    ImageDraw.Draw(im).ellipse((10 + 3 * i, 12, 70, 80 - 2 * i), outline=0, width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _search_session() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["encoders"] = ["hog"]
    at.run()
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def test_two_sessions_keep_their_queries_uploads_and_shortlists_apart(served, monkeypatch):
    import core.search

    loads: list[str] = []
    real = core.search.get_index
    monkeypatch.setattr(core.search, "get_index", lambda c, spec, **kw: loads.append(spec) or real(c, spec, **kw))
    a, b = _search_session(), _search_session()
    a.file_uploader(key="upload").set_value(("mine.png", _drawing(1), "image/png")).run()
    assert not a.exception, a.exception
    trail_a = a.session_state["query_trail"]
    assert len(trail_a) == 1 and "mine.png" in a.session_state["upload_names"].values()
    next(btn for btn in a.button if (btn.key or "").startswith("ex-star-")).click().run()
    assert not a.exception, a.exception
    assert a.session_state["ex_shortlists"]  # A starred a hit

    b.run()
    assert not b.exception, b.exception
    assert not (b.session_state["query_trail"] if "query_trail" in b.session_state else [])
    assert "upload_names" not in b.session_state
    assert any("Upload a figure" in i.value for i in b.info)  # B starts with no query
    b.file_uploader(key="upload").set_value(("theirs.png", _drawing(7), "image/png")).run()
    assert b.session_state["query_trail"] != trail_a
    a.run()
    assert a.session_state["query_trail"] == trail_a  # B's upload did not become A's query
    assert "theirs.png" not in a.session_state["upload_names"].values()
    assert "ex_shortlists" not in b.session_state  # A's shortlist is A's alone
    assert loads.count("hog") == 1  # one index for the process, shared by both sessions


def test_judging_position_and_identity_are_per_session(served):
    a = AppTest.from_file(str(APP), default_timeout=120)
    a.session_state["encoders"] = ["hog"]
    a.run()
    a.switch_page("../pages/judge.py").run()
    a = _sign_in(a, "alice", PHRASE)
    assert a.session_state["_upair_signed_in"] == "alice"
    b = AppTest.from_file(str(APP), default_timeout=120)
    b.session_state["encoders"] = ["hog"]
    b.run()
    b.switch_page("../pages/judge.py").run()
    assert not b.exception, b.exception
    assert "_upair_signed_in" not in b.session_state  # alice's sign-in is hers alone
    assert "judge_pos" not in b.session_state
