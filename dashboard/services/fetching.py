"""Background weight fetches (``make run`` starts them): their status, read from the cache on
every call (a small JSON file, validated in ``core.weights_fetch``); nothing here downloads."""
from __future__ import annotations

from core.weights_fetch import FETCH_NOTE, FetchStatus, get_fetch, read_status

__all__ = ["baseline_status", "baseline_spec", "baseline_label", "offline_note"]

BASELINE = "clip-baseline"


def baseline_status() -> FetchStatus:
    """The UPAIR baseline CLIP's fetch: absent, offline, fetching (bytes of total), ready, failed."""
    return read_status(BASELINE)


def baseline_spec() -> str:
    return get_fetch(BASELINE).spec


def baseline_label() -> str:
    return get_fetch(BASELINE).label


def offline_note() -> str:
    """The one line: CLIP needs the network once, and how to fetch it later."""
    return FETCH_NOTE("CLIP", BASELINE)
