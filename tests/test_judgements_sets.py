"""Judgement sets: named imports refused into a used name, provenance, undo byte for byte, pair
history; import validation (ids, grades, duplicates, encoding) with file:line; replay schema;
annotator names one-to-one with files; foreign journals reported, not listed."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.annotation.judgements import JudgementStore, annotator_of_file, journal_file_name, replay
from core.annotation.judgements_check import ImportRefused, check_qrels, check_qrels_files, read_checked_dir
from core.annotation.judgements_sets import (
    SetInUse,
    import_set,
    imports,
    pair_history,
    provenance,
    undo_import,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = SimpleNamespace(by_id={f"f{i}": None for i in range(10)})
QRELS = {"visual": {"f0": {"f1": 1, "f2": 0}}, "semantic": {"f0": {"f1": 0}}, "part_whole": {"f3": {"f4": 1}}}


@pytest.fixture
def store(tmp_path, monkeypatch) -> JudgementStore:
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "judgements"))
    return JudgementStore("demo")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def test_import_into_a_used_name_is_refused_unless_added_and_undo_restores_bytes(store):
    typed = store.journal("auditor1")
    for i in range(1, 4):
        typed.record("f0", f"f{i}", {"visual": 1, "semantic": 0, "part_whole": None})
    before = _digest(typed.path)
    with pytest.raises(SetInUse, match="exists"):
        import_set(store, "auditor1", QRELS, "qrels/")
    assert _digest(typed.path) == before  # nothing written
    for reserved in ("official", "majority", "Official"):
        with pytest.raises(ValueError, match="judgement set"):
            import_set(store, reserved, QRELS, "qrels/")
    assert sorted(store.annotators()) == ["auditor1"]

    b = import_set(store, "auditor1", QRELS, "qrels/", add=True, by="tester")
    assert b.lines == 3 and b.by == "tester" and _digest(typed.path) != before
    prov = provenance(store, "auditor1")
    assert prov.typed == {"auditor1": 3} and [x.source for x in prov.imports] == ["qrels/"]
    assert any("imported from qrels/" in line and "3 line(s) (in the set)" in line for line in prov.lines())
    undo_import(store, "auditor1")
    assert _digest(typed.path) == before  # byte for byte
    assert typed.judgements()[("f0", "f1")].axes == {"visual": 1, "semantic": 0, "part_whole": None}
    assert imports(typed)[-1].undone and "(undone)" in provenance(store, "auditor1").lines()[-1]
    with pytest.raises(ValueError, match="no import"):
        undo_import(store, "auditor1")


def test_new_set_import_undo_removes_it_and_typing_after_blocks_undo(store):
    b = import_set(store, "upair", QRELS, "official qrels")
    j = store.journal("upair")
    assert b.offset == 0 and to_axes(j) == {("f0", "f1"): {"visual": 1, "semantic": 0},
                                            ("f0", "f2"): {"visual": 0}, ("f3", "f4"): {"part_whole": 1}}
    undo_import(store, "upair")
    assert not j.path.exists() and store.annotators() == []
    import_set(store, "upair", QRELS, "again")
    j.record("f5", "f6", {"visual": 1})
    size = j.path.stat().st_size
    with pytest.raises(ValueError, match="written to 'upair' after the import"):
        undo_import(store, "upair")
    assert j.path.stat().st_size == size


def to_axes(journal):
    return {p: dict(v.axes) for p, v in journal.judgements().items()}


def test_pair_history_shows_who_what_when_and_changes(store):
    a, b = store.journal("alice"), store.journal("bob")
    a.record("f0", "f1", {"visual": 1, "semantic": 1, "part_whole": 0})
    b.record("f0", "f1", {"visual": 0, "semantic": 1, "part_whole": 0})
    a.record("f0", "f1", {"visual": 0, "semantic": 1, "part_whole": 0})
    a.undo()
    import_set(store, "upair", QRELS, "qrels_dir")
    h = pair_history(store, ("f0", "f1"))
    assert [(e.set, e.source, e.undone) for e in h] == [("alice", "typed", False), ("bob", "typed", False),
                                                      ("alice", "typed", True), ("upair", "import qrels_dir", False)]
    assert h[0].change == "first judgement" and h[2].change.startswith("V1 S1 P0 → V0 S1 P0")


@pytest.mark.parametrize("text, why", [
    ("f0 0 f99 1\n", "f99' is not a figure of the corpus"),
    ("f0 0 f1 7\n", "grade 7 is not accepted: UPAIR judgements are binary, use 0 (not relevant) or 1"),
    ("f0 0 f1 -1\n", "grade -1 is not accepted"),
    ("f0 0 f1 yes\n", "not an integer"),
    ("f0 0 f1 1\nf0 0 f1 0\n", "conflicting duplicate"),
    ("f0 f1 1\n", "expected 4 fields"),
])
def test_import_validation_refuses_with_file_line(store, text, why):
    with pytest.raises(ImportRefused) as err:
        check_qrels_files({"visual": ("qrels_visual.txt", text.encode())}, CORPUS)
    line = text.count("\n")
    assert f"qrels_visual.txt:{line}: " in str(err.value) and why in str(err.value)
    assert "nothing written" in str(err.value)


def test_undecodable_ids_and_agreeing_duplicates(store):
    with pytest.raises(ImportRefused, match=r"qrels_visual.txt:2: not UTF-8 \(byte 0xff\)"):
        check_qrels_files({"visual": ("qrels_visual.txt", b"f0 0 f1 1\nf0 0 f\xff 1\n")}, CORPUS)
    ok = check_qrels_files({"visual": ("v", b"# comment\n\nf0 0 f1 1\nf0 0 f1 1\n")}, CORPUS)
    assert ok == {"visual": {"f0": {"f1": 1}}}
    with pytest.raises(ImportRefused, match="grade 2"):
        check_qrels({"visual": {"f0": {"f1": 2}}}, CORPUS, "corpus qrels")


def test_replay_refuses_wrong_shapes_naming_journal_line():
    good = {"v": 1, "id": "a1", "query": "q", "candidate": "c", "axes": {"visual": 1}}
    bad = [{"v": 1, "id": "b1", "query": "q", "candidate": "d", "axes": {"visual": 7}},
           {"v": 1, "id": "b2", "query": "q", "candidate": "e", "axes": {"colour": 1}},
           {"v": 1, "id": "b3", "query": ["q"], "candidate": "e", "axes": {}},
           {"v": 1, "id": "b4", "query": "q", "candidate": "e", "axes": {"visual": True}},
           {"v": 1, "id": "b5", "query": "q", "candidate": "e", "axes": [], "skip": False},
           {"v": 9, "id": "b6", "query": "q", "candidate": "e"},
           {"v": 1, "id": "b7", "undo": 3},
           [1, 2]]
    raw = "".join(json.dumps(r) + "\n" for r in [good, *bad]).encode()
    st = replay(raw, "alice.jsonl")
    assert list(st.judgements) == [("q", "c")]
    assert [p.split(":")[1] for p in st.problems] == [str(i) for i in range(2, 10)]
    assert "visual = '7'" in st.problems[0] or "visual = 7" in st.problems[0]
    assert all("alice.jsonl:" in p and "refused" in p for p in st.problems)


def test_annotator_names_map_one_to_one_to_files(store):
    names = ["alice smith", "alice_smith", "alice.smith", "Alice smith"]
    files = {journal_file_name(n) for n in names}
    assert len(files) == len(names) and all(annotator_of_file(journal_file_name(n)) == n for n in names)
    for n in names:
        store.journal(n).record("f0", "f1", {"visual": 1 if n == "alice smith" else 0})
    assert sorted(store.annotators()) == sorted(names)
    assert store.journal("alice smith").judgements()[("f0", "f1")].axes == {"visual": 1}
    assert store.journal("alice_smith").judgements()[("f0", "f1")].axes == {"visual": 0}
    for bad in ("../x", "a/b", "", " ", "x" * 65, "-lead"):
        with pytest.raises(ValueError, match="not usable"):
            store.journal(bad)


def test_foreign_and_garbage_journals_are_reported_not_listed(store, tmp_path):
    other = JudgementStore("upair:/elsewhere")
    other.journal("carol").record("x", "y", {"visual": 1})
    (store.dir / "carol.jsonl").write_bytes(other.journal("carol").path.read_bytes())  # copied across corpora
    (store.dir / "garbage.jsonl").write_bytes(b"\x00\x01 not json\n")
    (store.dir / "renamed.jsonl").write_bytes(store.dir.joinpath("carol.jsonl").read_bytes()
                                              .replace(b'"upair:/elsewhere"', b'"demo"'))
    store.journal("dave").record("f0", "f1", {"visual": 1})
    assert store.annotators() == ["dave"]
    probs = " | ".join(store.problems())
    assert "carol.jsonl: made on another corpus ('upair:/elsewhere'" in probs
    assert "garbage.jsonl: not a judgement journal (first line is not a JSON object on line 1)" in probs
    assert "renamed.jsonl: line 1 is by annotator 'carol' but the file name stands for 'renamed'" in probs


def _cli(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_judge_import_follows_the_same_rules(tmp_path, upair_samples):
    import os

    env = {**os.environ, "UPAIR_JUDGEMENTS": str(tmp_path / "j"), "UPAIR_CACHE": str(tmp_path / "cache")}
    spec = f"upair:{upair_samples}"
    r = _cli("judge-import", "--corpus", spec, "--set", "upair", env=env)
    assert r.returncode == 0 and "imported 5 judged pairs" in r.stdout, r.stderr
    r = _cli("judge-import", "--corpus", spec, "--set", "upair", env=env)
    assert r.returncode != 0 and "exists" in r.stderr and "confirm" in r.stderr
    r = _cli("judge-import", "--corpus", spec, "--set", "official", env=env)
    assert r.returncode != 0 and "judgement set" in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "qrels_visual.txt").write_text("nosuch 0 other 7\n")
    path = JudgementStore(spec, root=tmp_path / "j").journal("upair").path
    before = _digest(path)
    r = _cli("judge-import", "--corpus", spec, "--set", "upair", "--add", "--qrels", str(bad), env=env)
    assert r.returncode != 0 and f"{bad}/qrels_visual.txt:1: grade 7 is not accepted" in r.stderr
    assert _digest(path) == before
    r = _cli("judge-import", "--corpus", spec, "--set", "upair", "--undo", env=env)
    assert r.returncode == 0 and not path.exists(), r.stderr


def test_read_checked_dir_reads_the_shared_samples(upair_samples):
    from core import load_corpus

    corpus = load_corpus(f"upair:{upair_samples}")
    got = read_checked_dir(upair_samples, corpus)
    assert got == {a: {q: dict(d) for q, d in per.items()} for a, per in corpus.benchmark.qrels.items()}
