"""The numeral build (core.numerals): Tesseract reads the numerals drawn on constructed figures
at their places, links them to the names the description gives, caches per image (resumable,
damaged files re-read) and the CLI prints it. Skips with a reason when Tesseract is absent."""
from __future__ import annotations

import json

import pytest

from core.corpora import load_corpus
from core.numerals import build_numerals, engine_available, link, Token
from core.numerals import build as nb
from tests.numeral_figures import FIGURES, write_corpus

TESSERACT = engine_available("tesseract")
needs_tesseract = pytest.mark.skipif(bool(TESSERACT), reason=f"needs Tesseract: {TESSERACT}")


@pytest.fixture
def corpus(tmp_path, cache):
    return load_corpus(f"query-patents:{write_corpus(tmp_path / 'figs')}")


def test_link_names_numerals_without_ocr(corpus):
    fig = corpus.by_id["fig1"]
    fn = link(fig, [Token("20", (1, 2, 3, 4), 90), Token("(22a)", (5, 6, 7, 8), 90), Token("FIG", (0, 0, 1, 1), 90),
                    Token("99", (9, 9, 9, 9), 90)])
    assert [(n.key, n.label) for n in fn.numerals] == [("20", "frame"), ("22a", "roller"), ("99", "")]
    assert fn.parts() == [("20", "frame"), ("22a", "roller")]
    assert [n.key for n in fn.matching("Rollers")] == ["22a"] and fn.matching("lid") == ()
    assert fn.names["24"] == "spring"  # named in the description, not read in the drawing


@needs_tesseract
@pytest.mark.slow
def test_build_reads_links_and_caches(corpus, cache, monkeypatch):
    b = build_numerals(corpus)
    assert (b.read, b.cached) == (3, 0)
    for i, (patent, (_, drawn)) in enumerate(FIGURES.items()):
        fn = b.figures[f"fig{i}"]
        got = {n.key: n for n in fn.numerals}
        for text, (x, y), name in drawn:
            assert text in got, (patent, text, list(got))
            n = got[text]
            assert n.label == name
            x0, y0, x1, y1 = n.box  # the box covers where the numeral was printed (18 px font)
            assert x0 - 4 <= x + 2 and x1 >= x + 8 and y0 - 6 <= y + 6 and y1 >= y + 10, (text, n.box, (x, y))
        assert set(got) <= {t for t, _, _ in drawn}  # nothing invented
    assert b.summary()["linked"] == sum(len(v[1]) for v in FIGURES.values())
    # a second build reads nothing; a damaged cache file is read again, only that one
    calls = []
    real = nb.read_figure
    monkeypatch.setattr(nb, "read_figure", lambda fig, engine="tesseract": calls.append(fig.id) or real(fig, engine))
    again = build_numerals(corpus)
    assert (again.read, again.cached, calls) == (0, 3, [])
    files = sorted((cache / "numerals").rglob("*.json"))
    assert len(files) == 3
    doc = json.loads(files[0].read_text())
    doc["tokens"] = doc["tokens"][:1] + [{"text": "77", "box": [0, 0, 1, 1], "conf": 99.0}]
    files[0].write_text(json.dumps(doc))
    third = build_numerals(corpus)
    assert (third.read, third.cached, len(calls)) == (1, 2, 1)
    assert {f: [n.key for n in v.numerals] for f, v in third.figures.items()} == \
        {f: [n.key for n in v.numerals] for f, v in b.figures.items()}


def test_unreadable_figure_is_recorded_not_fatal(corpus, monkeypatch):
    bad = corpus.by_id["fig2"].path
    bad.write_bytes(b"not a png")
    monkeypatch.setattr(nb, "engine_key", lambda engine: "k")
    monkeypatch.setattr(nb, "read_figure", lambda fig, engine="tesseract": ([], "") if fig.id != "fig2"
                        else ([], "cannot decode"))
    b = build_numerals(corpus)
    assert b.figures["fig2"].error and b.figures["fig0"].error == ""
    assert b.summary()["unreadable"] == 1


def test_unknown_engine_lists_engines():
    from core.numerals import get_engine

    with pytest.raises(ValueError, match="tesseract, rapidocr"):
        get_engine("abbyy")


@needs_tesseract
@pytest.mark.slow
def test_cli_prints_counts_and_one_figure(corpus, capsys):
    from core.cli import main

    assert main(["numerals", "--corpus", corpus.name]) == 0
    out = capsys.readouterr().out
    assert "linked" in out and "numerals" in out
    assert main(["numerals", "--corpus", corpus.name, "--show", "fig0"]) == 0
    out = capsys.readouterr().out
    assert "housing" in out and "spring" in out
    assert main(["numerals", "--corpus", corpus.name, "--show", "nope"]) == 2
    assert main(["numerals", "--corpus", corpus.name, "--engine", "abbyy"]) == 2
