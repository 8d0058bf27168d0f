"""Hostile input, property by property (hypothesis): every CLI subcommand's every flag, and every
file reader (qrels, run files, metadata.json, sidecars, citations, journals, sampling configs).

What must hold for any input: a typed result or the one error type that carries a plain message;
from the command line a message and a non-zero exit, never a traceback, and nothing written
outside the test's temporary folder. Parsers are called in-process (no subprocess per example);
the default profile keeps examples few (``UPAIR_FUZZ_EXAMPLES`` raises them).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import socket
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.errors import DatasetError

EXAMPLES = int(os.environ.get("UPAIR_FUZZ_EXAMPLES", "25"))
FEW = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
ROOT = Path(__file__).resolve().parents[1]

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
HOSTILE = st.sampled_from(["", " ", "0", "-1", "1", "1e308", "nan", "inf", "-inf", "2020-13-45", "19990101",
                           ",", ",,", "AP,nDCG@0", "../../etc/passwd", "/", "pipe:touch PWNED",
                           "http://127.0.0.1:9/x", "0.1,0.2,0.6,0.8", "a" * 300, "\u202e", "☃"])
VALUE = HOSTILE | TEXT


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """No example may reach the network (download-upair, fetch-weights with a random spec)."""
    def refuse(*a, **kw):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _subcommands():
    from core.cli import parser

    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def _flags(sp) -> list[argparse.Action]:
    return [a for a in sp._actions if a.option_strings and a.nargs is None and a.dest != "help"
            and not isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction))]


COMMANDS = sorted(_subcommands())


def _argv(data, name: str, sp) -> list[str]:
    """A command line for ``name``: every positional and a random subset of its flags, with hostile
    values (or a valid choice), the corpus always a folder that does not exist."""
    argv = [name]
    for a in sp._actions:
        if not a.option_strings and a.dest != "help":
            argv.append(data.draw(VALUE.filter(lambda v: not v.startswith("-")), label=a.dest))
    for a in _flags(sp):
        if a.dest == "corpus" or a.dest == "queries" or a.dest == "benchmark":
            argv += [a.option_strings[-1], "folder:/nonexistent/upair-fuzz"]
            continue
        if a.required or data.draw(st.booleans(), label=f"use {a.dest}"):
            pool = st.sampled_from(list(a.choices)) | VALUE if a.choices else VALUE
            value = data.draw(pool, label=a.dest)
            argv.append(f"{a.option_strings[-1]}={value}")
    return argv


# judge-export's examples write journals and exports: 20-35 s in all on the 2 shared cores
@pytest.mark.parametrize("name", [pytest.param(c, marks=pytest.mark.slow) if c == "judge-export" else c
                                  for c in COMMANDS])
def test_every_flag_of_every_subcommand_ends_in_a_message_and_a_non_zero_exit(name, tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.chdir(tmp_path)  # relative --out / --csv / --dest land here
    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "judgements"))
    sp = _subcommands()[name]
    before = sorted(p.name for p in ROOT.iterdir())

    @FEW
    @given(data=st.data())
    def check(data):
        argv = _argv(data, name, sp)
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse refused a value: status 2, a usage line naming the flag
            rc = exc.code
        out = capsys.readouterr()
        assert "Traceback" not in out.err + out.out, argv
        if name == "adapted":  # takes no input: listing what exists is a success
            assert rc == 0
            return
        assert rc not in (0, None), (argv, out)
        assert (out.err + out.out).strip(), argv

    check()
    assert sorted(p.name for p in ROOT.iterdir()) == before  # nothing written into the checkout


# --------------------------------------------------------------------------- file readers


def _bytes_file(data: bytes, suffix: str = ".txt") -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


LINES = st.lists(st.one_of(
    st.builds(lambda q, d, r: f"{q} 0 {d} {r}", st.sampled_from(["q", "q0", ""]), st.sampled_from(["d", "c0"]),
              st.sampled_from(["0", "1", "-1", "x", "1.5", "99999999999999999999", ""])),
    st.builds(lambda n: " ".join(["a"] * n), st.integers(0, 7)), TEXT), max_size=6)
RAW = st.binary(max_size=200) | LINES.map(lambda ls: "\n".join(ls).encode())


@FEW
@given(raw=RAW, strict=st.booleans())
def test_qrels_reader(raw, strict):
    from core.qrels import GRADE_RANGE, read_qrels

    p = _bytes_file(raw)
    try:
        qrels, problems = read_qrels(p, strict=strict)
    except DatasetError as exc:
        assert strict and str(p) in str(exc)
        return
    finally:
        p.unlink()
    assert all(GRADE_RANGE[0] <= r <= GRADE_RANGE[1] for d in qrels.values() for r in d.values())
    assert all(str(p) in m for m in problems)


@FEW
@given(raw=RAW | st.lists(st.builds(lambda s: f"q Q0 d 1 {s} tag", st.sampled_from(["0.5", "nan", "inf", "x", "1e999"])),
                           max_size=4).map(lambda ls: "\n".join(ls).encode()))
def test_run_file_reader(raw):
    from core.qrels import read_run

    p = _bytes_file(raw, ".run")
    try:
        run = read_run(p)
    except DatasetError as exc:
        assert str(p) in str(exc)
        return
    finally:
        p.unlink()
    assert all(math.isfinite(s) for d in run.values() for s in d.values())


JSONV = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3), max_leaves=12)


@FEW
@given(meta=JSONV | st.dictionaries(TEXT, st.fixed_dictionaries({"query": JSONV, "candidates": JSONV}), max_size=3),
       raw=st.none() | st.binary(max_size=60))
def test_metadata_reader(meta, raw):
    from core.corpora import load_corpus

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "test" / "images").mkdir(parents=True)
        (Path(d) / "metadata.json").write_bytes(raw if raw is not None else json.dumps(meta).encode())
        try:
            corpus = load_corpus(f"upair:{d}")
        except DatasetError as exc:
            assert "metadata.json" in str(exc) or d in str(exc)
            return
        assert len(corpus.figures) >= 1


@FEW
@given(side=JSONV, raw=st.none() | st.binary(max_size=60))
def test_sidecar_reader(side, raw):
    from PIL import Image

    from core.corpora import load_corpus

    with tempfile.TemporaryDirectory() as d:
        Image.new("L", (16, 16), 255).save(Path(d) / "f.png")
        (Path(d) / "f.json").write_bytes(raw if raw is not None else json.dumps(side).encode())
        corpus = load_corpus(f"folder:{d}")  # a bad sidecar is a warning, never an error
        assert len(corpus.figures) == 1


@FEW
@given(raw=RAW | JSONV.map(lambda v: json.dumps(v).encode()))
def test_citations_reader(raw):
    from core.cli.values import citations_file
    from core.corpora.citations import parse_citations

    try:
        cits = parse_citations(raw, "c")
    except ValueError as exc:
        assert str(exc)
    else:
        assert all(isinstance(k, str) and all(isinstance(c, str) for c in v) for k, v in cits.items())
    p = _bytes_file(raw, ".json")
    try:
        assert citations_file(str(p)) == p
    except argparse.ArgumentTypeError as exc:
        assert str(p) in str(exc)
    finally:
        p.unlink()


@FEW
@given(lines=st.lists(JSONV.map(json.dumps).map(str.encode) | st.binary(max_size=40), max_size=5),
       torn=st.booleans())
def test_journal_reader(lines, torn):
    from core.annotation.judgements import JournalState, replay

    raw = b"\n".join(lines) + (b"" if torn else b"\n")
    try:
        state = replay(raw, "fuzz.jsonl")
    except (ValueError, DatasetError) as exc:
        assert str(exc)
        return
    assert isinstance(state, JournalState)


@FEW
@given(cfg=JSONV, raw=st.none() | st.binary(max_size=80))
def test_sampling_config_reader(cfg, raw):
    from core.annotation.sampling.config import SamplingConfigError, load_config

    p = _bytes_file(raw if raw is not None else json.dumps(cfg).encode(), ".yaml")
    try:
        load_config(p)
    except SamplingConfigError as exc:
        assert str(exc)
    finally:
        p.unlink()


@FEW
@given(text=VALUE)
def test_value_parsers_return_typed_values_or_name_the_problem(text):
    from core.cli import values as v

    for fn, ok in [(v.positive_int, lambda x: isinstance(x, int) and x >= 1),
                   (v.nonneg_int, lambda x: isinstance(x, int) and x >= 0),
                   (v.positive_float, lambda x: math.isfinite(x) and x > 0),
                   (v.fraction, lambda x: 0 < x < 1),
                   (v.iso_date, lambda x: len(x) == 10 and x[4] == "-"),
                   (v.region_box, lambda x: x[0] < x[2] and x[1] < x[3]),
                   (v.measure_names, lambda x: bool(x)),
                   (v.nonempty, lambda x: x == x.strip() and x)]:
        try:
            value = fn(text)
        except argparse.ArgumentTypeError as exc:
            assert str(exc)
        else:
            assert ok(value), (fn.__name__, text, value)
