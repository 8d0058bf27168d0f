"""Reading and writing TREC qrels and run files, with errors that name file and line."""
from __future__ import annotations

import heapq
import operator
from pathlib import Path
from typing import Iterable, Mapping

from .errors import DatasetError
from .store import atomic_write_text
from .textio import decode_text


#: Relevance grades accepted in a qrels file (the range of trec_eval's C ``int``).
GRADE_RANGE = (-(2**31), 2**31 - 1)


def _qrels_problem(parts: list[str]) -> str:
    """Why a split qrels line is unusable ("" when it is fine)."""
    if len(parts) != 4:
        return f"expected 4 fields 'qid iter docid relevance', found {len(parts)}"
    try:
        rel = int(parts[3])
    except ValueError:
        return f"relevance {parts[3]!r} is not an integer"
    if not GRADE_RANGE[0] <= rel <= GRADE_RANGE[1]:
        return f"relevance {parts[3][:30]} is out of range ({GRADE_RANGE[0]}..{GRADE_RANGE[1]})"
    return ""


def read_qrels(path: Path | str, strict: bool = True) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Read a TREC qrels file (``qid iter docid rel``).

    Returns ``(qrels, problems)``. With ``strict`` a malformed line (wrong field count, a
    relevance that is not an integer or is out of ``GRADE_RANGE``) raises ``DatasetError``
    naming the file and line; otherwise the line is skipped and described in ``problems``.
    A pair judged again with a different grade keeps the later line and is described in
    ``problems`` either way. Relevance > 0 counts as relevant (binary UPAIR judgements).
    """
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    seen: dict[tuple[str, str], int] = {}
    problems: list[str] = []
    text = _read_trec_text(path, "qrels", "'qid iter docid relevance'", problems)
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        problem = _qrels_problem(parts)
        if problem:
            msg = f"{path}:{lineno}: {problem}: {line.strip()[:120]!r}"
            if strict:
                raise DatasetError(msg + " — fix or delete that line.")
            problems.append(msg)
            continue
        qid, docid, rel = parts[0], parts[2], int(parts[3])
        if rel < 0:
            problems.append(f"{path}:{lineno}: relevance {rel} is negative; counted as not relevant "
                            "(as trec_eval counts it)")
        if (qid, docid) in seen and qrels[qid][docid] != rel:
            problems.append(f"{path}:{lineno}: {qid} {docid} judged again with relevance {rel} "
                            f"(line {seen[qid, docid]} said {qrels[qid][docid]}); the later line is used")
        seen[qid, docid] = lineno
        qrels.setdefault(qid, {})[docid] = rel
    return qrels, problems


def write_run(path: Path | str, run: Mapping[str, Mapping[str, float]], tag: str) -> Path:
    """Write a TREC run file (``qid Q0 docid rank score tag``) atomically.

    Documents are ranked by descending score, ties broken by descending docid, which is
    the order trec_eval itself uses, so ranks in the file agree with what it evaluates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in tag) or "run"
    lines = []
    for qid in sorted(run):
        ranked = rank_docs(run[qid])
        for rank, (docid, score) in enumerate(ranked, start=1):
            lines.append(f"{qid} Q0 {docid} {rank} {score:.8f} {tag}\n")
    atomic_write_text(path, "".join(lines))
    return path


def read_run(path: Path | str) -> dict[str, dict[str, float]]:
    """Read a TREC run file into ``{qid: {docid: score}}``; DatasetError naming the file and line
    for a line without 6 fields or with a score that is not a finite number, and for a path that
    cannot be read. Undecodable bytes are replaced (the ids then do not match any figure)."""
    import math

    path = Path(path)
    text = _read_trec_text(path, "run", "'qid Q0 docid rank score tag'", [])
    run: dict[str, dict[str, float]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise DatasetError(f"{path}:{lineno}: expected 6 fields in a run line, found {len(parts)}")
        try:
            score = float(parts[4])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise DatasetError(f"{path}:{lineno}: score {parts[4][:30]!r} is not a finite number")
        run.setdefault(parts[0], {})[parts[2]] = score
    return run


#: Sort key of a (docid, score) item: score, then docid (a C-level itemgetter: this runs per document).
_SCORE_THEN_DOC = operator.itemgetter(1, 0)


def rank_docs(scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """Documents sorted as trec_eval sorts them: score descending, then docid descending."""
    return sorted(scores.items(), key=_SCORE_THEN_DOC, reverse=True)


def top_docs(scores: Mapping[str, float], k: int) -> list[tuple[str, float]]:
    """``rank_docs(scores)[:k]`` without sorting every (docid, score) item.

    The k-th largest score is found by sorting the bare floats (C speed); only the items at or
    above it (the top k, and every item tied with the k-th) are then sorted in trec_eval's order.
    ~6× faster than ``heapq.nlargest`` with a key on ~360 candidates (the pool-bias panel ranks
    every system's every query on each slider step)."""
    if k <= 0:
        return []
    if len(scores) <= k:
        return rank_docs(scores)
    values = list(scores.values())
    if any(v != v for v in values):  # NaN breaks a threshold; the plain order handles it as sorted() does
        return heapq.nlargest(k, scores.items(), key=_SCORE_THEN_DOC)
    values.sort(reverse=True)
    kth = values[k - 1]
    head = [item for item in scores.items() if item[1] >= kth]
    head.sort(key=_SCORE_THEN_DOC, reverse=True)
    return head[:k]



def write_qrels(path: Path | str, qrels: Mapping[str, Mapping[str, int]]) -> Path:
    """Write ``{qid: {docid: rel}}`` as a TREC qrels file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines: Iterable[str] = (
        f"{q} 0 {d} {int(r)}\n" for q in sorted(qrels) for d, r in sorted(qrels[q].items())
    )
    atomic_write_text(path, "".join(lines))
    return path


def _read_trec_text(path: Path, kind: str, layout: str, problems: list[str]) -> str:
    """The decoded text of a TREC ``kind`` file ("qrels" or "run"); DatasetError naming the
    file for a folder or an unreadable path (undecodable bytes are described in ``problems``)."""
    if path.is_dir():
        raise DatasetError(f"{kind} path {path} is a folder; expected a TREC {kind} file ({layout})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {kind} file {path}: {exc.strerror or exc}") from exc
    return decode_text(raw, path, problems)
