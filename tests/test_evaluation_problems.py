"""Every problem a loader finds reaches where its numbers are used: evaluate's output and exit
status, results.csv / problems.csv, and the Scores page (dashboard service), with file:line."""
from __future__ import annotations

import csv

import pytest

from core.cli import main
from core.corpora import load_corpus
from core.evaluation import evaluate, loader_problems
from tests.test_bad_input import upair_folder

CASES = {
    "three columns": ("visual", "q0 0 c1\n", r"qrels_visual.txt:17: expected 4 fields"),
    "non-integer": ("visual", "q0 0 c1 yes\n", r"qrels_visual.txt:17: relevance 'yes' is not an integer"),
    "huge": ("visual", "q0 0 c1 99999999999999999999\n", r"qrels_visual.txt:17: relevance .* out of range"),
    "negative": ("visual", "q0 0 c1 -1\n", r"qrels_visual.txt:17: relevance -1 is negative"),
    "conflicting": ("visual", "q0 0 c0 0\n", r"qrels_visual.txt:17: q0 c0 judged again"),
    "unknown id": ("visual", "q0 0 nosuch 1\n", r"qrels_visual.txt: 1 judgement\(s\) name unknown ids"),
    "undecodable": ("visual", b"q0 0 c1 \xff1\n", r"qrels_visual.txt:17: not valid UTF-8"),
}


def _corpus_with(tmp_path, case: str):
    root = upair_folder(tmp_path / "u")
    axis, line, _ = CASES[case]
    with open(root / "test" / f"qrels_{axis}.txt", "ab") as fh:
        fh.write(line if isinstance(line, bytes) else line.encode())
    return root


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_qrels_line_is_a_problem_of_the_evaluation(tmp_path, cache, case):
    import re

    root = _corpus_with(tmp_path, case)
    corpus = load_corpus(f"upair:{root}")
    res = evaluate(corpus, ["hog"], runs=["image"], metrics=["AP"])
    assert res.problems and all(p.axis == "visual" for p in res.problems)
    hit = [p for p in res.problems if re.search(CASES[case][2], p.message)]
    assert hit, res.problems
    if ":17:" in CASES[case][2]:
        assert hit[0].line == 17 and hit[0].where.endswith("qrels_visual.txt:17")


@pytest.mark.parametrize("kind", ["three-columns", "empty", "folder"])
def test_an_unusable_axis_file_is_reported_and_exits_non_zero(tmp_path, cache, capsys, kind):
    root = upair_folder(tmp_path / "u")
    sem = root / "test" / "qrels_semantic.txt"
    if kind == "folder":
        sem.mkdir()
    else:
        sem.write_text("q0 0 c1\nq0 0 c2\n" if kind == "three-columns" else "")
    out = tmp_path / "runs"
    rc = main(["evaluate", "--corpus", f"upair:{root}", "--encoders", "hog", "--runs", "image", "--metrics", "AP",
               "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 3, cap
    assert "qrels_semantic.txt" in cap.out and "problem  " in cap.out and "--allow-problems" in cap.err
    if kind == "three-columns":
        assert "qrels_semantic.txt:1: expected 4 fields" in cap.out
    with open(out / "problems.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all("qrels_semantic.txt" in r["file"] for r in rows)
    assert {r["axis"] for r in rows} == {"semantic"}
    with open(out / "results.csv", newline="") as fh:
        res_rows = list(csv.DictReader(fh))
    assert res_rows and all(r["problems"] == "0" for r in res_rows if r["axis"] == "visual")
    rc = main(["evaluate", "--corpus", f"upair:{root}", "--encoders", "hog", "--runs", "image", "--metrics", "AP",
               "--allow-problems", "--protocol", "upair"])
    cap = capsys.readouterr()
    assert rc == 0 and "problem  " in cap.out and "official evaluation/run.py" in cap.out


def test_a_clean_corpus_has_no_problems_and_exits_zero(tmp_path, cache, capsys):
    root = upair_folder(tmp_path / "u")
    assert loader_problems(load_corpus(f"upair:{root}")) == ()
    out = tmp_path / "runs"
    assert main(["evaluate", "--corpus", f"upair:{root}", "--encoders", "hog", "--runs", "image", "--metrics", "AP",
                 "--out", str(out)]) == 0
    assert "problem  " not in capsys.readouterr().out
    with open(out / "problems.csv", newline="") as fh:
        assert list(csv.DictReader(fh)) == []


def test_a_skipped_metadata_record_counts_for_every_axis(tmp_path, cache):
    import json

    root = upair_folder(tmp_path / "u")
    meta = json.loads((root / "metadata.json").read_text())
    meta["q0"]["candidates"].append({"hashcode": "missing-image"})
    (root / "metadata.json").write_text(json.dumps(meta))
    res = evaluate(load_corpus(f"upair:{root}"), ["hog"], runs=["image"], metrics=["AP"])
    assert len(res.problems) == 1 and res.problems[0].axis == "" and "metadata.json" in res.problems[0].file


@pytest.mark.slow
def test_the_scores_page_lists_the_problems_with_file_and_line(tmp_path, cache, fresh_streamlit_caches):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    root = _corpus_with(tmp_path, "three columns")
    (root / "test" / "qrels_semantic.txt").mkdir()
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "custom"
    at.session_state["corpus_custom"] = f"upair:{root}"
    at.session_state["encoders"] = ["hog"]
    at.session_state["k"] = 5
    at.run()
    at.switch_page("../pages/scores.py").run()
    assert not at.exception, at.exception
    warn = [w.value for w in at.warning if "problem(s) in this benchmark" in w.value]
    assert warn and "2 problem(s)" in warn[0]
    table = next(d.value for d in at.dataframe if "where" in d.value.columns)
    assert any(w.endswith("qrels_visual.txt:17") for w in table["where"])
    assert any(w.endswith("qrels_semantic.txt") for w in table["where"])
    assert "expected 4 fields" in " ".join(table["problem"])
