"""Section m: what one click costs on a warm cache — headless Chromium drives a ``make run``-style
server (demo corpus, the default encoders) and times each action's server work, p50 / p95.

Server time of an action = from the browser sending the rerun request (the ``BackMsg`` on the
websocket) to the server's last ``script_finished`` of that action (a callback's ``st.rerun`` or a
fragment's run included; the action is over once no further run starts within 0.6 s). That is the
script's work plus one round trip on 127.0.0.1, and leaves out the browser's drawing.

``bench/actions_before.json`` holds the same table measured before the partial-rerun work
(``python -m bench.actions --save-before``); the report shows it beside today's numbers.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from core import config

from .common import ROOT, Section, chromium_path, log, ratio

BEFORE = Path(__file__).with_name("actions_before.json")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
#: every action the issue names, in the order they are driven
ACTIONS = ["star", "+ query", "remove added figure", "Use as query", "view: Cards", "view: Compact",
           "fusion slider step", "fusion slider, a new weight each step", "page through figures"]
#: the one-direction slider steps: a user reading the page this long between steps
READ_S = 1.5
QUIET_S = 0.6
#: --quick builds only this and drives the Search page only (a smoke test, not a measurement)
QUICK_ENCODERS = "hog"


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class Wire:
    """Listens on the page's Streamlit websocket: when reruns were asked for and when they finished."""

    def __init__(self, page, pid: int | None = None):
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._back, self._fwd = BackMsg, ForwardMsg
        self.sent: list[float] = []
        self.finished: list[float] = []
        self.running = False
        self.pid = pid
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", self._on_sent)
        ws.on("framereceived", self._on_received)

    def _on_sent(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            try:
                msg = self._back.FromString(bytes(payload))
            except Exception:  # noqa: BLE001 - not a BackMsg
                return
            if msg.WhichOneof("type") == "rerun_script":
                self.sent.append(time.perf_counter())
                self.running = True

    def _on_received(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            try:
                msg = self._fwd.FromString(bytes(payload))
            except Exception:  # noqa: BLE001
                return
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                self.finished.append(time.perf_counter())
                self.running = False
            elif kind == "new_session" or (kind == "session_status_changed"
                                           and msg.session_status_changed.script_is_running):
                self.running = True


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds the process ``pid`` (and its threads) has used so far (Linux /proc)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(page, wire: Wire, act, timeout_s: float = 120) -> tuple[float, float]:
    """Run ``act()`` (a click / key press); (server wall time, server CPU seconds) of what it set off."""
    n_sent = len(wire.sent)
    cpu0 = cpu_seconds(wire.pid)
    act()
    deadline = time.monotonic() + timeout_s
    while len(wire.sent) == n_sent:
        if time.monotonic() > deadline:
            raise TimeoutError("the action sent no rerun request")
        page.wait_for_timeout(10)
    t0 = wire.sent[n_sent]
    while time.monotonic() < deadline:
        page.wait_for_timeout(20)
        last = wire.finished[-1] if wire.finished else 0.0
        if not wire.running and last > t0 and time.perf_counter() - last > QUIET_S and wire.sent[-1] < last:
            return last - t0, cpu_seconds(wire.pid) - cpu0
    raise TimeoutError("the action's rerun did not finish")


def _idle(page, wire: Wire, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    page.wait_for_selector("[data-testid=stSidebar]", timeout=int(timeout_s * 1000))
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        last = wire.finished[-1] if wire.finished else 0.0
        if not wire.running and last and time.perf_counter() - last > 1.0 and (not wire.sent or wire.sent[-1] < last):
            return
    raise TimeoutError("page did not settle")


def drive(url: str, reps: int, pid: int | None = None, log_fn=log,
          search_only: bool = False) -> tuple[dict[str, list], list[str]]:
    """Drive every action ``reps`` times in one browser session; returns per action the
    (server wall s, server CPU s) of each repetition, and the errors the pages showed."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {a: [] for a in ACTIONS}
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            wire = Wire(page, pid)
            page.goto(url)
            page.get_by_text("Search with this").first.wait_for(timeout=300_000)
            _idle(page, wire)
            # warm-up: the first search of a query, the first page of each kind (not timed)
            page.get_by_role("button", name="Search with this").first.click()
            page.get_by_role("button", name="Use as query").first.wait_for(timeout=300_000)
            _idle(page, wire)
            main = page.locator("[data-testid=stMain]")

            def hit_button(label: str, nth: int = 0):
                return main.get_by_role("button", name=label, exact=True).nth(nth)

            def segment(label: str):
                return main.get_by_text(label, exact=True).first

            for rep in range(reps):
                log_fn(f"actions: repetition {rep + 1}/{reps}")
                times["star"].append(_timed(page, wire, lambda: main.get_by_role(
                    "button", name="☆" if rep % 2 == 0 else "★", exact=True).first.click()))
                times["+ query"].append(_timed(page, wire, lambda: hit_button("+ query", 1).click()))
                times["remove added figure"].append(_timed(page, wire, lambda: hit_button("Remove").click()))
                times["Use as query"].append(_timed(page, wire, lambda: hit_button("Use as query", 1 + rep).click()))
                times["view: Cards"].append(_timed(page, wire, lambda: segment("Cards").click()))
                times["view: Compact"].append(_timed(page, wire, lambda: segment("Compact").click()))
            if search_only:  # --quick: the Search page's actions only (the Scores page's first open costs ~20 s)
                return times, errors
            # the fusion slider (Scores page)
            page.get_by_role("link", name="Scores").first.click()
            page.get_by_role("slider").first.wait_for(timeout=300_000)
            _idle(page, wire)
            slider = main.get_by_role("slider").first
            for rep in range(reps):
                slider.focus()
                times["fusion slider step"].append(_timed(
                    page, wire, lambda: page.keyboard.press("ArrowRight" if rep % 2 == 0 else "ArrowLeft")))
            # one direction, a weight not seen before at every step (0.9, 0.8, ...), READ_S apart: what the
            # background warming of the neighbouring weights (UPAIR_PREFETCH) is for
            for rep in range(reps):
                page.wait_for_timeout(int(READ_S * 1000))
                slider.focus()
                times["fusion slider, a new weight each step"].append(_timed(
                    page, wire, lambda: page.keyboard.press("ArrowLeft")))
            # paging a grid of figures (the Corpus page's pager; the Map selection uses the same one)
            page.get_by_role("link", name="Corpus").first.click()
            page.get_by_text("Search with this").first.wait_for(timeout=300_000)
            _idle(page, wire)
            for rep in range(reps):
                step = "stNumberInputStepUp" if rep % 2 == 0 else "stNumberInputStepDown"
                times["page through figures"].append(_timed(
                    page, wire, lambda: main.get_by_test_id(step).first.click()))
            for sel in ("[data-testid=stException]", "[data-testid=stAlertContentError]"):
                loc = page.locator(sel)
                errors += [loc.nth(i).inner_text()[:300] for i in range(loc.count())]
        except Exception:
            if shot := config.env("UPAIR_BENCH_SHOT"):
                page.screenshot(path=str(shot), full_page=True)
            raise
        finally:
            browser.close()
    return times, errors


def serve(env: dict, port: int) -> subprocess.Popen:
    """The app as ``make run`` starts it (127.0.0.1, headless, no file watcher), on ``port``."""
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.address",
                             "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
                             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def measure(cache: Path, reps: int, encoders: str = "", search_only: bool = False) -> tuple[dict[str, list], list[str]]:
    """Build the demo into ``cache`` (as ``make run`` does; ``encoders`` = its default ones unless
    named), serve it on a free port and drive it."""
    import urllib.request

    from .dashboard import _free_port

    env = {**os.environ, "UPAIR_CACHE": str(cache)}
    env.pop("UPAIR_SERVE", None)
    out = subprocess.run([sys.executable, "-m", "core", "build", "--corpus", "demo",
                          *(["--encoders", encoders] if encoders else [])], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError("core build failed: " + out.stderr[-2000:])
    port = _free_port()
    proc = serve(env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("streamlit did not come up: " + proc.stderr.read().decode()[-1500:])
        return drive(url, reps, proc.pid, search_only=search_only)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def summarise(times: dict[str, list]) -> dict[str, dict]:
    out = {}
    for a, xs in times.items():
        if xs:
            wall, cpu = [x[0] for x in xs], [x[1] for x in xs]
            out[a] = {"n": len(xs), "p50_s": statistics.median(wall), "p95_s": _percentile(wall, 0.95),
                      "cpu_p50_s": statistics.median(cpu), "cpu_p95_s": _percentile(cpu, 0.95)}
    return out


def run(work: Path, quick: bool) -> Section:
    sec = Section(
        name="actions", title="m. Interaction speed: server time per action on a warm cache",
        method=(
            "`python -m core build --corpus demo` (as `make run` does), then the app served as `make run` serves "
            "it, on a free port, driven by headless Chromium at 1920×1080: the Search page with a corpus figure "
            "as the query (star a hit, '+ query' a hit, remove it again, 'Use as query' on a hit, the Cards / "
            "Compact view switch), the Scores page's fusion-weight slider (one arrow-key step, right and left in "
            "turn; then one direction, a weight not seen before at every step, 1.5 s apart), the Corpus "
            "page's pager (one page on / back). *Server time* = from the browser's rerun request on the "
            "websocket to the server's last `script_finished` for that action (fragment runs and a callback's "
            "rerun included), so it leaves out the browser's own drawing. The first search and the first open "
            "of each page are warm-up and not timed. *Before* = the same bench on the commit named below, "
            "before partial reruns (bench/actions_before.json)."),
        columns=[("action", "action"), ("n", "n"), ("before_p50_s", "before p50 (s)"),
                 ("before_p95_s", "before p95 (s)"), ("p50_s", "p50 (s)"), ("p95_s", "p95 (s)"),
                 ("before_cpu_p50_s", "before server CPU p50 (s)"), ("cpu_p50_s", "server CPU p50 (s)"),
                 ("ratio_p50", "p50 before/after (ratio)"), ("under_1s_wall", "server time p95 < 1 s"),
                 ("under_1s", "server CPU p95 < 1 s")],
    )
    if chromium_path() is None:
        sec.error = "chromium is not on the PATH (apt-get install -y chromium)"
        return sec
    reps = 1 if quick else 6
    log(f"actions: {reps} repetitions of {len(ACTIONS)} actions")
    times, errors = measure(work / "actions-cache", reps, QUICK_ENCODERS if quick else "", search_only=quick)
    now = summarise(times)
    before = json.loads(BEFORE.read_text()) if BEFORE.is_file() else {}
    for action in ACTIONS:
        r = now.get(action)
        if r is None:
            continue
        b = before.get("actions", {}).get(action, {})
        sec.rows.append({"action": action, "n": r["n"], "before_p50_s": b.get("p50_s"), "before_p95_s": b.get("p95_s"),
                         "p50_s": r["p50_s"], "p95_s": r["p95_s"], "before_cpu_p50_s": b.get("cpu_p50_s"),
                         "cpu_p50_s": r["cpu_p50_s"],
                         "ratio_p50": ratio(b["p50_s"], r["p50_s"]) if b.get("p50_s") else None,
                         "under_1s_wall": "yes" if r["p95_s"] < 1.0 else "NO",
                         "under_1s": "yes" if r["cpu_p95_s"] < 1.0 else "NO"})
    sec.extra["times"] = times
    if quick:
        sec.notes.append(f"QUICK mode: one repetition, encoder {QUICK_ENCODERS} only, Search page only; "
                         "not comparable to before.")
    sec.extra["load_at_end"] = list(os.getloadavg())
    if before:
        sec.notes.append(f"Before: measured on commit {before.get('commit', '?')} ({before.get('date', '?')}, "
                         f"{before.get('reps', '?')} repetitions, load {before.get('load', '?')}).")
    else:
        sec.notes.append("No bench/actions_before.json: the before columns are empty and the ratio reads 1.")
    sec.notes.append(f"Load average at the end of this section: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
                     "(2 shared cores: timings carry others' work).")
    if errors:
        sec.notes.append("The pages showed errors: " + " | ".join(errors))
    return sec


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m bench.actions", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=6, help="repetitions of every action (1-50)")
    ap.add_argument("--save-before", action="store_true", help=f"write the table to {BEFORE.name}")
    ap.add_argument("--cache", type=Path, help="a cache folder to build into and reuse (default: a new temporary one)")
    args = ap.parse_args(argv)
    if not 1 <= args.reps <= 50:
        ap.error(f"--reps must be 1-50, got {args.reps}")
    if args.cache:
        times, errors = measure(args.cache, args.reps)
    else:
        with tempfile.TemporaryDirectory(prefix="upair-actions-") as tmp:
            times, errors = measure(Path(tmp), args.reps)
    table = summarise(times)
    for a, r in table.items():
        print(f"{a:24s} p50 {r['p50_s']:.3f} s  p95 {r['p95_s']:.3f} s  cpu p50 {r['cpu_p50_s']:.3f} s "
              f"p95 {r['cpu_p95_s']:.3f} s (n={r['n']})")
    if errors:
        print("page errors:", errors)
    if args.save_before:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        data = {"commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "reps": args.reps,
                "load": ", ".join(f"{x:.2f}" for x in os.getloadavg()), "actions": table, "times": times}
        tmp = BEFORE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, BEFORE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
