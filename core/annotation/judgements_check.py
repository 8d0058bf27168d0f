"""Checking judgements before they are journalled: TREC qrels files and in-memory qrels are
validated against a corpus and the UPAIR grade schema, all problems gathered with ``file:line``.

Accepted: lines ``qid iter docid grade`` (4 whitespace-separated fields, ``#`` comments and
blank lines skipped), UTF-8, grade ``0`` (not relevant) or ``1`` (relevant) — UPAIR judgements
are binary, so graded qrels (2, 3, …, negative) are refused rather than folded; both ids must be
figures of the corpus; a pair given twice must have the same grade. One problem refuses the
whole import: nothing is written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from ..corpora.base import AXES, Corpus
from ..errors import DatasetError

VALID_GRADES = (0, 1)
_SHOWN = 20  # problems spelled out in a refusal (the count says how many more)

Qrels = dict[str, dict[str, dict[str, int]]]


class ImportRefused(DatasetError):
    """Judgements that fail the checks; ``problems`` lists each with its file:line."""

    def __init__(self, problems: list[str], what: str = "import"):
        self.problems = problems
        more = f"\n… and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        super().__init__(f"{what} refused, nothing written: {len(problems)} problem(s)\n"
                         + "\n".join(problems[:_SHOWN]) + more)


def _grade_problem(token: str) -> str:
    try:
        grade = int(token)
    except ValueError:
        return f"grade {token[:30]!r} is not an integer; accepted grades are 0 and 1"
    if grade not in VALID_GRADES:
        return f"grade {grade} is not accepted: UPAIR judgements are binary, use 0 (not relevant) or 1 (relevant)"
    return ""


def check_qrels_bytes(raw: bytes, where: str, ids: set[str] | None,
                      problems: list[str]) -> dict[str, dict[str, int]]:
    """Parse one qrels file's bytes; every problem is appended to ``problems`` as ``where:line: …``."""
    out: dict[str, dict[str, int]] = {}
    first: dict[tuple[str, str], int] = {}
    for lineno, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8").removeprefix("\ufeff") if lineno == 1 else line.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{where}:{lineno}: not UTF-8 (byte 0x{line[exc.start]:02x}); ids must be text")
            continue
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        parts = text.split()
        if len(parts) != 4:
            problems.append(f"{where}:{lineno}: expected 4 fields 'qid iter docid grade', found {len(parts)}")
            continue
        q, d = parts[0], parts[2]
        why = _grade_problem(parts[3])
        unknown = [i for i in (q, d) if ids is not None and i not in ids]
        if unknown:
            why = "; ".join(filter(None, (why, f"id {unknown[0][:60]!r} is not a figure of the corpus")))
        if why:
            problems.append(f"{where}:{lineno}: {why}")
            continue
        grade = int(parts[3])
        if (q, d) in first and out[q][d] != grade:
            problems.append(f"{where}:{lineno}: {q} {d} has grade {grade} here but {out[q][d]} on line "
                            f"{first[q, d]} (conflicting duplicate)")
            continue
        first.setdefault((q, d), lineno)
        out.setdefault(q, {})[d] = grade
    return out


def qrels_files(folder: Path | str) -> dict[str, Path]:
    """``{axis: path}`` of the ``qrels_<axis>.txt`` files of a folder (or its ``test/``)."""
    folder = Path(folder)
    found = {}
    for axis in AXES:
        for d in (folder, folder / "test"):
            if (d / f"qrels_{axis}.txt").is_file():
                found[axis] = d / f"qrels_{axis}.txt"
                break
    if not found:
        raise DatasetError(f"no qrels_<axis>.txt files in {folder} (expected qrels_visual.txt, qrels_semantic.txt, "
                           "qrels_part_whole.txt)")
    return found


def check_qrels_files(files: Mapping[str, tuple[str, bytes]], corpus: Corpus | None) -> Qrels:
    """``{axis: (name shown in messages, bytes)}`` → validated qrels; ``ImportRefused`` otherwise."""
    ids = set(corpus.by_id) if corpus is not None else None
    problems: list[str] = []
    out = {}
    for axis, (where, raw) in files.items():
        if axis not in AXES:
            problems.append(f"{where}: unknown axis {axis!r}; files are qrels_<axis>.txt for {', '.join(AXES)}")
            continue
        out[axis] = check_qrels_bytes(raw, where, ids, problems)
    if problems:
        raise ImportRefused(problems)
    return out


def read_checked_dir(folder: Path | str, corpus: Corpus | None) -> Qrels:
    """The validated qrels of a folder's ``qrels_<axis>.txt`` files."""
    files = {}
    for axis, path in qrels_files(folder).items():
        try:
            files[axis] = (str(path), path.read_bytes())
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return check_qrels_files(files, corpus)


def uploaded_files(items: Iterable[tuple[str, bytes]]) -> dict[str, tuple[str, bytes]]:
    """``{axis: (name, bytes)}`` of uploaded files named ``qrels_<axis>.txt`` (others refused)."""
    out: dict[str, tuple[str, bytes]] = {}
    bad = []
    for name, raw in items:
        base = Path(name).name
        axis = base.removeprefix("qrels_").removesuffix(".txt")
        if not (base.startswith("qrels_") and base.endswith(".txt") and axis in AXES):
            bad.append(base)
        elif axis in out:
            bad.append(f"{base} (given twice)")
        else:
            out[axis] = (base, raw)
    if bad:
        raise DatasetError(f"file(s) {', '.join(bad)}: name each qrels_<axis>.txt, one per axis "
                           f"({', '.join(f'qrels_{a}.txt' for a in AXES)})")
    return out


def check_qrels(qrels: Mapping[str, Mapping[str, Mapping[str, int]]], corpus: Corpus | None, where: str) -> Qrels:
    """Validate in-memory qrels (e.g. a corpus's own) the same way; ``ImportRefused`` otherwise."""
    ids = set(corpus.by_id) if corpus is not None else None
    problems: list[str] = []
    for axis, per_q in qrels.items():
        for q, docs in per_q.items():
            for d, grade in docs.items():
                why = _grade_problem(str(grade))
                unknown = [i for i in (q, d) if ids is not None and i not in ids]
                if why or unknown:
                    problems.append(f"{where} ({axis}) {q} {d}: " +
                                    "; ".join(filter(None, (why, unknown and f"id {unknown[0][:60]!r} is not a figure "
                                                                             "of the corpus"))))
    if problems:
        raise ImportRefused(problems)
    return {a: {q: {d: int(g) for d, g in docs.items()} for q, docs in per_q.items()} for a, per_q in qrels.items()}
