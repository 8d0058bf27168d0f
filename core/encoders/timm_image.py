"""Pooled features of a timm image model: ``timm:<model>[:<checkpoint file>]``.

``<model>`` is a timm name with an optional pretrained tag (``resnext101_32x8d.tv_in1k``,
``vit_base_patch14_reg4_dinov2.lvd142m``); its weights come from the Hugging Face hub into
``cache/huggingface`` (``python -m core fetch-weights timm:<model>``). A checkpoint file
instead loads those weights into the architecture (missing parameters are an error,
unexpected ones are reported). The classifier is removed; the output is the model's
pooled feature vector, L2-normalised.
"""
from __future__ import annotations

import functools
import sys
from importlib import metadata
from pathlib import Path

from .. import config
from ..protocols import DEFAULT_PROTOCOL
from .base import DOWNLOADABLE, Availability
from .hub import download_file, find_cached, hf_cache_dir
from .torch_image import TorchImageEncoder, load_checked, read_state_dict

__all__ = ["TimmEncoder", "UPAIR_INPUT_SIZE", "HUB_FILES"]


#: Input size UPAIR used per architecture under its protocol (others: the model's own size).
UPAIR_INPUT_SIZE: dict[str, int] = {"resnext101_32x8d": 384}
#: Weight files timm looks for in a hub repository, in order.
HUB_FILES = ("model.safetensors", "pytorch_model.bin")


#: How to find timm's model names (said with an unknown one).
NAMES_HOW = "list them with `python -c \"import timm; print(timm.list_models('*resnet*'))\"`"


@functools.lru_cache(maxsize=1)
def _timm_version() -> str:
    """timm's installed version, looked up once per process."""
    return metadata.version("timm")


def timm_names() -> frozenset[str] | None:
    """timm's architecture names, remembered in the cache per timm version so that checking a
    name usually imports nothing (None when timm is not installed)."""
    from ..store import atomic_write_json, load_json

    try:
        version = _timm_version()
    except metadata.PackageNotFoundError:
        return None
    path = config.cache_dir() / "timm" / f"models-{version}.json"
    data = load_json(path)
    if isinstance(data, list) and data and all(isinstance(n, str) for n in data):
        return frozenset(data)
    import timm

    names = sorted(timm.list_models())
    try:
        atomic_write_json(path, names)
    except OSError:  # a read-only cache: checked again next time
        pass
    return frozenset(names)


def unknown_model(arch: str, names: frozenset[str]) -> Availability:
    """Availability for a name timm does not have, with close matches and how to list them."""
    import difflib

    close = difflib.get_close_matches(arch, sorted(names), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return Availability(False, f"unknown timm model {arch!r}", f"{hint}{NAMES_HOW}")


def _shipped_archs() -> set[str]:
    """Architectures of the timm specs this project ships (built-ins and presets): known to exist."""
    from . import BUILTIN_SPECS, PRESETS

    specs = [*BUILTIN_SPECS, *(s for group in PRESETS.values() for s in group)]
    return {s.split(":")[1].split("@")[0].split(".")[0] for s in specs if s.startswith("timm:")}


class TimmEncoder(TorchImageEncoder):
    """A timm model without its classifier as image encoder (lazy, thread-safe loading)."""

    kind = "timm"

    def __init__(self, model: str, checkpoint: str | Path | None = None, protocol: str = DEFAULT_PROTOCOL) -> None:
        super().__init__(protocol)
        self.model_name = str(model)
        self.arch = self.model_name.split(".", 1)[0]
        self.checkpoint = Path(checkpoint).expanduser().resolve() if checkpoint else None
        if self.checkpoint is None:
            self.capabilities = TorchImageEncoder.capabilities | {DOWNLOADABLE}
        self.spec = self._suffixed(f"timm:{self.model_name}" + (f":{self.checkpoint}" if self.checkpoint else ""))
        self.label = self._labelled(self.model_name + (f" {self.checkpoint.name}" if self.checkpoint else ""))
        self.load_report: dict[str, list[str]] = {"missing": [], "unexpected": []}

    # -- where the weights are -----------------------------------------------------

    def _fetch_fix(self) -> str:
        return f"run `{config.cli()} fetch-weights timm:{self.model_name}` on a machine with internet access"

    def _hub_id(self) -> str | None:
        import timm

        cfg = timm.models.get_pretrained_cfg(self.model_name)
        return getattr(cfg, "hf_hub_id", None) if cfg is not None else None

    def local_weights(self) -> Path | None:
        """The weights file on this machine (checkpoint or hub download), else None."""
        if self.checkpoint is not None:
            return self.checkpoint if self.checkpoint.is_file() else None
        hub_id = self._hub_id()
        return find_cached(hub_id, HUB_FILES) if hub_id else None

    def availability(self) -> Availability:
        if self.checkpoint is not None and not self.checkpoint.is_file():
            return Availability(False, f"checkpoint file not found: {self.checkpoint}",
                                f"put the {self.arch} checkpoint at {self.checkpoint}")
        root = hf_cache_dir()
        if self.arch not in _shipped_archs():  # a name the user typed: is it one timm has?
            try:
                names = timm_names()
            except Exception:  # noqa: BLE001 - a broken install is reported below
                names = None
            if names is not None and self.arch not in names:
                return unknown_model(self.arch, names)
        if (self.checkpoint is None and "timm" not in sys.modules
                and not any(root.glob(f"models--*--{self.arch}*"))):  # answered without importing torch
            return Availability(False, f"weights for {self.model_name} are not downloaded", self._fetch_fix())
        try:
            import timm
        except Exception as exc:  # noqa: BLE001 - any import failure means "not here"
            return Availability(False, f"timm cannot be imported ({type(exc).__name__}: {exc})",
                                "pip install -r requirements.txt (timm and torch)")
        try:
            if not timm.is_model(self.arch):
                return unknown_model(self.arch, frozenset(timm.list_models()))
            if self.checkpoint is not None:
                return Availability(True)
            hub_id = self._hub_id()
            if not hub_id:
                tags = ", ".join(timm.list_pretrained(f"{self.arch}.*")) or "(none)"
                return Availability(False, f"timm has no hub weights for {self.model_name!r}",
                                    f"use a pretrained tag ({tags}) or a checkpoint file: timm:{self.arch}:<file>")
            if find_cached(hub_id, HUB_FILES) is None:
                return Availability(False, f"weights for {self.model_name} are not downloaded", self._fetch_fix())
            return Availability(True)
        except Exception as exc:  # noqa: BLE001 - availability never raises
            return Availability(False, f"cannot check {self.spec}: {type(exc).__name__}: {exc}", "")

    def download(self) -> Path:
        """Download the hub weights into ``cache/huggingface``; returns the file (needs internet)."""
        if self.checkpoint is not None:
            raise ValueError(f"{self.spec} is a local checkpoint, nothing to download; put it at {self.checkpoint}")
        import timm

        if not timm.is_model(self.arch):
            raise ValueError(f"unknown timm model {self.arch!r}; {unknown_model(self.arch, frozenset(timm.list_models())).fix}")
        hub_id = self._hub_id()
        if not hub_id:
            raise ValueError(f"timm has no hub weights for {self.model_name!r}; name a pretrained tag "
                             f"({', '.join(timm.list_pretrained(f'{self.arch}.*')) or 'none'})")
        return download_file(hub_id, HUB_FILES)

    def _weights_id(self) -> str:
        if self.checkpoint is not None:
            from .clip import checkpoint_digest

            digest = checkpoint_digest(self.checkpoint) if self.checkpoint.is_file() else "missing"
            return f"{self.model_name}|sha256:{digest}"
        return f"{self.model_name}|tag|timm={_timm_version()}"

    # -- loading -------------------------------------------------------------------

    def _build(self):
        import timm

        if self.checkpoint is None:
            return timm.create_model(self.model_name, pretrained=True, num_classes=0,
                                     pretrained_cfg_overlay={"file": str(self.local_weights())})
        model = timm.create_model(self.model_name, pretrained=False, num_classes=0)
        state = read_state_dict(self.checkpoint, f"{self.arch} checkpoint")
        filter_fn = getattr(sys.modules.get(type(model).__module__), "checkpoint_filter_fn", None)
        if filter_fn is not None:
            try:
                state = filter_fn(state, model)
            except Exception:  # noqa: BLE001 - a timm-format file needs no remapping
                pass
        own = model.state_dict()
        classifier = str(model.pretrained_cfg.get("classifier") or "")
        state = {k: v for k, v in state.items() if k in own or not (classifier and k.startswith(classifier))}
        self.load_report = load_checked(model, state, str(self.checkpoint), f"timm model {self.arch}",
                                        f"it is not a {self.arch}; was it saved from another architecture?")
        return model

    def _clean_transform(self, model):
        import torch
        from timm.data import create_transform, resolve_model_data_config

        cfg = resolve_model_data_config(model)
        tf = create_transform(**cfg, is_training=False)
        mode = "RGB" if cfg["input_size"][0] == 3 else "L"
        batched = _batched_transform(tf, mode)
        return batched or (lambda images: torch.stack([tf(im.convert(mode)) for im in images]))

    def upair_input(self) -> tuple[int, int]:
        if self.arch in UPAIR_INPUT_SIZE:
            return UPAIR_INPUT_SIZE[self.arch], 3
        return int(self.load().pretrained_cfg["input_size"][-1]), 3

    @property
    def dim(self) -> int:
        model = self.load()
        return int(getattr(model, "head_hidden_size", None) or model.num_features)


def _batched_transform(tf, mode: str):
    """timm's eval transform with its tensor steps done once per batch: the PIL steps
    (resize, crop) per image, then one uint8 stack → float ÷ 255 → (x − mean) ÷ std for the
    whole batch — the same arithmetic as ``ToTensor`` + ``Normalize`` image by image. None
    when the transform does not end in those two steps (then it is applied as it is)."""
    import numpy as np
    import torch

    steps = list(getattr(tf, "transforms", ()))
    if len(steps) < 2 or type(steps[-1]).__name__ != "Normalize" or \
            type(steps[-2]).__name__ not in ("ToTensor", "MaybeToTensor"):
        return None
    head, norm = steps[:-2], steps[-1]
    mean = torch.as_tensor(norm.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.as_tensor(norm.std, dtype=torch.float32).view(1, -1, 1, 1)

    def run(images):
        arrays = []
        for im in images:
            im = im.convert(mode)
            for step in head:
                im = step(im)
            a = np.asarray(im, dtype=np.uint8)
            arrays.append(a[:, :, None] if a.ndim == 2 else a)
        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
        return x.sub_(mean).div_(std).contiguous()

    return run
