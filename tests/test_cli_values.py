"""CLI values (core.cli.values): parsed once, range-checked, the message naming the flag; dates
are dates; --dry-run checks what the real run checks; several-figure queries check every part."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from core.cli import main, parser
from core.examiner.dates import not_before, parse_date, query_priority


def _refused(capsys, argv: list[str], flag: str, words: str) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert f"argument {flag}" in err and words in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, flag, words", [
    (["examine", "x", "--priority", "2020-13-45"], "--priority", "not a date"),
    (["examine", "x", "--priority", "garbage"], "--priority", "not a date"),
    (["examine", "x", "--priority", "2019-02-29"], "--priority", "not a date"),
    (["examine", "x", "--priority", "2020-0101"], "--priority", "not a date"),
    (["examine", "x", "--region", "0.5,0.5,0.2,0.9"], "--region", "empty"),
    (["examine", "x", "--region", "0,0,nan,1"], "--region", "fractions"),
    (["adapt", "--out", "m", "--lr", "inf"], "--lr", "finite"),
    (["adapt", "--out", "m", "--lr", "nan"], "--lr", "finite"),
    (["adapt", "--out", "m", "--lr", "0"], "--lr", "above 0"),
    (["adapt", "--out", "m", "--lr=-1e-3"], "--lr", "above 0"),
    (["adapt", "--out", "m", "--val-fraction", "1"], "--val-fraction", "between 0 and 1"),
    (["adapt", "--out", "m", "--wd", "-0.1"], "--wd", "at least 0"),
    (["adapt", "--out", "m", "--batch-size", "0"], "--batch-size", "at least 1"),
    (["adapt", "--out", "m", "--epochs", "1.5"], "--epochs", "not a whole number"),
    (["adapt", "--out", ""], "--out", "empty"),
    (["sample", "--out", "o", "--limit", "-1"], "--limit", "at least 0"),
    (["sample", "--out", "o", "--seed", "1e3"], "--seed", "not a whole number"),
    (["sample", "--out", "o", "--seed", str(2 ** 70)], "--seed", "too large"),
    (["examine", "x", "--csv", "/"], "--csv", "is a folder"),
    (["examine", "x", "--report", "/nonexistent-dir/r.html"], "--report", "does not exist"),
    (["search", ""], "query", "empty"),
    (["sample", "--out", "o", "--config", "a" * 300], "--config", "File name too long"),  # found by the fuzzer
    (["examine", "x", "--csv", "a" * 300 + "/x.csv"], "--csv", "File name too long"),
    (["fetch-weights", ""], "encoder", "empty"),
    (["fetch-weights", "   "], "encoder", "empty"),
    (["search", "x", "--corpus", ""], "--corpus", "empty"),
    (["evaluate", "--weight", "inf"], "--weight", "finite"),
    (["build", "--engine", "local", "--workers", "-2"], "--workers", "at least 1"),
    (["build", "--engine", "ray", "--address", "pipe:touch x"], "--address", "not a Ray address"),
    (["build", "--engine", "ray", "--address", "http://evil:80"], "--address", "not a Ray address"),
    (["build", "--engine", "ray", "--address", "host:99999"], "--address", "not a Ray address"),
])

def test_bad_values_are_refused_naming_the_flag(capsys, argv, flag, words):
    _refused(capsys, argv, flag, words)


@pytest.mark.parametrize("value", ["auto", "10.0.0.5:6379", "ray://head.local:10001", "localhost:6390", "[::1]:6379"])
def test_ray_addresses_in_the_documented_forms_are_taken(value):
    assert parser().parse_args(["build", "--engine", "ray", "--address", value]).address == value


def test_citations_must_be_a_real_citations_file(tmp_path, capsys):
    (tmp_path / "any.txt").write_text("just some words\nno commas here\n")
    (tmp_path / "bad.json").write_text('{"US1": 3}')
    (tmp_path / "header.csv").write_text("citing,cited\n")
    (tmp_path / "ok.csv").write_text("citing,cited\nUS1,US2\n")
    for name, words in [("any.txt", "no citations found"), ("bad.json", "expected {citing patent"),
                        ("header.csv", "no citations"), ("missing.csv", "not a file")]:
        _refused(capsys, ["examine", "x", "--citations", str(tmp_path / name)], "--citations", words)
        _refused(capsys, ["sample", "--out", "o", "--citations", str(tmp_path / name)], "--citations", words)
    _refused(capsys, ["sample", "--out", "o", "--citations", str(tmp_path)], "--citations", "folder")
    args = parser().parse_args(["sample", "--out", "o", "--citations", str(tmp_path / "ok.csv")])
    assert args.citations == tmp_path / "ok.csv"


def test_metrics_with_a_zero_cutoff_are_refused(capsys):
    assert main(["evaluate", "--metrics", "AP,nDCG@0"]) == 2
    assert "--metrics 'nDCG@0': a cutoff must be a whole number of at least 1" in capsys.readouterr().err
    assert main(["evaluate", "--metrics", "AP,nDCG@x"]) == 2
    assert "nDCG@x" in capsys.readouterr().err


# --------------------------------------------------------------------------- dates


def test_both_date_spellings_give_the_same_date_and_impossible_dates_none():
    assert parse_date("1999-01-01") == parse_date("19990101") == dt.date(1999, 1, 1)
    for bad in ["2020-13-45", "garbage", "2019-02-29", "", None, "1999-0101", "199901011", " 1999-1-1"]:
        assert parse_date(bad) is None, bad
    args_a = parser().parse_args(["examine", "x", "--priority", "19990101"])
    args_b = parser().parse_args(["examine", "x", "--priority", "1999-01-01"])
    assert args_a.priority == args_b.priority == "1999-01-01"


class _Fig:
    def __init__(self, fid, date):
        self.id, self.priority_date, self.publication_date = fid, date, ""


class _Corpus:
    def __init__(self, figs):
        self.figures = figs
        self.by_id = {f.id: f for f in figs}


def test_earlier_art_compares_dates_not_strings():
    c = _Corpus([_Fig("a", "1998-12-31"), _Fig("b", "19981231"), _Fig("c", "1999-01-01"), _Fig("d", "20000101"),
                 _Fig("e", "garbage"), _Fig("f", "")])
    for bound in ("1999-01-01", "19990101"):
        assert not_before(c, bound) == {"c", "d", "e", "f"}  # a and b are earlier, whatever their spelling
    assert query_priority(c, ["d", "b", "e"]) == "1998-12-31"
    with pytest.raises(ValueError, match="not a date"):
        not_before(c, "2020-13-45")


# --------------------------------------------------------------------------- sampling config


def test_a_sampling_config_whose_groups_are_all_empty_is_refused(tmp_path):
    import yaml

    from core.annotation.sampling.config import DEFAULT_YAML, SamplingConfigError, load_config

    raw = yaml.safe_load(DEFAULT_YAML)
    for rel in raw["groups"].values():
        for spec in rel.values():
            spec["size"] = 0
    path = tmp_path / "zero.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SamplingConfigError, match=r"zero.yaml: groups: every group's size is 0"):
        load_config(path)
    (tmp_path / "latin1.yaml").write_bytes(b"indices: \xff\xfe")
    with pytest.raises(SamplingConfigError, match="not UTF-8"):
        load_config(tmp_path / "latin1.yaml")


# --------------------------------------------------------------------------- adapt


def test_adapt_spec_refuses_non_finite_values():
    from core.adapt.spec import AdaptConfig, AdaptError

    for change in ({"lr": float("inf")}, {"lr": float("nan")}, {"wd": float("nan")}, {"val_fraction": float("nan")}):
        with pytest.raises(AdaptError):
            AdaptConfig().with_(**change).validate()


def test_adapt_dry_run_checks_what_the_real_run_checks(cache, query_patents, capsys):
    # the real run refuses these before training; --dry-run used to print the pairs and exit 0
    qp = f"query-patents:{query_patents}"
    base = ["adapt", "--corpus", qp, "--batch-size", "8", "--dry-run"]
    assert main([*base, "--out", "m", "--pretrained", "none"]) == 0
    for extra, words in [(["--out", "m", "--arch", "NoSuchArch-1", "--pretrained", "none"], "unknown open_clip"),
                         (["--out", "m"], "fetch-weights clip:ViT-B-16:laion400m_e32"),  # weights not here
                         (["--out", "bad name!", "--pretrained", "none"], "bad name!"),
                         (["--out", "m", "--pretrained", "none", "--device", "cpu", "--precision", "amp"],
                          "mixed precision")]:
        capsys.readouterr()
        assert main([*base, *extra]) == 2, extra
        assert words in capsys.readouterr().err, extra


def test_a_diverged_model_is_never_published(tmp_path):
    import torch

    from core.adapt.spec import AdaptError
    from core.adapt.train import _check_finite

    good, bad = tmp_path / "good.pt", tmp_path / "bad.pt"
    torch.save({"state_dict": {"w": torch.ones(3), "n": torch.tensor(3)}}, good)
    torch.save({"state_dict": {"w": torch.tensor([1.0, float("nan")])}}, bad)
    _check_finite(good, "m")
    with pytest.raises(AdaptError, match="diverged"):
        _check_finite(bad, "m")


# --------------------------------------------------------------------------- every part of a query


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from core import load_corpus
    from core.search import get_index

    mp = pytest.MonkeyPatch()
    mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("values_cache")))
    corpus = load_corpus("demo")
    indices = {s: get_index(corpus, s, show_bar=False) for s in ("hog", "tfidf")}
    yield corpus, indices
    mp.undo()


def _png(array) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("combine", ["mean", "rrf"])
def test_a_blank_added_figure_is_refused_under_both_combinations(demo, combine):
    from core.examiner import ExaminerQuery, QueryPart, search_query
    from core.figures import ImageError

    corpus, indices = demo
    q = corpus.figures[0].id
    blank = QueryPart(image=_png(np.full((64, 64), 255)), name="blank.png")
    query = ExaminerQuery((QueryPart(figure=q), blank), combine)
    with pytest.raises(ImageError, match=r"query figure 2 \(blank.png\) has no drawn content"):
        search_query(corpus, query, ["hog"], k=5, indices=indices)


def test_a_region_with_a_text_only_encoder_says_why(demo, capsys):
    from core.examiner import ExaminerQuery, QueryPart, Region, search_query

    corpus, indices = demo
    q = corpus.figures[0].id
    single = search_query(corpus, ExaminerQuery((QueryPart(figure=q, region=Region(0, 0, 0.6, 0.6)),)),
                          ["hog", "tfidf"], k=5, indices=indices)
    assert single.results["hog"].neighbours and "reads text, not drawings" in single.results["tfidf"].error
    two = search_query(corpus, ExaminerQuery((QueryPart(figure=q, region=Region(0, 0, 0.6, 0.6)),
                                              QueryPart(figure=corpus.figures[1].id)), "rrf"),
                       ["hog", "tfidf"], k=5, indices=indices)
    assert two.results["hog"].neighbours and "reads text, not drawings" in two.results["tfidf"].error
    rc = main(["examine", q, "--corpus", "demo", "--encoders", "hog,tfidf", "--region", "0,0,0.6,0.6", "-k", "3"])
    out = capsys.readouterr().out
    assert rc == 0 and "no hits   tfidf:" in out and "reads text, not drawings" in out


def test_examine_priority_spellings_give_the_same_figures(demo, capsys):
    corpus, _ = demo
    q = corpus.figures[0].id
    outs = []
    for prio in ("2005-06-01", "20050601"):
        assert main(["examine", q, "--corpus", "demo", "--encoders", "hog", "--earlier", "--priority", prio,
                     "-k", "5"]) in (0, 2)
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and "priority before 2005-06-01" in outs[0]
    json.dumps(outs)
