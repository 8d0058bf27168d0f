"""Command ``fetch``: named weights (``clip-baseline``), in this process or detached in the background."""
from __future__ import annotations

from .common import nonempty


def cmd_fetch(args) -> int:
    from ..weights_fetch import fetch, get_fetch, start_background

    get_fetch(args.name)  # an unknown name fails listing the known ones
    if args.background:
        print(start_background(args.name))
        return 0
    rc, line = fetch(args.name)
    print(line)
    return rc


def register(sub) -> None:
    """Add this module's sub-commands to ``sub``."""
    from ..weights_fetch import FETCHES

    sp = sub.add_parser("fetch", help="download named weights (clip-baseline: the UPAIR baseline CLIP) into the cache")
    sp.add_argument("name", type=nonempty, help=f"one of: {', '.join(sorted(FETCHES))}")
    sp.add_argument("--background", action="store_true",
                    help="start the download as a detached process and return at once (progress in cache/fetch/)")
    sp.set_defaults(fn=cmd_fetch)
