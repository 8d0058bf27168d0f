"""TF-IDF text encoder over figure descriptions / component labels.

``clean_text`` (the ``clean`` protocol's cleaning) lives in ``core.protocols`` and is re-exported here.
"""
from __future__ import annotations

import hashlib
import json
import threading

import numpy as np

from ..protocols import DEFAULT_PROTOCOL, FIGREF, clean_text, get_protocol
from .base import FIT_ON_CORPUS, PROTOCOLS, TEXT, Availability, Encoder, l2_normalise

__all__ = ["TfidfEncoder", "clean_text", "FIGREF"]

class TfidfEncoder(Encoder):
    """TF-IDF over cleaned text (word uni+bigrams, sublinear tf), dense, L2-normalised.

    TF-IDF depends on the corpus: call ``fit(texts)`` on the corpus's texts first; then
    ``encode_texts`` returns ``(n, vocabulary size)`` float32 rows (``dim`` ≤
    ``max_features``). ``cache_key()`` includes a digest of the fitted vocabulary and idf
    weights, so vectors fitted on different corpora never share a cache entry.

    Note: ``get_encoder("tfidf")`` returns one shared, unfitted instance; ``core.embed``
    fits a copy per corpus (``fitted_on``), never the shared one.

    ``protocol`` (``core.protocols``; spec ``tfidf@upair``) names the text cleaning.
    ``core.embed`` cleans every text with it before it reaches this encoder; under
    ``clean`` the texts are cleaned again here (idempotent, so direct callers get it too),
    under ``upair`` they are used as given, because the official cleaning is not idempotent
    (``<image>`` would become ``image``) and must run exactly once.
    """

    spec = "tfidf"
    label = "TF-IDF"
    kind = "text"
    capabilities = frozenset({TEXT, FIT_ON_CORPUS, PROTOCOLS})
    batch_size = 1024
    VERSION = "1"

    def __init__(self, max_features: int = 4096, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1,
                 protocol: str = DEFAULT_PROTOCOL) -> None:
        self.protocol = get_protocol(protocol).name  # ValueError lists the known protocols
        if self.protocol != DEFAULT_PROTOCOL:
            self.spec = f"tfidf@{self.protocol}"
            self.label = f"TF-IDF [{self.protocol}]"
        self.max_features = int(max_features)
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.min_df = min_df
        self._vectorizer = None
        self._digest = ""
        self._lock = threading.Lock()

    # -- fitting -------------------------------------------------------------------

    @property
    def fitted(self) -> bool:
        return self._vectorizer is not None

    def _params(self) -> str:
        return (
            f"max_features={self.max_features}|ngram={self.ngram_range[0]}-{self.ngram_range[1]}"
            f"|min_df={self.min_df}|sublinear_tf=1|clean={'v1' if self.protocol == 'clean' else get_protocol(self.protocol).key}"
        )

    def _prepare(self, text: str) -> str:
        """Under ``clean``: ``clean_text`` (idempotent); otherwise the text as given (see the class doc)."""
        return clean_text(text) if self.protocol == "clean" else str(text or "")

    def fit(self, texts: list[str]) -> "TfidfEncoder":
        """Fit the vocabulary and idf weights on a corpus's texts; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        cleaned = [self._prepare(t) for t in texts]
        if not any(cleaned):
            raise ValueError(
                "TF-IDF needs text to fit on, but every text is empty after cleaning; "
                "this corpus has no usable descriptions/labels."
            )
        vec = TfidfVectorizer(
            lowercase=False,
            sublinear_tf=True,
            ngram_range=self.ngram_range,
            min_df=self.min_df,
            max_features=self.max_features,
            dtype=np.float32,
        )
        vec.fit(cleaned)
        h = hashlib.sha256()
        h.update(json.dumps(sorted((t, int(i)) for t, i in vec.vocabulary_.items()), separators=(",", ":")).encode())
        h.update(np.ascontiguousarray(vec.idf_, dtype=np.float64).tobytes())
        with self._lock:
            self._vectorizer = vec
            self._digest = h.hexdigest()[:16]
        return self

    def fitted_on(self, texts: list[str]) -> "TfidfEncoder":
        """A new encoder with this one's parameters, fitted on ``texts`` (``self`` is untouched)."""
        return TfidfEncoder(self.max_features, self.ngram_range, self.min_df, protocol=self.protocol).fit(texts)

    def _need_fit(self):
        vec = self._vectorizer
        if vec is None:
            raise RuntimeError(
                "TF-IDF encoder is not fitted: call .fit(texts) with the corpus's texts before "
                "encoding (TF-IDF weights depend on the corpus)."
            )
        return vec

    # -- Encoder API ---------------------------------------------------------------

    def availability(self) -> Availability:
        return Availability(True)

    @property
    def dim(self) -> int:
        return len(self._need_fit().vocabulary_)

    @property
    def vocabulary(self) -> list[str]:
        """Fitted terms in column order."""
        return list(self._need_fit().get_feature_names_out())

    def cache_key(self) -> str:
        self._need_fit()
        return f"tfidf|v{self.VERSION}|{self._params()}|vocab={self._digest}"

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        vec = self._need_fit()
        if not texts:
            return np.zeros((0, len(vec.vocabulary_)), dtype=np.float32)
        x = vec.transform([self._prepare(t) for t in texts])
        return l2_normalise(x.toarray())
