"""Property/fuzz layer (hypothesis) over what users and files feed the tool: corpus and encoder
specs, qrels and metadata readers, sidecars, environment variables and CLI flags.

Each property says what must hold for *any* input: a valid result, or the one error type
that carries a plain message (never a traceback from deeper down). Runs in well under a minute.
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.errors import ConfigError, DatasetError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

PREFIXES = st.sampled_from(["", "demo", "demo:", "upair:", "query-patents:", "folder:", "webdataset:",
                            "bogus:", " upair: ", "UPAIR:", "folder:./"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4), max_leaves=20)


# --------------------------------------------------------------------------- corpus specs


@FAST
@given(prefix=PREFIXES, rest=TEXT)
def test_corpus_spec_parses_or_says_what_it_expects(prefix, rest):
    from core.corpora import CORPUS_KINDS, parse_spec

    spec = prefix + rest
    assume(not Path(spec.strip() or "x").expanduser().is_dir())  # a real folder would be loaded
    try:
        kind, path = parse_spec(spec)
    except DatasetError as exc:
        assert str(exc)
        return
    assert kind in CORPUS_KINDS
    if kind == "demo":
        assert path is None and spec.strip() == "demo"
    else:
        assert path and path == path.strip()


@FAST
@given(kind=st.sampled_from(["upair", "query-patents", "folder"]), rest=TEXT)
def test_loading_any_spec_under_an_empty_folder_raises_only_dataset_errors(kind, rest):
    from core.corpora import load_corpus

    with tempfile.TemporaryDirectory() as d:
        try:
            load_corpus(f"{kind}:{d}/{rest}")
        except DatasetError as exc:
            assert str(exc)


# --------------------------------------------------------------------------- encoder specs


@FAST
@given(prefix=st.sampled_from(["", "hog", "ahdh", "tfidf", "clip:", "clip:ViT-B-32:", "timm:", "patentnet:",
                               "text:", "hog@", "clip:hf-hub:", "tfidf@upair", "hog@nope"]), rest=TEXT)
def test_encoder_spec_builds_or_raises_value_error_and_never_breaks_availability(prefix, rest):
    from core.encoders import get_encoder

    spec = prefix + rest
    try:
        enc = get_encoder(spec)
    except ValueError as exc:
        assert str(exc)
        return
    if prefix.startswith(("clip", "timm", "patentnet", "text")):
        return  # availability of those may import torch; covered by the encoder tests
    av = enc.availability()
    assert isinstance(av.ok, bool) and (av.ok or av.reason)


@FAST
@given(st.lists(st.sampled_from(["", " ", ",", "hog", "ahdh", "nope", "upair-sampling"]), max_size=6))
def test_the_encoders_flag_selects_something_or_says_why(parts):
    from core.cli.common import parse_encoders

    arg = ",".join(parts)
    try:
        specs = parse_encoders(arg)
    except ValueError as exc:
        assert "encoder" in str(exc)
        return
    assert specs and all(s.strip() == s and s for s in specs)


# --------------------------------------------------------------------------- qrels


QRELS_LINE = st.one_of(
    st.tuples(TEXT, st.integers(), TEXT, st.integers(min_value=-(2**70), max_value=2**70)).map(
        lambda t: f"{t[0]} {t[1]} {t[2]} {t[3]}"),
    TEXT,
)


@FAST
@given(st.lists(QRELS_LINE, max_size=12), st.binary(max_size=20))
def test_qrels_reader_returns_in_range_grades_or_names_the_line(lines, noise):
    from core.qrels import GRADE_RANGE, read_qrels, write_qrels

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "q.txt"
        p.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + noise)
        qrels, problems = read_qrels(p, strict=False)
        for docs in qrels.values():
            assert all(GRADE_RANGE[0] <= r <= GRADE_RANGE[1] for r in docs.values())
        assert all(str(p) in m for m in problems)
        try:
            strict, _ = read_qrels(p, strict=True)
            assert strict == qrels
        except DatasetError as exc:
            assert f"{p}:" in str(exc)
        clean = {q: d2 for q, d2 in qrels.items() if q.split() == [q] and all(k.split() == [k] for k in d2)}
        write_qrels(Path(d) / "w.txt", clean)
        assert read_qrels(Path(d) / "w.txt")[0] == {q: v for q, v in clean.items() if v}


# --------------------------------------------------------------------------- metadata and sidecars


@FAST
@given(st.one_of(JSON, st.dictionaries(TEXT, st.fixed_dictionaries(
    {"query": st.fixed_dictionaries({"hashcode": TEXT | st.integers()}, optional={"title": JSON}),
     "candidates": st.lists(st.dictionaries(st.sampled_from(["hashcode", "title", "component_labels"]), JSON))}),
    max_size=3)))
def test_metadata_reader_loads_or_names_the_file(meta):
    from core.corpora import load_corpus

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "metadata.json").write_text(json.dumps(meta))
        try:
            corpus = load_corpus(f"upair:{d}")
        except DatasetError as exc:
            assert "metadata.json" in str(exc)
            return
        assert len(corpus) == 0 or all(f.path.is_file() for f in corpus.figures)


@FAST
@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_sidecar_reader_never_raises(data):
    from core.corpora.query_patents import figure_from_sidecar, read_sidecar

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.json"
        p.write_bytes(data)
        warnings: list[str] = []
        meta = read_sidecar(p, warnings)
        assert isinstance(meta, dict)
        assert all(str(p) in w for w in warnings)
        fig = figure_from_sidecar("x", Path(d) / "x.png", meta, "folder")
        assert isinstance(fig.title, str) and all(isinstance(lab, str) for lab in fig.labels)


# --------------------------------------------------------------------------- environment and flags


@FAST
@given(TEXT)
def test_integer_environment_variables_are_checked(raw):
    from core.config import env_int

    assume("\x00" not in raw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UPAIR_TEST_INT", raw)
        try:
            v = env_int("UPAIR_TEST_INT", 7)
        except ConfigError as exc:
            assert "UPAIR_TEST_INT" in str(exc)
            return
    assert isinstance(v, int) and v >= 1


@FAST
@given(TEXT | st.integers().map(str) | st.floats().map(str))
def test_count_and_weight_flags_accept_only_valid_numbers(raw):
    from core.cli.common import finite_float, positive_int

    try:
        assert positive_int(raw) >= 1
    except argparse.ArgumentTypeError:
        pass
    try:
        assert math.isfinite(finite_float(raw))
    except argparse.ArgumentTypeError:
        pass


@FAST
@given(k=TEXT | st.integers(-5, 5).map(str),
       runs=st.lists(st.sampled_from(["", ",", " ", "image", "bogus"]), max_size=4))
def test_cli_flags_parse_to_valid_values_or_exit_2(k, runs):
    from core.cli import parser

    assume(not k.startswith("-") or k.lstrip("-").isdigit())
    try:
        args = parser().parse_args(["search", "-k", k, "q"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        assert args.k >= 1
    from core.cli.common import csv_names

    try:
        names = csv_names(",".join(runs), "--runs")
    except ValueError as exc:
        assert "--runs" in str(exc)
    else:
        assert names and all(n == n.strip() and n for n in names)


FLAG_VALUES = TEXT | st.sampled_from(["0", "-1", "1", "nan", "inf", ",", ",,,", " ", "hog", "hog,,ahdh", "image", "AP"])


@FAST
@given(cmd=st.sampled_from(["search", "build", "evaluate", "info"]), k=FLAG_VALUES, enc=FLAG_VALUES,
       runs=FLAG_VALUES, weight=FLAG_VALUES)
def test_the_cli_answers_any_flag_values_with_a_message_and_status_2(cmd, k, enc, runs, weight, capsys):
    from core.cli import main

    assume(all(not v.startswith("-") or v.lstrip("-").replace(".", "").isdigit() for v in (k, enc, runs, weight)))
    assume("\x00" not in enc + k + runs + weight)
    argv = {"search": ["search", "-k", k, "--encoders", enc, "q"],
            "build": ["build", "--encoders", enc],
            "evaluate": ["evaluate", "--encoders", enc, "--runs", runs, "--weight", weight],
            "info": ["info"]}[cmd] + ["--corpus", "folder:/nonexistent/upair-fuzz"]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse refused a flag value
        assert exc.code == 2
    else:
        assert rc == 2  # the corpus does not exist: never success
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
