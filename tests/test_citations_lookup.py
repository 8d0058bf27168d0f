"""The one citations-file finder (core.corpora.citations.find_citations_file) and its two users:
candidate sampling (find_citations) and examiner search (corpus_citations)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.corpora.citations import CITATIONS_FILE, find_citations_file


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_nothing_found_is_none(tmp_path):
    assert find_citations_file([tmp_path / "a", tmp_path]) is None
    assert find_citations_file([], named="missing.json", beside=tmp_path) is None


def test_root_then_one_folder_up(tmp_path):
    root = tmp_path / "ds" / "part"
    root.mkdir(parents=True)
    up = _write(tmp_path / "ds" / CITATIONS_FILE, {})
    assert find_citations_file([root]) == up
    own = _write(root / CITATIONS_FILE, {})
    assert find_citations_file([root]) == own  # the root wins over its parent
    # two folders up is not looked at
    (tmp_path / "ds" / CITATIONS_FILE).unlink()
    _write(tmp_path / CITATIONS_FILE, {})
    own.unlink()
    assert find_citations_file([root]) is None


def test_every_root_before_any_parent(tmp_path):
    a, b = tmp_path / "x" / "a", tmp_path / "b"
    a.mkdir(parents=True)
    b.mkdir()
    _write(tmp_path / "x" / CITATIONS_FILE, {})
    in_b = _write(b / CITATIONS_FILE, {})
    assert find_citations_file([a, b]) == in_b


def test_named_file_first_as_given_then_beside_and_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "corpus"
    _write(root / CITATIONS_FILE, {})
    cfg = tmp_path / "cfgs" / "sub"
    cfg.mkdir(parents=True)
    up = _write(tmp_path / "cfgs" / "mine.json", {})
    assert find_citations_file([root], named="mine.json", beside=cfg) == up
    beside = _write(cfg / "mine.json", {})
    assert find_citations_file([root], named="mine.json", beside=cfg) == beside
    here = _write(tmp_path / "mine.json", {})
    assert find_citations_file([root], named="mine.json", beside=cfg).resolve() == here
    # a named file that exists nowhere falls back to the corpus root
    assert find_citations_file([root], named="nowhere.json", beside=cfg) == root / CITATIONS_FILE


def test_sampling_and_examiner_find_the_same_file(tmp_path):
    """Both users follow the same rules: a file one folder above the corpus is found by both."""
    from core.annotation.sampling import find_citations, load_config
    from core.corpora import load_corpus
    from core.examiner import corpus_citations
    from PIL import Image

    root = tmp_path / "ds" / "figs"
    root.mkdir(parents=True)
    Image.new("L", (8, 8), 255).save(root / "US1A1_1.png")
    path = _write(tmp_path / "ds" / CITATIONS_FILE, {"US1A1": ["EP2B1"]})
    corpus = load_corpus(f"folder:{root}")
    cits, where = corpus_citations(corpus)
    assert where == path and cits == {"US1A1": ("EP2B1",)}
    cfg = load_config(None)
    cites, src = find_citations(cfg, corpus)
    if cfg.citations_data and Path(cfg.citations_data).is_file():
        pytest.skip("the default config names a citations file that exists here")
    assert Path(src) == path and cites == {"US1A1": ["EP2B1"]}


def test_a_malformed_file_names_itself(tmp_path):
    from core.corpora.citations import read_citations
    from core.errors import DatasetError

    bad = tmp_path / CITATIONS_FILE
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match=str(bad)):
        read_citations(find_citations_file([tmp_path]))
