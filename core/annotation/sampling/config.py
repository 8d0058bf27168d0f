"""Sampling configuration: indices (role → encoder + field), groups (percentile bands), options.

The reference's ``config.yaml`` loads as it is: its index names (title, desc, label, clip,
patentnet, resnext) are mapped to this project's encoder specs by ``REFERENCE_INDICES``.
A project config may name the encoder and field of every index itself::

    indices:
      desc: {encoder: tfidf, field: desc}
      hog:  {encoder: hog, field: image}
    roles: {description: desc, visual: hog, dedup: hog}
    groups: {positive: {easy: {text_percentile_range: ["100.000", "97.000"], ...}}}

Every error names the key that is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .options import DEFAULT_SAMPLING_PROTOCOL, SamplingOptionError, SamplingOptions, sampling_protocol, with_options

#: Group names in the reference's order (difficulty, relevance) → "<difficulty>_<relevance>".
GROUP_ORDER: tuple[tuple[str, str], ...] = (
    ("easy", "positive"), ("easy", "negative"), ("hard", "positive"), ("hard", "negative"),
)
#: Fields an index can encode: the drawing, or one text of the figure.
FIELDS = ("image", "title", "desc", "labels")
TEXT_FIELDS = ("title", "desc", "labels")
#: Deduplication methods: the reference's (within each group) and the stricter variant.
METHODS = {
    "upair": "as the reference: deduplicate within each group (only when it has more than 5 candidates) "
             "and against the cited candidates",
    "strict": "deduplicate every group, against the cited candidates and every figure kept in earlier groups",
}

def _reference_indices() -> dict[str, tuple[str, str]]:
    """The reference's index names → (encoder spec, field), from the encoder registry's
    ``upair-sampling`` preset (PatentNet, ResNeXt-101, CLIP ViT-H-14-378, PaECTER)."""
    from ...encoders import PRESETS

    patentnet, resnext, clip, text = PRESETS["upair-sampling"]
    return {"title": (text, "title"), "desc": (text, "desc"), "label": (text, "labels"),
            "clip": (clip, "image"), "patentnet": (patentnet, "image"), "resnext": (resnext, "image")}


#: The reference's index names → (encoder spec, field).
REFERENCE_INDICES: dict[str, tuple[str, str]] = _reference_indices()

#: The offline default: TF-IDF for the three texts, HOG and AHDH for the drawing.
DEFAULT_YAML = """\
indices:
  title:  {encoder: tfidf, field: title}
  desc:   {encoder: tfidf, field: desc}
  label:  {encoder: tfidf, field: labels}
  hog:    {encoder: hog, field: image}
  ahdh:   {encoder: ahdh, field: image}
roles: {description: desc, visual: hog, dedup: hog}
cited_sample_size: 5
dedup_threshold: 0.90
groups:
  positive:
    easy: {text_percentile_range: ["100.000", "97.000"], image_percentile_range: ["100.000", "97.000"], size: 5}
    hard: {text_percentile_range: ["100.000", "97.000"], image_percentile_range: ["95.000", "92.000"], size: 5}
  negative:
    easy: {text_percentile_range: ["90.000", "87.000"], image_percentile_range: ["85.000", "82.000"], size: 80}
    hard: {text_percentile_range: ["90.000", "87.000"], image_percentile_range: ["100.000", "97.000"], size: 5}
"""


class SamplingConfigError(ValueError):
    """The sampling configuration is unusable; the message names the key."""


@dataclass(frozen=True)
class IndexRole:
    """One index: its name in the config, the encoder spec and the field it encodes."""

    name: str
    encoder: str
    field: str

    @property
    def is_text(self) -> bool:
        return self.field in TEXT_FIELDS


@dataclass(frozen=True)
class Band:
    """A percentile band (upper, lower], as config strings such as "100.000" and "97.000"."""

    upper: str
    lower: str

    def __str__(self) -> str:
        return f"{self.lower}–{self.upper}"


@dataclass(frozen=True)
class GroupSpec:
    """One sampling group: a text band, an image band and how many candidates to keep."""

    name: str  # "easy_positive", ...
    text: Band
    image: Band
    size: int

    def band_for(self, role: IndexRole) -> Band:
        return self.text if role.is_text else self.image


@dataclass(frozen=True)
class SamplingConfig:
    """Everything that decides a draw, besides the corpus, the queries and the seed."""

    indices: tuple[IndexRole, ...]
    groups: tuple[GroupSpec, ...]
    description_index: str | None
    visual_index: str | None
    dedup_index: str
    cited_sample_size: int = 5
    dedup_threshold: float = 0.90
    sample_factor: int = 2
    union_cap: int = 1000
    min_intersection: int = 5
    dedup_min: int = 5
    citations_data: str | None = None
    source: str = "default"
    notes: tuple[str, ...] = field(default=())
    #: The sampling protocol and its option values (``options.py``): where this run may differ
    #: from the reference sampler.
    protocol: str = DEFAULT_SAMPLING_PROTOCOL
    options: SamplingOptions = field(default_factory=SamplingOptions)

    def index(self, name: str) -> IndexRole:
        return next(r for r in self.indices if r.name == name)

    @property
    def percentiles(self) -> tuple[str, ...]:
        """Every percentile key the groups use, sorted high to low."""
        keys = {k for g in self.groups for b in (g.text, g.image) for k in (b.upper, b.lower)}
        return tuple(sorted(keys, key=float, reverse=True))

    def as_json(self) -> dict:
        """A JSON-able, order-stable description (recorded beside every draw)."""
        return {
            "indices": {r.name: {"encoder": r.encoder, "field": r.field} for r in self.indices},
            "roles": {"description": self.description_index, "visual": self.visual_index, "dedup": self.dedup_index},
            "groups": {g.name: {"text": [g.text.upper, g.text.lower], "image": [g.image.upper, g.image.lower],
                                "size": g.size} for g in self.groups},
            "cited_sample_size": self.cited_sample_size, "dedup_threshold": self.dedup_threshold,
            "sample_factor": self.sample_factor, "union_cap": self.union_cap,
            "min_intersection": self.min_intersection, "dedup_min": self.dedup_min,
            "protocol": self.protocol, "options": self.options.as_json(),
        }


def _pct(value: Any, key: str) -> str:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise SamplingConfigError(f"{key}: {value!r} is not a percentile (use a number such as \"97.000\")") from None
    if not 0.0 <= p <= 100.0:
        raise SamplingConfigError(f"{key}: percentile {p} is outside 0-100")
    return f"{p:.3f}"


def _band(raw: Any, key: str) -> Band:
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise SamplingConfigError(f"{key}: expected [upper, lower] percentiles, e.g. [\"100.000\", \"97.000\"]")
    upper, lower = _pct(raw[0], f"{key}[0]"), _pct(raw[1], f"{key}[1]")
    if float(upper) <= float(lower):
        raise SamplingConfigError(f"{key}: band is upside down or empty ({upper} ≤ {lower}); write [upper, lower]")
    return Band(upper, lower)


def _groups(raw: Any) -> tuple[GroupSpec, ...]:
    if not isinstance(raw, Mapping):
        raise SamplingConfigError("groups: expected positive/negative → easy/hard → bands and size")
    for rel in raw:
        if rel not in ("positive", "negative"):
            raise SamplingConfigError(f"groups.{rel}: unknown group; use positive or negative")
        if not isinstance(raw[rel], Mapping):
            raise SamplingConfigError(f"groups.{rel}: expected easy and/or hard")
        for diff in raw[rel]:
            if diff not in ("easy", "hard"):
                raise SamplingConfigError(f"groups.{rel}.{diff}: unknown group; use easy or hard")
    out = []
    for diff, rel in GROUP_ORDER:
        spec = raw.get(rel, {}).get(diff)
        if spec is None:
            continue
        key = f"groups.{rel}.{diff}"
        if not isinstance(spec, Mapping):
            raise SamplingConfigError(f"{key}: expected text_percentile_range, image_percentile_range and size")
        unknown = set(spec) - {"text_percentile_range", "image_percentile_range", "size"}
        if unknown:
            raise SamplingConfigError(f"{key}.{sorted(unknown)[0]}: unknown key")
        for k in ("text_percentile_range", "image_percentile_range", "size"):
            if k not in spec:
                raise SamplingConfigError(f"{key}.{k}: missing")
        size = spec["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SamplingConfigError(f"{key}.size: expected a whole number ≥ 0, got {size!r}")
        out.append(GroupSpec(f"{diff}_{rel}", _band(spec["text_percentile_range"], f"{key}.text_percentile_range"),
                             _band(spec["image_percentile_range"], f"{key}.image_percentile_range"), size))
    if not out:
        raise SamplingConfigError("groups: no group defined")
    if not any(g.size for g in out):
        raise SamplingConfigError("groups: every group's size is 0, so every pool would be empty; "
                                  "give at least one group a size ≥ 1")
    return tuple(out)


def _indices(raw: Any) -> tuple[tuple[IndexRole, ...], list[str]]:
    from ...encoders import get_encoder

    if not isinstance(raw, Mapping) or not raw:
        raise SamplingConfigError("indices: expected a mapping of index name → {encoder, field}")
    roles, notes = [], []
    for name, spec in raw.items():
        spec = spec if isinstance(spec, Mapping) else {}
        ref = REFERENCE_INDICES.get(str(name))
        encoder = spec.get("encoder") or (ref[0] if ref else None)
        fld = spec.get("field") or (ref[1] if ref else None)
        if encoder is None:
            raise SamplingConfigError(
                f"indices.{name}.encoder: missing, and {name!r} is not one of the reference's indices "
                f"({', '.join(REFERENCE_INDICES)}); name the encoder spec")
        if fld not in FIELDS:
            raise SamplingConfigError(f"indices.{name}.field: {fld!r} is not one of {', '.join(FIELDS)}")
        if ref and "encoder" not in spec:
            notes.append(f"index {name}: reference encoder → {encoder} ({fld})")
        if "encoder" in spec:  # a reference name's mapped encoder is checked when sampling starts
            try:
                get_encoder(str(encoder))
            except ValueError as exc:
                raise SamplingConfigError(f"indices.{name}.encoder: {exc}") from None
        roles.append(IndexRole(str(name), str(encoder), str(fld)))
    return tuple(roles), notes


def _role(raw: Mapping, key: str, names: list[str], default: str | None) -> str | None:
    value = raw.get(key, default)
    if value is not None and value not in names:
        raise SamplingConfigError(f"roles.{key}: {value!r} is not an index; choose from {', '.join(names)}")
    return value


def parse_config(raw: Any, source: str = "inline") -> SamplingConfig:
    """Validate a loaded YAML/JSON mapping into a ``SamplingConfig``."""
    if not isinstance(raw, Mapping):
        raise SamplingConfigError(f"{source}: expected a mapping at the top level")
    indices, notes = _indices(raw.get("indices"))
    names = [r.name for r in indices]
    image_names = [r.name for r in indices if r.field == "image"]
    visual_default = "patentnet" if "patentnet" in names else (image_names[0] if image_names else None)
    roles = raw.get("roles") or {}
    if not isinstance(roles, Mapping):
        raise SamplingConfigError("roles: expected {description: <index>, visual: <index>, dedup: <index>}")
    for k in roles:
        if k not in ("description", "visual", "dedup"):
            raise SamplingConfigError(f"roles.{k}: unknown role; use description, visual or dedup")
    desc = _role(roles, "description", names, "desc" if "desc" in names else None)
    visual = _role(roles, "visual", names, visual_default)
    dedup = _role(roles, "dedup", names, visual or (image_names or names)[0])

    def number(key: str, default, kind=int, lo=0):
        value = raw.get(key, default)
        bad = not isinstance(value, (int, float)) or isinstance(value, bool)
        if bad or value < lo or (kind is int and value != int(value)):
            what = "whole number" if kind is int else "number"
            raise SamplingConfigError(f"{key}: expected a {what} ≥ {lo}, got {value!r}")
        return kind(value)

    threshold = number("dedup_threshold", 0.90, float, -1)
    if threshold > 1:
        raise SamplingConfigError(f"dedup_threshold: {threshold} is above 1 (a cosine)")
    try:
        protocol = str(raw.get("protocol") or DEFAULT_SAMPLING_PROTOCOL).strip().lower()
        extra = raw.get("options") or {}
        if not isinstance(extra, Mapping):
            raise SamplingConfigError("options: expected a mapping of option → value, e.g. {scores: fast}")
        options = with_options(sampling_protocol(protocol, "protocol"), extra, "options")
    except SamplingOptionError as exc:
        raise SamplingConfigError(str(exc)) from None
    ignored = sorted(k for k in ("query_images", "query_dir", "thresholds_dict", "index_dir", "index") if k in raw)
    if ignored:
        notes.append("reference keys not used here (corpus and queries come from --corpus/--queries): "
                     + ", ".join(ignored))
    return SamplingConfig(
        indices=indices, groups=_groups(raw.get("groups")), description_index=desc, visual_index=visual,
        dedup_index=dedup, cited_sample_size=number("cited_sample_size", 5), dedup_threshold=threshold,
        sample_factor=number("sample_factor", 2, lo=1), union_cap=number("union_cap", 1000, lo=1),
        min_intersection=number("min_intersection", 5, lo=1), dedup_min=number("dedup_min", 5),
        citations_data=raw.get("citations_data"), source=source, notes=tuple(notes),
        protocol=protocol, options=options,
    )


def with_protocol(config: SamplingConfig, protocol: str | None = None,
                  options: Mapping[str, object] | None = None, source: str = "--option") -> SamplingConfig:
    """``config`` under another sampling ``protocol`` (its option values) and/or ``options``
    overriding single values; raises ``SamplingConfigError`` naming what is unknown."""
    import dataclasses

    try:
        name = config.protocol if protocol is None else str(protocol).strip().lower()
        base = config.options if protocol is None else sampling_protocol(name, "--protocol")
        return dataclasses.replace(config, protocol=name, options=with_options(base, options or {}, source))
    except SamplingOptionError as exc:
        raise SamplingConfigError(str(exc)) from None


#: Largest sampling config read (the reference's is under 2 KiB).
CONFIG_MAX_BYTES = 1 << 20


def load_config(path: str | Path | None = None) -> SamplingConfig:
    """The config at ``path`` (YAML or JSON), or the offline default when ``path`` is None."""
    import yaml

    if path is None:
        return parse_config(yaml.safe_load(DEFAULT_YAML), source="default (TF-IDF, HOG, AHDH)")
    p = Path(path).expanduser()
    if not p.is_file():
        raise SamplingConfigError(f"config file not found: {p.absolute()}")
    if p.stat().st_size > CONFIG_MAX_BYTES:
        raise SamplingConfigError(f"{p}: larger than {CONFIG_MAX_BYTES >> 10} KiB; is it really a sampling config?")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SamplingConfigError(f"{p}: not UTF-8 text (byte {exc.start}); a config is YAML or JSON") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise SamplingConfigError(f"{p}: not valid YAML: {str(exc)[:300]}") from None
    try:
        return parse_config(raw, source=str(p))
    except SamplingConfigError as exc:
        if str(exc).startswith(str(p)):
            raise
        raise SamplingConfigError(f"{p}: {exc}") from None
    except (TypeError, RecursionError) as exc:  # e.g. an unhashable key YAML allows
        raise SamplingConfigError(f"{p}: not a sampling config ({exc})") from None
