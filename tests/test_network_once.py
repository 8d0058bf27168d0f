"""Network, once: a weights download against a stand-in hub on 127.0.0.1 (HF_ENDPOINT), never the
network. Success serves a tiny fake file; failure is a refused port, reported in one line within 10 s."""
from __future__ import annotations

import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = b"fake weights " * 100
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers /<org>/<repo>/resolve/<rev>/<file> the way the hub does (headers huggingface_hub reads)."""

    def _head(self) -> bool:
        if "/resolve/" not in self.path or not self.path.endswith("/tiny.bin"):
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        self.send_response(200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", '"' + hashlib.sha256(PAYLOAD).hexdigest() + '"')
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        return True

    def do_HEAD(self):  # noqa: N802
        self._head()

    def do_GET(self):  # noqa: N802
        if self._head():
            self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


def _fetch(env: dict, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def _env(tmp_path, endpoint: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OFFLINE", "HF_HUB_OFFLINE")}
    return {**env, "HF_ENDPOINT": endpoint, "UPAIR_CACHE": str(tmp_path / "cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}


def test_a_file_comes_from_the_stand_in_hub(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = _env(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
        r = _fetch(env, "from core.encoders.hub import download_file; "
                        "print(download_file('org/tiny', ('missing.bin', 'tiny.bin')))")
    finally:
        server.shutdown()
    assert r.returncode == 0, r.stderr[-2000:]
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.read_bytes() == PAYLOAD and str(tmp_path / "cache" / "huggingface") in str(path)


def _refused_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("call", [
    "from core.encoders.hub import download_file; download_file('org/tiny', ('tiny.bin',))",
    "import open_clip; from core.encoders import get_encoder; get_encoder('clip:ViT-B-16:laion400m_e32').download()",
])
def test_a_refused_hub_fails_fast_in_one_line_saying_what_to_do(tmp_path, call):
    env = _env(tmp_path, f"http://127.0.0.1:{_refused_port()}")
    imports, _, do = call.rpartition("; ")  # imported before the clock starts (torch is slow to load)
    r = _fetch(env, f"import sys, time\n{imports}\nt0 = time.monotonic()\ntry:\n    {do}\n"
                    "except RuntimeError as e:\n    print(e); sys.stderr.write(f'took={time.monotonic() - t0}'); sys.exit(3)")
    assert r.returncode == 3, (r.stdout, r.stderr[-2000:])
    took = float(r.stderr.rpartition("took=")[2])  # the call alone, not the interpreter and torch starting
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and "connection refused" in lines[0] and "needs the network once" in lines[0]
    assert "fetch-weights" in lines[0] and "FileNotFoundError" not in lines[0]
    assert took < 10


def test_offline_says_so_without_touching_the_network(tmp_path):
    env = {**_env(tmp_path, "http://127.0.0.1:9"), "OFFLINE": "1"}
    r = _fetch(env, "from core.encoders.hub import require_hub\ntry:\n    require_hub('CLIP', 'clip:x')\n"
                    "except RuntimeError as e:\n    print(e)")
    assert r.stdout.startswith("offline (OFFLINE") and "needs the network once" in r.stdout
