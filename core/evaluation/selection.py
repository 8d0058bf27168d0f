"""``Selection``: what an evaluation is of, as one frozen value with one content key.

A selection names the corpus (its spec), the encoders, the runs, the fusion weight, the
judgement set that scores the runs (``official``: the corpus's own qrels; an annotator's,
the majority, the adjudicated set — ``core.annotation``), the content digest of those
judgements (so a new judgement is a new key) and the evaluation protocol ("" = the
corpus's default, ``core.protocols``). Caches key on ``key`` (everything) or ``runs_key``
(what ranks the candidates: the judgements left out, since they do not change a ranking).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..store import key_of

__all__ = ["Selection", "OFFICIAL"]

#: The judgement set that is the corpus's own qrels.
OFFICIAL = "official"


@dataclass(frozen=True)
class Selection:
    """What an evaluation is of. ``weight`` is kept to 2 decimals (a slider's 1.0000000002 is 1.0)."""

    corpus: str
    encoders: tuple[str, ...]
    runs: tuple[str, ...]
    weight: float = 1.0
    judgements: str = OFFICIAL
    judged_digest: str = ""
    protocol: str = ""
    key: str = field(init=False, repr=False, compare=False)
    runs_key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "encoders", _strings(self.encoders, "encoders"))
        set_(self, "runs", _strings(self.runs, "runs"))
        set_(self, "weight", round(float(self.weight), 2))
        if self.judgements == OFFICIAL and self.judged_digest:
            raise ValueError("the official judgements carry no digest (the corpus's fingerprint keys them)")
        ranks = (self.corpus, self.encoders, self.runs, self.weight, self.protocol)
        set_(self, "runs_key", key_of("selection-runs", *ranks))
        set_(self, "key", key_of("selection", *ranks, self.judgements, self.judged_digest))

    @property
    def official(self) -> bool:
        """Whether the corpus's own qrels score the runs."""
        return self.judgements == OFFICIAL


def _strings(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"Selection.{what} takes a sequence of names, not the string {values!r}")
    return tuple(str(v) for v in values)
