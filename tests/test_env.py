"""Environment variables: every ``UPAIR_*`` one declared once in ``core.config.ENV_VARS``,
parsed there, reported by ``core info``; a bad value is one line naming it, never an import error."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import config
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"UPAIR_[A-Z][A-Z0-9_]*")


def _sources() -> list[Path]:
    files = [p for d in ("core", "dashboard", "pages", "bench") for p in (ROOT / d).rglob("*.py")]
    return files + [ROOT / "README.md", ROOT / "Makefile", ROOT / ".ci" / "run"]


def test_every_upair_variable_named_anywhere_is_declared():
    texts = {p: p.read_text(encoding="utf-8") for p in _sources() if p.is_file()}
    named = {m for t in texts.values() for m in NAME.findall(t)}
    # Python constants spelled UPAIR_* (UPAIR_CHECKPOINTS, UPAIR_ZIP_URL …) are not variables.
    constants = {m for t in texts.values() for m in re.findall(r"^\s*(UPAIR_[A-Z0-9_]+)\s*(?::[^=\n]+)?=", t, re.M)}
    undeclared = sorted(named - constants - set(config.ENV))
    assert not undeclared, f"UPAIR_* variables not declared in core.config.ENV_VARS: {undeclared}"
    assert not sorted(set(config.ENV) - named - {"UPAIR_DOCS_SHOTS"}), "declared but never named"


def test_no_module_reads_an_upair_variable_itself():
    # reads only: ``os.environ["UPAIR_X"] = …`` (a bench setting a variable) is allowed
    bare = re.compile(r"(environ\.get\(\s*|getenv\(\s*)[\"']UPAIR_|environ\[[\"']UPAIR_\w+[\"']\](?!\s*=)")
    offenders = [str(p.relative_to(ROOT)) for p in _sources()
                 if p.suffix == ".py" and p.name != "config.py" and bare.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], offenders


INTS = [v.name for v in config.ENV_VARS if v.kind == "int" and v.scope == "core"]
SERVED = [v for v in config.ENV_VARS if v.scope == "serve"]


def test_importing_never_fails_on_a_bad_value():
    env = {**os.environ, **{name: "abc" for name in INTS}, "UPAIR_INDEX": "nope", "UPAIR_DEVICE": "gpu"}
    proc = subprocess.run([sys.executable, "-c", "import core.config, core.index, core.maps, core.figures; print('ok')"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("name, raw", [*[(n, v) for n in INTS for v in ("abc", "0", "-5", "1.5")],
                                       ("UPAIR_INDEX", "nope"), ("UPAIR_DEVICE", "gpu"), ("UPAIR_DEVICE", "cuda:x"),
                                       ("UPAIR_CACHE", " "), ("UPAIR_CACHE", " /tmp/x"),
                                       ("UPAIR_JUDGEMENTS", "  "), ("UPAIR_SHARED", "\t")])
def test_a_bad_value_is_one_line_naming_the_variable(name, raw, monkeypatch, capsys, tmp_path):
    from core.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, raw)
    assert main(["info", "--corpus", "folder:/nonexistent"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: {name}=") and "unset" in err, err
    assert not [p for p in tmp_path.iterdir() if not p.name.strip()], "a blank-named folder was created"


def test_good_values_are_typed(monkeypatch):
    monkeypatch.setenv("UPAIR_EXACT_MAX", "1_000")
    monkeypatch.setenv("UPAIR_DEVICE", " CUDA:1 ")
    monkeypatch.setenv("UPAIR_ENCODERS", "hog, ,tfidf")
    assert config.env("UPAIR_EXACT_MAX") == 1000 and config.env_source("UPAIR_EXACT_MAX") == "env"
    assert config.env("UPAIR_DEVICE") == "cuda:1"
    assert config.env("UPAIR_ENCODERS") == ("hog", "tfidf")
    monkeypatch.setenv("UPAIR_EXACT_MAX", "")
    assert config.env("UPAIR_EXACT_MAX") == 50_000 and config.env_source("UPAIR_EXACT_MAX") == "default"


def test_the_index_and_map_settings_come_from_the_declaration(monkeypatch):
    from core import index as ix

    monkeypatch.setenv("UPAIR_INDEX_MEMORY_MB", "3")
    assert ix.budget_bytes() == 3 << 20
    monkeypatch.setenv("UPAIR_INDEX_MEMORY_MB", "-3")
    with pytest.raises(ConfigError, match="UPAIR_INDEX_MEMORY_MB"):
        ix.budget_bytes()
    monkeypatch.setenv("UPAIR_INDEX", "nope")
    with pytest.raises(ConfigError, match="UPAIR_INDEX='nope'"):
        ix.choose_index(10)
    assert ix.INDEX_KINDS == config.ENV["UPAIR_INDEX"].choices


def test_asking_for_a_gpu_that_is_not_there_is_an_error_not_a_silent_cpu(monkeypatch):
    from core.encoders import device

    monkeypatch.setattr(device, "_gpus", lambda: 0)
    for want in ("cuda", "cuda:0"):
        monkeypatch.setenv("UPAIR_DEVICE", want)
        with pytest.raises(ConfigError, match=f"UPAIR_DEVICE={want} but torch sees no usable GPU"):
            device.compute_device()
    monkeypatch.setattr(device, "_gpus", lambda: 1)
    monkeypatch.setenv("UPAIR_DEVICE", "cuda:1")
    with pytest.raises(ConfigError, match="sees 1 GPU"):
        device.compute_device()
    monkeypatch.setenv("UPAIR_DEVICE", "cuda:0")
    assert device.compute_device() == "cuda:0"
    monkeypatch.delenv("UPAIR_DEVICE")
    assert device.compute_device() == "cuda"
    monkeypatch.setattr(device, "_gpus", lambda: 0)
    assert device.compute_device() == "cpu"


def test_unusable_judgements_folder_names_the_variable(tmp_path, monkeypatch):
    from core.annotation.judgements import judgements_root

    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "f"))
    with pytest.raises(ConfigError, match="UPAIR_JUDGEMENTS=.* is not a folder"):
        judgements_root()
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "j"))
    assert judgements_root() == (tmp_path / "j").resolve() and (tmp_path / "j").is_dir()


def test_info_lists_every_variable_with_its_value_and_source(monkeypatch, capsys, cache):
    from core.cli import main

    monkeypatch.setenv("UPAIR_EXACT_MAX", "123")
    assert main(["info", "--corpus", "demo"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split()[1:3] for ln in out.splitlines() if ln.startswith("UPAIR_")}
    assert set(rows) == set(config.ENV)
    assert rows["UPAIR_EXACT_MAX"] == ["123", "env"] and rows["UPAIR_INDEX"] == ["auto", "default"]
    assert rows["UPAIR_CACHE"] == [str(cache), "env"]


def test_served_mode_variables_are_declared_here_and_listed_by_info(monkeypatch, capsys, tmp_path):
    """Served mode's settings live in the one registry (with their secrets-file key), ``core info``
    lists them with their values, and a bad one is shown as invalid there (the app refuses it)
    without failing the library's commands."""
    from core.cli import main
    from dashboard import serve

    assert set(serve.VARIABLES) == {v.name for v in SERVED} >= {"UPAIR_SERVE", "UPAIR_SERVE_PORT", "UPAIR_CORPORA"}
    assert all(v.meaning and (v.secret or v.name == "UPAIR_SECRETS") for v in SERVED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UPAIR_SERVE_PORT", "9100")
    monkeypatch.setenv("UPAIR_UPLOAD_MB", "abc")
    assert main(["info", "--corpus", "demo"]) in (0, 1)
    out = capsys.readouterr().out
    for v in SERVED:
        assert v.name in out, v.name
    port = next(line for line in out.splitlines() if "UPAIR_SERVE_PORT" in line)
    assert "9100" in port and "env" in port
    assert "invalid: UPAIR_UPLOAD_MB='abc'" in next(line for line in out.splitlines() if "UPAIR_UPLOAD_MB" in line)
    with pytest.raises(ConfigError, match="UPAIR_UPLOAD_MB"):
        serve.load_policy(dict(os.environ), tmp_path / "none.toml")


def test_importing_the_app_side_never_fails_on_a_bad_served_value():
    env = {**os.environ, **{v.name: "abc" for v in SERVED}}
    proc = subprocess.run([sys.executable, "-c", "import dashboard.serve, dashboard.identity; print('ok')"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
