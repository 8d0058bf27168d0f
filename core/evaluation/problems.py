"""What the loaders found wrong in a benchmark, carried to every place its numbers are used.

A corpus loader never stops at a bad record: it skips or resolves it and says so in
``corpus.warnings`` (``file:line: what``). Each such warning can change a number — a qrels line
with 3 fields, a grade that is not an integer or out of range, a pair judged twice with
different grades, judgements naming unknown ids, undecodable bytes, an empty qrels file or a
folder where a qrels file should be (the axis is then not judged at all), a metadata record
skipped (a candidate list shorter than the file says). :func:`loader_problems` turns them into
:class:`Problem` rows (file, line, axis, message) that ``evaluate`` keeps in its result, prints,
writes to ``problems.csv`` and counts per axis in ``results.csv``, and the Scores page lists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..corpora.base import AXES, Corpus

__all__ = ["Problem", "loader_problems", "problems_frame", "axis_problem_counts", "UPAIR_OFFICIAL_NOTE"]

#: Warnings that describe the corpus, not a defect (never counted as problems).
_INFORMATIONAL = ("is the generated demo corpus",)

_FILE_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<msg>.*)$", re.S)
_FILE = re.compile(r"^(?P<file>/?[^:]+?)(?::| is a folder)(?P<msg>.*)$", re.S)

#: What the official ``evaluation/run.py`` does with the same files (README, Reliability).
UPAIR_OFFICIAL_NOTE = ("the official evaluation/run.py reads qrels with ir_measures.read_trec_qrels, which stops "
                       "with a ValueError on a line without 4 fields or with a non-integer grade, keeps both lines "
                       "of a pair judged twice, and fails on a missing or folder qrels path; here such lines are "
                       "left out and every problem is listed")


@dataclass(frozen=True)
class Problem:
    """One problem a loader found: the file, the line (0 when the whole file), the axis it touches
    ("" = every axis: a metadata or figure problem) and the loader's message."""

    file: str
    line: int
    axis: str
    message: str

    @property
    def where(self) -> str:
        """``file:line`` (or ``file`` when the problem is the whole file)."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        return self.message


def _axis_of(text: str) -> str:
    for axis in AXES:
        if f"qrels_{axis}." in text or f"the {axis} axis" in text:
            return axis
    return ""


def loader_problems(corpus: Corpus) -> tuple[Problem, ...]:
    """Every problem the corpus's loader reported, as :class:`Problem` rows, in report order."""
    out = []
    for w in corpus.warnings:
        if any(tag in w for tag in _INFORMATIONAL):
            continue
        m = _FILE_LINE.match(w)
        if m:
            out.append(Problem(m["file"], int(m["line"]), _axis_of(m["file"]) or _axis_of(w), w))
            continue
        m = _FILE.match(w)
        file = m["file"].strip() if m else ""
        out.append(Problem(file, 0, _axis_of(file) or _axis_of(w), w))
    return tuple(out)


def axis_problem_counts(problems, axes) -> dict[str, int]:
    """Per axis, the problems that touch it (its own qrels file's and every corpus-wide one)."""
    return {a: sum(1 for p in problems if p.axis in ("", a)) for a in axes}


def problems_frame(problems):
    """The problems as a table (file, line, axis, message) for ``problems.csv`` and the Scores page."""
    import pandas as pd

    return pd.DataFrame([{"file": p.file, "line": p.line, "axis": p.axis or "all", "message": p.message}
                         for p in problems], columns=["file", "line", "axis", "message"])
