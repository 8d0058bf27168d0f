"""The Search page's compact hit rows: each hit is one HTML block holding its thumbnail inline (no
image element and no media file per hit) beside its text, and the thumbnail is the figure's own
pixels, greyscale for a black-and-white drawing."""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import load_corpus

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
THUMB = re.compile(r"<img class='upair-thumb' alt='([^']+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>")


def _expected(path: str, size: int) -> np.ndarray:
    """The figure fitted into a white ``size`` square, as grey levels (computed here, with PIL)."""
    im = Image.open(path).convert("RGB")
    im.thumbnail((size, size))
    square = Image.new("RGB", (size, size), "white")
    square.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(square.convert("L"))


def test_each_hit_is_one_block_with_its_thumbnail_inline(cache):
    demo = load_corpus("demo")
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog", "ahdh"]
    at.session_state["k"] = 4
    at.session_state["fold_families"] = False  # every hit its own row
    at.run()
    at.switch_page("../pages/search.py")
    at.session_state["query_trail"] = [demo.figures[3].id]
    at.run()
    assert not at.exception, at.exception
    rows = [m.value for m in at.markdown if "upair-hit" in m.value]
    uses = [b for b in at.button if b.label == "Use as query"]
    assert len(rows) == len(uses) and len(rows) == 2 * 4  # one block per hit
    for html in rows:
        found = THUMB.search(html)
        assert found, html[:300]
        fid, data = found.groups()
        png = Image.open(io.BytesIO(base64.b64decode(data)))
        assert png.format == "PNG" and png.mode == "L" and png.size == (128, 128)  # a drawing: one channel
        assert np.array_equal(np.asarray(png), _expected(str(demo.by_id[fid].path), 128)), fid
        assert f"title='{demo.by_id[fid].title}'" in html or demo.by_id[fid].title in html
    images = len(at.get("image"))  # the query's and the panels' pictures
    at.session_state["k"] = 2
    at.run()
    assert len([m for m in at.markdown if "upair-hit" in m.value]) == 2 * 2
    assert len(at.get("image")) == images  # half the hits, as many image elements: none is a hit's


def test_a_colour_figure_keeps_its_colour(tmp_path):
    """Only figures without colour are sent as one channel."""
    from dashboard.services.corpora import _thumbnail

    path = tmp_path / "red.png"
    im = Image.new("RGB", (60, 40), "white")
    im.paste((220, 30, 30), (10, 10, 50, 30))
    im.save(path)
    out = Image.open(io.BytesIO(_thumbnail(str(path), 64)))
    assert out.mode == "RGB" and out.getpixel((32, 32)) == (220, 30, 30)
    grey = tmp_path / "grey.png"
    Image.new("RGB", (60, 40), (90, 90, 90)).save(grey)
    assert Image.open(io.BytesIO(_thumbnail(str(grey), 64))).mode == "L"
