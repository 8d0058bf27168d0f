"""Helpers every command module shares: corpus and encoder arguments, plain-text tables."""
from __future__ import annotations

from ..encoders import default_encoders, expand_specs, get_encoder

CORPUS_HELP = ("demo | upair:DIR | query-patents:DIR | folder:DIR | webdataset:SHARDS[#titles=JSON] | DIR "
               "(default: demo)")


def add_corpus_arg(sp) -> None:
    """``--corpus SPEC`` (default ``demo``) on sub-parser ``sp``."""
    sp.add_argument("--corpus", default="demo", help=CORPUS_HELP)


def parse_encoders(arg: str | None) -> list[str]:
    """Encoder specs (or preset names) from a comma-separated argument; every available
    encoder when empty."""
    if not arg:
        return default_encoders()
    specs = expand_specs([s.strip() for s in arg.split(",") if s.strip()])
    for s in specs:
        get_encoder(s)  # ValueError lists valid names
    return specs


def table(rows: list[list[str]], header: list[str]) -> str:
    """Rows as an aligned plain-text table under ``header``."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
