"""One parser per kind of command-line value, each range-checked once.

Every function here is an argparse ``type=``: it returns the typed value or raises
``argparse.ArgumentTypeError``, which argparse prints as ``argument --FLAG: <message>`` with
exit status 2, so the message always names the flag. Commands never re-parse a value.
"""
from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path

__all__ = ["positive_int", "nonneg_int", "int_value", "finite_float", "positive_float", "nonneg_float",
           "fraction", "iso_date", "nonempty", "existing_file", "existing_dir", "output_file", "citations_file",
           "region_box", "measure_names", "ray_address"]

_Bad = argparse.ArgumentTypeError

#: Largest whole number a flag takes (a 64-bit seed / count); beyond it is a typo.
INT_MAX = 2 ** 63 - 1


def int_value(text: str) -> int:
    """A whole number within ±2⁶³ (``--seed``)."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise _Bad(f"{text!r} is not a whole number") from None
    if abs(value) > INT_MAX:
        raise _Bad(f"{value} is too large: give a whole number below 2**63")
    return value


def _allowed(value, shown: str, ok: bool, need: str):
    """``value`` when ``ok``; otherwise the one-line refusal saying what to give instead."""
    if not ok:
        raise _Bad(f"{shown} is not allowed: give {need}")
    return value


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (``-k``, ``--workers``, ``--batch-size``)."""
    value = int_value(text)
    return _allowed(value, str(value), value >= 1, "a whole number of at least 1")


def nonneg_int(text: str) -> int:
    """A whole number ≥ 0 (``--limit`` where 0 means all, ``--warmup``)."""
    value = int_value(text)
    return _allowed(value, str(value), value >= 0, "a whole number of at least 0")


def finite_float(text: str) -> float:
    """A finite number (no nan / inf)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise _Bad(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _Bad(f"{text!r} is not allowed: give a finite number (e.g. 0.5)")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (``--lr``)."""
    value = finite_float(text)
    return _allowed(value, repr(text), value > 0, "a finite number above 0 (e.g. 3.54e-6)")


def nonneg_float(text: str) -> float:
    """A finite number ≥ 0 (``--wd``)."""
    value = finite_float(text)
    return _allowed(value, repr(text), value >= 0, "a finite number of at least 0")


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (``--val-fraction``)."""
    value = finite_float(text)
    return _allowed(value, repr(text), 0 < value < 1, "a fraction strictly between 0 and 1 (e.g. 0.1)")


def iso_date(text: str) -> str:
    """A real calendar date, given as ``YYYY-MM-DD`` or ``YYYYMMDD``; returned as ``YYYY-MM-DD``."""
    from ..examiner.dates import parse_date

    d = parse_date(text)
    if d is None:
        raise _Bad(f"{text!r} is not a date: give a real calendar date as YYYY-MM-DD or YYYYMMDD (e.g. 2019-04-30)")
    return d.isoformat()


def cpc_filter(text: str) -> tuple[str, ...]:
    """CPC symbols, comma-separated, at any depth (``A01D, H04N5/00``); canonical spellings."""
    from ..examiner.classes import parse_class_filter

    try:
        codes = parse_class_filter(text, "--cpc")
    except ValueError as exc:
        raise _Bad(str(exc).removeprefix("--cpc: ")) from None
    if not codes:
        raise _Bad("names no CPC class; give e.g. A01D or H04N,G06F")
    return codes


def nonempty(text: str) -> str:
    """A non-blank string (a spec, a name)."""
    if not str(text).strip():
        raise _Bad("an empty value is not allowed")
    return str(text).strip()


def _kind(text: str) -> tuple[Path, str]:
    """The path of ``text`` and what it names: "file", "dir", "other" or "missing"; an OS refusal
    (a name too long, a loop of links) is a message, never a traceback."""
    try:
        path = Path(nonempty(text)).expanduser()
    except RuntimeError:  # "~name" of a user this machine does not have
        raise _Bad(f"{text[:80]!r}: no such user's home folder to expand '~' into") from None
    try:
        if path.is_file():
            return path, "file"
        if path.is_dir():
            return path, "dir"
        return path, "other" if path.exists() else "missing"
    except OSError as exc:
        raise _Bad(f"{text[:80]!r}{'…' if len(text) > 80 else ''}: {exc.strerror or exc}") from None


def existing_file(text: str) -> Path:
    """A path naming an existing regular file."""
    path, kind = _kind(text)
    if kind != "file":
        raise _Bad(f"{text!r} is not a file" + (" (it is a folder)" if kind == "dir" else ""))
    return path


def existing_dir(text: str) -> Path:
    """A path naming an existing folder."""
    path, kind = _kind(text)
    if kind != "dir":
        raise _Bad(f"{text!r} is not a folder" + (" (it is a file)" if kind == "file" else ""))
    return path


def output_file(text: str) -> Path:
    """A file to write (``--csv``, ``--report``): not a folder, its parent an existing folder. It is
    written atomically (a crash leaves the old file or the new one, never half of one)."""
    path, kind = _kind(text)
    if kind == "dir":
        raise _Bad(f"{text!r} is a folder; give a file name")
    if _kind(str(path.parent))[1] != "dir":
        raise _Bad(f"{text!r}: its folder {str(path.parent)!r} does not exist")
    return path


#: Largest citations file read (JSON / CSV); a bigger one is a mistake, not a citations list.
CITATIONS_MAX_BYTES = 256 * 1024 * 1024


def citations_file(text: str) -> Path:
    """A citations file that parses (JSON ``{citing: [cited, …]}`` or CSV ``citing,cited``) and
    holds at least one citation."""
    path = existing_file(text)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _Bad(f"{text!r} cannot be read: {exc.strerror or exc}") from None
    if size > CITATIONS_MAX_BYTES:
        raise _Bad(f"{text!r} is larger than {CITATIONS_MAX_BYTES >> 20} MiB; is it really a citations file?")
    from ..corpora.citations import parse_citations

    try:
        cits = parse_citations(path.read_bytes(), str(path))
    except (ValueError, UnicodeDecodeError, csv.Error, RecursionError) as exc:
        raise _Bad(f"{text!r} is not a citations file: {exc}") from None
    except OSError as exc:
        raise _Bad(f"{text!r} cannot be read: {exc.strerror or exc}") from None
    if not any(cits.values()):
        raise _Bad(f"{text!r} holds no citations: give JSON {{citing: [cited, ...]}} or CSV rows citing,cited")
    return path


def region_box(text: str) -> tuple[float, float, float, float]:
    """Four fractions ``x0,y0,x1,y1`` with 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1 (``--region``)."""
    try:
        vals = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise _Bad(f"{text!r}: give x0,y0,x1,y1 as fractions of the figure, e.g. 0.1,0.2,0.6,0.8") from None
    if len(vals) != 4 or not all(math.isfinite(v) and 0 <= v <= 1 for v in vals):
        raise _Bad(f"{text!r}: give four fractions 0..1, x0,y0,x1,y1, e.g. 0.1,0.2,0.6,0.8")
    if not (vals[0] < vals[2] and vals[1] < vals[3]):
        raise _Bad(f"{text!r}: the box is empty (x0 < x1 and y0 < y1 are needed)")
    return vals  # type: ignore[return-value]


_HOSTPORT = re.compile(r"^(?:ray://)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:]+\]):(\d{1,5})$")


def ray_address(text: str) -> str:
    """``auto`` or ``[ray://]HOST:PORT`` (``--address``); anything else (a URL of another scheme,
    a command, a path) is refused before Ray sees it."""
    value = nonempty(text)
    if value == "auto":
        return value
    m = _HOSTPORT.match(value)
    if not m or not 0 < int(m[1]) < 65536:
        raise _Bad(f"{text!r} is not a Ray address: give auto, HOST:PORT (e.g. 10.0.0.5:6379) or ray://HOST:10001")
    return value


def measure_names(text: str) -> list[str]:
    """Comma-separated ir_measures names, each with a cutoff ≥ 1 where it has one (``--metrics``)."""
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    if not names:
        raise _Bad(f"{text!r} names nothing; give comma-separated measures (e.g. AP,nDCG@10,RR,R@1)")
    for name in names:
        if "@" in name:
            cut = name.rsplit("@", 1)[1]
            if not cut.isdigit() or int(cut) < 1:
                raise _Bad(f"{name!r}: a cutoff must be a whole number of at least 1 (e.g. nDCG@10)")
    from ..metrics import canonical

    for name in names:
        try:
            canonical(name)
        except (ValueError, KeyError) as exc:
            raise _Bad(f"{name!r}: {exc}") from None
    return names
