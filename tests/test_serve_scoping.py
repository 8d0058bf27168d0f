"""Served mode keeps what a link names within the allow-list and the session's own workspace:
``?corpus=`` carries the allow-list label (never a server path) and is resolved back; an
``upload:<sha1>`` token opens only this workspace's uploads; a signed-in user's workspace id is
never opened from a URL; the Sample page's export (which writes on the server) is refused."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.examiner import workspace as core_ws
from tests.test_serve_app import APP, figures, served  # noqa: F401 - fixtures
from tests.test_serve_leaks import _png, assert_clean

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def _session(query_params: dict | None = None, page: str | None = "search") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["encoders"] = ["hog"]
    for k, v in (query_params or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, i: int = 1) -> str:
    at.file_uploader(key="upload").set_value((f"mine{i}.png", _png(i), "image/png")).run()
    assert not at.exception, at.exception
    return at.session_state["query_trail"][-1]


def test_links_name_the_corpus_by_its_label_and_resolve_it_back(served):
    from core import load_corpus

    fid = load_corpus(served).figures[1].id
    a = _session({"q": fid})  # a link naming a figure only
    assert a.session_state["query_trail"][-1] == fid
    assert a.query_params["corpus"] == "Tiny figures"  # the label of the allow-list, not folder:/tmp/…
    assert "/" not in a.query_params["corpus"]
    b = _session({"corpus": "Tiny figures", "q": a.query_params["q"]})
    assert b.selectbox(key="corpus_pick").value == served
    assert b.session_state["query_trail"][-1] == a.query_params["q"]  # the shared link opened the same query
    c = _session({"corpus": "No such corpus"}, page=None)
    assert c.selectbox(key="corpus_pick").value == served
    assert any("does not serve" in w.value for w in c.warning)


def test_an_upload_token_opens_only_the_own_workspace_upload(served):
    a = _session()
    path = _upload(a)
    tok = "upload:" + Path(path).stem
    assert a.query_params["q"] == tok
    b = _session({"corpus": "Tiny figures", "q": tok, "region": "0.1,0.1,0.9,0.9"})  # B knows A's hash
    assert path not in (b.session_state["query_trail"] if "query_trail" in b.session_state else [])
    assert path not in b.session_state["ex_regions"] if "ex_regions" in b.session_state else True
    assert any("an upload of another session" in w.value for w in b.warning)
    assert tok[7:] not in " ".join(w.value for w in b.warning)  # the hash is not echoed either
    # A's own link (same workspace, e.g. a reload or a new tab) still opens it
    a2 = _session({"ws": a.query_params["ws"], "corpus": "Tiny figures", "q": tok})
    assert a2.session_state["query_trail"][-1] == path


def test_workspace_ids_are_unguessable_and_a_user_id_is_not_opened_from_a_link(served):
    ids = {core_ws.new_id() for _ in range(200)}
    assert len(ids) == 200 and all(len(i) >= 16 for i in ids)  # secrets.token_urlsafe(12): 96 random bits
    a = _session({"ws": core_ws.id_for_user("alice")}, page=None)
    assert a.query_params["ws"] != core_ws.id_for_user("alice")
    assert any("belongs to a signed-in user" in w.value for w in a.warning)


@pytest.mark.slow  # the Sample page draws the demo corpus's pool first (about a minute on 2 cores)
def test_sample_export_is_refused_in_served_mode(cache, tmp_path, monkeypatch):
    from dashboard import serve

    monkeypatch.setenv("UPAIR_SERVE", "1")
    monkeypatch.setenv("UPAIR_SECRETS", str(tmp_path / "none.toml"))
    monkeypatch.setenv("UPAIR_CORPORA", "demo")
    serve.policy.cache_clear()
    from streamlit import config as st_config

    details = st_config.get_option("client.showErrorDetails")
    try:
        at = _session(page="sample")
        assert_clean(at, tmp_path, "the Sample page of the demo corpus")  # e.g. the citations file's path
        assert not [b for b in at.button if b.key == "sample_export"]
        assert any("workbench" in i.value for i in at.info)
        assert not (cache / "sampling").exists() or not any((cache / "sampling").iterdir())  # nothing written
    finally:
        st_config.set_option("client.showErrorDetails", details)
        serve.policy.cache_clear()
