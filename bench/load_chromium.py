"""Section j's Chromium driver (``BENCH_LOAD_DRIVER=chromium``, and the one-session cross-check):
headless Chromium contexts on 127.0.0.1 run the examiner's flow as a person clicks it. The
browsers' rendering runs on the same cores as the server, so with N of them its latencies
measure the machine's N renderers more than the server (see ``bench/load.py``)."""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from .common import RUNNING, IdleClock, chromium_path

FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
TIMEOUT_S = 120


# --------------------------------------------------------------------------- one browser session
async def _settle(page, timeout_s: float = TIMEOUT_S) -> float:
    """Wait until the script run is over (no running indicator for 1 s); the time it first went idle."""
    deadline = time.monotonic() + timeout_s
    clock = IdleClock()
    while time.monotonic() < deadline:
        counts = [await page.locator(sel).count() for sel in RUNNING]
        idle = clock.observe(any(n > 0 for n in counts))
        if idle is not None:
            return idle
        await asyncio.sleep(0.1)
    raise TimeoutError("page did not finish rendering")


async def _errors(page) -> int:
    return await page.locator("[data-testid=stException]").count() + \
        await page.locator("[data-testid=stAlertContentError]").count()


async def _step(page, rec: dict, name: str, act, ready) -> None:
    """Time ``act`` until ``ready`` holds and the page is idle; an exception or an error box is an error."""
    t0 = time.perf_counter()
    try:
        await act()
        await ready()
        rec.setdefault(name, []).append(await _settle(page) - t0)
        if await _errors(page):
            rec.setdefault("errors", []).append(f"{name}: error box on the page")
    except Exception as exc:  # noqa: BLE001 - counted and reported
        rec.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
        raise


async def examiner(ctx, url: str, drawing: Path, rec: dict) -> None:
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    ms = TIMEOUT_S * 1000
    try:
        await _step(page, rec, "open Search", lambda: page.goto(f"{url}/search", timeout=ms),
                    lambda: page.wait_for_selector("input[type=file]", state="attached", timeout=ms))
        await _step(page, rec, "upload + search", lambda: page.locator("input[type=file]").first.set_input_files(str(drawing)),
                    lambda: page.wait_for_url(re.compile(r"[?&]q=upload"), timeout=ms))
        before = page.url
        await page.get_by_role("button", name="Use as query").first.wait_for()
        await _step(page, rec, "Use as query", lambda: page.get_by_role("button", name="Use as query").first.click(),
                    lambda: page.wait_for_function("u => location.href !== u", arg=before, timeout=ms))
        await _step(page, rec, "star a hit", lambda: page.locator("button:has-text('☆')").first.click(),
                    lambda: page.locator("button:has-text('★')").first.wait_for(timeout=ms))
        await _step(page, rec, "open Map", lambda: page.locator("[data-testid=stSidebarNav] a:has-text('Map')").click(),
                    lambda: page.locator(".js-plotly-plot").first.wait_for(timeout=ms))
    except Exception:  # noqa: BLE001 - recorded by _step; the session stops here
        pass


async def searcher(ctx, url: str, start: str, rounds: int, rec: dict) -> None:
    """A victim of the hostile round: open a figure's search, then 'Use as query' ``rounds`` times."""
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    use = page.get_by_role("button", name="Use as query")
    try:
        await page.goto(f"{url}/search?corpus=demo&q={start}")
        for i in range(rounds):
            await use.nth(i + 1).wait_for()
            await _settle(page)
            before = page.url
            await _step(page, rec, "search", lambda: use.nth(i + 1).click(),
                        lambda: page.wait_for_function("u => location.href !== u", arg=before))
    except Exception:  # noqa: BLE001
        pass


async def hostile(ctx, url: str, files: list[Path], rec: dict, stop: asyncio.Event) -> None:
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    try:
        await page.goto(f"{url}/search")
        await page.wait_for_selector("input[type=file]", state="attached")
        await _settle(page)
        i = 0
        while not stop.is_set():
            f = files[i % len(files)]
            i += 1
            t0 = time.perf_counter()
            await page.locator("input[type=file]").first.set_input_files(str(f))
            await asyncio.sleep(1.0)
            rec.setdefault("hostile", []).append(await _settle(page) - t0)
    except Exception as exc:  # noqa: BLE001
        rec.setdefault("errors", []).append(f"hostile: {type(exc).__name__}")


async def run_round(n: int, make, meter) -> tuple[list[dict], dict]:
    """``make(i, ctx, rec)`` in ``n`` browser contexts at once; ``meter`` (``bench.load.Meter``)
    takes the server's figures around them while the contexts are still open."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)
        try:
            ctxs = [await browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(n)]
            recs: list[dict] = [{} for _ in range(n)]
            meter.start()
            await asyncio.gather(*(make(i, ctxs[i], recs[i]) for i in range(n)))
            facts = meter.stop()  # the sessions are still open
            for c in ctxs:
                await c.close()
        finally:
            await browser.close()
    return recs, facts
