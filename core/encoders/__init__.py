"""Encoder registry: one table that knows every encoder spec grammar.

Specs (``ENCODER_KINDS``; ``python -m core info`` lists them with their availability):
    ``hog``, ``ahdh``                       training-free visual descriptors
    ``tfidf``                               TF-IDF over descriptions / component labels
    ``clip:<arch>:<pretrained>``            open_clip; a pretrained tag or a checkpoint file
    ``clip:hf-hub:<org>/<repo>``            an open_clip model on the Hugging Face hub
    ``timm:<model>[:<checkpoint>]``         pooled features of a timm image model
    ``patentnet:<checkpoint>[:<backbone>]`` PatentNet (Swin-V2 + embedding head), grayscale
    ``text:<model id or folder>``           a sentence-transformers text model (e.g. PaECTER)

Image encoders that declare the ``protocols`` capability take a ``@<protocol>`` suffix
(``clip:ViT-B-16:laion400m_e32@upair``) naming the preprocessing of an evaluation
protocol (``core.protocols``). ``PRESETS`` name groups of specs (``upair-sampling``,
``field``). Ask what an encoder can do with ``has_capability(spec, cap)``.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from .. import config
from .base import (
    CAPABILITIES,
    DOWNLOADABLE,
    FIT_ON_CORPUS,
    IMAGE,
    PROTOCOLS,
    TEXT,
    TEXT_TO_IMAGE,
    Availability,
    Encoder,
    l2_normalise,
)
from .device import compute_device

__all__ = [
    "Availability", "Encoder", "l2_normalise",
    "CAPABILITIES", "IMAGE", "TEXT", "TEXT_TO_IMAGE", "FIT_ON_CORPUS", "DOWNLOADABLE", "PROTOCOLS",
    "EncoderKind", "ENCODER_KINDS", "PRESETS", "UPAIR_CHECKPOINTS", "PATENTNET_CHECKPOINT",
    "get_encoder", "has_capability", "known_encoders", "default_encoders", "expand_specs",
    "parse_spec", "protocol_names", "compute_device",
]

#: Where the UPAIR fine-tuned checkpoints are expected (see README "Encoders and weights").
UPAIR_CHECKPOINTS = {
    "desc": "weights/upair-clip-desc.pt",
    "labels": "weights/upair-clip-labels.pt",
}
#: Where PatentNet's checkpoint is expected (from the PatentNet weights folder in UPAIR's README).
PATENTNET_CHECKPOINT = "weights/swin-arcface-test_epoch19.pth"

#: The encoders offered by default, in display order.
BUILTIN_SPECS: tuple[str, ...] = (
    "clip:ViT-B-16:laion400m_e32",
    f"clip:ViT-B-16:cache/{UPAIR_CHECKPOINTS['desc']}",
    f"clip:ViT-B-16:cache/{UPAIR_CHECKPOINTS['labels']}",
    "hog",
    "ahdh",
    "tfidf",
)

#: Named groups of specs (usable wherever a list of encoders is asked for).
PRESETS: dict[str, tuple[str, ...]] = {
    # The four encoders UPAIR built its candidate pools with, under its own preprocessing.
    "upair-sampling": (
        f"patentnet:cache/{PATENTNET_CHECKPOINT}@upair",
        "timm:resnext101_32x8d.tv_in1k@upair",
        "clip:ViT-H-14-378-quickgelu:dfn5b@upair",
        "text:mpi-inno-comp/paecter@upair",
    ),
    # The strongest public model per family (downloaded on a user's machine).
    "field": (
        "clip:ViT-B-16-SigLIP2:webli",
        "clip:ViT-B-16:dfn2b",
        "clip:MobileCLIP2-L-14:dfndr2b",
        "clip:PE-Core-L-14-336:meta",
        "clip:hf-hub:patentclip/PatentCLIP_Vit_B",
        "timm:vit_base_patch14_reg4_dinov2.lvd142m",
        "text:mpi-inno-comp/paecter",
    ),
}

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
_PROTOCOL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def resolve_path(path: str) -> str:
    """A checkpoint path made absolute: ``cache/...`` against the cache root, other
    relative paths against the repository root."""
    if path.startswith("cache/"):
        return str(config.cache_dir() / path[len("cache/"):])
    if not os.path.isabs(path):
        return str((config.ROOT / path).resolve())
    return path


def _looks_like_path(s: str) -> bool:
    return "/" in s or os.sep in s or s.lower().endswith(_CHECKPOINT_SUFFIXES)


# -- one parser per grammar -------------------------------------------------------------


def _bare(cls_path: str, name: str) -> Callable[[str, dict], Encoder]:
    def build(rest: str, kw: dict) -> Encoder:
        if rest:
            raise ValueError(f"{name} takes no arguments; use plain {name!r} (or {name}@<protocol> where allowed)")
        module, _, cls = cls_path.rpartition(".")
        from importlib import import_module

        return getattr(import_module(module, __name__), cls)(**kw)

    return build


def _clip(rest: str, kw: dict) -> Encoder:
    from .clip import ClipEncoder

    if rest.startswith("hf-hub:"):
        from .clip_hub import HubClipEncoder

        repo = rest[len("hf-hub:"):]
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise ValueError(f"bad hub spec clip:{rest!r}; use clip:hf-hub:<org>/<repo>")
        return HubClipEncoder(repo, **kw)
    arch, sep, pretrained = rest.partition(":")
    if not sep or not arch or not pretrained:
        raise ValueError(f"bad CLIP spec clip:{rest!r}; use clip:<arch>:<pretrained tag or checkpoint path>")
    if _looks_like_path(pretrained):
        pretrained = resolve_path(pretrained)
    return ClipEncoder(arch, pretrained, **kw)


def _timm(rest: str, kw: dict) -> Encoder:
    from .timm_image import TimmEncoder

    model, _, checkpoint = rest.partition(":")
    if not model:
        raise ValueError("bad timm spec; use timm:<model>[:<checkpoint file>]")
    return TimmEncoder(model, resolve_path(checkpoint) if checkpoint else None, **kw)


def _patentnet(rest: str, kw: dict) -> Encoder:
    from .patentnet import PatentNetEncoder

    path, sep, backbone = rest.rpartition(":")
    if not sep or not backbone or _looks_like_path(backbone):
        path, backbone = rest, ""
    path = path or f"cache/{PATENTNET_CHECKPOINT}"
    return PatentNetEncoder(resolve_path(path), **({"backbone": backbone} if backbone else {}), **kw)


def _text(rest: str, kw: dict) -> Encoder:
    from .sentence import SentenceEncoder

    if not rest:
        raise ValueError("bad text spec; use text:<Hugging Face model id or local folder>")
    if rest.startswith(("cache/", "./", "../", "/", "~")) or os.path.isdir(os.path.expanduser(rest)):
        rest = resolve_path(os.path.expanduser(rest))
    return SentenceEncoder(rest, **kw)


@dataclass(frozen=True)
class EncoderKind:
    """One spec grammar: its prefix, how to write it, what it is, and its parser."""

    name: str
    grammar: str
    help: str
    build: Callable[[str, dict], Encoder]
    #: Whether ``@<protocol>`` may follow the spec.
    protocols: bool = False


#: spec prefix → grammar. The first ``:``-separated word of a spec picks the row.
ENCODER_KINDS: dict[str, EncoderKind] = {k.name: k for k in (
    EncoderKind("hog", "hog", "histogram of oriented gradients (no weights)",
                _bare(".classic.HOGEncoder", "hog")),
    EncoderKind("ahdh", "ahdh", "adaptive hierarchical density histogram (no weights)",
                _bare(".classic.AHDHEncoder", "ahdh")),
    EncoderKind("tfidf", "tfidf", "TF-IDF over descriptions and labels, fitted per corpus",
                _bare(".text.TfidfEncoder", "tfidf"), protocols=True),
    EncoderKind("clip", "clip:<arch>:<pretrained tag | checkpoint file> | clip:hf-hub:<org>/<repo>",
                "open_clip image+text model; tags download into cache/open_clip", _clip, protocols=True),
    EncoderKind("timm", "timm:<model>[:<checkpoint file>]",
                "pooled features of a timm image model; weights download into cache/huggingface", _timm,
                protocols=True),
    EncoderKind("patentnet", "patentnet:<checkpoint file>[:<timm backbone>]",
                f"PatentNet (Swin-V2, grayscale); place the checkpoint at cache/{PATENTNET_CHECKPOINT}",
                _patentnet, protocols=True),
    EncoderKind("text", "text:<Hugging Face model id | folder>",
                "sentence-transformers text model (e.g. PaECTER); downloads into cache/huggingface", _text,
                protocols=True),
)}


def protocol_names() -> tuple[str, ...]:
    """Names accepted after ``@`` in a spec (from ``core.protocols``)."""
    from ..protocols import protocol_names as registered

    return tuple(registered())


def parse_spec(spec: str) -> tuple[EncoderKind, str, str | None]:
    """``(kind, rest, protocol)`` of a spec; ValueError listing the grammars when unknown."""
    spec = spec.strip()
    protocol = None
    head, at, tail = spec.rpartition("@")
    if at and head and _PROTOCOL_RE.match(tail):
        spec, protocol = head, tail
    name, _, rest = spec.partition(":")
    kind = ENCODER_KINDS.get(name)
    if kind is None:
        raise ValueError(
            f"unknown encoder {spec!r}; known grammars: {' · '.join(k.grammar for k in ENCODER_KINDS.values())}; "
            f"presets: {', '.join(PRESETS)}"
        )
    if protocol is not None:
        if not kind.protocols:
            raise ValueError(f"{name} encoders have no preprocessing protocols; drop '@{protocol}'")
        names = protocol_names()
        if protocol not in names:
            raise ValueError(f"unknown protocol {protocol!r} in {spec}@{protocol}; known: {', '.join(names)}")
    return kind, rest, protocol


@lru_cache(maxsize=64)
def get_encoder(spec: str) -> Encoder:
    """The encoder for ``spec`` (one shared instance per spec); ValueError lists valid specs."""
    kind, rest, protocol = parse_spec(spec)
    return kind.build(rest, {"protocol": protocol} if protocol else {})


def has_capability(spec: str, capability: str) -> bool:
    """Whether encoder ``spec`` declares ``capability`` (one of ``CAPABILITIES``)."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; known: {', '.join(sorted(CAPABILITIES))}")
    return capability in get_encoder(spec).capabilities


def expand_specs(names: list[str] | tuple[str, ...]) -> list[str]:
    """Specs with every preset name replaced by its members (order kept, duplicates dropped)."""
    out: list[str] = []
    for n in names:
        for s in PRESETS.get(n.strip(), (n.strip(),)):
            if s and s not in out:
                out.append(s)
    return out


def known_encoders() -> list[str]:
    """Built-in specs, every preset's members, adapted models, then any listed in ``$UPAIR_ENCODERS``
    (comma-separated; presets allowed)."""
    extra = list(config.env_at_import("UPAIR_ENCODERS") or ())  # type: ignore[call-overload]
    return expand_specs([*BUILTIN_SPECS, *PRESETS, *sidecar_checkpoint_specs(), *extra])


def sidecar_checkpoint_specs() -> list[str]:
    """``clip:<arch>:cache/weights/NAME.pt`` for every checkpoint in ``cache/weights`` whose
    ``NAME.json`` sidecar names its ``arch`` (what ``python -m core adapt`` writes), by name."""
    folder = config.cache_dir() / "weights"
    if not folder.is_dir():
        return []
    out = []
    for side in sorted(folder.glob("*.json")):
        try:
            arch = json.loads(side.read_text(encoding="utf-8")).get("arch")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(arch, str) and arch and ":" not in arch and side.with_suffix(".pt").is_file():
            out.append(f"clip:{arch}:cache/weights/{side.stem}.pt")
    return out


def default_encoders() -> list[str]:
    """Every known encoder that is available on this machine (invalid extra specs skipped),
    except models adapted here: those are used only when named (a new or a degenerate one is
    never switched on unasked; ``core.adapt.health``)."""
    out = []
    adapted = set(sidecar_checkpoint_specs())
    for s in known_encoders():
        if s in adapted:
            continue
        try:
            if get_encoder(s).availability().ok:
                out.append(s)
        except ValueError:
            continue
    return out
