"""Small breaks found in the second hour, each pinned by an AppTest."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def test_corpus_switch_gives_a_fresh_uploader_and_says_the_upload_was_kept(cache, tmp_path):
    demo = load_corpus("demo")
    figs = demo.figures[:4]
    other = tmp_path / "other"
    other.mkdir()
    for f in figs[1:]:
        shutil.copy(f.path, other / Path(f.path).name)
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog"]
    at.run()
    at.switch_page("../pages/search.py").run()
    at.file_uploader(key="upload").set_value(("mine.png", Path(figs[0].path).read_bytes(), "image/png")).run()
    assert not at.exception, at.exception
    at.switch_page("../pages/overview.py").run()  # the switch is made on another page
    at.selectbox(key="corpus_pick").set_value("custom").run()
    at.text_input(key="corpus_custom").set_value(str(other)).run()
    assert not at.exception, at.exception
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    assert any("Kept your query **mine.png**" in i.value for i in at.info), [i.value for i in at.info]
    uploaders = [u for u in at.get("file_uploader")]
    assert uploaders and all(u.key != "upload" for u in uploaders)  # a new, empty uploader
    at.run()
    assert not any("Kept your query" in i.value for i in at.info)  # said once


def test_browser_back_steps_back_in_the_trail_instead_of_adding_a_crumb(cache):
    """Back in the browser changes ?q= to the previous query: the trail loses its last crumb
    (as the breadcrumb's own 'go back' does); Forward then adds it again."""
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py"), default_timeout=240)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog"]
    at.session_state["k"] = 3
    at.run()
    at.switch_page("../pages/search.py")
    demo = load_corpus("demo")
    a, b = demo.figures[0].id, demo.figures[5].id
    at.session_state["query_trail"] = [a]
    at.run()
    assert not at.exception, at.exception
    at.session_state["query_trail"] = [a, b]  # the state a 'Use as query' on b leaves
    at.query_params["q"] = b
    at.run()
    assert at.session_state["query_trail"] == [a, b]
    at.query_params["q"] = a  # Back
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["query_trail"] == [a]
    at.query_params["q"] = b  # Forward
    at.run()
    assert at.session_state["query_trail"] == [a, b]
