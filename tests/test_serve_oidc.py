"""Served mode with Streamlit's own authentication (``st.login`` / ``st.user``) through a local
OpenID Connect provider the test starts on 127.0.0.1 (``tests/oidc_provider.py``), driven in
headless Chromium: a visitor who has not signed in may not judge; after "Sign in to judge" (the
authorization-code flow with PKCE, an RS256 ID token checked against the provider's JWKS) the page
says who judges, the annotator's answer lands in the journal named after their e-mail, another
browser stays signed out, and a second identity signed in there judges into its own set and is
refused an import into the first one's.

Why an earlier version of this test saw "no user cookie": it waited for the page's URL to leave
/oauth2callback, but while the browser follows the redirects (/auth/login → /authorize →
/oauth2callback) ``page.url`` is still the committed /judge, so the wait returned at once and the
test's next ``page.goto`` cancelled the callback's navigation while Streamlit was still exchanging
the code at /token and /jwks — the browser never read the 302 that carries ``_streamlit_user``.
Streamlit 1.67, Authlib and the provider were right; the test now waits for the callback's
response itself."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse

import pytest

from tests.browsing import MARKS, ROOT, STREAMLIT_FLAGS, chromium, free_port, seed_built_demo, settle
from tests.oidc_provider import OIDCProvider

NEEDS_AUTHLIB = pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("authlib", "httpx")),
    reason="st.login needs Authlib and httpx (pinned in requirements.txt)")


@NEEDS_AUTHLIB
def test_the_local_provider_passes_authlib_checks():
    """Discovery, authorization code, token (client secret, PKCE S256), RS256 ID token against the
    JWKS, nonce, issuer and audience, as Authlib's Starlette client (``st.login``'s) checks them."""
    import asyncio
    import base64
    import hashlib
    import warnings

    import httpx
    from authlib.integrations.starlette_client import OAuth

    redirect = "http://127.0.0.1:9/oauth2callback"

    async def flow(op: OIDCProvider, verifier: str):
        oauth = OAuth()
        oauth.register("default", client_id=op.client_id, client_secret=op.client_secret,
                       server_metadata_url=op.metadata_url, client_kwargs={"scope": "openid email profile"})
        client = oauth.create_client("default")
        md = await client.load_server_metadata()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(b"right-verifier-0123456789-0123456789-abc").digest())
        params = {"response_type": "code", "client_id": op.client_id, "redirect_uri": redirect, "state": "s1",
                  "nonce": "n1", "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256"}
        loc = httpx.get(md["authorization_endpoint"], params=params).headers["location"]
        code = loc.split("code=")[1].split("&")[0]
        token = await client.fetch_access_token(code=code, redirect_uri=redirect, code_verifier=verifier)
        return await client.parse_id_token(token, nonce="n1")

    with warnings.catch_warnings(), OIDCProvider(next_user="alice@example.org") as op:
        warnings.simplefilter("ignore")
        user = asyncio.run(flow(op, "right-verifier-0123456789-0123456789-abc"))
        assert user["email"] == "alice@example.org" and user["aud"] == op.client_id and user["iss"] == op.base
        with pytest.raises(Exception):  # a wrong PKCE verifier gets no token
            asyncio.run(flow(op, "wrong-verifier-0123456789-0123456789-abc"))


def _start(env: dict, cwd, port: int) -> subprocess.Popen:
    """The app run from ``cwd`` (whose .streamlit/secrets.toml holds [auth] and [upair])."""
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
                             "--server.port", str(port), *STREAMLIT_FLAGS], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("the served app did not come up: " + proc.stderr.read().decode()[-2000:])


@NEEDS_AUTHLIB
@MARKS[2]  # chromium on the PATH
@MARKS[1]  # slow
@MARKS[0]  # browser
def test_st_login_through_a_local_oidc_provider(tmp_path, tmp_path_factory, monkeypatch):
    from core import load_corpus
    from core.annotation.judgements import JudgementStore

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path / "cache"), "UPAIR_JUDGEMENTS": str(tmp_path / "judgements"),
           "UPAIR_SERVE": "1", "UPAIR_CORPORA": "demo", "UPAIR_ENCODERS": "hog"}
    seed_built_demo(tmp_path / "cache", tmp_path_factory, ["hog"])  # the demo and its HOG index, built once per run
    with OIDCProvider(next_user="alice@example.org") as op:
        site = tmp_path / "site"
        (site / ".streamlit").mkdir(parents=True)
        secrets_file = site / ".streamlit" / "secrets.toml"
        secrets_file.write_text(
            "[upair]\nserve = true\n\n[auth]\n"
            f'redirect_uri = "{url}/oauth2callback"\ncookie_secret = "{secrets.token_urlsafe(32)}"\n'
            f'client_id = "{op.client_id}"\nclient_secret = "{op.client_secret}"\n'
            f'server_metadata_url = "{op.metadata_url}"\n')
        env["UPAIR_SECRETS"] = str(secrets_file)
        proc = _start(env, site, port)
        try:
            with chromium() as browser:
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                _sign_in_oidc(page, url, op, "alice_at_example.org")
                assert [p for p in op.log if p in ("/.well-known/openid-configuration", "/authorize", "/token")] \
                    == ["/.well-known/openid-configuration", "/authorize", "/.well-known/openid-configuration",
                        "/token"]
                _answer_first_pair(page)
                other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                op.next_user = "bob@example.org"  # B, not signed in (checked there), signs in as someone else
                _sign_in_oidc(other, url, op, "bob_at_example.org")
                _answer_first_pair(other)
                other.get_by_text("Import / export", exact=True).click()  # bob may not import into alice's set
                settle(other)
                box = other.locator(".st-key-judge_import_name input")
                box.fill("alice_at_example.org")
                box.press("Enter")
                settle(other)
                other.get_by_text("you may not write the set 'alice_at_example.org'").wait_for(timeout=30_000)
                assert other.locator(".st-key-judge-import button").is_disabled()
                page.reload()  # alice's own session is still signed in (the cookie) after a reload
                settle(page)
                assert "alice_at_example.org" in page.get_by_text("Signed in as").inner_text()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    monkeypatch.setenv("UPAIR_JUDGEMENTS", env["UPAIR_JUDGEMENTS"])
    store = JudgementStore(load_corpus("demo").name)
    for who in ("alice_at_example.org", "bob_at_example.org"):
        done = [j for j in store.journal(who).judgements().values() if not j.skip]
        assert len(done) == 1 and dict(done[0].axes) == {"visual": 1, "semantic": 1, "part_whole": 1}, (who, done)
    assert store.annotators() == ["alice_at_example.org", "bob_at_example.org"]  # nothing else was written


def _sign_in_oidc(page, url: str, op: OIDCProvider, name: str) -> None:
    """Judge page → "Sign in to judge" → the provider → /oauth2callback → home, then the Judge page
    again, signed in as ``name``."""
    page.set_default_navigation_timeout(120_000)  # a shared machine: a page load may take a while
    page.goto(f"{url}/judge")
    settle(page)
    assert page.get_by_text("Sign in under Annotator").count() == 1  # no judging signed out
    # wait for the callback's own response (the 302 that sets _streamlit_user), not for page.url:
    # while the redirects run, page.url is still /judge (see the module docstring)
    with page.expect_response(lambda r: "/oauth2callback" in r.url, timeout=90_000) as callback:
        page.get_by_role("button", name="Sign in to judge").click()
    assert callback.value.status == 302, op.log
    page.wait_for_url(lambda u: urlparse(u).path == "/", timeout=120_000)  # the callback sends the browser home
    settle(page)
    page.goto(f"{url}/judge")
    settle(page)
    page.get_by_text("Signed in as").wait_for(timeout=60_000)
    assert name in page.get_by_text("Signed in as").inner_text()


def _answer_first_pair(page) -> None:
    for key in ("1", "4", "7"):  # the three axes of the first pair, yes each
        page.keyboard.press(key)
        settle(page)
    assert page.locator("[data-testid=stException]").count() == 0
