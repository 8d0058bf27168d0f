"""The examiner's workspace survives a reload and a restart (core.examiner.workspace,
dashboard/workspace.py): saved atomically per corpus, validated on load, restored in a new
session that has the same URL (AppTest)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.examiner import Region, Shortlist
from core.examiner import workspace as ws

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def test_round_trip_atomic_and_per_corpus(cache):
    w = ws.Workspace("demo", trail=["demo-01-1", "upload:ab12"], regions={"demo-01-1": [0.1, 0.2, 0.5, 0.6]},
                     added={"demo-01-1": ["demo-02-1"]}, upload_names={"upload:ab12": "=x.png"},
                     upload_texts={"upload:ab12": "a gear"}, shortlist=Shortlist("demo").to_dict(),
                     encoders=["hog"], k=7, combine="rrf", before=True)
    wid = ws.new_id()
    path = ws.save(w, wid)
    assert path == cache / "workspace" / ws.corpus_digest("demo") / f"{wid}.json"
    assert not list(path.parent.glob("*.tmp"))  # written via tmp + fsync + rename
    back = ws.load("demo", wid)
    assert back.to_dict() == w.to_dict() and not back.problems
    assert ws.load("other", wid) is None  # per corpus
    assert ws.load("demo", ws.new_id()) is None


def test_ids_are_checked_and_derived_from_a_login():
    for bad in ("", "short", "../../etc/passwd", "a" * 65, "with space!", None):
        with pytest.raises(ValueError, match="not a workspace id"):
            ws.check_id(bad)
    assert ws.check_id(ws.new_id())
    uid = ws.id_for_user("alice")
    assert ws.check_id(uid) == uid == ws.id_for_user("alice") != ws.id_for_user("bob")


def test_damaged_or_hostile_files_are_validated(cache):
    wid = ws.new_id()
    path = ws.workspace_path("demo", wid)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert ws.load("demo", wid).problems and ws.load("demo", wid).trail == []
    path.write_text(json.dumps({"version": 1, "corpus": "demo", "trail": "demo-01-1", "k": 10**9,
                                "regions": {"a": [0.5, 0.5, 0.1, 0.1], "b": [0, 0, 1, 1]}, "encoders": [1, 2],
                                "combine": "rm -rf", "before": "yes", "upload_names": {"upload:x": 3}}))
    back = ws.load("demo", wid)
    assert back.trail == [] and back.k is None and back.regions == {"b": [0.0, 0.0, 1.0, 1.0]}
    assert back.encoders == [] and back.combine == "mean" and back.before is False and back.upload_names == {}
    assert len(back.problems) == 4  # trail, k, region a, encoders


def test_region_text_round_trip():
    r = Region(0.05, 0.05, 0.55, 0.55)
    assert Region.parse(r.text) == r
    for bad in ("1,2,3", "a,b,c,d", "0.5,0.5,0.1,0.1", "nan,0,1,1"):
        with pytest.raises(ValueError, match="region"):
            Region.parse(bad, "the region")


# --------------------------------------------------------------------------- in the app
@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    from core import load_corpus

    mp = pytest.MonkeyPatch()
    d = tmp_path_factory.mktemp("workspace_app_cache")
    mp.setenv("UPAIR_CACHE", str(d))
    corpus = load_corpus("demo")
    yield corpus
    mp.undo()


def _run(params: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=240)
    at.query_params.update(params or {})
    at.session_state["corpus_pick"] = "demo"
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_a_new_session_with_the_same_url_restores_the_workspace(demo_cache):
    from PIL import Image

    at = _run()
    wid = at.query_params["ws"]
    assert ws.ID_RE.fullmatch(wid)
    at.sidebar.multiselect(key="encoders").set_value(["hog"]).run()
    at.sidebar.slider(key="k").set_value(7).run()
    at.switch_page("../pages/search.py").run()
    img = Image.new("L", (120, 90), 255)
    img.paste(0, (20, 20, 100, 70))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    at.file_uploader(key="upload").set_value(("my-drawing.png", buf.getvalue(), "image/png")).run()
    assert not at.exception, at.exception
    upload_q = at.session_state["query_trail"][-1]
    at.button(key="ex-example-0").click().run()  # the region example: a figure with a region
    assert not at.exception, at.exception
    fid = at.session_state["query_trail"][-1]
    star = next(b for b in at.button if b.key and b.key.startswith("ex-star-res-hog-1-"))
    hit = star.key.split("-", 5)[-1]
    star.click().run()
    at.text_input(key=f"ex-note-{hit}").input("=HYPERLINK(\"x\") looks close").run()
    at.text_area(key="ex_notes").input("general note").run()
    assert not at.exception, at.exception
    params = dict(at.query_params)
    assert params["k"] == "7" and params["enc"] == "hog" and params["region"] == "0.05,0.05,0.55,0.55"
    assert params["q"] == fid and params["ws"] == wid

    again = _run(params)  # F5: a new session, the same URL
    again.switch_page("../pages/search.py").run()
    assert not again.exception, again.exception
    assert again.session_state["encoders"] == ["hog"] and again.session_state["k"] == 7
    assert again.session_state["query_trail"][-2:] == [upload_q, fid]
    assert again.session_state["ex_regions"][fid] == [0.05, 0.05, 0.55, 0.55]
    assert again.session_state["upload_names"][upload_q] == "my-drawing.png"
    sl = Shortlist.from_dict(again.session_state["ex_shortlists"]["demo"])
    assert [i.figure for i in sl.items] == [hit] and sl.items[0].note == "=HYPERLINK(\"x\") looks close"
    assert sl.notes == "general note"
    assert again.text_input(key=f"ex-note-{hit}").value == "=HYPERLINK(\"x\") looks close"
    assert again.text_area(key="ex_notes").value == "general note"

    # a server restart is a new process: the file alone holds it
    saved = ws.load("demo", wid)
    assert saved.k == 7 and [i["figure"] for i in saved.shortlist["items"]] == [hit]

    # without ws= a browser gets its own, empty workspace
    other = _run()
    assert other.query_params["ws"] != wid and "demo" not in (other.session_state["ex_shortlists"]
                                                              if "ex_shortlists" in other.session_state else {})

    # clearing asks first
    again.button(key="ex_clear").click().run()
    assert Shortlist.from_dict(again.session_state["ex_shortlists"]["demo"]).items  # not yet
    assert any("cannot be undone" in w.value for w in again.warning)
    again.button(key="ex_clear_no").click().run()
    assert ws.load("demo", wid).shortlist["items"]
    again.button(key="ex_clear").click().run()
    again.button(key="ex_clear_yes").click().run()
    assert not again.exception, again.exception
    assert ws.load("demo", wid).shortlist == {}


@pytest.mark.slow
@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_a_link_view_wins_and_bad_values_are_named(demo_cache):
    at = _run({"k": "abc", "enc": "hog,nonexistent", "q": "demo-03-1", "region": "0.9,0.9,0.1,0.1"})
    assert at.session_state["k"] == 10 and at.session_state["encoders"] == ["hog"]
    texts = " ".join(w.value for w in at.warning) + " ".join(w.value for w in at.sidebar.warning)
    assert "k='abc'" in texts and "region=" in texts
    at = _run({"k": "5", "enc": "ahdh", "q": "demo-03-1", "region": "0.1,0.2,0.6,0.7"})
    assert at.session_state["k"] == 5 and at.session_state["encoders"] == ["ahdh"]
    assert at.session_state["ex_regions"]["demo-03-1"] == [0.1, 0.2, 0.6, 0.7]
