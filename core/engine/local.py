"""The local engine: the mapper run unit after unit in this process."""
from __future__ import annotations

from typing import Iterator

from .units import Mapper, UnitResult


def distribute(jobs: list, spec: str, options=None) -> Iterator[UnitResult]:
    """Yield each unit's vectors as soon as it is encoded (one model, loaded once)."""
    mapper = Mapper(spec)
    for unit, wanted in jobs:
        yield mapper(unit, wanted)
