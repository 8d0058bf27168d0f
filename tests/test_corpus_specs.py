"""Corpus specs: the grammar of every kind, and no spec ever reaching a shell or the network.

A ``webdataset:`` spec naming a ``pipe:`` command or a URL is refused with one line by every
entry point — the CLI, the app's ``?corpus=`` link and the sidebar's "Other folder…" box —
and the command never runs (the file it would create never appears).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpora import DatasetError, load_corpus
from core.corpora import webdataset as wds_corpus

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"


def _hostile(marker: Path) -> list[str]:
    """Specs that would run ``touch marker`` or fetch a URL if any part reached webdataset's opener."""
    cmd = f"touch {marker}"
    return [
        f"webdataset:pipe:{cmd}",
        f"webdataset: pipe:{cmd}",
        f"webdataset:{{pipe:{cmd},/nonexistent/a.tar}}",       # brace expansion makes a pipe: shard
        f"webdataset:/nonexistent/{{a,b}}.tar#titles=pipe:{cmd}",
        "webdataset:http://127.0.0.1:9/shard-{000..001}.tar",
        "webdataset:https://example.invalid/shard.tar",
        "webdataset:s3://bucket/shard.tar",
        "webdataset:gs://bucket/shard.tar",
        "webdataset:ftp://127.0.0.1:9/shard.tar",
        "webdataset:file:///etc/passwd",
        "webdataset:/nonexistent/a.tar#titles=http://127.0.0.1:9/t.json",
    ]


@pytest.mark.parametrize("i", range(11))
def test_the_library_refuses_commands_and_urls_before_opening_anything(tmp_path, cache, i, monkeypatch):
    marker = tmp_path / "PWNED"
    spec = _hostile(marker)[i]
    import importlib

    def no_opener(*a, **k):  # webdataset's opener must never be reached
        raise AssertionError(f"webdataset's opener called for {spec!r}: {a}")

    for module in ("webdataset.gopen", "webdataset.tariterators"):
        monkeypatch.setattr(importlib.import_module(module), "gopen", no_opener)
    with pytest.raises(DatasetError) as err:
        load_corpus(spec)
    msg = str(err.value)
    assert "\n" not in msg and "local files only" in msg, msg
    assert not marker.exists()


def test_a_local_file_whose_name_has_a_colon_is_read_as_dot_slash(tmp_path):
    with pytest.raises(DatasetError, match="./NAME"):
        wds_corpus.parse_shards("a:b.tar")
    shards, _ = wds_corpus.parse_shards("./a:b.tar")
    assert shards == [str(Path("a:b.tar").absolute())]


def test_a_runaway_brace_expansion_is_refused():
    with pytest.raises(DatasetError, match="check the braces"):
        wds_corpus.parse_shards("/x/{0..9}{0..9}{0..9}{0..9}{0..9}{0..9}{0..9}.tar")


def test_the_cli_refuses_with_one_line_and_runs_nothing(tmp_path, cache):
    marker = tmp_path / "PWNED"
    for spec in _hostile(marker)[:5]:
        proc = subprocess.run([sys.executable, "-m", "core", "info", "--corpus", spec], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, env={**os.environ})
        assert proc.returncode != 0, spec
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "local files only" in lines[0], (spec, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
        assert not marker.exists(), spec


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [e.value for e in at.sidebar.error]


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_the_app_link_refuses_with_one_line_and_runs_nothing(tmp_path, cache):
    marker = tmp_path / "PWNED"
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["corpus"] = f"webdataset:pipe:touch {marker}"
    at.session_state["encoders"] = ["hog"]
    at.run()
    assert not at.exception, at.exception
    shown = [e for e in _errors(at) if "local files only" in e]
    assert len(shown) == 1 and "\n" not in shown[0].strip(), _errors(at)
    assert not marker.exists()


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_the_sidebar_box_refuses_with_one_line_and_runs_nothing(tmp_path, cache):
    marker = tmp_path / "PWNED"
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["encoders"] = ["hog"]
    at.run()
    at.sidebar.selectbox(key="corpus_pick").set_value("custom").run()
    at.sidebar.text_input(key="corpus_custom").input(f"webdataset:pipe:touch {marker}").run()
    assert not at.exception, at.exception
    shown = [e for e in _errors(at) if "local files only" in e]
    assert len(shown) == 1, _errors(at)
    assert not marker.exists()


# --------------------------------------------------------------------------- the kind table


def test_help_errors_sidebar_and_readme_are_made_from_the_kind_table():
    import inspect

    from core.cli.common import CORPUS_HELP
    from core.corpora import KINDS, kinds_markdown, parse_spec

    syntaxes = [k.syntax for k in KINDS]
    assert CORPUS_HELP.split(" | ")[:len(KINDS)] == syntaxes
    for bad in ("nonsense", "xyz:abc"):
        with pytest.raises(DatasetError) as err:
            parse_spec(bad)
        assert all(s in str(err.value) for s in syntaxes), str(err.value)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = [ln for ln in readme.splitlines() if ln.startswith("- `") and " — " in ln
              and ln[3:].split("`")[0].split(":")[0] in {k.name for k in KINDS}]
    assert listed == kinds_markdown().splitlines(), "README's list of corpus specs differs from core.corpora.KINDS"
    import dashboard.sidebar as sidebar

    assert "kinds_markdown()" in inspect.getsource(sidebar._corpus_picker)


def test_every_kind_loads_through_its_row_and_rejects_a_missing_argument(tmp_path, cache):
    from PIL import Image

    from core.corpora import CORPUS_KINDS, KINDS, detect_kind, parse_spec

    assert set(CORPUS_KINDS) == {"demo", "upair", "query-patents", "folder", "webdataset"}
    for kind in KINDS:
        if kind.argument:
            with pytest.raises(DatasetError, match=f"names no {kind.noun}"):
                parse_spec(f"{kind.name}:")
        else:
            with pytest.raises(DatasetError, match="takes no path"):
                parse_spec(f"{kind.name}:x")
    Image.new("RGB", (10, 10), "white").save(tmp_path / "a.png")
    assert detect_kind(tmp_path) == "folder"
    (tmp_path / "sections").mkdir()
    assert detect_kind(tmp_path) == "query-patents"  # table order: query-patents before upair and folder
    with pytest.raises(DatasetError, match="unknown corpus kind 'nope'"):
        parse_spec("nope:/x")
    with pytest.raises(DatasetError, match="corpus folder not found"):
        parse_spec(str(tmp_path / "missing"))


@pytest.mark.parametrize("pattern", ["/x/a.tar", "/x/{0..9}.tar", "/x/{00..15}-{a,b,c}.tar", "/x/{5..1}.tar",
                                     "/x/{0..10..2}{x,y}.tar", "/x/{a}.tar"])
def test_brace_count_equals_the_expansion_for_flat_patterns(pattern):
    from braceexpand import braceexpand

    assert wds_corpus._brace_count(pattern) == len(list(braceexpand(pattern)))


def test_brace_count_refuses_above_the_limit_and_not_at_it(monkeypatch):
    monkeypatch.setattr(wds_corpus, "MAX_SHARDS", 100)
    assert len(wds_corpus.parse_shards("/x/{0..9}{0..9}.tar")[0]) == 100  # exactly the limit: allowed
    with pytest.raises(DatasetError, match="check the braces"):
        wds_corpus.parse_shards("/x/{0..9}{0..9}{0}{0,1}.tar")  # 200
