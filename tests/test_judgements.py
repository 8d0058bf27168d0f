"""The judgement journal: latest wins, undo, torn lines, concurrent writers, SIGKILL, qrels in/out."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.annotation.judgements import Journal, JudgementStore, replay
from core.annotation.judgements_qrels import export_qrels, export_upair, import_qrels, read_qrels_dir, to_qrels
from core.annotation.judgements_queue import blind_order, progress, resume_at
from core.annotation.pooling import judged_at_k, unjudged_top_k
from core.qrels import read_qrels

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def jroot(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "judgements"
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(d))
    return d


def test_latest_wins_and_undo(jroot):
    j = JudgementStore("demo").journal("alice")
    j.record("q1", "c1", {"visual": 1})
    j.record("q1", "c1", {"visual": 1, "semantic": 0, "part_whole": None})
    j.record("q1", "c2", skip=True)
    cur = j.judgements()
    assert cur[("q1", "c1")].axes == {"visual": 1, "semantic": 0, "part_whole": None}
    assert cur[("q1", "c1")].complete and cur[("q1", "c2")].complete and cur[("q1", "c2")].skip
    assert to_qrels(cur) == {"visual": {"q1": {"c1": 1}}, "semantic": {"q1": {"c1": 0}}, "part_whole": {}}
    before = j.undo()  # withdraws the skip of c2
    assert before.candidate == "c2" and ("q1", "c2") not in j.judgements()
    before = j.undo()  # withdraws the second line of c1: the first one is current again
    assert before.axes["semantic"] == 0
    assert j.judgements()[("q1", "c1")].axes == {"visual": 1}
    j.undo()
    assert j.judgements() == {} and j.undo() is None
    lines = j.path.read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(x)["annotator"] == "alice" for x in lines)  # nothing erased


def test_bad_names_and_values(jroot):
    store = JudgementStore("demo")
    for bad in ("", "../x", "majority", "a/b"):
        with pytest.raises(ValueError, match="annotator|judgement set"):
            store.journal(bad)
    with pytest.raises(ValueError, match="unknown axis"):
        store.journal("bob").record("q", "c", {"colour": 1})
    with pytest.raises(ValueError, match="use 1"):
        store.journal("bob").record("q", "c", {"visual": 2})


def test_torn_last_line_is_ignored_and_next_write_is_clean(jroot):
    j = JudgementStore("demo").journal("carol")
    j.record("q", "a", {"visual": 1})
    j.record("q", "b", {"visual": 0})
    with open(j.path, "ab") as fh:
        fh.write(b'{"v": 1, "id": "dead", "query": "q", "candid')  # a crash mid-line
    st = j.read()
    assert st.torn and len(st.problems) == 1 and "incomplete" in st.problems[0]
    assert set(st.judgements) == {("q", "a"), ("q", "b")}
    j.record("q", "c", {"visual": 1})  # must start on a new line
    st = j.read()
    assert set(st.judgements) == {("q", "a"), ("q", "b"), ("q", "c")} and not st.torn
    assert len(st.problems) == 1 and "unreadable" in st.problems[0]


def test_last_line_without_newline_but_complete_counts():
    rec = {"id": "x", "query": "q", "candidate": "c", "axes": {"visual": 1}}
    st = replay(json.dumps(rec).encode())
    assert not st.torn and st.judgements[("q", "c")].axes == {"visual": 1}


WRITER = textwrap.dedent("""
    import sys
    from core.annotation.judgements import Journal
    folder, annotator, prefix, n, forever = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
    j = Journal(folder, annotator)
    for i in range(n):
        j.record("q", f"{prefix}-{i}", {"visual": i % 2, "semantic": 1, "part_whole": None})
        print(i, flush=True)  # after record() returned: the line is on disk
    while forever:
        j.record("q", "forever", {"visual": 1})
""")


def test_two_writers_of_one_annotator_interleave_whole_lines(tmp_path):
    folder = tmp_path / "j"
    folder.mkdir()
    # two processes appending to one annotator's journal (two tabs served by two workers)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), "dora", f"w{w}", "200", "0"],
                              cwd=ROOT, stdout=subprocess.DEVNULL) for w in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    st = Journal(folder, "dora").read()
    assert not st.problems and len(st.judgements) == 400
    assert len((folder / "dora.jsonl").read_text().splitlines()) == 400


def test_sigkill_while_judging_loses_nothing_written(tmp_path):
    folder = tmp_path / "j"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), "eve", "eve", "50", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    for line in proc.stdout:  # each number is printed after record() returned (fsynced)
        acknowledged = int(line)
        if acknowledged == 49:
            break
    time.sleep(0.3)  # let it append "forever" lines
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGKILL
    st = Journal(folder, "eve").read()
    got = {c for _, c in st.judgements}
    assert {f"eve-{i}" for i in range(50)} <= got
    for i in range(50):
        assert st.judgements[("q", f"eve-{i}")].axes == {"visual": i % 2, "semantic": 1, "part_whole": None}
    assert len(st.problems) <= 1  # at most the line being written when the kill came


def test_import_export_roundtrip(jroot, tmp_path, upair_samples):
    official = read_qrels_dir(upair_samples)
    j = JudgementStore("upair-samples").journal("upair")
    assert import_qrels(j, official, source="upair") == 5
    back = to_qrels(j.judgements())
    assert back == {a: {q: dict(d) for q, d in official[a].items()} for a in official}
    files = export_qrels(back, tmp_path / "out")
    for axis, f in zip(("visual", "semantic", "part_whole"), files):
        assert read_qrels(f)[0] == official[axis]


def test_upair_layout_export_loads_as_a_corpus(jroot, tmp_path, upair_samples):
    from core import load_corpus

    corpus = load_corpus(f"upair:{upair_samples}")
    qrels = {a: {q: dict(d) for q, d in corpus.benchmark.qrels[a].items()} for a in corpus.benchmark.qrels}
    qrels["visual"][corpus.benchmark.queries[0]] = {c: 1 for c in corpus.candidates_for(corpus.benchmark.queries[0])}
    out = export_upair(corpus, qrels, tmp_path / "upair-out")
    again = load_corpus(f"upair:{out}")
    assert not again.warnings
    assert {a: dict(again.benchmark.qrels[a]) for a in again.benchmark.qrels} == qrels
    f0 = corpus.by_id[corpus.benchmark.queries[0]]
    g0 = again.by_id[f0.id]
    assert (g0.title, g0.description, g0.labels, g0.patent) == (f0.title, f0.description, f0.labels, f0.patent)


def test_store_lists_annotators_and_queue_order(jroot):
    store = JudgementStore("demo")
    store.journal("ann b").record("q", "c", {"visual": 1})
    store.journal("alice").record("q", "c", {"visual": 0})
    assert store.annotators() == ["alice", "ann b"]
    pairs = [(f"q{i}", f"c{j}") for i in range(4) for j in range(6)]
    a1, a2, b = blind_order(pairs, "alice", "p"), blind_order(pairs, "alice", "p"), blind_order(pairs, "bob", "p")
    assert a1 == a2 and a1 != b and sorted(a1) == sorted(pairs)
    qs = [q for q, _ in a1]
    assert all(len(set(qs[i * 6:(i + 1) * 6])) == 1 for i in range(4))  # grouped by query
    j = store.journal("alice")
    j.record(*a1[0], {"visual": 1, "semantic": 1, "part_whole": 0})
    j.record(*a1[1], {"visual": 1})  # incomplete
    cur = j.judgements()
    assert resume_at(a1, cur) == 1
    pr = progress(a1, cur)
    assert (pr.done, pr.total, pr.per_query[a1[0][0]]) == (1, 24, (1, 6))


def test_unjudged_pool_and_judged_at_k_by_hand():
    qrels = {"visual": {"q": {"a": 1, "b": 0}}, "semantic": {"q": {"c": 0}}}
    runs = {"s1": {"q": ["a", "x", "b", "y", "z"]}, "s2": {"q": ["y", "c", "w", "a"]}}
    # top-3 of s1: a(j) x b(j) -> x ; top-3 of s2: y c(j) w -> y, w ; x and y at rank 0/1
    assert unjudged_top_k(runs, qrels, 3) == [("q", "y"), ("q", "x"), ("q", "w")]
    judged = {"a", "b", "c"}
    assert judged_at_k(runs["s1"]["q"], judged, 3) == pytest.approx(2 / 3)
    assert judged_at_k(runs["s2"]["q"], judged, 4) == pytest.approx(2 / 4)
    assert judged_at_k([], judged, 3) == 0.0


def test_cli_import_agreement_export(jroot, tmp_path, upair_samples, capsys):
    from core.cli import main

    spec = f"upair:{upair_samples}"
    assert main(["judge-import", "--corpus", spec, "--annotator", "upair"]) == 0
    assert main(["judge-agreement", "--corpus", spec]) == 1  # one annotator only
    assert main(["judge-export", "--corpus", spec, "--set", "annotator:upair", "--out", str(tmp_path / "o")]) == 0
    for axis in ("visual", "semantic", "part_whole"):
        got = read_qrels(tmp_path / "o" / f"qrels_{axis}.txt")[0]
        assert got == read_qrels(upair_samples / "test" / f"qrels_{axis}.txt")[0]
    assert main(["judge-export", "--corpus", spec, "--set", "annotator:nobody", "--out", str(tmp_path / "x")]) == 2
    assert "no judgements by 'nobody'" in capsys.readouterr().err


def test_top_k_and_mean_judged_at_k_by_hand():
    from core.annotation.pooling import mean_judged_at_k, top_k

    scores = {"q1": {"a": 0.9, "b": 0.5, "c": 0.7, "d": 0.5}, "q2": {"x": 0.1, "y": 0.2}}
    # ties: docid descending, as trec_eval
    assert top_k(scores, 3) == {"q1": ["a", "c", "d"], "q2": ["y", "x"]}
    qrels = {"visual": {"q1": {"a": 1, "d": 0}}, "semantic": {"q2": {"x": 0}}}
    # q1: a, d judged of a c d -> 2/3 ; q2: x of y x -> 1/2
    assert mean_judged_at_k(top_k(scores, 3), qrels, 3) == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_two_tabs_in_one_server_process_threads(tmp_path):
    import threading

    folder = tmp_path / "j"
    folder.mkdir()

    def tab(w: int) -> None:
        j = Journal(folder, "fay")  # each tab (script run) has its own Journal object
        for i in range(100):
            j.record("q", f"t{w}-{i}", {"visual": 1})
            if i % 10 == 0:
                j.read()  # reads interleave with the other tabs' writes

    threads = [threading.Thread(target=tab, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    st = Journal(folder, "fay").read()
    assert not st.problems and len(st.judgements) == 400
    assert replay((folder / "fay.jsonl").read_bytes()).judgements == st.judgements  # incremental == full


def test_incremental_read_equals_full_replay(jroot):
    j = JudgementStore("demo").journal("gil")
    for i in range(30):
        j.record("q", f"c{i % 7}", {"visual": i % 2})
        if i % 4 == 0:
            j.undo()
        assert j.read().judgements == replay(j.path.read_bytes()).judgements


def test_replay_matches_a_model_of_latest_wins_and_undo(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as hs

    ops = hs.lists(hs.one_of(hs.tuples(hs.just("rec"), hs.integers(0, 3), hs.sampled_from([0, 1, None])),
                             hs.tuples(hs.just("undo"))), max_size=25)
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops)
    def check(seq):
        folder = tmp_path / f"h{next(counter)}"
        j = Journal(folder, "hyp")
        live: list[tuple[str, int | None]] = []  # the model: a stack of live answers
        for op in seq:
            if op[0] == "rec":
                j.record("q", f"c{op[1]}", {"visual": op[2]})
                live.append((f"c{op[1]}", op[2]))
            else:
                j.undo()
                if live:
                    live.pop()
        expect = {}
        for c, v in live:
            expect[("q", c)] = {"visual": v}
        assert {p: dict(x.axes) for p, x in j.judgements().items()} == expect

    check()
