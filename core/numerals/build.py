"""Per-corpus numeral build: OCR once per image content, cached, resumable; linked to names on load.

What OCR reads depends only on the image's bytes and the engine, so each figure's tokens are
cached under ``numerals/<engine key>/<image SHA-1>.json`` (the engine key covers the engine's
name and version and this module's settings). Each file is written atomically and carries the
SHA-256 of its token list; a file that fails the check, or names another image or engine, is
read again. An interrupted build keeps every figure it finished; the next build reads only the
rest. Linking a numeral to its part name uses the figure's description and component labels
(cheap, redone on every load, so a corrected description needs no new OCR).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .. import config
from ..corpora.base import Corpus
from ..figures import Figure, ImageError, figure_digest, load_figure_image
from ..store import atomic_write_json, key_of, load_json, sha256_bytes
from .labels import key as numeral_key
from .labels import parse_numeral_labels, _singular
from .ocr import DEFAULT_ENGINE, MAX_RING_INK, MIN_CONFIDENCE, OCR_LONG_SIDE, TOKEN_HEIGHT, Token, get_engine

#: Bump when what is cached per figure changes.
NUMERALS_VERSION = 1


@dataclass(frozen=True)
class Numeral:
    """A reference numeral read in a drawing: ``key`` its normalised form, ``box`` where it is
    drawn (original pixels), ``label`` the part the description names by it ("" when none)."""

    text: str
    key: str
    box: tuple[int, int, int, int]
    conf: float
    label: str = ""


@dataclass(frozen=True)
class FigureNumerals:
    """The numerals of one figure; ``error`` says why its image could not be read ("" if it could)."""

    figure: str
    numerals: tuple[Numeral, ...] = ()
    names: dict = field(default_factory=dict)  # {numeral key: part name} from the description
    error: str = ""

    @property
    def linked(self) -> tuple[Numeral, ...]:
        return tuple(n for n in self.numerals if n.label)

    def parts(self) -> list[tuple[str, str]]:
        """(numeral, name) of the parts found in the drawing, in numeral order, each once."""
        seen = {n.key: n.label for n in self.linked}
        return sorted(seen.items(), key=lambda kv: (int(re.match(r"\d+", kv[0]).group()), kv[0]))

    def matching(self, query: str) -> tuple[Numeral, ...]:
        """Numerals whose part name contains every word of ``query`` (case and plural blind)."""
        return tuple(n for n in self.linked if part_matches(n.label, query))


def part_matches(label: str, query: str) -> bool:
    """Whether part name ``label`` contains every word of ``query`` (case and plural blind;
    False for an empty query or label)."""
    words = [_singular(w) for w in re.findall(r"[a-z]+", query.lower())]
    have = [_singular(x) for x in re.findall(r"[a-z]+", (label or "").lower())]
    return bool(words) and all(w in have for w in words)


@dataclass
class NumeralBuild:
    """A corpus's numerals: per figure, plus what the build did."""

    corpus: str
    engine: str
    figures: dict[str, FigureNumerals]
    read: int = 0  # figures OCR'd by this build (the rest came from the cache)
    cached: int = 0

    def summary(self) -> dict[str, int]:
        figs = self.figures.values()
        return {"figures": len(self.figures), "unreadable": sum(1 for f in figs if f.error),
                "with numerals": sum(1 for f in figs if f.numerals),
                "numerals": sum(len(f.numerals) for f in figs),
                "linked": sum(len(f.linked) for f in figs),
                "named in descriptions": sum(len(f.names) for f in figs),
                "read now": self.read, "from cache": self.cached}


def engine_key(engine: str) -> str:
    """The cache key of an engine's results: its name, version and this module's settings."""
    return key_of("numerals", NUMERALS_VERSION, engine, get_engine(engine).version(), OCR_LONG_SIDE, MIN_CONFIDENCE,
                  TOKEN_HEIGHT, MAX_RING_INK)


def _cache_path(ekey: str, digest: str):
    return config.cache_dir() / "numerals" / ekey / digest[:2] / f"{digest}.json"


def _payload(tokens: list[Token], error: str) -> bytes:
    return json.dumps({"tokens": [t.to_json() for t in tokens], "error": error}, sort_keys=True).encode()


def _load_cached(ekey: str, digest: str) -> tuple[list[Token], str] | None:
    """Cached (tokens, error) of an image, None when missing, damaged or another image's/engine's."""
    doc = load_json(_cache_path(ekey, digest))
    try:
        if doc["version"] != NUMERALS_VERSION or doc["engine_key"] != ekey or doc["digest"] != digest:
            return None
        body = {"tokens": doc["tokens"], "error": doc["error"]}
        if sha256_bytes(json.dumps(body, sort_keys=True).encode()) != doc["sha256"]:
            return None
        return [Token.from_json(t) for t in doc["tokens"]], str(doc["error"])
    except (KeyError, TypeError, ValueError):
        return None


def _store(ekey: str, digest: str, tokens: list[Token], error: str) -> None:
    body = json.loads(_payload(tokens, error))
    doc = {"version": NUMERALS_VERSION, "engine_key": ekey, "digest": digest, **body,
           "sha256": sha256_bytes(_payload(tokens, error))}
    try:
        atomic_write_json(_cache_path(ekey, digest), doc)
    except OSError:  # a read-only cache: the figure is read again next time
        pass


def figure_text(fig: Figure) -> str:
    """The text a figure's numerals are named in: its description (and title)."""
    return f"{fig.description}. {fig.title}"


def link(fig: Figure, tokens: Iterable[Token], error: str = "") -> FigureNumerals:
    """The numerals among ``tokens``, each linked to the part ``fig``'s description names by it."""
    names = parse_numeral_labels(figure_text(fig), fig.labels)
    nums = []
    for t in tokens:
        k = numeral_key(t.text)
        if k:
            nums.append(Numeral(t.text, k, t.box, t.conf, names.get(k, "")))
    return FigureNumerals(fig.id, tuple(nums), names, error)


def read_figure(fig: Figure, engine: str = DEFAULT_ENGINE) -> tuple[list[Token], str]:
    """OCR one figure now (no cache): (tokens, "") or ([], why its image is unreadable)."""
    try:
        im = load_figure_image(fig)
    except ImageError as exc:
        return [], str(exc)
    return get_engine(engine).read(im), ""


def build_numerals(corpus: Corpus, engine: str = DEFAULT_ENGINE, ids: Iterable[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> NumeralBuild:
    """The numerals of ``corpus``'s figures (or of ``ids``), reading only images not yet cached.

    Raises ``EngineUnavailable`` (with the install command) when the engine cannot run."""
    ekey = engine_key(engine)
    figs = [corpus.by_id[i] for i in ids] if ids is not None else list(corpus.figures)
    out: dict[str, FigureNumerals] = {}
    build = NumeralBuild(corpus.name, engine, out)
    for i, fig in enumerate(figs):
        try:
            digest = figure_digest(fig)
        except (OSError, ImageError) as exc:
            out[fig.id] = FigureNumerals(fig.id, error=f"cannot read {fig.path}: {exc}")
            continue
        hit = _load_cached(ekey, digest)
        if hit is None:
            tokens, error = read_figure(fig, engine)
            _store(ekey, digest, tokens, error)
            build.read += 1
        else:
            tokens, error = hit
            build.cached += 1
        out[fig.id] = link(fig, tokens, error)
        if progress:
            progress(i + 1, len(figs))
    return build
