"""A fresh evaluation decodes each figure once: the integrity check reuses the encoder's decode."""
from __future__ import annotations

import collections
import os

import pytest

from core.corpora import load_corpus
from core.evaluation import evaluate
from tests.test_bad_input import upair_folder


def _count_opens(monkeypatch) -> collections.Counter:
    """Count ``PIL.Image.open`` per image file name (every decoder of the project goes through it)."""
    from PIL import Image

    from core import integrity

    monkeypatch.setattr(integrity, "_MEMO", {})  # a fresh process: no integrity check remembered
    opens: collections.Counter = collections.Counter()
    real = Image.open

    def counting(fp, *args, **kwargs):
        opens[os.path.basename(str(fp))] += 1
        return real(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting)
    return opens


@pytest.mark.parametrize("protocol", ["upair", "clean"])
@pytest.mark.parametrize("encoder", ["hog", "ahdh"])
def test_each_figure_is_decoded_once_in_a_fresh_evaluation(tmp_path, cache, monkeypatch, encoder, protocol):
    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    opens = _count_opens(monkeypatch)
    res = evaluate(corpus, [encoder], runs=["image"], metrics=["AP"], protocol=protocol)
    assert len(res.per_query) and not res.skipped
    names = {os.path.basename(f.path) for f in corpus.figures}
    assert set(opens) == names and set(opens.values()) == {1}, dict(opens)


def test_an_unreadable_figure_is_still_found_and_the_others_decoded_once(tmp_path, cache, monkeypatch):
    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u', {'c2': 'corrupt'})}")
    opens = _count_opens(monkeypatch)
    res = evaluate(corpus, ["hog"], runs=["image"], metrics=["AP"])
    assert any("1 unreadable figure" in s and "c2" in r for s, r in res.skipped)
    assert "c2" not in set(res.per_query["qid"])
    assert all(n == 1 for name, n in opens.items() if name != "c2.png"), dict(opens)
    assert len(opens) == len(corpus.figures)
