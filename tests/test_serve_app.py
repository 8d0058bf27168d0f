"""Served mode through the real app (Streamlit ``AppTest``): the allow-list, no "Other folder…",
read-only Models and Corpus pages, the error boundary, and annotators who sign in."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from dashboard import serve

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
PHRASE = "a room of examiners"


@pytest.fixture
def figures(tmp_path) -> Path:
    """A folder corpus of four small drawings."""
    d = tmp_path / "figs"
    d.mkdir()
    for i in range(4):
        im = Image.new("L", (64, 64), 255)
        ImageDraw.Draw(im).rectangle((8 + 4 * i, 8, 40 + 4 * i, 50), outline=0, width=2)
        im.save(d / f"f{i}.png")
    return d


@pytest.fixture
def served(cache, figures, tmp_path, monkeypatch):
    """Served mode with the folder corpus allow-listed and two annotators (alice adjudicates)."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[upair]\nadjudicators = ["alice"]\n[upair.annotators]\n'
                       f'alice = "{serve.hash_passphrase(PHRASE)}"\nbob = "{serve.hash_passphrase("bob" + PHRASE)}"\n')
    monkeypatch.setenv("UPAIR_SERVE", "1")
    monkeypatch.setenv("UPAIR_SECRETS", str(secrets))
    monkeypatch.setenv("UPAIR_CORPORA", f"Tiny figures=folder:{figures}")
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "judgements"))
    serve.policy.cache_clear()
    from streamlit import config as st_config

    details = st_config.get_option("client.showErrorDetails")
    yield f"folder:{figures}"
    st_config.set_option("client.showErrorDetails", details)  # the served app set it for this process
    serve.policy.cache_clear()


def _app(query_params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["encoders"] = ["hog"]
    for k, v in (query_params or {}).items():
        at.query_params[k] = v
    return at


def _texts(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success")
                    for e in getattr(at, kind))


def test_served_sidebar_lists_the_allow_list_only(served):
    at = _app().run()
    assert not at.exception, at.exception
    box = at.selectbox(key="corpus_pick")
    assert box.options == ["Tiny figures"] and box.value == served
    assert not [t for t in at.text_input if t.key == "corpus_custom"]  # no "Other folder…"
    assert not [b for b in at.button if b.key == "reload_corpus"]
    assert not [b for b in at.button if (b.key or "").startswith("dl-")]  # no weight downloads on the Corpus page


def test_a_link_to_another_corpus_is_refused(served, tmp_path):
    at = _app({"corpus": "folder:/etc"}).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="corpus_pick").value == served
    assert any("does not serve" in w.value for w in at.warning)
    assert "/etc" not in _texts(at)
    assert at.query_params["corpus"] == "Tiny figures"  # the refused value leaves the address bar


def test_models_page_is_read_only(served):
    at = _app().run()
    at.switch_page("../pages/models.py").run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if "Train" in (b.label or "")]
    assert not [t for t in at.text_input if t.key == "adapt_name"]
    assert any("read-only" in i.value for i in at.info)


def test_workbench_keeps_its_powers(cache, figures, monkeypatch, tmp_path):
    monkeypatch.setenv("UPAIR_SECRETS", str(tmp_path / "none.toml"))
    monkeypatch.delenv("UPAIR_SERVE", raising=False)
    serve.policy.cache_clear()
    at = _app()
    at.session_state["corpus_pick"] = f"folder:{figures}"
    at.run()
    assert not at.exception, at.exception
    assert "Other folder…" in at.selectbox(key="corpus_pick").options
    assert [b for b in at.button if b.key == "reload_corpus"]
    at.switch_page("../pages/models.py").run()
    assert [t for t in at.text_input if t.key == "adapt_name"]


def test_error_boundary_shows_an_incident_id_not_the_detail(served, monkeypatch, caplog):
    from dashboard import services

    def boom(*_a, **_k):
        raise RuntimeError("cannot open /srv/secret/path.index (internal id 0xdeadbeef)")

    monkeypatch.setattr(services, "encoder_status", boom)
    at = _app().run()
    assert not at.exception  # nothing reaches the browser as a traceback
    shown = _texts(at)
    assert "incident" in shown and "/srv/secret" not in shown and "deadbeef" not in shown
    ident = next(e.value for e in at.error if "incident" in e.value).split("**")[1]
    logged = [r for r in caplog.records if r.name == "upair.serve" and ident in r.getMessage()]
    assert logged and "/srv/secret/path.index" in str(logged[0].exc_info[1])  # the detail is in the server log


def test_error_boundary_is_off_in_the_workbench(cache, figures, monkeypatch, tmp_path):
    from dashboard import services

    monkeypatch.setenv("UPAIR_SECRETS", str(tmp_path / "none.toml"))
    monkeypatch.delenv("UPAIR_SERVE", raising=False)
    serve.policy.cache_clear()
    monkeypatch.setattr(services, "encoder_status", lambda *a, **k: 1 / 0)
    at = _app()
    at.session_state["corpus_pick"] = f"folder:{figures}"
    at.run()
    assert at.exception and at.exception[0].value == "division by zero" and at.exception[0].stack_trace


def _sign_in(at, name: str, phrase: str):
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_phrase").input(phrase)
    at.button[[b.label for b in at.button].index("Sign in")].click()
    return at.run()


def test_judge_page_asks_annotators_to_sign_in(served):
    at = _app().run()
    at.switch_page("../pages/judge.py").run()
    assert not at.exception, at.exception
    assert not [t for t in at.text_input if t.key == "annotator"]  # no free-typed names in served mode
    assert any("Sign in" in i.value for i in at.info)
    at = _sign_in(at, "alice", "wrong passphrase")
    assert any("wrong passphrase" in e.value for e in at.error)
    assert "_upair_signed_in" not in at.session_state
    at = _sign_in(at, "mallory", PHRASE)  # unknown name, someone else's passphrase
    assert "_upair_signed_in" not in at.session_state
    at = _sign_in(at, "alice", PHRASE)
    assert not at.exception, at.exception
    assert at.session_state["_upair_signed_in"] == "alice"
    assert any("Signed in as **alice**" in c.value for c in at.caption)


def test_passphrase_attempts_are_limited_per_session(served):
    at = _app().run()
    at.switch_page("../pages/judge.py").run()
    for _ in range(5):
        at = _sign_in(at, "alice", "nope nope")
    at = _sign_in(at, "alice", PHRASE)  # right, but after five failures within a minute
    assert "_upair_signed_in" not in at.session_state


def _gate_app():
    import streamlit as st

    from dashboard import identity

    st.session_state["_upair_signed_in"] = st.session_state.get("who")
    for name in ("alice", "bob", "adjudicated"):
        st.write(f"{name}={identity.may_write(name)}")


@pytest.mark.parametrize(("who", "writable"), [
    ("alice", {"alice", "adjudicated"}),  # alice adjudicates
    ("bob", {"bob"}),
    (None, set()),
])
def test_each_annotator_writes_only_their_own_set(served, who, writable):
    at = AppTest.from_function(_gate_app)
    at.session_state["who"] = who
    at.run()
    got = {m.value.split("=")[0] for m in at.markdown if m.value.endswith("=True")}
    assert got == writable
