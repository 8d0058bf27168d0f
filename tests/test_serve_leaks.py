"""Served mode shows no server path, traceback or internal id: every page of the app, walked in
one served session with a corpus configured, and the error paths a visitor can trigger (a link
to a corpus not served, an allow-listed corpus whose folder is gone, a hostile upload, a broken
citations file, a wrong passphrase, another session's upload named in a link), with every
rendered element's full content (text, labels, help, options) searched for the server's paths."""
from __future__ import annotations

import io
import site
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from dashboard import serve
from dashboard.navigation import PAGE_TABLE
from tests.test_serve_app import APP, PHRASE, ROOT, _sign_in, figures  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


@pytest.fixture
def served_two(cache, figures, tmp_path, monkeypatch):
    """Served mode: the folder corpus and one whose folder has gone, both allow-listed."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[upair]\n[upair.annotators]\nalice = "{serve.hash_passphrase(PHRASE)}"\n')
    monkeypatch.setenv("UPAIR_SERVE", "1")
    monkeypatch.setenv("UPAIR_SECRETS", str(secrets))
    monkeypatch.setenv("UPAIR_CORPORA", f"Tiny figures=folder:{figures},Gone=folder:{tmp_path / 'gone'}")
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "judgements"))
    serve.policy.cache_clear()
    from streamlit import config as st_config

    details = st_config.get_option("client.showErrorDetails")
    yield tmp_path
    st_config.set_option("client.showErrorDetails", details)
    serve.policy.cache_clear()


def _protos(node) -> list[str]:
    """The full content of every element and block under ``node`` (protobuf text)."""
    out = [str(node.proto)] if getattr(node, "proto", None) is not None else []
    for child in (getattr(node, "children", None) or {}).values():
        out += _protos(child)
    return out


def forbidden(tmp_path: Path) -> list[str]:
    """Strings that name the server's file system."""
    return sorted({str(tmp_path), "/tmp/", "/work", str(ROOT), str(Path.home()) + "/", "site-packages",
                   sys.prefix, *site.getsitepackages(), "Traceback"} - {"/"})


def assert_clean(at: AppTest, tmp_path: Path, where: str) -> str:
    assert not at.exception, f"{where}: {at.exception}"
    text = "\n".join(_protos(at._tree))
    leaks = [s for s in forbidden(tmp_path) if s in text]
    assert not leaks, f"{where}: {leaks} shown: " + next(
        (line for line in text.splitlines() if any(s in line for s in leaks)), "")
    return text


def _png(i: int = 1) -> bytes:
    im = Image.new("L", (96, 96), 255)
    ImageDraw.Draw(im).ellipse((10 + 3 * i, 12, 70, 80 - 2 * i), outline=0, width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _session(query_params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["encoders"] = ["hog"]
    for k, v in (query_params or {}).items():
        at.query_params[k] = v
    return at.run()


def test_every_page_served_shows_no_server_path(served_two):
    tmp = served_two
    at = _session({"corpus": f"folder:{tmp / 'figs'}"})  # a link naming the spec, not the label: refused
    assert_clean(at, tmp, "first run")
    for name, page in PAGE_TABLE.items():
        at.switch_page(f"../pages/{page.file}").run()
        assert_clean(at, tmp, f"page {name}")
    # error paths a visitor can trigger
    at.switch_page("../pages/search.py").run()
    upload_key = next(u.key for u in at.get("file_uploader") if u.proto.label == "Patent figure")
    at.file_uploader(key=upload_key).set_value(("evil.png", b"\x89PNG\r\n\x1a\n not really", "image/png")).run()
    text = assert_clean(at, tmp, "hostile upload")
    assert "evil.png" in text  # the refusal is shown, naming the user's own file
    at.file_uploader(key=upload_key).set_value(("mine.png", _png(), "image/png")).run()
    assert_clean(at, tmp, "an upload searched")
    assert at.query_params["corpus"] == "Tiny figures"  # the link names the corpus by its label
    cit = [u for u in at.get("file_uploader") if u.key == "ex_cit_file"]
    if cit:
        cit[0].set_value(("cites.json", b"{not json", "application/json")).run()
        assert_clean(at, tmp, "broken citations file")
    for name, page in PAGE_TABLE.items():  # every page again, with a query in the session
        at.switch_page(f"../pages/{page.file}").run()
        assert_clean(at, tmp, f"page {name} with an upload")
    at.switch_page("../pages/judge.py").run()
    at = _sign_in(at, "alice", "wrong passphrase")
    assert_clean(at, tmp, "wrong passphrase")
    at = _sign_in(at, "alice", PHRASE)
    assert_clean(at, tmp, "judge signed in")
    at.selectbox(key="corpus_pick").set_value(f"folder:{tmp / 'gone'}").run()
    text = assert_clean(at, tmp, "a served corpus whose folder is gone")
    assert "The corpus **Gone** cannot be opened" in text and "incident" in text  # by its label; detail in the log


def test_the_error_boundary_in_callbacks_shows_no_traceback(served_two, monkeypatch):
    """An exception inside a page (not an expected error) reaches the browser as an incident id."""
    from dashboard import services

    def boom(*_a, **_k):
        raise OSError(f"[Errno 13] Permission denied: '{served_two}/cache/index/abc.npy'")

    at = _session()
    monkeypatch.setattr(services, "thumbnail", boom)
    at.switch_page("../pages/search.py").run()
    at.file_uploader(key=next(u.key for u in at.get("file_uploader") if u.proto.label == "Patent figure")) \
        .set_value(("mine.png", _png(2), "image/png")).run()
    text = assert_clean(at, served_two, "a failing thumbnail")
    assert "incident" in text


@pytest.mark.parametrize(("text", "shown"), [
    ("cannot open /srv/secret/path.index (x)", "cannot open path.index (x)"),
    ("Folder not found: `/tmp/abc/figs`.", "Folder not found: `figs`."),
    ("folder:/data/x is missing", "folder:x is missing"),
    ("'~/private/notes.json' unreadable", "'notes.json' unreadable"),
    ("see /work/cache/uploads/0123456789abcdef0123456789abcdef01234567.png", "see (a file on the server)"),
    ("https://example.com/a/b and 1/2 and and/or", "https://example.com/a/b and 1/2 and and/or"),  # no paths
])
def test_shown_text_cuts_paths_in_served_mode(text, shown, monkeypatch):
    monkeypatch.setenv("UPAIR_SERVE", "1")
    monkeypatch.setenv("UPAIR_SECRETS", "/nonexistent/secrets.toml")
    serve.policy.cache_clear()
    try:
        assert serve.shown_text(text) == shown
        assert serve.shown_path("/srv/data/figs") == "figs"
    finally:
        serve.policy.cache_clear()


def test_shown_text_is_whole_in_the_workbench(monkeypatch):
    monkeypatch.delenv("UPAIR_SERVE", raising=False)
    monkeypatch.setenv("UPAIR_SECRETS", "/nonexistent/secrets.toml")
    serve.policy.cache_clear()
    try:
        assert serve.shown_text("cannot open /srv/x.index") == "cannot open /srv/x.index"
        assert serve.shown_path("/srv/data/figs") == "/srv/data/figs"
    finally:
        serve.policy.cache_clear()
