"""AppTest of the Search page's "where two figures agree" tools on a constructed folder corpus:
the Explain button per hit, the no-map line for AHDH, and part-level search of a region, checked
against ``core.explain`` computed here."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpora import load_corpus
from core.examiner import Region
from core.explain import build_part_index, search_parts
from core.figures import open_image
from tests.test_explain import SIDE, TRUE_BOX, background, iou, with_component

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_caches")]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
ENCODERS = ["hog", "ahdh"]
REGION = (32 / 256, 128 / 256, (32 + SIDE) / 256, (128 + SIDE) / 256)


@pytest.fixture
def figs(tmp_path, cache) -> str:
    root = tmp_path / "figs"
    root.mkdir()
    for i in range(5):
        background(100 + i).save(root / f"other{i}.png")
    with_component(10).save(root / "target.png")
    with_component(3, at=(32, 128)).save(root / "query.png")  # the component at the region REGION
    return f"folder:{root}"


def _page(spec: str, region=None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "custom"  # typed into "Other folder…"
    at.session_state["corpus_custom"] = spec
    at.session_state["encoders"] = list(ENCODERS)
    at.session_state["k"] = 3
    at.run()
    at.session_state["query_trail"] = ["query"]
    if region:
        at.session_state["ex_regions"] = {"query": list(region)}
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def _button(at: AppTest, prefix: str):
    return next(b for b in at.button if b.key and b.key.startswith(prefix))


def test_explain_button_shows_the_heatmap_and_says_when_there_is_none(figs):
    at = _page(figs)
    hog = _button(at, "xp-res-hog-1-")
    assert hog.label == "Explain"
    hog.click().run()
    assert not at.exception, at.exception
    caps = [c.value for c in at.caption]
    assert any("Query best found at" in c and "cells" in c for c in caps), caps
    assert _button(at, "xp-res-hog-1-").label == "Hide"
    _button(at, "xp-res-ahdh-1-").click().run()
    assert any("No heatmap: AHDH" in c.value for c in at.caption)
    _button(at, "xp-res-hog-1-").click().run()  # hide again
    assert not any("Query best found at" in c.value for c in at.caption)


def test_part_search_of_a_region_finds_the_figure_with_the_component(figs):
    at = _page(figs, region=REGION)
    assert not [b for b in at.button if b.key == "xp-build"]  # nothing until the toggle is on
    at.toggle(key="xp_parts_on").set_value(True).run()
    build = _button(at, "xp-build")
    build.click().run()
    assert not at.exception, at.exception
    corpus = load_corpus(figs)
    crop = Region(*REGION).crop(open_image(corpus.by_id["query"].path))
    want = search_parts(build_part_index(corpus, "hog"), crop, k=3, exclude=("query",))
    assert want[0].figure == "target" and iou(want[0].box, TRUE_BOX) > 0.5
    shown = [b.key.split("-", 4)[-1] for b in at.button if b.key and b.key.startswith("xp-use-hog-")]
    assert shown == [f"{h.figure}" for h in want], shown
    text = " ".join(m.value for m in at.markdown)
    x0, y0, x1, y1 = want[0].box
    assert f"cosine {want[0].score:.3f}" in text and f"box x {x0 * 100:.0f}–{x1 * 100:.0f} %" in text
