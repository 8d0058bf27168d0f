"""Bad input in the app: a bad ``UPAIR_ENCODERS`` entry, HTML in labels, unreadable figures."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_bad_input import upair_folder

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGES = [None, "../pages/search.py", "../pages/scores.py", "../pages/map.py"]
EVIL = "clip:ViT-B-32:/tmp/<img src=x onerror=alert(1)>.pt"


def _app(spec: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "custom"
    at.session_state["corpus_custom"] = spec
    at.session_state["encoders"] = ["hog"]
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


@pytest.mark.slow
def test_a_bad_upair_encoders_entry_is_listed_and_every_page_works(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("UPAIR_ENCODERS", f"bogus:thing,{EVIL}")
    root = upair_folder(tmp_path / "u")
    for page in PAGES:
        at = _app(f"upair:{root}", page)
        assert not at.exception, (page, at.exception)
    html_md = [m.value for m in at.sidebar.markdown if "UPAIR_ENCODERS" in m.value or "onerror" in m.value]
    assert any("bogus:thing" in v and "invalid entry in UPAIR_ENCODERS" in v for v in html_md)
    evil = [v for v in html_md if "onerror" in v]
    assert evil and all("<img" not in v and "&lt;img" in v for v in evil)


def test_the_corpus_page_names_unreadable_figures(cache, tmp_path):
    root = upair_folder(tmp_path / "u", {"c2": "corrupt", "c5": "empty"})
    at = _app(f"upair:{root}")
    assert not at.exception, at.exception
    box = [e for e in at.expander if "unreadable figure" in e.label]
    assert len(box) == 1 and box[0].label.startswith("2 unreadable figure(s)")
    text = box[0].code[0].value
    assert text.count("figure c2") == 1 and text.count("figure c5") == 1


def test_a_blank_upload_says_it_has_no_drawn_content(cache, tmp_path):
    import io

    from PIL import Image

    root = upair_folder(tmp_path / "u")
    at = _app(f"upair:{root}", "../pages/search.py")
    assert not at.exception, at.exception
    buf = io.BytesIO()
    Image.new("RGB", (200, 120), "white").save(buf, "PNG")
    at.file_uploader(key="upload").set_value(("blank.png", buf.getvalue(), "image/png")).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("no drawn content" in e for e in errors), errors
    assert not [b for b in at.button if (b.key or "").startswith("res-")]  # no arbitrary "neighbours"


PAYLOAD = "<img src=x onerror=alert(1)>"


def _html_elements(at) -> list[str]:
    """Bodies of every markdown element rendered with unsafe_allow_html (main and sidebar)."""
    out = []
    for m in list(at.markdown) + list(at.sidebar.markdown) + list(at.caption):
        if getattr(m.proto, "allow_html", False):
            out.append(m.value)
    return out


@pytest.mark.slow
def test_file_provided_strings_are_escaped_wherever_html_is_allowed(cache, tmp_path, monkeypatch):
    root = upair_folder(tmp_path / "u")
    meta = json.loads((root / "metadata.json").read_text())
    for entry in meta.values():
        for rec in [entry["query"], *entry["candidates"]]:
            rec.update(title=f"Title {PAYLOAD}", patent=f"EP{PAYLOAD}", component_labels=[f"arm {PAYLOAD}"],
                       description=f"desc {PAYLOAD}")
    (root / "metadata.json").write_text(json.dumps(meta))
    monkeypatch.setenv("UPAIR_ENCODERS", f"clip:ViT-B-32:/nowhere/{PAYLOAD}.pt")
    at = _app(f"upair:{root}")
    seen = _html_elements(at)
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    seen += _html_elements(at)
    for page in ("../pages/scores.py", "../pages/judge.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        seen += _html_elements(at)
    assert any("&lt;img" in s for s in seen)  # the payload did reach HTML, escaped
    assert not [s for s in seen if "<img src=x" in s]


def test_scores_page_counts_unreadable_figures_and_survives_huge_grades(cache, tmp_path):
    root = upair_folder(tmp_path / "u", {"c2": "corrupt"})
    with open(root / "test" / "qrels_visual.txt", "a") as fh:
        fh.write("q0 0 c1 99999999999999999999\n")
    at = _app(f"upair:{root}", "../pages/scores.py")
    assert not at.exception, at.exception
    notes = [c.value for c in at.caption if "unreadable figure" in c.value]
    assert len(notes) == 1 and notes[0].count("1 unreadable figure(s)") == 1 and "c2" in notes[0]
    assert not [w.value for w in at.warning if "Nothing could be evaluated" in w.value]


@pytest.mark.parametrize("var", ["UPAIR_MAX_IMAGE_PIXELS", "UPAIR_CACHE"])
def test_the_app_names_a_bad_environment_variable(tmp_path, monkeypatch, var):
    import importlib

    import core.config

    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv(var, "lots" if var == "UPAIR_MAX_IMAGE_PIXELS" else str(tmp_path / "afile"))
    importlib.reload(core.config)  # the pixel limit is read at import, as in a fresh app process
    try:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        assert not at.exception, at.exception
        assert len(at.error) == 1 and var in at.error[0].value
    finally:
        monkeypatch.delenv(var)
        importlib.reload(core.config)
