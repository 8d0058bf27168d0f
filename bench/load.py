"""Section j: the served app under N concurrent examiners (headless Chromium contexts on 127.0.0.1).

Each session runs the examiner's flow on the demo corpus in served mode (``UPAIR_SERVE=1``):
open Search, upload a real drawing (its own one of ``../shared/data/query-patents``, so no two
sessions hit the same cached search), search with the three training-free encoders (HOG, AHDH,
TF-IDF), "Use as query" on the first hit, star a hit, open the Map (through the sidebar, so it
stays the same session). For N = 1, 5, 10 (``BENCH_LOAD_LEVELS``, e.g. ``1,5,10,20``):
p50 / p95 per action, errors, the server's RSS before and after (sessions still open) and its
growth per session, the server's CPU (cores busy); p95 at N over p95 at 1. Then a hostile round:
four sessions search repeatedly while a fifth uploads a 19.7 MB noise image and a decompression
bomb, against the same four sessions' searches without it.

Why browsers and not locust's websocket client: Streamlit's websocket protocol (protobuf
``BackMsg`` / ``ForwardMsg``, widget ids, uploads through ``/_stcore/upload_file`` tied to the
session) is internal and changes between versions; a browser drives the real app exactly as an
examiner does (uploads, buttons, page switches) with nothing re-implemented. The cost: the
browsers' own rendering runs on the same cores as the server, so latencies are pessimistic;
the server's own CPU is reported separately.
"""
from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from .common import ROOT, Section, chromium_path, log, ratio

ENCODERS = ("hog", "ahdh", "tfidf")
ACTIONS = ("open Search", "upload + search", "Use as query", "star a hit", "open Map")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
TIMEOUT_S = 120


# --------------------------------------------------------------------------- the server process
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's child process: end it when this section's process ends (also on SIGKILL
    by the bench's section timeout), so no server outlives the benchmark."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _proc_stat(pid: int) -> tuple[float, float]:
    """(RSS MiB, CPU seconds user+system) of process ``pid`` from /proc."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


class Sampler:
    """Peak RSS of the server while a round runs (sampled every 0.25 s)."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, _proc_stat(self.pid)[0])
            except OSError:
                return
            self._stop.wait(0.25)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# --------------------------------------------------------------------------- one browser session
async def _settle(page, timeout_s: float = TIMEOUT_S) -> float:
    """Wait until the script run is over (no running indicator for 1 s); the time it first went idle."""
    deadline = time.monotonic() + timeout_s
    quiet, idle_since = 0, time.perf_counter()
    while time.monotonic() < deadline:
        now = time.perf_counter()
        running = await page.locator("[data-testid=stStatusWidget]").count() > 0 or \
            await page.locator("[data-testid=stSpinner]").count() > 0
        if running:
            quiet = 0
        else:
            if quiet == 0:
                idle_since = now
            quiet += 1
        if quiet >= 10:
            return idle_since
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


async def _examiner(ctx, url: str, drawing: Path, rec: dict) -> None:
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


async def _searcher(ctx, url: str, start: str, rounds: int, rec: dict) -> None:
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


async def _hostile(ctx, url: str, files: list[Path], rec: dict) -> None:
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_S * 1000)
    try:
        await page.goto(f"{url}/search")
        await page.wait_for_selector("input[type=file]", state="attached")
        await _settle(page)
        for f in files:
            t0 = time.perf_counter()
            await page.locator("input[type=file]").first.set_input_files(str(f))
            await asyncio.sleep(1.0)
            rec.setdefault("hostile", []).append(await _settle(page) - t0)
    except Exception as exc:  # noqa: BLE001
        rec.setdefault("errors", []).append(f"hostile: {type(exc).__name__}")


async def _round(url: str, n: int, make, pid: int) -> tuple[list[dict], dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)
        try:
            ctxs = [await browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(n)]
            recs: list[dict] = [{} for _ in range(n)]
            rss0, cpu0 = _proc_stat(pid)
            t0 = time.perf_counter()
            with Sampler(pid) as sampler:
                await asyncio.gather(*(make(i, ctxs[i], recs[i]) for i in range(n)))
            wall = time.perf_counter() - t0
            rss1, cpu1 = _proc_stat(pid)  # the sessions are still open
            facts = {"rss_before": rss0, "rss_after": rss1, "rss_peak": sampler.peak, "wall": wall,
                     "server_cores": (cpu1 - cpu0) / wall, "load": os.getloadavg()[0]}
            for c in ctxs:
                await c.close()
        finally:
            await browser.close()
    return recs, facts


# --------------------------------------------------------------------------- inputs
def _drawings() -> list[Path]:
    from core.config import shared_data_dir

    files = sorted((shared_data_dir() / "query-patents").glob("sections/*/*/*.png"))
    if not files:
        raise FileNotFoundError("no drawings under ../shared/data/query-patents (the load section needs them)")
    return files


def _hostile_files(work: Path) -> list[Path]:
    from PIL import Image

    big = work / "noise-19.7MB.png"
    if not big.exists():
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, (2560, 2560, 3), dtype=np.uint8)).save(big, compress_level=0)
    bomb = work / "bomb.png"
    if not bomb.exists():  # 30000 × 30000 of one colour: a few kB on disk, 900 MP decoded
        buf = io.BytesIO()
        Image.new("1", (30000, 30000), 1).save(buf, "PNG", optimize=True)
        bomb.write_bytes(buf.getvalue())
    return [big, bomb]


def _levels(quick: bool) -> list[int]:
    raw = os.environ.get("BENCH_LOAD_LEVELS", "")
    if raw.strip():
        return sorted({max(1, int(x)) for x in raw.split(",") if x.strip()})
    return [1] if quick else [1, 5, 10]


def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(xs) * 1e3, q)) if xs else None


# --------------------------------------------------------------------------- the section
def run(work: Path, quick: bool) -> Section:
    sec = Section(name="load", title="j. Served app under N concurrent examiners (headless Chromium)",
                  method=__doc__.split("\n\n")[1].replace("\n", " "))
    sec.columns = [("n", "sessions"), ("action", "action"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
                   ("ratio_p95_vs_1", "p95 / p95 at 1"), ("samples", "samples"), ("errors", "errors"),
                   ("rss_mb", "server RSS after, MB"), ("rss_growth_mb_per_session", "RSS growth / session, MB"),
                   ("server_cores", "server CPU, cores")]
    if chromium_path() is None:
        sec.error = "chromium is not on the PATH (apt-get install -y chromium)"
        return sec
    cache = work / "load-cache"
    env = {**os.environ, "UPAIR_CACHE": str(cache), "UPAIR_JUDGEMENTS": str(work / "load-judgements"),
           "UPAIR_SERVE": "1", "UPAIR_CORPORA": "demo", "UPAIR_SECRETS": str(work / "no-secrets.toml"),
           "UPAIR_ENCODERS": "", "UPAIR_UPLOADS_PER_MINUTE": "100"}
    log("load: building the demo corpus and its indices")
    subprocess.run([sys.executable, "-m", "core", "build", "--corpus", "demo", "--encoders", ",".join(ENCODERS)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=1800)
    from dashboard import serve

    pol = serve.Policy(served=True, port=_free_port(), upload_mb=20)
    url = f"http://127.0.0.1:{pol.port}"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
                               *serve.streamlit_args(pol)], cwd=ROOT, env=env, preexec_fn=_die_with_parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        _measure(sec, url, server.pid, work, quick)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    sec.extra["loadavg_end"] = list(os.getloadavg())
    return sec


def _measure(sec: Section, url: str, pid: int, work: Path, quick: bool) -> None:
    drawings = _drawings()
    log("load: warm-up session (loads the corpus, indices and maps once for the process)")
    asyncio.run(_round(url, 1, lambda i, c, r: _examiner(c, url, drawings[-1], r), pid))
    p95_at_1: dict[str, float] = {}
    offset = 0
    for n in _levels(quick):
        log(f"load: {n} concurrent session(s)")
        files = drawings[offset:offset + n]
        offset += n
        recs, facts = asyncio.run(_round(url, n, lambda i, c, r, f=files: _examiner(c, url, f[i % len(f)], r), pid))
        errors = [e for r in recs for e in r.get("errors", [])]
        growth = (facts["rss_after"] - facts["rss_before"]) / n
        for action in ACTIONS:
            xs = [x for r in recs for x in r.get(action, [])]
            p95 = _pct(xs, 95)
            if n == 1 and p95 is not None:
                p95_at_1[action] = p95
            sec.rows.append({"n": n, "action": action, "p50_ms": _pct(xs, 50), "p95_ms": p95,
                             "ratio_p95_vs_1": ratio(p95, p95_at_1.get(action)), "samples": len(xs),
                             "errors": sum(e.startswith(action) for e in errors),
                             "rss_mb": facts["rss_after"], "rss_growth_mb_per_session": growth,
                             "server_cores": facts["server_cores"]})
        sec.extra[f"n{n}"] = {**facts, "errors": errors}
        sec.notes.append(f"N={n}: round {facts['wall']:.0f} s, server RSS {facts['rss_before']:.0f} → "
                         f"{facts['rss_after']:.0f} MB (peak {facts['rss_peak']:.0f}), server CPU "
                         f"{facts['server_cores']:.2f} cores, load average {facts['load']:.1f}; "
                         f"{len(errors)} error(s)" + (f": {errors[:3]}" if errors else ""))
    _hostile_round(sec, url, pid, work, quick)


def _hostile_round(sec: Section, url: str, pid: int, work: Path, quick: bool) -> None:
    from core import load_corpus

    ids = [f.id for f in load_corpus("demo").figures if f.id.endswith("-1")]
    rng = np.random.default_rng(1)
    starts = [str(x) for x in rng.choice(ids, 8, replace=False)]
    rounds = 1 if quick else 4
    m = 2 if quick else 4  # searching sessions per round (quick mode keeps the smoke test short)
    hostile = _hostile_files(work)
    out = {}
    for label, with_hostile, first in (("alone", False, starts[:m]), ("beside a hostile upload", True, starts[4:4 + m])):
        log(f"load: {m} searching sessions {label}")
        n = m + 1 if with_hostile else m

        def make(i, ctx, rec, first=first, with_hostile=with_hostile):
            if with_hostile and i == m:
                return _hostile(ctx, url, hostile, rec)
            return _searcher(ctx, url, first[i], rounds, rec)

        recs, facts = asyncio.run(_round(url, n, make, pid))
        xs = [x for r in recs[:m] for x in r.get("search", [])]
        errs = [e for r in recs for e in r.get("errors", [])]
        out[label] = (_pct(xs, 50), _pct(xs, 95), len(xs), errs, facts, recs[m].get("hostile") if with_hostile else None)
    base, hot = out["alone"], out["beside a hostile upload"]
    for label, (p50, p95, k, errs, facts, _) in out.items():
        sec.rows.append({"n": m, "action": f"search, {label}", "p50_ms": p50, "p95_ms": p95,
                         "ratio_p95_vs_1": ratio(p95, base[1]), "samples": k, "errors": len(errs),
                         "rss_mb": facts["rss_after"], "rss_growth_mb_per_session": None,
                         "server_cores": facts["server_cores"]})
    sec.extra["hostile"] = {"p95_ratio": ratio(hot[1], base[1]), "hostile_upload_s": hot[5], "errors": hot[3]}
    sec.notes.append(f"Hostile round: {m} sessions 'Use as query' {rounds}× each; beside them a fifth uploads a "
                     f"19.7 MB noise PNG (2560 × 2560 RGB) then a 30000 × 30000 decompression bomb "
                     f"(its uploads took {', '.join(f'{s:.1f} s' for s in hot[5] or [])}): others' search p95 "
                     f"{base[1] or 0:.0f} → {hot[1] or 0:.0f} ms ({ratio(hot[1], base[1]) or 0:.2f}×).")
