"""The bench's Streamlit websocket client (bench/wsclient.py) drives a real served app: an upload
is searched by the three encoders, 'Use as query' makes the clicked hit the query, a star lands in
the workspace file on disk, and a second session sees none of it. Plus the load section's parsers."""
from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import pytest

from bench import load, load_server, load_ws


def _drawing() -> bytes:
    """A line drawing made here (a frame, a wheel, a shaft), as a patent figure would be."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (320, 240), 255)
    d = ImageDraw.Draw(im)
    d.rectangle((20, 20, 300, 220), outline=0, width=3)
    d.ellipse((60, 60, 180, 180), outline=0, width=3)
    d.line((120, 120, 280, 120), fill=0, width=4)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.conftest import seed_demo

    work = tmp_path_factory.mktemp("wsclient")
    env = load_server.served_env(work)
    seed_demo(Path(env["UPAIR_CACHE"]), tmp_path_factory)
    load_server.build_demo(env)
    server, url = load_server.start_server(env)
    try:
        yield url, Path(env["UPAIR_CACHE"])
    finally:
        load_server.stop_server(server)


@pytest.mark.slow
def test_ws_session_searches_uses_as_query_and_stars_into_the_workspace(served):
    from bench.wsclient import Session

    url, cache = served

    async def flow():
        async with Session(url, page="search", timeout_s=120) as s, Session(url, page="search") as other:
            assert s.widgets("file_uploader", "Patent figure") and not s.errors()
            wid = s.query_param("ws")
            assert wid
            t0 = time.perf_counter()
            await s.upload(s.widgets("file_uploader", "Patent figure")[0], "wheel.png", _drawing())
            assert s.query_param("q").startswith("upload:")
            # a fresh server loads the indices in the background: the page's progress panel reruns until done
            await s.until(lambda x: all(h in x.texts("markdown") for h in load_ws.HEADINGS), t0)
            hit = s.widgets("button", "Use as query")[0]
            await s.click(hit)
            q = s.query_param("q")
            assert q.startswith("demo-") and hit.id.endswith("-" + q)  # the clicked hit (its key ends with its id)
            star = s.widgets("button", "☆")[0]
            await s.click(star)
            assert s.widgets("button", "★") and not s.errors()
            files = list((cache / "workspace").glob(f"*/{wid}.json"))
            assert len(files) == 1  # written before the page showed ★
            items = json.loads(files[0].read_text())["shortlist"]["items"]
            assert [it["figure"] for it in items if star.id.endswith("-" + it["figure"])] and len(items) == 1
            await other._rerun_and_wait()  # the other session, rerun after all that: none of it
            assert other.query_param("q") is None and not other.widgets("button", "★")
            assert other.query_param("ws") != wid

    asyncio.run(flow())


def test_settings_parse_and_refuse(monkeypatch):
    monkeypatch.setenv("BENCH_LOAD_LEVELS", "10,1,5,5")
    monkeypatch.setenv("BENCH_LOAD_THINK", "3,0")
    cfg = load.settings(quick=False)
    assert cfg["levels"] == [1, 5, 10] and cfg["thinks"] == [0.0, 3.0] and cfg["driver"] == "ws"
    monkeypatch.setenv("BENCH_LOAD_DRIVER", "locust")
    with pytest.raises(ValueError, match="ws, chromium"):
        load.settings(quick=False)
    monkeypatch.setenv("BENCH_LOAD_DRIVER", "chromium")
    monkeypatch.setenv("BENCH_LOAD_LEVELS", "0")
    with pytest.raises(ValueError, match="BENCH_LOAD_LEVELS"):
        load.settings(quick=False)


def test_profile_summary_counts_by_owner():
    raw = "\n".join([
        "run (threading.py:1);_compact_row (search_widgets.py:225);add (streamlit/media_file_manager.py:3) 30",
        "run (threading.py:1);search (core/index.py:9);dot (numpy/core/x.py:2) 10",
        "run (threading.py:1);select (selectors.py:468) 40",
        "run (threading.py:1);frame (pandas/core/frame.py:4) 20",  # pandas/core is not the app's core/
    ])
    out = load_server.summarise_profile(raw, wall=2.0, rate=50, cores=0.5)
    assert out["samples"] == 100 and out["busy_threads"] == pytest.approx(1.0)
    assert out["groups"]["app code (dashboard/, pages/, core/) and what it calls"] == pytest.approx(0.4)
    assert out["groups"]["web server (uvicorn, starlette, asyncio)"] == pytest.approx(0.4)
    assert out["groups"]["other (libraries, interpreter)"] == pytest.approx(0.2)
    assert out["app_top"][0] == ("_compact_row (search_widgets.py:225)", pytest.approx(0.3))


def test_a_session_that_could_not_connect_closes_cleanly():
    import httpx

    from bench.wsclient import Session
    from tests.browsing import free_port

    async def go():
        s = Session(f"http://127.0.0.1:{free_port()}", page="search", timeout_s=5)
        with pytest.raises(httpx.ConnectError):
            await s.open()
        await s.close()  # nothing to close but the HTTP client: no AttributeError
        await s.close()

    asyncio.run(go())
