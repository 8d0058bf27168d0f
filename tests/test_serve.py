"""Served mode's policy (``dashboard/serve.py``): parsing, passphrases, upload limits, make targets."""
from __future__ import annotations

import hashlib
import hmac
import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.errors import ConfigError
from dashboard import serve

ROOT = Path(__file__).resolve().parent.parent


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h), 255).save(buf, "PNG")
    return buf.getvalue()


def test_default_is_the_workbench(tmp_path):
    pol = serve.load_policy({}, tmp_path / "none.toml")
    assert not pol.served and pol.corpus_allowed("folder:/anything")
    assert serve.refuse_upload(b"x" * 50_000_000, [], pol=pol) is None  # the workbench has no served limits


def test_environment_wins_over_the_secrets_file(tmp_path):
    secrets = tmp_path / "s.toml"
    secrets.write_text('[upair]\nserve = false\naddress = "0.0.0.0"\nport = 9000\ncorpora = ["demo"]\n'
                       'upload_mb = 5\n')
    env = {"UPAIR_SERVE": "1", "UPAIR_SERVE_PORT": "9100", "UPAIR_CORPORA": "demo, Mine=folder:/data/mine"}
    pol = serve.load_policy(env, secrets)
    assert pol.served and pol.address == "0.0.0.0" and pol.port == 9100 and pol.upload_mb == 5
    assert pol.corpora == (("Demo (synthetic drawings, built in)", "demo"), ("Mine", "folder:/data/mine"))
    assert pol.corpus_allowed("demo") and not pol.corpus_allowed("folder:/etc")
    assert serve.streamlit_args(pol)[:4] == ["--server.address", "0.0.0.0", "--server.port", "9100"]
    assert "--client.showErrorDetails" in serve.streamlit_args(pol)
    args = serve.streamlit_args(pol)
    assert args[args.index("--runner.postScriptGC") + 1] == "false"  # no full GC holding the GIL after each run
    assert args[args.index("--client.toolbarMode") + 1] == "viewer"


@pytest.mark.parametrize(("env", "named"), [
    ({"UPAIR_SERVE": "maybe"}, "UPAIR_SERVE"),
    ({"UPAIR_SERVE_PORT": "80"}, "UPAIR_SERVE_PORT"),
    ({"UPAIR_SERVE_PORT": "65536"}, "UPAIR_SERVE_PORT"),
    ({"UPAIR_SERVE_ADDRESS": "example.org"}, "UPAIR_SERVE_ADDRESS"),
    ({"UPAIR_CORPORA": " , "}, "UPAIR_CORPORA"),
    ({"UPAIR_CORPORA": "Label="}, "UPAIR_CORPORA"),
    ({"UPAIR_UPLOAD_MB": "0"}, "UPAIR_UPLOAD_MB"),
    ({"UPAIR_UPLOADS_PER_MINUTE": "ten"}, "UPAIR_UPLOADS_PER_MINUTE"),
])
def test_bad_values_name_their_source(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        serve.load_policy(env, tmp_path / "none.toml")


def test_bad_secrets_name_the_key(tmp_path):
    s = tmp_path / "s.toml"
    s.write_text("[upair]\nport = 12\n")
    with pytest.raises(ConfigError, match=r"upair.port in s.toml"):
        serve.load_policy({}, s)
    s.write_text('[upair.annotators]\nalice = "plain text"\n')
    with pytest.raises(ConfigError, match="annotators.*alice"):
        serve.load_policy({}, s)
    s.write_text("[upair\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        serve.load_policy({}, s)


def test_passphrase_lines_are_salted_scrypt(tmp_path):
    a, b = serve.hash_passphrase("correct horse"), serve.hash_passphrase("correct horse")
    assert a != b  # a fresh salt each time
    _, n, r, p, salt, digest = a.split("$")
    # an independent computation of the same scrypt
    assert hmac.compare_digest(hashlib.scrypt(b"correct horse", salt=bytes.fromhex(salt), n=int(n), r=int(r),
                                              p=int(p), dklen=32).hex(), digest)
    assert serve.verify_passphrase(a, "correct horse") and not serve.verify_passphrase(a, "correct horse ")
    assert not serve.verify_passphrase("scrypt$3$8$1$00$00", "x")  # malformed: refused, not crashed
    s = tmp_path / "s.toml"
    s.write_text(f'[upair.annotators]\nalice = "{a}"\n')
    assert serve.load_policy({}, s).annotators == (("alice", a),)


def test_hash_command_reads_stdin():
    out = subprocess.run([sys.executable, "-m", "dashboard.serve", "hash"], input="a long passphrase\n",
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and serve.verify_passphrase(out.stdout.strip(), "a long passphrase")
    short = subprocess.run([sys.executable, "-m", "dashboard.serve", "hash"], input="short\n",
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert short.returncode == 2 and "8 characters" in short.stderr


def test_upload_limits_size_rate_and_pixels():
    pol = serve.Policy(served=True, upload_mb=1, upload_pixels=1_000_000, uploads_per_minute=3)
    hist: list[float] = []
    assert "1 MB" in serve.refuse_upload(b"\0" * 1_000_001, hist, now=0, pol=pol)
    assert "1,001 × 1,000 pixels" in serve.refuse_upload(_png(1001, 1000), hist, now=0, pol=pol)
    assert serve.refuse_upload(_png(1000, 1000), hist, now=0, pol=pol) is None  # the boundary is allowed
    assert serve.refuse_upload(_png(10, 10), hist, now=1, pol=pol) is None
    assert serve.refuse_upload(b"not an image", hist, now=2, pol=pol) is None  # the ordinary check says why
    assert "3 figures in the last minute" in serve.refuse_upload(_png(10, 10), hist, now=59, pol=pol)
    assert serve.refuse_upload(_png(10, 10), hist, now=60.5, pol=pol) is None  # the first left the window


def test_makefile_run_is_local_and_serve_takes_the_policy():
    make = (ROOT / "Makefile").read_text()
    run = make.split("\nrun:")[1].split("\n\n")[0]
    assert "--server.address 127.0.0.1" in run
    assert "dashboard.serve args" in make.split("\nserve:")[1].split("\n\n")[0]
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text()
