"""Section j: the served app under N concurrent examiners (Streamlit websocket sessions on 127.0.0.1).

Each session runs the examiner's flow on the demo corpus in served mode (``UPAIR_SERVE=1``, the
flags of ``make serve``) against a server this section starts on a free port: open Search (a new
session: websocket, first run), upload a real drawing (one of ``../shared/data/query-patents``
with a PNG text chunk naming the session, so the pixels are real and no two sessions share a
cached search), search with the three training-free encoders (HOG, AHDH, TF-IDF), "Use as query"
on the first hit, star a hit, open the Map (until its chart is drawn); then back to Search for
the next drawing: max(``BENCH_LOAD_REPEATS`` (2), ⌈8 / N⌉) flows per session. Each step is checked (the query changed, three
encoders answered, the star shows, the chart is there; no exception or error box), a failed
check is an error. For N = 1, 5, 10, 20 (``BENCH_LOAD_LEVELS``) and each think time
(``BENCH_LOAD_THINK``, seconds; a session pauses 0.5-1.5 × that before each action and starts
0-1 × that late): p50 / p95 per action, errors, the server's RSS before and after (the sessions
still open) and its growth per session, the server's CPU (cores busy), the load average; p95 at
N over p95 at 1. Then a hostile round: four sessions press "Use as query" repeatedly, alone and
then while a fifth uploads, over and over, a 19.7 MB noise image and a decompression bomb.

Why a websocket client (``bench/wsclient.py``) and not browsers: it speaks Streamlit's own
protocol, so the server does exactly the work a browser makes it do, and an action is timed
from its request to the server's ``script_finished`` — the server's latency. N headless
Chromium renderers on the same 2 cores measured mostly themselves (the server was 90 % idle
while searches took 14-80 s). The Chromium driver stays (``BENCH_LOAD_DRIVER=chromium``) and
runs one session as a cross-check (``BENCH_LOAD_CROSSCHECK=0`` skips it). py-spy records the
server during the think-0 round of ``BENCH_LOAD_PROFILE_N`` (10) sessions.
"""
from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import numpy as np

from .common import Section, chromium_path, log, ratio
from .load_server import Meter, Profile, build_demo, served_env, start_server, stop_server
from .load_ws import run_round as _ws_round
from .load_ws import ws_examiner, ws_hostile, ws_searcher

ACTIONS = ("open Search", "upload + search", "Use as query", "star a hit", "open Map", "back to Search")
DRIVERS = ("ws", "chromium")
GOAL_P95_MS, GOAL_GROWTH_MB, GOAL_HOSTILE = 2000.0, 50.0, 2.0


# --------------------------------------------------------------------------- settings (parsed once)
def _env_list(name: str, default: str, kind, lo: float) -> list:
    raw = os.environ.get(name, "").strip() or default
    try:
        vals = [kind(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected comma-separated numbers") from None
    if not vals or any(v < lo for v in vals):
        raise ValueError(f"{name}={raw!r}: every value must be ≥ {lo}")
    return sorted(set(vals))


def settings(quick: bool) -> dict:
    driver = os.environ.get("BENCH_LOAD_DRIVER", "ws").strip() or "ws"
    if driver not in DRIVERS:
        raise ValueError(f"BENCH_LOAD_DRIVER={driver!r}: one of {', '.join(DRIVERS)}")
    cross = os.environ.get("BENCH_LOAD_CROSSCHECK", "0" if quick else "1").strip()
    if cross not in ("0", "1"):
        raise ValueError(f"BENCH_LOAD_CROSSCHECK={cross!r}: 0 or 1")
    return {"driver": driver,
            "levels": _env_list("BENCH_LOAD_LEVELS", "1" if quick else "1,5,10,20", int, 1),
            "thinks": _env_list("BENCH_LOAD_THINK", "0" if quick else "0,3", float, 0),
            "repeats": _env_list("BENCH_LOAD_REPEATS", "1" if quick else "2", int, 1)[0],
            "hostile_rounds": 2 if quick else 8, "hostile_sessions": 1 if quick else 4,
            "crosscheck": cross == "1" and driver == "ws",
            "min_samples": 2 if quick else 8,
            "profile_n": _env_list("BENCH_LOAD_PROFILE_N", "10", int, 1)[0]}


# --------------------------------------------------------------------------- inputs
def _drawing_files() -> list[Path]:
    from core.config import shared_data_dir

    files = sorted((shared_data_dir() / "query-patents").glob("sections/*/*/*.png"))
    if not files:
        raise FileNotFoundError("no drawings under ../shared/data/query-patents (the load section needs them)")
    return files


class Drawings:
    """Real drawings, each handed out once: the file's pixels with a PNG text chunk naming the take,
    so every upload is a new file (a new query, no shared cache) of a real drawing."""

    def __init__(self, work: Path):
        self.files, self.work, self.taken = _drawing_files(), work / "load-drawings", 0
        self.work.mkdir(parents=True, exist_ok=True)

    def take(self) -> tuple[str, bytes, Path]:
        from PIL import Image, PngImagePlugin

        f = self.files[self.taken % len(self.files)]
        info = PngImagePlugin.PngInfo()
        info.add_text("upair-bench", f"take {self.taken}")
        buf = io.BytesIO()
        with Image.open(f) as im:
            im.save(buf, "PNG", pnginfo=info)
        path = self.work / f"{self.taken:04d}-{f.name}"
        path.write_bytes(buf.getvalue())
        self.taken += 1
        return f.name, buf.getvalue(), path


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


def _pct(xs: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(xs) * 1e3, q)) if xs else None


# --------------------------------------------------------------------------- the section
COLUMNS = [("driver", "driver"), ("think_s", "think s"), ("n", "sessions"), ("action", "action"),
           ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("ratio_p95_vs_1", "p95 / p95 at 1"), ("samples", "samples"),
           ("errors", "errors"), ("rss_mb", "server RSS after, MB"),
           ("rss_growth_mb_per_session", "RSS growth / session, MB"), ("server_cores", "server CPU, cores"),
           ("load1", "load avg (1 min)")]


def run(work: Path, quick: bool) -> Section:
    sec = Section(name="load", title="j. Served app under N concurrent examiners (Streamlit websocket sessions)",
                  method=" ".join(p.replace("\n", " ") for p in __doc__.split("\n\n")[1:3]))
    sec.columns = COLUMNS
    cfg = settings(quick)
    if cfg["driver"] == "chromium" and chromium_path() is None:
        sec.error = "chromium is not on the PATH (apt-get install -y chromium)"
        return sec
    sec.extra["settings"] = cfg
    env = served_env(work)
    log("load: building the demo corpus and its indices")
    build_demo(env)
    server, url = start_server(env)
    try:
        _measure(sec, url, server.pid, work, cfg)
    finally:
        stop_server(server)
    sec.extra["loadavg_end"] = list(os.getloadavg())
    _conclusions(sec, cfg)
    return sec


def _row(sec: Section, driver: str, think: float, n: int, action: str, xs: list[float], errors: int,
         facts: dict, base: float | None, growth: float | None) -> dict:
    row = {"driver": driver, "think_s": think, "n": n, "action": action, "p50_ms": _pct(xs, 50),
           "p95_ms": _pct(xs, 95), "ratio_p95_vs_1": ratio(_pct(xs, 95), base), "samples": len(xs),
           "errors": errors, "rss_mb": facts["rss_after"], "rss_growth_mb_per_session": growth,
           "server_cores": facts["server_cores"], "load1": facts["load"][0]}
    sec.rows.append(row)
    return row


def _measure(sec: Section, url: str, pid: int, work: Path, cfg: dict) -> None:
    from . import load_chromium as chrome

    drawings = Drawings(work)
    meter = Meter(pid)
    log("load: warm-up session (loads the corpus, indices and maps once for the process)")
    for attempt in range(2):
        warm = [drawings.take()[:2]]
        recs, _ = asyncio.run(_ws_round(1, lambda i, r, k: ws_examiner(url, warm, r, 0.0, 0, k), meter))
        if not recs[0].get("errors"):
            break
        sec.notes.append(f"Warm-up session {attempt + 1} (not counted): {recs[0]['errors'][:2]}")
    if cfg["crosscheck"] and chromium_path():
        log("load: one headless-Chromium session (cross-check)")
        path = drawings.take()[2]
        crecs, facts = asyncio.run(chrome.run_round(1, lambda i, c, r: chrome.examiner(c, url, path, r), meter))
        errs = crecs[0].get("errors", [])
        for action in ACTIONS[:5]:
            _row(sec, "chromium", 0.0, 1, action, crecs[0].get(action, []),
                 sum(e.startswith(action) for e in errs), facts, None, None)
        sec.extra["chromium_1"] = {**facts, "errors": errs}
    for think in cfg["thinks"]:
        base: dict[str, float] = {}
        for n in cfg["levels"]:
            log(f"load: {n} concurrent session(s), think time {think:g} s ({cfg['driver']})")
            prof = Profile(pid, work / f"py-spy-n{n}.txt") if n == cfg["profile_n"] and think == 0 else None
            if prof is not None:
                prof.start()
            if cfg["driver"] == "ws":
                flows = max(cfg["repeats"], -(-cfg["min_samples"] // n))  # enough samples per action and level
                takes = [[drawings.take()[:2] for _ in range(flows)] for _ in range(n)]
                recs, facts = asyncio.run(_ws_round(
                    n, lambda i, r, k, t=takes, th=think, n_=n: ws_examiner(url, t[i], r, th, 1000 * n_ + i, k), meter))
            else:
                paths = [drawings.take()[2] for _ in range(n)]
                recs, facts = asyncio.run(chrome.run_round(
                    n, lambda i, c, r, p=paths: chrome.examiner(c, url, p[i], r), meter))
            if prof is not None:
                sec.extra["profile"] = prof.stop(facts)
            errors = [e for r in recs for e in r.get("errors", [])]
            growth = (facts["rss_after"] - facts["rss_before"]) / n
            for action in ACTIONS:
                xs = [x for r in recs for x in r.get(action, [])]
                if not xs and action == "back to Search":
                    continue
                if n == cfg["levels"][0] and n == 1 and xs:
                    base[action] = _pct(xs, 95)
                _row(sec, cfg["driver"], think, n, action, xs, sum(e.startswith(action) for e in errors),
                     facts, base.get(action), growth)
            done = sum(len(r.get(a, [])) for r in recs for a in ACTIONS)
            facts["cpu_s_per_action"] = facts["server_cores"] * facts["wall"] / done if done else None
            sec.extra[f"think{think:g}_n{n}"] = {**facts, "errors": errors}
            sec.notes.append(f"think {think:g} s, N={n}: round {facts['wall']:.0f} s, server RSS "
                             f"{facts['rss_before']:.0f} → {facts['rss_after']:.0f} MB (peak {facts['rss_peak']:.0f}), "
                             f"server CPU {facts['server_cores']:.2f} cores (its threads waited {facts['runqueue_wait_per_cpu_s'] or 0:.2f} s "
                             f"on the run queue per CPU second; {facts['cpu_s_per_action'] or 0:.2f} server CPU s per action), load average "
                             f"{'/'.join(f'{x:.1f}' for x in facts['load'])}; {len(errors)} error(s)"
                             + (f": {errors[:3]}" if errors else ""))
    _hostile_round(sec, url, meter, work, cfg)


def _hostile_round(sec: Section, url: str, meter: Meter, work: Path, cfg: dict) -> None:
    from core import load_corpus

    from . import load_chromium as chrome

    ids = [f.id for f in load_corpus("demo").figures if f.id.endswith("-1")]
    rng = np.random.default_rng(1)
    starts = [str(x) for x in rng.choice(ids, 8, replace=False)]
    rounds, m = cfg["hostile_rounds"], cfg["hostile_sessions"]  # quick: one (keeps the smoke test short)
    hostile = _hostile_files(work)
    out = {}
    for label, with_hostile, first in (("alone", False, starts[:m]), ("beside a hostile upload", True, starts[4:4 + m])):
        log(f"load: {m} searching sessions {label}")
        stop = asyncio.Event()
        n = m + 1 if with_hostile else m

        async def searchers_then_stop(i, rec, keep, first=first):
            try:
                await ws_searcher(url, first[i], rounds, rec, keep)
            finally:
                done[0] += 1
                if done[0] == m:
                    stop.set()

        done = [0]
        if cfg["driver"] == "ws":
            def make(i, rec, keep, first=first, with_hostile=with_hostile):
                if with_hostile and i == m:
                    return ws_hostile(url, hostile, rec, stop, keep)
                return searchers_then_stop(i, rec, keep)

            recs, facts = asyncio.run(_ws_round(n, make, meter))
        else:
            async def chrome_searcher(i, ctx, rec, first=first):
                try:
                    await chrome.searcher(ctx, url, first[i], rounds, rec)
                finally:
                    done[0] += 1
                    if done[0] == m:
                        stop.set()

            def make(i, ctx, rec, with_hostile=with_hostile):
                if with_hostile and i == m:
                    return chrome.hostile(ctx, url, hostile, rec, stop)
                return chrome_searcher(i, ctx, rec)

            recs, facts = asyncio.run(chrome.run_round(n, make, meter))
        xs = [x for r in recs[:m] for x in r.get("search", [])]
        errs = [e for r in recs for e in r.get("errors", [])]
        out[label] = (xs, errs, facts, recs[m].get("hostile", []) if with_hostile else None)
    base = _pct(out["alone"][0], 95)
    for label, (xs, errs, facts, _) in out.items():
        _row(sec, cfg["driver"], 0.0, m, f"search, {label}", xs, len(errs), facts, base, None)
    hot = out["beside a hostile upload"]
    ups = hot[3] or []
    sec.extra["hostile"] = {"p95_ratio": ratio(_pct(hot[0], 95), base), "uploads": ups, "errors": hot[1]}
    shown = {name: (round(t, 1), errs[:1]) for name, t, errs in ups[:2]} if ups and isinstance(ups[0], tuple) else ups
    sec.notes.append(f"Hostile round: {m} sessions 'Use as query' {rounds}× each, alone and then while another "
                     f"uploads, one after the other until they finish, a 19.7 MB noise PNG (2560 × 2560 RGB) and "
                     f"a 30000 × 30000 decompression bomb ({len(ups)} uploads; first of each, seconds and what the "
                     f"page said: {shown}): others' search p95 {base or 0:.0f} → {_pct(hot[0], 95) or 0:.0f} ms "
                     f"({ratio(_pct(hot[0], 95), base) or 0:.2f}×), {len(out['alone'][0])} and {len(hot[0])} samples.")


def _conclusions(sec: Section, cfg: dict) -> None:
    """The goals, read off this run's own rows (so the report's words are the numbers')."""
    rows = [r for r in sec.rows if r["driver"] == cfg["driver"] and not r["action"].startswith("search,")]
    for think in cfg["thinks"]:
        at10 = [r for r in rows if r["think_s"] == think and r["n"] == 10 and r["action"] == "upload + search"]
        if at10 and at10[0]["p95_ms"] is not None:
            p = at10[0]["p95_ms"]
            sec.notes.append(f"Goal (think {think:g} s): search p95 at 10 sessions {p:,.0f} ms — "
                             f"{'met' if p <= GOAL_P95_MS else 'NOT met'} (≤ {GOAL_P95_MS:,.0f} ms).")
    f10 = sec.extra.get(f"think0_n{cfg['profile_n']}")
    if f10 and f10.get("runqueue_wait_per_cpu_s") is not None:
        sec.notes.append(
            f"Where the time goes at {cfg['profile_n']} sessions (think 0): the server used {f10['server_cores']:.2f} "
            f"cores ({f10['cpu_s_per_action'] or 0:.2f} CPU s per action) while its threads waited "
            f"{f10['runqueue_wait_per_cpu_s']:.1f} s on the run queue per CPU second at load average "
            f"{f10['load'][0]:.1f}: " + ("the CPU it gets is the limit (a server held back by the GIL or a lock would "
                                         "use about one core and not wait to be scheduled)."
                                         if f10["server_cores"] < 0.8 and f10["runqueue_wait_per_cpu_s"] > 1
                                         else "the server had the CPU it asked for."))
    errs = sum(r["errors"] for r in sec.rows)
    growth = [r["rss_growth_mb_per_session"] for r in rows if r["rss_growth_mb_per_session"] is not None]
    sec.notes.append(f"Errors over every round: {errs} (goal 0). RSS growth per session: at most "
                     f"{max(growth, default=0):.1f} MB (goal < {GOAL_GROWTH_MB:.0f} MB: "
                     f"{'met' if max(growth, default=0) < GOAL_GROWTH_MB else 'NOT met'}).")
    prof = sec.extra.get("profile")
    if prof and not prof.get("error") and prof.get("samples"):
        sec.notes.append(
            f"py-spy on the server during the {cfg['profile_n']}-session round (think 0, {prof['seconds']:.0f} s, "
            f"{prof['samples']} samples of threads on a CPU at {Profile.RATE} Hz): on average "
            f"{prof['busy_threads']:.2f} threads running, the process used {prof['server_cores']:.2f} cores; by owner: "
            + ", ".join(f"{k} {v:.0%}" for k, v in prof["groups"].items()) + "; top frames: "
            + ", ".join(f"{k} {v:.0%}" for k, v in prof["top"]) + "; innermost app frames: "
            + ", ".join(f"{k} {v:.0%}" for k, v in prof.get("app_top", [])) + ".")
    elif prof:
        sec.notes.append(f"py-spy: {prof.get('error', 'no samples')}")
    hr = sec.extra.get("hostile", {}).get("p95_ratio")
    if hr is not None:
        sec.notes.append(f"Hostile upload: others' search p95 {hr:.2f}× alone "
                         f"({'met' if hr <= GOAL_HOSTILE else 'NOT met'}: ≤ {GOAL_HOSTILE:g}×).")
