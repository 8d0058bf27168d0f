"""open_clip image/text encoder: a pretrained tag or a local (UPAIR fine-tuned) checkpoint.

``ClipEncoder(arch, pretrained)``: ``pretrained`` is an open_clip pretrained tag (e.g.
``laion400m_e32``) whose weights live under ``cache_dir()/open_clip``, or the path of a
checkpoint file (raw ``state_dict`` or open_clip's training format ``{"state_dict": ...}``,
``module.`` prefixes from DataParallel/DDP are stripped), which is how UPAIR's description-
and label-fine-tuned checkpoints are loaded.

Nothing here touches the network except ``ClipEncoder.download()``. Images are
preprocessed as the encoder's evaluation protocol says (``core.protocols``): pad to a
centred white square, bicubic resize to the model's input size, grayscale replicated to
three channels, then ImageNet mean/std on the file as stored (``upair``, the official
evaluation) or the model's own mean/std on the upright, alpha-on-white image (``clean``).
"""
from __future__ import annotations

import glob
import hashlib
import logging
import os
import sys
import threading
from pathlib import Path

import numpy as np

from .. import config
from ..errors import torch_load_reason
from ..protocols import DEFAULT_PROTOCOL, IMAGENET_MEAN, IMAGENET_STD, clean_preprocess, get_protocol, upair_preprocess
from .base import DOWNLOADABLE, IMAGE, PROTOCOLS, TEXT, TEXT_TO_IMAGE, Availability, Encoder, l2_normalise
from .device import OnDevice, autocast
from .torch_image import read_state_dict

__all__ = ["ClipEncoder", "is_checkpoint_path", "open_clip_cache_dir", "PREPROCESS_VERSION"]

#: Bump when the image preprocessing changes (part of every cache key).
PREPROCESS_VERSION = "pad-white-bicubic-gray3-v1"

#: CLIP's default normalisation (open_clip's OPENAI_DATASET_MEAN/STD), used when a model
#: carries no preprocessing config.
_OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
_HF_WEIGHTS = "open_clip_pytorch_model.bin"
_HF_SAFE_WEIGHTS = "open_clip_model.safetensors"


def is_checkpoint_path(pretrained: str) -> bool:
    """True when ``pretrained`` names a file rather than an open_clip tag."""
    p = str(pretrained)
    return "/" in p or os.sep in p or p.lower().endswith(_CHECKPOINT_SUFFIXES) or os.path.isfile(p)


def _packaged_arch(arch: str) -> bool:
    """Whether open_clip ships a config for ``arch``, checked without importing it (or torch)."""
    import importlib.util

    spec = importlib.util.find_spec("open_clip")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / "model_configs" / f"{arch}.json").is_file():
            return True
    return False


def _listed_tag(arch: str, tag: str) -> bool:
    """Whether open_clip's table of pretrained weights names ``tag`` (read as text, so neither
    open_clip nor torch is imported); an unknown tag then takes the slow path, which says so."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("open_clip")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        try:
            text = (Path(loc) / "pretrained.py").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if re.search(rf"(?<![\w-]){re.escape(tag)}\s*=|[\"']{re.escape(tag)}[\"']", text):
            return True
    return False


def _tag_fix(arch: str, tag: str) -> str:
    """What to do about an unknown pretrained ``tag``: its close matches among ``arch``'s tags."""
    import difflib

    import open_clip

    tags = list(open_clip.list_pretrained_tags_by_model(arch))
    close = difflib.get_close_matches(tag, tags, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return (f"{hint}{arch} has the tags: {', '.join(tags) or '(none)'}; or give a checkpoint path "
            "(clip:<arch>:<file>)")


def open_clip_cache_dir() -> Path:
    """Where pretrained open_clip weights are downloaded to and looked up."""
    return config.cache_dir() / "open_clip"


def checkpoint_digest(path: Path | str) -> str:
    """SHA-256 of a checkpoint file, remembered by (path, size, mtime, inode): in this process
    (``store.cached_file_hash``) and across processes in ``cache/digests/`` (a checkpoint of
    ~350 MB is hashed once, not on every build). A memo whose file facts differ is ignored."""
    from ..store import atomic_write_json, cached_file_hash, load_json

    path = Path(path).resolve()
    st = path.stat()
    facts = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}
    memo = None
    try:
        memo = config.cache_dir() / "digests" / (hashlib.sha1(str(path).encode("utf-8", "surrogatepass")).hexdigest() + ".json")
        got = load_json(memo)
        if (isinstance(got, dict) and {k: got.get(k) for k in facts} == facts
                and isinstance(got.get("sha256"), str) and len(got["sha256"]) == 64):
            return got["sha256"]
    except Exception:  # noqa: BLE001 - no usable cache folder: hash without the memo
        memo = None
    digest = cached_file_hash(path)
    if memo is not None:
        try:
            atomic_write_json(memo, {**facts, "sha256": digest})
        except OSError:  # a read-only cache: hashed again next time
            pass
    return digest


def _hf_candidates(hf_hub: str) -> tuple[str, list[str]]:
    """``(repo_id, [filenames in the order open_clip tries them])`` of an ``hf_hub`` entry."""
    repo_id, filename = os.path.split(hf_hub)
    filename = filename or _HF_WEIGHTS
    names: list[str] = []
    if filename == _HF_WEIGHTS:
        names.append(_HF_SAFE_WEIGHTS)
    elif filename.endswith((".bin", ".pth")):
        names.append(filename[:-4] + ".safetensors")
    names.append(filename)
    return repo_id, names


def _find_in_hf_cache(root: Path, repo_id: str, filename: str) -> Path | None:
    """A file already in a huggingface_hub cache under ``root`` (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, filename, cache_dir=str(root))
        if isinstance(hit, str) and os.path.isfile(hit):
            return Path(hit)
    except Exception:  # noqa: BLE001 - absent/old huggingface_hub: fall back to the layout
        pass
    folder = root / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    for hit in sorted(glob.glob(str(folder / "*" / filename))):
        if os.path.isfile(hit):
            return Path(hit)
    return None


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No pretrained weights loaded")


class ClipEncoder(OnDevice, Encoder):
    """An open_clip model as image and text encoder (lazy, thread-safe loading).

    ``protocol`` names the preprocessing (``core.protocols``): ``"clean"`` (default; the
    model's / pretrained tag's mean and std) or ``"upair"`` (the official UPAIR evaluation:
    ImageNet statistics, alpha ignored). It is part of the spec (``…@upair``) and the cache key.
    """

    kind = "clip"
    capabilities = frozenset({IMAGE, TEXT, TEXT_TO_IMAGE, DOWNLOADABLE, PROTOCOLS})
    cpu_batch, cuda_batch = 32, 256  # images per forward pass (OnDevice: CUDA when torch sees it)

    def __init__(self, arch: str, pretrained: str, protocol: str = DEFAULT_PROTOCOL) -> None:
        self.protocol = get_protocol(protocol).name  # ValueError lists the known protocols
        self.arch = str(arch)
        self.pretrained = str(pretrained)
        self.is_checkpoint = is_checkpoint_path(self.pretrained)
        if self.is_checkpoint:  # a local file: nothing to download
            self.capabilities = type(self).capabilities - {DOWNLOADABLE}
        self.spec = f"clip:{self.arch}:{self.pretrained}"
        if self.protocol != DEFAULT_PROTOCOL:
            self.spec += f"@{self.protocol}"
        shown = Path(self.pretrained).name if self.is_checkpoint else self.pretrained
        self.label = f"CLIP {self.arch} {shown}" + (f" [{self.protocol}]" if self.protocol != DEFAULT_PROTOCOL else "")
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self._mean: tuple[float, ...] = _OPENAI_MEAN
        self._std: tuple[float, ...] = _OPENAI_STD
        self._image_size: int = 224

    # -- where the weights are -----------------------------------------------------

    @property
    def checkpoint_path(self) -> Path | None:
        """Absolute path of the checkpoint file, or None for a pretrained tag."""
        return Path(self.pretrained).expanduser().resolve() if self.is_checkpoint else None

    def _pretrained_cfg(self) -> dict:
        import open_clip

        return dict(open_clip.get_pretrained_cfg(self.arch, self.pretrained) or {})

    def local_weights(self) -> Path | None:
        """The weights file on this machine (checkpoint, or cached tag download), else None."""
        if self.is_checkpoint:
            p = self.checkpoint_path
            return p if p is not None and p.is_file() else None
        cfg = self._pretrained_cfg()
        if not cfg:
            return None
        if cfg.get("file") and os.path.isfile(cfg["file"]):
            return Path(cfg["file"])
        root = open_clip_cache_dir()
        if cfg.get("hf_hub"):
            repo_id, names = _hf_candidates(cfg["hf_hub"])
            for name in names:
                hit = _find_in_hf_cache(root, repo_id, name)
                if hit is not None:
                    return hit
        if cfg.get("url"):
            hit = root / os.path.basename(cfg["url"])
            if hit.is_file() and hit.stat().st_size > 0:
                return hit
        return None

    def _fetch_fix(self) -> str:
        return (
            f"run `{config.cli()} fetch-weights clip:{self.arch}:{self.pretrained}` on a machine with "
            "internet access"
        )

    def availability(self) -> Availability:
        # Cheap answers first, so listing encoders does not import torch (~3 s) when the
        # weights plainly are not here: a missing checkpoint file, or no downloaded weights at all.
        if self.is_checkpoint and not self.checkpoint_path.is_file():
            return Availability(False, f"checkpoint file not found: {self.checkpoint_path}",
                                f"put the UPAIR checkpoint at {self.checkpoint_path} (see README, Encoders and weights)")
        cache = open_clip_cache_dir()
        if (not self.is_checkpoint and "open_clip" not in sys.modules and _packaged_arch(self.arch)
                and _listed_tag(self.arch, self.pretrained)
                and not (cache.is_dir() and any(p.is_file() for p in cache.rglob("*")))):
            return Availability(False, f"weights for {self.arch}/{self.pretrained} are not downloaded",
                                self._fetch_fix())
        try:
            import open_clip
        except Exception as exc:  # noqa: BLE001 - any import failure means "not here"
            return Availability(
                False,
                f"open_clip cannot be imported ({type(exc).__name__}: {exc})",
                "pip install -r requirements.txt (open_clip_torch and torch)",
            )
        try:
            if self.arch not in open_clip.list_models():
                return Availability(
                    False,
                    f"unknown open_clip architecture {self.arch!r}",
                    "use a valid name; list them with "
                    "`python -c \"import open_clip; print(open_clip.list_models())\"`",
                )
            if self.is_checkpoint:
                path = self.checkpoint_path
                if not path.is_file():
                    return Availability(
                        False,
                        f"checkpoint file not found: {path}",
                        f"put the UPAIR checkpoint at {path} (see README, Encoders and weights)",
                    )
                return Availability(True)
            if not self._pretrained_cfg():
                return Availability(False, f"unknown pretrained tag {self.pretrained!r} for {self.arch}",
                                    _tag_fix(self.arch, self.pretrained))
            if self.local_weights() is None:
                return Availability(
                    False,
                    f"weights for {self.arch}/{self.pretrained} are not downloaded",
                    self._fetch_fix(),
                )
            return Availability(True)
        except Exception as exc:  # noqa: BLE001 - availability never raises
            return Availability(False, f"cannot check {self.spec}: {type(exc).__name__}: {exc}", "")

    def download(self) -> Path:
        """Download a pretrained tag's weights into ``cache_dir()/open_clip``; returns the file.

        Needs internet access. Checkpoint files cannot be downloaded (ValueError says where
        to put them); download failures raise RuntimeError naming the weights.
        """
        if self.is_checkpoint:
            raise ValueError(
                f"{self.spec} is a local checkpoint, nothing to download; "
                f"put the UPAIR checkpoint at {self.checkpoint_path} (see README, Encoders and weights)"
            )
        import open_clip
        from open_clip.pretrained import download_pretrained

        if self.arch not in open_clip.list_models():
            raise ValueError(f"unknown open_clip architecture {self.arch!r}")
        cfg = self._pretrained_cfg()
        if not cfg:
            raise ValueError(f"unknown pretrained tag {self.pretrained!r} for {self.arch}: "
                             f"{_tag_fix(self.arch, self.pretrained)}")
        have = self.local_weights()
        if have is not None:
            return have
        root = open_clip_cache_dir()
        root.mkdir(parents=True, exist_ok=True)
        if cfg.get("hf_hub"):  # one line at once when the hub is out of reach, not the library's retries
            from .hub import require_hub

            require_hub(f"CLIP {self.arch}/{self.pretrained}", self.spec)
        try:
            target = download_pretrained(cfg, cache_dir=str(root))
        except Exception as exc:  # noqa: BLE001 - network, hub and checksum errors alike
            raise RuntimeError(
                f"could not download weights for {self.arch}/{self.pretrained} into {root}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not target or not os.path.isfile(target):
            raise RuntimeError(f"download of {self.arch}/{self.pretrained} produced no file")
        return Path(target)

    # -- loading -------------------------------------------------------------------

    def _read_checkpoint(self, path: Path) -> dict:
        return read_state_dict(path, "CLIP checkpoint")

    def _load_locked(self) -> None:
        import open_clip

        config.configure_threads()
        avail = self.availability()
        if not avail.ok:
            raise RuntimeError(f"{self.label} is not available: {avail.reason}. Fix: {avail.fix}")
        # open_clip logs "No pretrained weights loaded" for pretrained=None; we load them ourselves.
        quiet = _DropRandomInitWarning()
        root_logger = logging.getLogger()
        root_logger.addFilter(quiet)
        try:
            if self.is_checkpoint:
                path = self.checkpoint_path
                state = self._read_checkpoint(path)
                model, _, _ = open_clip.create_model_and_transforms(
                    self.arch, pretrained=None, pretrained_text=False
                )
                if "logit_scale" in state and hasattr(model, "logit_scale"):
                    want = model.logit_scale
                    if state["logit_scale"].ndim != want.ndim:
                        state["logit_scale"] = state["logit_scale"].reshape(want.shape)
                try:
                    model.load_state_dict(state, strict=True)
                except RuntimeError as exc:
                    msg = str(exc)
                    if len(msg) > 800:
                        msg = msg[:800] + " ..."
                    raise RuntimeError(
                        f"CLIP checkpoint {path} does not match open_clip architecture {self.arch!r} "
                        f"(was it trained from a different model?): {msg}"
                    ) from exc
            else:
                from open_clip.transform import merge_preprocess_dict

                cfg = self._pretrained_cfg()
                weights = self.local_weights()
                model = open_clip.create_model(
                    self.arch,
                    pretrained=None,
                    pretrained_text=False,
                    force_quick_gelu=bool(cfg.get("quick_gelu", False)),
                    force_preprocess_cfg=merge_preprocess_dict({}, cfg),
                )
                try:
                    open_clip.load_checkpoint(model, str(weights), strict=True)
                except Exception as exc:  # noqa: BLE001 - truncated, foreign or malicious files alike
                    raise RuntimeError(
                        f"damaged weights for {self.arch}/{self.pretrained} at {weights} "
                        f"({torch_load_reason(exc)}): delete "
                        f"{weights} and fetch again with `{config.cli()} fetch-weights {self.spec}`"
                    ) from exc
        finally:
            root_logger.removeFilter(quiet)
        model.eval().to(self.device)
        pcfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
        if get_protocol(self.protocol).normalisation == "imagenet":
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        else:
            mean = tuple(pcfg.get("mean") or _OPENAI_MEAN)
            std = tuple(pcfg.get("std") or _OPENAI_STD)
        if len(mean) == 1:
            mean = mean * 3
        if len(std) == 1:
            std = std * 3
        size = getattr(model.visual, "image_size", None) or pcfg.get("size") or 224
        if isinstance(size, (tuple, list)):
            size = size[0]
        self._mean, self._std, self._image_size = tuple(mean), tuple(std), int(size)
        self._tokenizer = open_clip.get_tokenizer(self.arch)
        self._model = model

    def load(self):
        """Load the model now (once; later calls return the loaded model)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._load_locked()
        return self._model

    # -- Encoder API ---------------------------------------------------------------

    @property
    def dim(self) -> int:
        if self._model is None:
            try:
                import open_clip

                cfg = open_clip.get_model_config(self.arch)
                if cfg and "embed_dim" in cfg:
                    return int(cfg["embed_dim"])
            except Exception:  # noqa: BLE001 - fall back to loading the model
                pass
        model = self.load()
        return int(getattr(model, "embed_dim", None) or model.text_projection.shape[1])

    @property
    def image_size(self) -> int:
        self.load()
        return self._image_size

    @property
    def mean_std(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The per-channel normalisation used by ``preprocess``."""
        self.load()
        return self._mean, self._std

    def cache_key(self) -> str:
        if self.is_checkpoint:
            path = self.checkpoint_path
            weights = f"sha256:{checkpoint_digest(path)}" if path.is_file() else f"missing:{path}"
        else:
            weights = f"tag:{self.pretrained}"
        return f"clip|{self.arch}|{weights}|pp={PREPROCESS_VERSION}|protocol={get_protocol(self.protocol).key}"

    def preprocess(self, images: list):
        """``list[PIL.Image]`` → float32 tensor ``(n, 3, S, S)`` ready for ``forward_images``.

        Each image is centred on a white square, resized bicubically to the model's input
        size, converted to grayscale, replicated to three channels and normalised, as the
        encoder's protocol says (``core.protocols.upair_preprocess`` / ``clean_preprocess``).
        """
        self.load()
        if self.protocol == "upair":
            return upair_preprocess(images, self._image_size, channels=3)
        return clean_preprocess(images, self._image_size, self._mean, self._std)

    def forward_images(self, tensor) -> np.ndarray:
        """Preprocessed batch → float32 ``(n, dim)`` L2-normalised image embeddings."""
        model = self.load()
        with autocast(self.device):
            feats = model.encode_image(tensor.to(self.device, non_blocking=True))
        return l2_normalise(feats.float().cpu().numpy())

    def encode_images(self, images: list) -> np.ndarray:
        import torch

        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                out.append(self.forward_images(self.preprocess(images[i : i + self.batch_size])))
        return np.concatenate(out, axis=0)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts → float32 ``(n, dim)`` L2-normalised; longer texts are truncated to the context length.

        Texts are used as given; ``core.embed`` cleans them with the encoder's protocol first.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.load()
        out = []
        with autocast(self.device):
            for i in range(0, len(texts), 256):
                tokens = self._tokenizer([str(t) for t in texts[i : i + 256]]).to(self.device)
                out.append(l2_normalise(model.encode_text(tokens).float().cpu().numpy()))
        return np.concatenate(out, axis=0)
