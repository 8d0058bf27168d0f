"""UPAIR Explorer core: corpora, encoders, cached embeddings and indices, search, evaluation.

Typical use::

    from core import load_corpus, default_encoders, search
    corpus = load_corpus("demo")
    results = search(corpus, corpus.figures[0].id, default_encoders(), k=10)

No Streamlit import anywhere below this package.
"""
from __future__ import annotations

from .corpora import AXES, Benchmark, Corpus, DatasetError, known_corpora, load_corpus
from .encoders import default_encoders, get_encoder, known_encoders
from .figures import Figure, ImageError, open_image

__all__ = [
    "AXES", "Benchmark", "Corpus", "DatasetError", "Figure", "ImageError",
    "known_corpora", "load_corpus", "default_encoders", "get_encoder", "known_encoders",
    "open_image", "build", "search", "search_text", "get_index",
]


def __getattr__(name: str):
    # Search/build pull in numpy+faiss; keep `import core` itself light.
    if name in ("build", "search", "search_text", "get_index"):
        from . import search as _search

        return getattr(_search, name)
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    raise AttributeError(name)
