"""Section j's server side: a served-mode app on 127.0.0.1 (``make serve``'s flags, a free port),
its RSS / CPU / run-queue wait over a round (``Meter``) and a py-spy profile of it (``Profile``)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from .common import ROOT

ENCODERS = ("hog", "ahdh", "tfidf")


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


def served_env(work: Path) -> dict:
    """The environment of a served-mode server on the demo corpus whose files all live under ``work``."""
    return {**os.environ, "UPAIR_CACHE": str(work / "load-cache"), "UPAIR_JUDGEMENTS": str(work / "load-judgements"),
            "UPAIR_SERVE": "1", "UPAIR_CORPORA": "demo", "UPAIR_SECRETS": str(work / "no-secrets.toml"),
            "UPAIR_ENCODERS": "", "UPAIR_UPLOADS_PER_MINUTE": "1000"}


def build_demo(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "core", "build", "--corpus", "demo", "--encoders", ",".join(ENCODERS)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=1800)


def start_server(env: dict) -> tuple[subprocess.Popen, str]:
    """``streamlit run`` with ``make serve``'s flags on 127.0.0.1 and a free port; (process, base URL)
    once it answers its health check."""
    from dashboard import serve

    pol = serve.Policy(served=True, port=_free_port(), upload_mb=20)
    url = f"http://127.0.0.1:{pol.port}"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
                               *serve.streamlit_args(pol)], cwd=ROOT, env=env, preexec_fn=_die_with_parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return server, url
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.3)
    stop_server(server)
    raise RuntimeError("the served app did not answer its health check within 120 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _proc_stat(pid: int) -> tuple[float, float]:
    """(RSS MiB, CPU seconds user+system) of process ``pid`` from /proc."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) summed over the process's threads
    (``/proc/<pid>/task/*/schedstat``; threads that ended meanwhile drop out)."""
    run = wait = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            a, b, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        run, wait = run + int(a) / 1e9, wait + int(b) / 1e9
    return run, wait


class Meter:
    """The server's RSS (before, after, peak sampled every 0.25 s) and CPU over one round."""

    def __init__(self, pid: int):
        self.pid = pid

    def start(self) -> None:
        self.rss0, self.cpu0 = _proc_stat(self.pid)
        self.sched0 = _schedstat(self.pid)
        self.t0, self.peak, self._stop = time.perf_counter(), self.rss0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.peak = max(self.peak, _proc_stat(self.pid)[0])
            except OSError:
                return

    def stop(self) -> dict:
        self._stop.set()
        self._t.join()
        wall = time.perf_counter() - self.t0
        rss1, cpu1 = _proc_stat(self.pid)
        run, wait = (b - a for a, b in zip(self.sched0, _schedstat(self.pid)))
        return {"runqueue_wait_per_cpu_s": wait / run if run > 0 else None,"rss_before": self.rss0, "rss_after": rss1, "rss_peak": max(self.peak, rss1), "wall": wall,
                "server_cores": (cpu1 - self.cpu0) / wall, "load": list(os.getloadavg())}


class Profile:
    """``py-spy record`` of the server over one round (only threads on a CPU: py-spy leaves out idle
    ones, a thread waiting for the GIL included), summarised: busy threads on average, shares of
    the samples by whose code is on top (the app's, Streamlit's, the libraries'), the top frames."""

    RATE = 50

    def __init__(self, pid: int, out: Path):
        import shutil

        self.pid, self.out = pid, out
        self.exe = shutil.which("py-spy") or (str(Path(sys.executable).parent / "py-spy")
                                              if (Path(sys.executable).parent / "py-spy").exists() else None)

    def start(self) -> None:
        self.proc = None
        if self.exe:
            self.t0 = time.perf_counter()
            self.proc = subprocess.Popen([self.exe, "record", "--pid", str(self.pid), "--rate", str(self.RATE),
                                          "--format", "raw", "--nonblocking", "--output", str(self.out)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self, facts: dict) -> dict:
        import signal

        if self.proc is None:
            return {"error": "py-spy is not installed (pip install py-spy)"}
        wall = time.perf_counter() - self.t0
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return {"error": "py-spy did not stop"}
        if not self.out.exists():
            return {"error": f"py-spy wrote nothing: {err.decode(errors='replace')[-200:]}"}
        return summarise_profile(self.out.read_text(), wall, self.RATE, facts["server_cores"])


def _ours(frame: str) -> bool:
    """Whether a py-spy frame (``func (file:line)``, the file shortened to its import path) is the app's."""
    path = frame.rpartition(" (")[2].rpartition(":")[0]
    return path.startswith(("core/", "dashboard/", "pages/")) or path in PAGE_FILES


PAGE_FILES = {p.name for p in (ROOT / "pages").glob("*.py")} | {"app.py"}


def summarise_profile(raw: str, wall: float, rate: int, cores: float) -> dict:
    """Shares of py-spy's collapsed stacks (``f (file:line);g (file:line) count``) by the owner of the
    innermost frame of the app (dashboard/, pages/, core/) or else of the top frame."""
    total, groups, leaves, app = 0, {}, {}, {}
    for line in raw.splitlines():
        stack, _, cnt = line.rpartition(" ")
        if not cnt.isdigit():
            continue
        n = int(cnt)
        frames = stack.split(";")
        total += n
        top = frames[-1]
        ours = [f for f in frames if _ours(f)]
        if "collect" in top and "gc" in top:
            g = "garbage collection"
        elif ours:
            g = "app code (dashboard/, pages/, core/) and what it calls"
            inner = ours[-1].split(" (")[0] + " (" + ours[-1].rpartition(" (")[2]
            app[inner] = app.get(inner, 0) + n
        elif "streamlit" in top:
            g = "Streamlit"
        elif any(x in top for x in ("starlette", "uvicorn", "asyncio", "websockets", "selectors")):
            g = "web server (uvicorn, starlette, asyncio)"
        else:
            g = "other (libraries, interpreter)"
        groups[g] = groups.get(g, 0) + n
        leaf = top.split(" (")[0] + " (" + top.rsplit("/", 1)[-1] if "(" in top else top
        leaves[leaf] = leaves.get(leaf, 0) + n
    top = sorted(leaves.items(), key=lambda kv: -kv[1])[:6]
    return {"samples": total, "seconds": wall, "busy_threads": total / (rate * wall) if wall else None,
            "server_cores": cores, "groups": {k: v / total for k, v in sorted(groups.items(), key=lambda kv: -kv[1])}
            if total else {}, "top": [(k, v / total) for k, v in top] if total else [],
            "app_top": [(k, v / total) for k, v in sorted(app.items(), key=lambda kv: -kv[1])[:5]] if total else []}
