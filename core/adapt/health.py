"""Is an adapted model any good, or degenerate? Named, never defaulted.

Two checks, each stated with its threshold:

- **Validation loss at chance.** open_clip_train's ``evaluate`` averages, over the validation
  pairs, the symmetric cross-entropy of each batch's image/text logits; a model that tells
  nothing apart scores ``ln b`` on a batch of ``b`` pairs, so chance is the pair-weighted mean
  of ``ln b`` over the validation batches (full batches of ``batch_size``, then the rest),
  computed from the training's own record (``val_pairs``, ``batch_size``). The published
  (kept) validation loss is *at chance* when it is within ``CHANCE_MARGIN`` (2 %) of it, or is
  not a finite number.
- **Collapsed embeddings.** On a corpus it was used on, ``COLLAPSE_PAIRS`` (2,000) random pairs
  of distinct figures are drawn (seed 0); the model has collapsed when at least
  ``COLLAPSE_SHARE`` (90 %) of them have cosine > ``COLLAPSE_COSINE`` (0.99). The result is
  recorded per corpus content under ``cache/adapt/health/NAME.json`` (written atomically),
  so ``python -m core adapted`` / ``info`` and the Models page show it without re-encoding.

A search whose hits all have the same score (``all_tie``) is said so on the Search page,
whatever the encoder. Adapted models are never among the default encoders (``default_specs``):
a user picks them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import config
from ..store import atomic_write_json, load_json
from .provenance import AdaptedModel, check_name, list_adapted

__all__ = ["CHANCE_MARGIN", "COLLAPSE_COSINE", "COLLAPSE_PAIRS", "COLLAPSE_SHARE", "TIE_TOLERANCE", "Health",
           "chance_loss", "loss_problem", "collapse_share", "record_collapse", "collapse_record", "health",
           "health_by_spec", "check_embeddings", "all_tie", "tie_message", "default_specs"]

CHANCE_MARGIN = 0.02
COLLAPSE_COSINE = 0.99
COLLAPSE_SHARE = 0.90
COLLAPSE_PAIRS = 2000
#: Scores closer than this are a tie (cosines are float32: ~1e-7 apart at best).
TIE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Health:
    """What the checks found for one adapted model (``problems`` empty: nothing found)."""

    name: str
    problems: tuple[str, ...] = ()
    checked_corpora: int = 0  # corpora its embeddings were checked on

    @property
    def degenerate(self) -> bool:
        return bool(self.problems)

    @property
    def summary(self) -> str:
        """'degenerate: …' or 'ok' (with how much was checked), one line."""
        if self.problems:
            return "DEGENERATE: " + "; ".join(self.problems)
        return "ok" + ("" if self.checked_corpora else " (embeddings not checked yet)")


# --------------------------------------------------------------------------- validation loss
def chance_loss(val_pairs: int, batch_size: int) -> float:
    """The validation loss of a model that tells no pair apart: the pair-weighted mean of
    ``ln b`` over open_clip's validation batches (``batch_size`` each, the rest last)."""
    n, b = int(val_pairs), int(batch_size)
    if n <= 0 or b <= 0:
        raise ValueError(f"chance needs positive counts (val_pairs={n}, batch_size={b})")
    full, rest = divmod(n, b)
    return (full * b * math.log(b) + (rest * math.log(rest) if rest else 0.0)) / n


def loss_problem(provenance: dict) -> str | None:
    """Why the published validation loss says the model learnt nothing (None: it did)."""
    loss = (provenance.get("kept_val") or {}).get("val_loss")
    hp = provenance.get("hyperparameters") or {}
    n, b = provenance.get("val_pairs"), hp.get("batch_size")
    if loss is None:
        return None
    try:
        loss = float(loss)
    except (TypeError, ValueError):
        return f"validation loss {loss!r} is not a number"
    if not math.isfinite(loss):
        return f"validation loss is {loss} (training diverged)"
    if not isinstance(n, int) or not isinstance(b, int) or n <= 0 or b <= 0:
        return None
    chance = chance_loss(n, b)
    if loss >= chance * (1 - CHANCE_MARGIN):
        where = "at" if loss <= chance * (1 + CHANCE_MARGIN) else "worse than"
        return (f"validation loss {loss:.3f} is {where} chance ({chance:.3f} = ln of {min(n, b)} pairs per batch; "
                f"within {CHANCE_MARGIN:.0%} counts as chance): it tells no figure from another")
    return None


# --------------------------------------------------------------------------- collapsed embeddings
def collapse_share(vectors: np.ndarray, pairs: int = COLLAPSE_PAIRS, seed: int = 0) -> tuple[float, int]:
    """(share of sampled pairs of distinct rows with cosine > ``COLLAPSE_COSINE``, pairs drawn).
    Rows are L2-normalised here (zero rows, unreadable figures, are left out)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1)
    v = v[norms > 0] / norms[norms > 0, None]
    n = len(v)
    if n < 2:
        return 0.0, 0
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, pairs)
    b = (a + rng.integers(1, n, pairs)) % n  # never a == b
    cos = np.einsum("ij,ij->i", v[a], v[b])
    return float(np.mean(cos > COLLAPSE_COSINE)), int(pairs)


def _health_path(name: str):
    return config.cache_dir() / "adapt" / "health" / f"{check_name(name)}.json"


def record_collapse(name: str, corpus_fingerprint: str, corpus_name: str, vectors: np.ndarray) -> dict:
    """Measure collapse on a corpus's vectors and record it (atomically) for model ``name``."""
    share, n = collapse_share(vectors)
    rec = {"corpus": corpus_name, "share_above": share, "pairs": n, "cosine": COLLAPSE_COSINE,
           "collapsed": n > 0 and share >= COLLAPSE_SHARE}
    path = _health_path(name)
    data = load_json(path)
    data = data if isinstance(data, dict) else {}
    if data.get(corpus_fingerprint) != rec:
        data[corpus_fingerprint] = rec
        atomic_write_json(path, data)
    return rec


def collapse_record(name: str) -> dict[str, dict]:
    """``{corpus fingerprint: record}`` of every collapse check of ``name`` ({} when none)."""
    data = load_json(_health_path(name))
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def health(model: AdaptedModel) -> Health:
    """Both checks for one adapted model (the collapse check where it was recorded)."""
    problems = []
    lp = loss_problem(model.provenance)
    if lp:
        problems.append(lp)
    recs = collapse_record(model.name)
    for rec in recs.values():
        if rec.get("collapsed"):
            problems.append(f"embeddings collapsed on {rec.get('corpus', '?')}: {rec['share_above']:.0%} of "
                            f"{rec['pairs']:,} sampled figure pairs have cosine > {rec['cosine']}")
            break
    return Health(model.name, tuple(problems), len(recs))


def health_by_spec() -> dict[str, Health]:
    """``{encoder spec: health}`` of every adapted model."""
    return {m.spec: health(m) for m in list_adapted()}


# --------------------------------------------------------------------------- ties and defaults
def all_tie(scores) -> bool:
    """Whether two or more hits all have the same score (the encoder tells them not apart)."""
    s = [float(x) for x in scores]
    return len(s) >= 2 and max(s) - min(s) <= TIE_TOLERANCE


def tie_message(label: str, scores) -> str:
    s = list(scores)
    return (f"{label}: all {len(s)} hits have cosine {float(s[0]):.3f} — this encoder does not distinguish "
            "these figures (their order is arbitrary).")


def default_specs(available: list[str], adapted: list[str]) -> list[str]:
    """The encoders a new session (or a CLI run without ``--encoders``) starts with: every
    available one except models adapted here, which a user names or picks."""
    skip = set(adapted)
    return [s for s in available if s not in skip]


def check_embeddings(spec: str, corpus, embeddings) -> dict | None:
    """Record the collapse check of an adapted model's embeddings of ``corpus`` (None when
    ``spec`` is not an adapted model). Cheap: 2,000 dot products."""
    for m in list_adapted():
        if m.spec == spec:
            return record_collapse(m.name, corpus.fingerprint, corpus.name, embeddings.vectors)
    return None
