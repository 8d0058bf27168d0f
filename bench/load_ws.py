"""Section j's websocket driver: the examiner's flow, the hostile round's searchers and uploader,
each a ``bench.wsclient.Session`` (one websocket, no browser); every step checked."""
from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from .load_server import Meter

HEADINGS = ("#### HOG", "#### AHDH", "#### TF-IDF")
TIMEOUT_S = 120


class _Failed(Exception):
    pass


async def _act(rec: dict, name: str, coro, check=None) -> None:
    """Await one timed action (it returns its seconds); a raised error, a failed ``check()`` (an error
    text or None) or an error shown on the page is recorded and stops the session."""
    try:
        secs = await coro
    except Exception as exc:  # noqa: BLE001 - counted and reported
        rec.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {str(exc)[:160]}")
        raise _Failed from exc
    why = check() if check else None
    if why:
        rec.setdefault("errors", []).append(f"{name}: {why}")
        raise _Failed
    rec.setdefault(name, []).append(secs)


def _page_errors(s) -> str | None:
    errs = s.errors()
    return f"the page shows {errs[0]}" if errs else None


async def ws_examiner(url: str, drawings: list[tuple[str, bytes]], rec: dict, think: float, seed: int,
                      keep: list) -> None:
    """One examiner's flow (see the module's doc) over ``drawings``; the session is left open in ``keep``."""
    from .wsclient import Session

    rng = random.Random(seed)

    async def pause():
        if think:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))

    if think:
        await asyncio.sleep(think * rng.random())
    s = Session(url, page="search", timeout_s=TIMEOUT_S)
    try:
        await _act(rec, "open Search", s.open(),
                   lambda: _page_errors(s) or (None if s.widgets("file_uploader", "Patent figure") else "no uploader"))
        keep.append(s)
        for r, (name, data) in enumerate(drawings):
            if r:
                await pause()
                await _act(rec, "back to Search", s.switch_page("search"),
                           lambda: _page_errors(s) or (None if s.widgets("file_uploader", "Patent figure")
                                                       else "no uploader"))
            await pause()
            q0 = s.query_param("q")
            await _act(rec, "upload + search", _upload_until(s, name, data, q0),
                       lambda: _page_errors(s) or _searched(s, q0, upload=True))
            await pause()
            q0 = s.query_param("q")
            await _act(rec, "Use as query", s.click(s.widgets("button", "Use as query")[0]),
                       lambda: _page_errors(s) or _searched(s, q0))
            await pause()
            stars = len(s.widgets("button", "★"))
            await _act(rec, "star a hit", s.click(s.widgets("button", "☆")[0]),
                       lambda: _page_errors(s) or (None if len(s.widgets("button", "★")) > stars else "no ★ appeared"))
            await pause()
            t0 = time.perf_counter()
            await _act(rec, "open Map", _switch_until(s, "map", lambda x: x.has("plotly_chart"), t0),
                       lambda: _page_errors(s))
    except _Failed:
        pass
    finally:
        if s not in keep:
            await s.close()


async def _upload_until(s, name: str, data: bytes, q0: str | None) -> float:
    """Upload, then (an index still loading in the background) let the page's progress panel rerun
    until the three encoders' results are there: what the examiner waits for."""
    t0 = time.perf_counter()
    await s.upload(s.widgets("file_uploader", "Patent figure")[0], name, data)
    return await s.until(lambda x: _searched(x, q0, upload=True) is None, t0)


async def _switch_until(s, page: str, ready, t0: float) -> float:
    await s.switch_page(page)
    return await s.until(ready, t0)


def _searched(s, q0: str | None, upload: bool = False) -> str | None:
    q = s.query_param("q")
    if q == q0 or not q or (upload and not q.startswith("upload:")):
        return f"the query did not change (q={q!r})"
    missing = [h for h in HEADINGS if h not in s.texts("markdown")]
    if missing:
        return f"no results of {', '.join(missing)}"
    return None if s.widgets("button", "Use as query") else "no hits"


async def ws_searcher(url: str, start: str, rounds: int, rec: dict, keep: list) -> None:
    """A victim of the hostile round: open a figure's search, then 'Use as query' ``rounds`` times."""
    from .wsclient import Session

    s = Session(url, page="search", query_string=f"corpus=demo&q={start}", timeout_s=TIMEOUT_S)
    try:
        await _act(rec, "open", s.open(), lambda: _page_errors(s))
        keep.append(s)
        for i in range(rounds):
            q0 = s.query_param("q")
            hits = s.widgets("button", "Use as query")
            await _act(rec, "search", s.click(hits[min(i + 1, len(hits) - 1)]),
                       lambda: _page_errors(s) or _searched(s, q0))
    except _Failed:
        pass
    finally:
        if s not in keep:
            await s.close()


async def ws_hostile(url: str, files: list[Path], rec: dict, stop: asyncio.Event, keep: list) -> None:
    """Upload the hostile files one after the other until ``stop``; what the page then shows (a
    refusal for the bomb) is the app's answer, not an error — only a broken session is."""
    from .wsclient import Session

    s = Session(url, page="search", timeout_s=TIMEOUT_S)
    try:
        await s.open()
        keep.append(s)
        i = 0
        while not stop.is_set():
            f = files[i % len(files)]
            i += 1
            up = s.widgets("file_uploader", "Patent figure")
            rec.setdefault("hostile", []).append((f.name, await s.upload(up[0], f.name, f.read_bytes()),
                                                  [e[:80] for e in s.errors()]))
    except Exception as exc:  # noqa: BLE001
        rec.setdefault("errors", []).append(f"hostile: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        if s not in keep:
            await s.close()


async def run_round(n: int, make, meter: Meter) -> tuple[list[dict], dict]:
    recs: list[dict] = [{} for _ in range(n)]
    keep: list = []
    meter.start()
    try:
        await asyncio.gather(*(make(i, recs[i], keep) for i in range(n)))
        facts = meter.stop()  # the sessions are still open
    finally:
        await asyncio.gather(*(s.close() for s in keep), return_exceptions=True)
    return recs, facts
