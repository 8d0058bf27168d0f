"""Network, once, in the background: ``python -m core fetch clip-baseline --background`` against a
stand-in hub on 127.0.0.1 (HF_ENDPOINT), never the network. The status file goes fetching → ready
(a slowly served fake file) or → failed (a refused port) within 10 s; a second start while one
runs starts nothing; OFFLINE=1 starts nothing and says so in one line."""
from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core import weights_fetch as wf

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = bytes(range(256)) * 12288  # 3 MiB, sent in 12 slow chunks (the fetch writes by the MiB)
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
BASE = wf.FETCHES["clip-baseline"]


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers /<repo>/resolve/<rev>/<first baseline file> as the hub does, the body slowly."""

    delay = 0.06
    #: when set: half the body is sent, then the rest only once the event is set (browser test)
    gate: threading.Event | None = None

    def _head(self) -> bool:
        ok = self.path.split("?")[0].endswith(f"/{BASE.repo}/resolve/main/{BASE.files[0]}")
        self.send_response(200 if ok else 404)
        if ok:
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", '"' + hashlib.sha256(PAYLOAD).hexdigest() + '"')
        else:
            self.send_header("X-Error-Code", "EntryNotFound")
        self.send_header("Content-Length", str(len(PAYLOAD) if ok else 0))
        self.end_headers()
        return ok

    def do_HEAD(self):  # noqa: N802
        self._head()

    def do_GET(self):  # noqa: N802
        if self._head():
            step = len(PAYLOAD) // 12
            for i in range(0, len(PAYLOAD), step):
                if self.gate is not None and i >= len(PAYLOAD) // 2:
                    self.gate.wait(120)
                self.wfile.write(PAYLOAD[i:i + step])
                self.wfile.flush()
                time.sleep(self.delay)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _env(tmp_path, endpoint: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OFFLINE", "HF_HUB_OFFLINE")}
    return {**env, "HF_ENDPOINT": endpoint, "UPAIR_CACHE": str(tmp_path / "cache"), "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1", **extra}


def _start(env) -> str:
    r = subprocess.run([sys.executable, "-m", "core", "fetch", "clip-baseline", "--background"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _states(tmp_path, until: set, within: float = 10.0) -> list[dict]:
    """Every distinct status the file shows until one of ``until`` (or ``within`` s)."""
    path = tmp_path / "cache" / "fetch" / "clip-baseline.json"
    seen: list[dict] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        try:
            d = json.loads(path.read_text())  # never a half-written file: it is replaced atomically
        except FileNotFoundError:
            d = None
        if d is not None and (not seen or (d["state"], d["done"]) != (seen[-1]["state"], seen[-1]["done"])):
            seen.append(d)
            if d["state"] in until:
                break
        time.sleep(0.02)
    return seen


def _log(tmp_path, within: float = 10.0) -> str:
    """The fetch's log once the process has finished (its last line follows the final status)."""
    fetch = tmp_path / "cache" / "fetch"
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        text = (fetch / "clip-baseline.log").read_text() if (fetch / "clip-baseline.log").exists() else ""
        if text.strip() and not wf._lock_held(fetch / "clip-baseline.lock"):
            return text
        time.sleep(0.05)
    return text


def _pids(tmp_path) -> list[int]:
    """Processes running ``core fetch clip-baseline`` with this test's cache (from /proc)."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
                env = (p / "environ").read_bytes()
            except OSError:
                continue
            if b"fetch" in cmd and b"clip-baseline" in cmd and str(tmp_path).encode() in env:
                out.append(int(p.name))
    return out


def test_the_background_fetch_goes_fetching_then_ready_and_runs_once(tmp_path, hub):
    env = _env(tmp_path, hub)
    t0 = time.monotonic()
    first = _start(env)
    assert "fetching in the background" in first and time.monotonic() - t0 < 3  # start-up is not blocked
    time.sleep(0.4)
    second = _start(env)  # a second `make run` while the first fetch runs starts nothing
    seen = _states(tmp_path, {"ready", "failed"})
    assert "already running" in second, second
    assert seen and seen[-1]["state"] == "ready", seen
    fetching = [d for d in seen if d["state"] == "fetching"]
    assert fetching and any(0 < d["done"] < len(PAYLOAD) and d["total"] == len(PAYLOAD) for d in fetching), seen
    assert time.monotonic() - t0 < 10
    snap = tmp_path / "cache" / "open_clip" / f"models--{BASE.repo.replace('/', '--')}" / "snapshots" / COMMIT
    assert (snap / BASE.files[0]).read_bytes() == PAYLOAD
    log = _log(tmp_path)
    assert log.count("downloaded to") == 1, log  # one download, not two


def test_a_refused_hub_reads_failed_within_10_s_with_the_line_saying_what_to_do(tmp_path):
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        env = _env(tmp_path, f"http://127.0.0.1:{s.getsockname()[1]}")
        t0 = time.monotonic()
        _start(env)
        seen = _states(tmp_path, {"ready", "failed"})
    assert seen[-1]["state"] == "failed" and "connection refused" in seen[-1]["message"], seen
    assert time.monotonic() - t0 < 10
    log = _log(tmp_path).strip().splitlines()
    assert len(log) == 1 and "make fetch" in log[0] and "needs the network once" in log[0], log


def test_offline_starts_nothing_and_says_so_in_one_line(tmp_path):
    env = _env(tmp_path, "http://127.0.0.1:9", OFFLINE="1")
    line = _start(env)
    assert line == wf.FETCH_NOTE() or (line.startswith("CLIP needs the network once") and "make fetch" in line)
    assert json.loads((tmp_path / "cache" / "fetch" / "clip-baseline.json").read_text())["state"] == "offline"
    assert not (tmp_path / "cache" / "fetch" / "clip-baseline.log").exists() and not _pids(tmp_path)


def test_status_is_validated_on_load(tmp_path, monkeypatch):
    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "cache"))
    from core import config

    monkeypatch.setattr(config, "cache_dir", lambda: tmp_path / "cache")
    d = tmp_path / "cache" / "fetch"
    d.mkdir(parents=True)
    assert wf.read_status("clip-baseline").state == "absent"
    for bad in ("{", "[]", '{"name": "clip-baseline", "state": "done"}',
                '{"name": "clip-baseline", "state": "fetching", "done": -1}'):
        (d / "clip-baseline.json").write_text(bad)
        assert wf.read_status("clip-baseline").state == "absent", bad
    # "fetching" with nobody holding the lock: the process died
    (d / "clip-baseline.json").write_text('{"name": "clip-baseline", "state": "fetching", "done": 5, "total": 9}')
    st = wf.read_status("clip-baseline")
    assert st.state == "failed" and "stopped" in st.message
    with pytest.raises(ValueError, match="known: clip-baseline"):
        wf.read_status("nope")


def test_the_registry_names_the_files_open_clip_looks_for():
    from core.encoders.clip import _hf_candidates

    text = (Path(__import__("importlib").util.find_spec("open_clip").submodule_search_locations[0])
            / "pretrained.py").read_text()
    assert f'hf_hub="{BASE.repo}/"' in text
    assert _hf_candidates(BASE.repo + "/") == (BASE.repo, list(BASE.files))
    assert BASE.spec == "clip:ViT-B-16:laion400m_e32"
