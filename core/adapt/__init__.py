"""CLIP adaptation: fine-tune open_clip on a corpus's figure–text pairs, as UPAIR did.

``pairs`` builds the cleaned pairs, the split by patent and the leakage guard; ``data``
writes open_clip_train's CSVs; ``train`` drives open_clip_train; ``provenance`` knows where
adapted models live and what each remembers. Adapted models load as ordinary encoders
(``clip:<arch>:cache/weights/NAME.pt``).
"""
from __future__ import annotations

from .pairs import Pair, PairSplit, benchmark_patents, protocol_of, split_pairs
from .provenance import AdaptedModel, adapted_specs, encoder_spec, list_adapted, read_sidecar, weights_path
from .spec import UNPUBLISHED, AdaptConfig, AdaptError

__all__ = [
    "AdaptConfig", "AdaptError", "AdaptResult", "AdaptedModel", "Pair", "PairSplit", "UNPUBLISHED",
    "adapt", "adapted_specs", "benchmark_patents", "encoder_spec", "list_adapted", "plan", "read_sidecar",
    "protocol_of", "split_pairs", "weights_path",
]


def __getattr__(name: str):
    # train pulls in torch/open_clip lazily: listing adapted models stays cheap.
    if name in ("adapt", "plan", "AdaptResult"):
        from . import train

        return getattr(train, name)
    raise AttributeError(name)
