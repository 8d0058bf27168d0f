"""A sentence-transformers text encoder: ``text:<Hugging Face model id | local folder>``.

For patent text, PaECTER (``text:mpi-inno-comp/paecter``, BERT-large, mean-pooled,
1024-d). A hub model is downloaded into ``cache/huggingface`` by ``python -m core
fetch-weights text:<id>`` and loaded from there without the network; a local folder is
either a sentence-transformers model or a plain transformers model (mean pooling is then
added). Texts arrive cleaned by the evaluation protocol (``core.embed``); an empty text
gives a zero row ("similar to nothing"), as TF-IDF does.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

from .. import config
from ..protocols import DEFAULT_PROTOCOL, get_protocol
from .base import DOWNLOADABLE, PROTOCOLS, TEXT, Availability, Encoder, l2_normalise
from .device import OnDevice, autocast
from .hub import cached_snapshot, download_snapshot

__all__ = ["SentenceEncoder"]

log = logging.getLogger(__name__)

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class SentenceEncoder(OnDevice, Encoder):
    """A sentence-transformers model as text encoder (lazy, thread-safe loading)."""

    kind = "sentence"
    cpu_batch, cuda_batch = 32, 256
    capabilities = frozenset({TEXT, PROTOCOLS})

    def __init__(self, model: str, protocol: str = DEFAULT_PROTOCOL) -> None:
        self.protocol = get_protocol(protocol).name
        self.model_id = str(model)
        self.is_folder = os.path.isabs(self.model_id) or os.path.isdir(self.model_id)
        if not self.is_folder:
            self.capabilities = type(self).capabilities | {DOWNLOADABLE}
        self.spec = f"text:{self.model_id}" + ("" if self.protocol == DEFAULT_PROTOCOL else f"@{self.protocol}")
        self.label = Path(self.model_id).name + ("" if self.protocol == DEFAULT_PROTOCOL else f" [{self.protocol}]")
        self._lock = threading.Lock()
        self._model = None

    def folder(self) -> Path | None:
        """The model folder on this machine (the local folder or the downloaded snapshot), else None."""
        if self.is_folder:
            p = Path(self.model_id)
            return p if (p / "config.json").is_file() else None
        return cached_snapshot(self.model_id)

    def availability(self) -> Availability:
        if self.is_folder and self.folder() is None:
            return Availability(False, f"no model folder with a config.json at {self.model_id}",
                                "save a sentence-transformers or transformers model there "
                                "(model.save_pretrained / save) or name a hub id: text:<org>/<model>")
        if not self.is_folder and self.folder() is None:
            return Availability(False, f"{self.model_id} is not downloaded",
                                f"run `{config.cli()} fetch-weights text:{self.model_id}` on a machine with internet access")
        return Availability(True)

    def download(self) -> Path:
        """Download the hub model into ``cache/huggingface``; returns its folder (needs internet)."""
        if self.is_folder:
            raise ValueError(f"{self.spec} is a local folder, nothing to download")
        return self.folder() or download_snapshot(self.model_id)

    def cache_key(self) -> str:
        folder = self.folder()
        if folder is None:
            return f"sentence|{self.model_id}|missing"
        if not self.is_folder:  # a hub snapshot folder is named by its commit
            return f"sentence|{self.model_id}|rev={folder.name}"
        from .clip import checkpoint_digest

        h = hashlib.sha256()
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                h.update(f"{p.relative_to(folder)}:{checkpoint_digest(p)}".encode())
        return f"sentence|folder|sha256:{h.hexdigest()[:24]}"

    def load(self):
        """Load the model now (once; later calls return the loaded model)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    avail = self.availability()
                    if not avail.ok:
                        raise RuntimeError(f"{self.label} is not available: {avail.reason}. Fix: {avail.fix}")
                    from sentence_transformers import SentenceTransformer

                    from .. import config

                    config.configure_threads()
                    model = SentenceTransformer(str(self.folder()), device=self.device, local_files_only=True)
                    model.eval()
                    self._model = model
        return self._model

    @property
    def dim(self) -> int:
        return int(self.load().get_embedding_dimension())

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Texts → float32 ``(n, dim)`` L2-normalised (mean-pooled); empty texts → zero rows."""
        texts = [str(t or "") for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if rows:
            model = self.load()
            with autocast(self.device):
                vecs = model.encode([texts[i] for i in rows], batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=False, show_progress_bar=False)
            out[rows] = l2_normalise(np.asarray(vecs, dtype=np.float32))
        return out
