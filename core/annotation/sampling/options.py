"""Sampling protocols: the named choices where this project may differ from the reference sampler.

Each option has a value that does what UPAIR's ``candidate_sampler.py`` / ``index.py`` do
and one or more alternatives. ``SAMPLING_PROTOCOLS`` (data) names sets of values:

``upair``
    Every option as the reference: scores from faiss ``IndexFlatIP`` calls made as the
    reference makes them, percentiles over the whole index, raw titles and labels, only
    figures with title, description and labels indexed, a query patent missing from the
    citations raises, the query's own figure treated like any other.
``fast-scores``
    ``upair`` with thresholds and bands from one numpy matrix product per query batch
    (BLAS): much faster on large collections, but float32 sums in another order move
    thresholds by one 6-decimal unit and flip band members (measured in ``bench/sampling.py``).
``clean``
    This project's earlier choices: numpy scores, percentiles over the other readable
    figures only, every text cleaned by its encoder's protocol, every figure indexed, a
    missing query patent gives an empty cited group, the query's own figure never drawn.

Options are recorded in every run's ``run.json`` and each query's trace.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Iterable, Mapping

#: Option → value → what it does. The first value of each is the reference's.
OPTIONS: dict[str, dict[str, str]] = {
    "scores": {
        "faiss": "faiss IndexFlatIP per query, as the reference: search with k = every figure for the "
                 "percentiles, range_search for each band (bit-equal to the reference on the same machine)",
        "fast": "one numpy float32 matrix product per query batch (BLAS; sums in another order than faiss)",
    },
    "percentiles": {
        "whole-index": "percentiles over every indexed figure, the query's own figure and unreadable ones included",
        "others": "percentiles over the other readable figures only (the query's own figure and unreadable "
                  "figures left out)",
    },
    "texts": {
        "reference": "titles and component labels (joined by one space) encoded raw, descriptions cleaned "
                     "with the official clean_text, as the reference's sampler and index.py do",
        "protocol": "every text (title, description, labels) cleaned and joined by its encoder's protocol",
    },
    "index_figures": {
        "complete": "index only figures with a title, a description that is not empty once cleaned, and labels",
        "all": "index every figure of the collection",
    },
    "missing_citations": {
        "raise": "a query patent missing from the citations file stops the draw with its name",
        "empty": "a query patent missing from the citations file gets an empty cited group",
    },
    "own_figure": {
        "kept": "the query's own figure (same id or file) is a figure like any other: it can be drawn "
                "into a band or the cited group",
        "excluded": "the query's own figure is never a candidate",
    },
    "families": {
        "kept": "as the reference: two copies of one drawing (family members' publications, re-scans) "
                "can both be drawn",
        "one-per-family": "a figure that is a near-identical copy (pHash within 10 bits and cosine >= 0.90 "
                          "on the dedup index, core.families) of one already drawn for the query — cited "
                          "first, then group by group — is left out, so one copy of each drawing is judged",
    },
}

#: What the reference does, option by option.
REFERENCE = {name: next(iter(values)) for name, values in OPTIONS.items()}


@dataclass(frozen=True)
class SamplingOptions:
    """One value per option of ``OPTIONS`` (defaults: the reference's)."""

    scores: str = REFERENCE["scores"]
    percentiles: str = REFERENCE["percentiles"]
    texts: str = REFERENCE["texts"]
    index_figures: str = REFERENCE["index_figures"]
    missing_citations: str = REFERENCE["missing_citations"]
    own_figure: str = REFERENCE["own_figure"]
    families: str = REFERENCE["families"]

    def as_json(self) -> dict[str, str]:
        return asdict(self)

    def differences(self) -> list[str]:
        """The options set otherwise than the reference, as ``name=value``."""
        return [f"{k}={v}" for k, v in self.as_json().items() if v != REFERENCE[k]]


#: Named sets of option values.
SAMPLING_PROTOCOLS: dict[str, SamplingOptions] = {
    "upair": SamplingOptions(),
    "fast-scores": SamplingOptions(scores="fast"),
    "clean": SamplingOptions(scores="fast", percentiles="others", texts="protocol", index_figures="all",
                             missing_citations="empty", own_figure="excluded"),
}
#: The protocol used when none is named.
DEFAULT_SAMPLING_PROTOCOL = "upair"


class SamplingOptionError(ValueError):
    """An unknown protocol, option or value; the message lists what exists."""


def sampling_protocol(name: str | None, source: str = "protocol") -> SamplingOptions:
    """The options of protocol ``name`` (``upair`` when None)."""
    key = DEFAULT_SAMPLING_PROTOCOL if name is None else str(name).strip().lower()
    if key not in SAMPLING_PROTOCOLS:
        raise SamplingOptionError(f"{source}: unknown sampling protocol {name!r}; "
                                  f"choose from {', '.join(SAMPLING_PROTOCOLS)}")
    return SAMPLING_PROTOCOLS[key]


def with_options(base: SamplingOptions, values: Mapping[str, object], source: str = "options") -> SamplingOptions:
    """``base`` with ``values`` (option → value) applied, each checked against ``OPTIONS``."""
    changes = {}
    for name, value in values.items():
        key = str(name).strip().replace("-", "_")
        if key not in OPTIONS:
            raise SamplingOptionError(f"{source}.{name}: unknown option; choose from {', '.join(OPTIONS)}")
        v = str(value).strip().lower()
        if v not in OPTIONS[key]:
            raise SamplingOptionError(f"{source}.{name}: {value!r} is not a value of {key}; "
                                      f"choose from {', '.join(OPTIONS[key])}")
        changes[key] = v
    return replace(base, **changes)


def parse_assignments(items: Iterable[str], source: str = "--option") -> dict[str, str]:
    """``["scores=fast", ...]`` → ``{"scores": "fast"}``; a malformed item names itself."""
    out = {}
    for item in items:
        name, eq, value = str(item).partition("=")
        if not eq or not name.strip() or not value.strip():
            raise SamplingOptionError(f"{source} {item!r}: expected NAME=VALUE, e.g. scores=fast")
        out[name.strip()] = value.strip()
    return out
