"""Citations files: a citing patent → the patents it cites, as JSON (``{"US123A1": ["EP9B1", ...]}``,
the ``citations_data.json`` of the query-patents layout) or CSV/TSV rows ``citing,cited``.
One reader and one finder (:func:`find_citations_file`) serve candidate sampling and examiner search."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Iterable

from ..errors import DatasetError

CITATIONS_FILE = "citations_data.json"
_KIND = re.compile(r"(?<=\d)[A-Z]\d?$")


def patent_base(number: str) -> str:
    """A patent number without its kind code, upper-cased (``us6382277b1`` → ``US6382277``)."""
    n = re.sub(r"[\s\-/,.]", "", str(number)).upper()
    return _KIND.sub("", n)


def parse_citations(data: bytes | str, name: str = "the citations file") -> dict[str, tuple[str, ...]]:
    """Citations from JSON or CSV/TSV text; raises ValueError saying what is expected."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
        if not all(isinstance(v, list) for v in obj.values()):
            raise ValueError(f"{name}: expected {{citing patent: [cited patents]}}")
        return {str(k).strip(): tuple(str(c).strip() for c in v if str(c).strip()) for k, v in obj.items()}
    first = text.strip().splitlines()[0] if text.strip() else ""
    dialect = "excel-tab" if "\t" in first else "excel"
    out: dict[str, list[str]] = {}
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if len(cells) < 2 or not cells[0] or cells[0].lower() in ("citing", "patent"):
                continue
            out.setdefault(cells[0], []).append(cells[1])
    except csv.Error as exc:
        raise ValueError(f"{name}: not readable as CSV (line {reader.line_num}): {exc}") from None
    if not out:
        raise ValueError(f"{name}: no citations found; give JSON {{citing: [cited, ...]}} or CSV rows citing,cited")
    return {k: tuple(v) for k, v in out.items()}


def read_citations(path: Path | str) -> dict[str, tuple[str, ...]]:
    """The citations in the file at ``path``; DatasetError naming the file when unreadable or malformed."""
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read citations file {p}: {exc.strerror or exc}") from exc
    try:
        return parse_citations(data, str(p))
    except ValueError as exc:
        raise DatasetError(str(exc)) from exc


def find_citations_file(roots: Iterable[Path | str], named: str | Path | None = None,
                        beside: Path | str | None = None) -> Path | None:
    """The citations file to use, or None. The one set of lookup rules, in this order:

    1. ``named`` (e.g. a sampling config's ``citations_data``): as given (absolute, or relative to
       the working folder), then relative to ``beside`` (the config file's folder) and one folder up;
    2. ``citations_data.json`` at each corpus root, in the order given;
    3. ``citations_data.json`` one folder above each corpus root (a corpus loaded from a
       sub-folder of its dataset).
    Only existing files count; nothing is read here.
    """
    roots = [Path(r).expanduser() for r in roots]
    candidates: list[Path] = []
    if named:
        candidates.append(Path(named).expanduser())
        if beside is not None:
            b = Path(beside).expanduser()
            candidates += [b / named, b.parent / named]
    candidates += [r / CITATIONS_FILE for r in roots]
    candidates += [r.parent / CITATIONS_FILE for r in roots]
    return next((c for c in candidates if c.is_file()), None)
