"""AppTests of the Search page's family folding and reference numerals, on a constructed corpus:
a drawing with numerals, two near-identical copies of it (another office's margins, a JPEG
re-compression), the other numeral drawings and unrelated drawings."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.families import corpus_hashes, families
from core.numerals import engine_available
from core.search import search
from tests.numeral_figures import FIGURES, write_corpus
from tests.test_families import drawing, recompressed, remargined

pytestmark = [pytest.mark.usefixtures("fresh_streamlit_caches"), pytest.mark.slow]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
TESSERACT = engine_available("tesseract")


def _corpus(root: Path) -> str:
    write_corpus(root)
    src = Image.open(root / "sections" / "B" / "US0000001A1" / "fig0.png").convert("L")
    for patent, im in (("EP0000001A1", remargined(src)), ("WO0000001A1", recompressed(src))):
        d = root / "sections" / "B" / patent
        d.mkdir(parents=True)
        im.save(d / f"{patent.lower()}.png")
        (d / f"{patent.lower()}.json").write_text((root / "sections" / "B" / "US0000001A1" / "fig0.json").read_text())
    for s in range(5):
        d = root / "sections" / "B" / f"US10000{s}A1"
        d.mkdir(parents=True)
        drawing(40 + s).save(d / f"other{s}.png")
    return f"query-patents:{root}"


def _search(spec: str, query: str, k: int = 6) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = ["hog"]
    at.session_state["k"] = k
    at.run()
    at.session_state["query_trail"] = [query]  # after the corpus is chosen (a switch clears the trail)
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def _shown(at) -> list[str]:
    return [b.key.rsplit("-", 1)[-1] for b in at.button if b.label == "Use as query" and b.key.startswith("res-hog-")]


def test_family_copies_fold_into_one_card_and_unfold(cache, tmp_path):
    spec = _corpus(tmp_path / "figs")
    corpus = load_corpus(spec)
    ranked = search(corpus, "other0", ["hog"], k=9)["hog"].ids  # every other figure
    copies = {"fig0", "ep0000001a1", "wo0000001a1"}
    lead = next(i for i in ranked if i in copies)
    # core, on hashes alone, puts the three copies in one family and nothing else with them
    fams = families(ranked, corpus_hashes(corpus))
    assert [set(f.members) for f in fams if len(f.members) > 1] == [copies]
    at = _search(spec, "other0", k=9)
    assert at.toggle(key="fold_families").value is True
    assert _shown(at) == [i for i in ranked if i == lead or i not in copies]  # HOG's cosine agrees
    assert sum("+2 family figures" in m.value for m in at.markdown) == 1
    at.toggle(key="fold_families").set_value(False).run()
    assert _shown(at) == ranked and not any("family figure" in m.value for m in at.markdown)


@pytest.mark.skipif(bool(TESSERACT), reason=f"needs Tesseract: {TESSERACT}")
def test_numerals_hover_names_and_part_query(cache, tmp_path):
    spec = _corpus(tmp_path / "figs")
    at = _search(spec, "other0", k=9)
    assert not at.get("plotly_chart")  # off by default: nothing is read
    at.toggle(key="show_numerals").set_value(True).run()
    assert not at.exception, at.exception
    charts = {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")} if hasattr(at, "get") else {}
    tips = [t for spec_ in charts.values() for tr in spec_["data"] for t in tr.get("text", [])]
    assert "<b>12</b>: lid" in tips and "<b>14</b>: spring" in tips and "<b>22a</b>: roller" in tips
    assert any("**Parts:** 10 housing · 12 lid · 14 spring" in m.value for m in at.markdown)
    at.text_input(key="numeral_part").set_value("springs").run()
    assert any("“springs” is drawn (numeral read and named) in 2 of 6 hits" in c.value for c in at.caption)
