"""Text in and out: decoding dataset text files (metadata, sidecars, qrels) with problems
reported, not raised; and CSV cells made safe for spreadsheets (no formula injection)."""
from __future__ import annotations

import re
from pathlib import Path


def decode_text(raw: bytes, path: Path, warnings: list[str]) -> str:
    """UTF-8 text of a dataset file (a BOM is accepted). Bytes that are not UTF-8 are
    replaced by U+FFFD and reported in ``warnings`` with the file and byte offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8-sig", errors="replace")
        lines = sorted({n for n, line in enumerate(text.splitlines(), 1) if "\ufffd" in line})
        first = raw[:exc.start].count(b"\n") + 1
        more = f"; also line(s) {', '.join(map(str, lines[1:6]))}{' …' if len(lines) > 6 else ''}" \
            if len(lines) > 1 else ""
        warnings.append(f"{path}:{first}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}{more}); "
                        "undecodable bytes replaced with U+FFFD")
        return text


# --------------------------------------------------------------------------- CSV cells a spreadsheet would run
#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value):
    """``value`` safe for a CSV cell: a string a spreadsheet would evaluate as a formula
    (starting with ``= + - @``, a tab or a carriage return) gets a leading ``'``, which
    spreadsheets show as text; plain numbers written as strings (``-0.5``, ``+3e-2``) and
    every non-string value are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values) -> list:
    """Every cell of a row through ``csv_cell``."""
    return [csv_cell(v) for v in values]


def _is_text(dtype) -> bool:
    """Whether a pandas column may hold strings (object, or pandas' string dtypes)."""
    return dtype == object or str(dtype) in ("str", "string")


def safe_frame(frame):
    """A copy of a pandas frame with every string cell, column name and index label through
    ``csv_cell`` (numbers untouched), ready for ``to_csv``."""
    out = frame.copy()
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    for col in out.columns[[_is_text(dt) for dt in out.dtypes]]:
        out[col] = out[col].map(csv_cell)
    if _is_text(out.index.dtype):
        out.index = out.index.map(csv_cell)
    return out


#: RFC 4180 line ends: with "\r\n" as terminator the csv writers quote a field holding a bare
#: carriage return too (with "\n" alone they leave it unquoted, and a reader splits the row).
CSV_LINE_END = "\r\n"


def frame_csv(frame, path=None, **kwargs):
    """``frame.to_csv`` with formula cells neutralised (``safe_frame``) and RFC 4180 line ends;
    returns the text when ``path`` is None, else writes ``path``."""
    kwargs.setdefault("lineterminator", CSV_LINE_END)
    return safe_frame(frame).to_csv(path, **kwargs)
