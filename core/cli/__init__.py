"""Command line: ``python -m core <command>``; ``python -m core -h`` lists the commands.

Each module named in ``COMMAND_MODULES`` defines ``register(sub)`` that adds its
sub-commands; a new capability adds its own module here instead of growing one file.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .. import config
from ..corpora import DatasetError
from ..errors import one_line
from ..figures import ImageError

#: Modules of this package that register sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = ("basic", "evaluate", "judge", "sample", "adapt", "examine", "numerals", "fetch")


def parser() -> argparse.ArgumentParser:
    """The ``python -m core`` argument parser with every registered command."""
    p = argparse.ArgumentParser(prog="python -m core", description="UPAIR Explorer core tools")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        config.check_environment()
        return args.fn(args)
    except (DatasetError, ImageError, ValueError, RuntimeError, OSError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)  # OS errors: the path and the fix
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was already encoded is kept in the cache", file=sys.stderr)
        return 130
