"""Helpers every command module shares: corpus and encoder arguments, plain-text tables."""
from __future__ import annotations

from ..corpora import spec_help
from ..encoders import default_encoders, expand_specs, get_encoder
from .values import finite_float, nonempty, positive_int  # noqa: F401  (the value parsers live in .values)

#: ``--corpus`` help, made from the corpus kind table (``core.corpora.KINDS``).
CORPUS_HELP = f"{spec_help()} (default: demo)"


def add_corpus_arg(sp) -> None:
    """``--corpus SPEC`` (default ``demo``) on sub-parser ``sp``."""
    sp.add_argument("--corpus", type=nonempty, default="demo", help=CORPUS_HELP)


def parse_encoders(arg: str | None) -> list[str]:
    """Encoder specs (or preset names) from a comma-separated argument; every available
    encoder when empty."""
    if arg is None:
        return default_encoders()
    specs = expand_specs([s.strip() for s in arg.split(",") if s.strip()])
    if not specs:
        raise ValueError(f"--encoders {arg!r} names no encoder: give comma-separated specs or presets "
                         "(`python -m core info` lists them), or leave it out for every available encoder")
    for s in specs:
        get_encoder(s)  # ValueError lists valid names
    return specs


def table(rows: list[list[str]], header: list[str]) -> str:
    """Rows as an aligned plain-text table under ``header``."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def csv_names(text: str, what: str) -> list[str]:
    """The non-empty comma-separated names of ``text``; ValueError naming ``what`` when none."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError(f"{what} {text!r} names nothing; give comma-separated names or leave it out for the default")
    return names
