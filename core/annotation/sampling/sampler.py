"""Draw UPAIR-style candidate pools for queries from a figure collection, keeping the why.

For every query: its score against every collection figure on every index (exact: the
reference's faiss calls, or one matrix product per query batch under ``scores=fast``, see
``bands``), the percentile thresholds, the cited candidates, then per group the
in-band figures of each index, merged, deduplicated and drawn at random with a per-query
seeded generator. Each kept or dropped candidate records its score on every index, the merge
case that admitted it and, when dropped, the figure it duplicates. Where this may differ
from the reference is decided by the config's sampling options (``options``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from ...corpora.base import Corpus
from ...figures import Figure
from .bands import FaissRows, Thresholds, batches, faiss_missing, in_band, rounded, score_block, thresholds
from .config import METHODS, GroupSpec, IndexRole, SamplingConfig
from .options import SamplingOptions
from .select import Dropped, FaissNearest, NumpyNearest, cited_pool, deduplicate, merge

Progress = Callable[[int, int, str], None]


class SamplingUnavailable(RuntimeError):
    """An encoder the config needs cannot run here; the message names each and its fix."""


class MissingCitations(ValueError):
    """A query patent is not in the citations file (option ``missing_citations=raise``)."""


@dataclass(frozen=True)
class BestMatch:
    """A query's best-scoring figure on one index and where it fell: its score lies on (or a
    hair above) the 100th-percentile threshold, which is rounded to 6 decimals, so about half
    the time it is above the top band's upper bound and in no band at all (as in the reference)."""

    id: str
    score: float  # the float32 score, as a float (not rounded)
    top: float | None  # the highest percentile threshold of the bands (100.000 in the reference's config)
    bands: tuple[str, ...]  # the groups whose band on this index holds it

    @property
    def above_top(self) -> bool:
        return self.top is not None and self.score > self.top


@dataclass(frozen=True)
class Candidate:
    """A drawn figure: its summed score, its score on every index and the indices that drew it."""

    id: str
    row: int  # position in the collection (the reference's index id)
    patent: str
    score: float
    scores: Mapping[str, float]
    drawn_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupDraw:
    """One group's draw for one query."""

    spec: GroupSpec
    case: str
    in_band: Mapping[str, int]  # index → figures inside its band
    merged: int
    deduplicated: bool
    kept: tuple[Candidate, ...]
    dropped: tuple[Dropped[Candidate], ...] = ()
    excluded: int = 0  # merged figures already kept as cited (or, strict, by an earlier group)
    family_copies: tuple[str, ...] = ()  # drawn figures left out as copies of one already drawn (families option)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def shortfall(self) -> int:
        return max(0, self.spec.size - len(self.kept))


@dataclass(frozen=True)
class QueryDraw:
    """Everything drawn for one query and the thresholds that decided it."""

    query: Figure
    thresholds: Mapping[str, Thresholds]
    cited: tuple[Candidate, ...]
    cited_dropped: tuple[Dropped[Candidate], ...]
    cited_found: int
    groups: tuple[GroupDraw, ...]
    best: Mapping[str, BestMatch] = field(default_factory=dict)  # index → its best match

    @property
    def key(self) -> str:
        return self.query.path.name

    @property
    def section(self) -> str:
        return self.query.section or "unknown"


@dataclass(frozen=True)
class SampleRun:
    """A complete draw: config, seed, method, and one ``QueryDraw`` per query."""

    config: SamplingConfig
    seed: int
    method: str
    collection: str
    collection_fingerprint: str
    draws: tuple[QueryDraw, ...]
    figures: Mapping[str, Figure] = field(repr=False, default_factory=dict)
    notes: tuple[str, ...] = ()


def check_encoders(config: SamplingConfig) -> list[str]:
    """Why each encoder of ``config`` cannot run here (empty when all can), with the fix."""
    from ...encoders import get_encoder
    from ...encoders.base import IMAGE, TEXT

    problems: list[str] = []
    by_spec: dict[str, list[IndexRole]] = {}
    for role in config.indices:
        by_spec.setdefault(role.encoder, []).append(role)
    for spec, roles in by_spec.items():
        names = ", ".join(r.name for r in roles)
        try:
            enc = get_encoder(spec)
        except Exception as exc:  # noqa: BLE001 - unknown spec or a broken encoder module: reported, not raised
            problems.append(f"{spec} (index {names}): not usable in this build ({type(exc).__name__}: {exc}). "
                            f"Fix: set indices.<name>.encoder in the config to an available encoder "
                            f"(python -m core info lists them)")
            continue
        av = enc.availability()
        if not av.ok:
            problems.append(f"{spec} (index {names}): {av.reason}. Fix: {av.fix}")
            continue
        for r in roles:
            if r.field == "image" and IMAGE not in enc.capabilities:
                problems.append(f"{spec} (index {r.name}): encodes text only; it cannot serve the image field")
            if r.is_text and TEXT not in enc.capabilities:
                problems.append(f"{spec} (index {r.name}): has no text encoder; it cannot serve field {r.field}")
    return problems


def _field_corpus(corpus: Corpus, fld: str) -> tuple[Corpus, str]:
    """(corpus, build field) for an index field; titles are encoded as a corpus whose
    descriptions are the titles, so every encoder (and TF-IDF's fit) sees only titles."""
    if fld != "title":
        return corpus, fld
    figs = tuple(dataclasses.replace(f, description=f.title) for f in corpus.figures)
    return dataclasses.replace(corpus, name=f"{corpus.name}#titles", figures=figs), "desc"


def _raw_text(fig: Figure, fld: str, spec: str) -> str:
    """A query's text for a field, labels joined as the encoder's protocol joins the collection's
    (``encode_query_text`` then cleans it the same way)."""
    if fld == "labels":
        from ...encoders import get_encoder
        from ...protocols import get_protocol

        return get_protocol(get_encoder(spec).protocol).labels_text(fig.labels)
    return {"title": fig.title, "desc": fig.description}[fld]


def _vectors(collection: Corpus, queries: Sequence[Figure], role: IndexRole,
             show_bar: bool, texts: str = "protocol") -> tuple[np.ndarray, np.ndarray]:
    """(collection vectors, query vectors) of one index, L2-normalised float32."""
    return _index_vectors(collection, queries, role, show_bar, texts)[:2]


def reference_text(fig: Figure, fld: str) -> str:
    """A figure's text as the reference's sampler and ``index.py`` encode it: the title raw,
    the description through the official ``clean_text``, the component labels raw, joined by
    one space (labels ``None`` are already dropped when a corpus is read)."""
    from ...protocols import upair_clean_text

    if fld == "title":
        return fig.title or ""
    if fld == "desc":
        return upair_clean_text(fig.description or "")
    return " ".join(str(x) for x in fig.labels)


def _reference_text_vectors(collection: Corpus, queries: Sequence[Figure], role: IndexRole,
                            show_bar: bool) -> tuple[np.ndarray, np.ndarray]:
    """(collection, query) vectors of a text index under ``texts=reference``: each text encoded
    as ``reference_text`` gives it, with the encoder fitted (TF-IDF) as for ``texts=protocol``;
    vectors cached by text content."""
    from ...embed import _encode_missing, _fitted, require, vector_namespace
    from ...store import VectorStore, exclusive

    enc = _fitted(require(role.encoder), _field_corpus(collection, role.field)[0])
    ns = vector_namespace(enc, "sampling-reference-text")
    texts = [reference_text(f, role.field) for f in (*collection.figures, *queries)]
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    with exclusive(f"embed|{ns}"):
        store = VectorStore(ns, dim=int(enc.dim))
        _encode_missing(store, keys, dict(zip(keys, texts)), enc.encode_texts, 256,
                        f"{enc.label or role.encoder} · {role.field} (raw)", None, show_bar,
                        meta={"device": enc.device})
        vectors = np.array(store.get(keys), dtype=np.float32, order="C")
    n = len(collection.figures)
    return vectors[:n], np.ascontiguousarray(vectors[n:])


def _index_vectors(collection: Corpus, queries: Sequence[Figure], role: IndexRole, show_bar: bool,
                   texts: str = "protocol") -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(collection vectors, query vectors, ids of collection figures whose image is unreadable)
    of one index, L2-normalised float32; ``texts`` is the option of that name."""
    from ...embed import build_embeddings, encode_query_text

    if role.is_text and texts == "reference":
        return (*_reference_text_vectors(collection, queries, role, show_bar), ())
    corpus, what = _field_corpus(collection, role.field)
    built = build_embeddings(corpus, role.encoder, what, show_bar=show_bar)
    emb = built.vectors
    rows = []
    if role.field == "image":
        qc = dataclasses.replace(collection, name="queries", figures=tuple(queries), benchmark=None)
        return emb, build_embeddings(qc, role.encoder, "image", show_bar=False).vectors, built.excluded
    for q in queries:
        pos = collection.position.get(q.id)
        if pos is not None and collection.figures[pos].path == q.path:
            rows.append(emb[pos])
        else:
            rows.append(encode_query_text(role.encoder, _raw_text(q, role.field, role.encoder), corpus)[0])
    if not rows:
        return emb, np.zeros((0, emb.shape[1]), np.float32), ()
    return emb, np.ascontiguousarray(np.stack(rows), dtype=np.float32), ()


@dataclass
class _Context:
    config: SamplingConfig
    method: str
    collection: Corpus
    dedup: np.ndarray
    citations: Mapping[str, set[str]]
    by_patent: Mapping[str, list[int]]
    by_path: Mapping[object, int]
    unreadable: set[int] = field(default_factory=set)  # rows whose image cannot be read (issue 11)
    options: SamplingOptions = field(default_factory=SamplingOptions)
    hashes: Mapping[str, int] = field(default_factory=dict)  # figure id → pHash (families=one-per-family)

    def _own(self, q: Figure) -> set[int]:
        """The query's own rows: the same id or the same file."""
        return {p for p in (self.collection.position.get(q.id), self.by_path.get(q.path)) if p is not None}

    def own_rows(self, q: Figure) -> list[int]:
        """Rows left out of the query's percentiles: none (``percentiles=whole-index``), else the
        query itself and the figures whose image cannot be read."""
        if self.options.percentiles == "whole-index":
            return []
        return sorted(self._own(q) | self.unreadable)

    def not_candidates(self, q: Figure) -> list[int]:
        """Rows never drawn for the query: unreadable figures (they cannot be judged), and the
        query itself under ``own_figure=excluded``."""
        own = self._own(q) if self.options.own_figure == "excluded" else set()
        return sorted(own | self.unreadable)

    def cited_rows(self, q: Figure) -> list[int]:
        cited = self.citations.get(q.patent, set())
        skip = set(self.not_candidates(q))
        return [p for pat in sorted(cited) for p in self.by_patent.get(pat, []) if p not in skip]

    def nearest(self):
        return FaissNearest if self.options.scores == "faiss" else NumpyNearest


@dataclass
class _QueryScores:
    """What the pass over the indices keeps of one query: thresholds, each group's band hits per
    index, and the (rounded) scores of those hits and of the cited figures, per index."""

    thresholds: dict[str, Thresholds] = field(default_factory=dict)
    hits: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (group, index) → rows
    known: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # index → (rows, scores)
    best: dict[str, BestMatch | None] = field(default_factory=dict)  # index → best match

    def score(self, name: str, row: int) -> float | None:
        rows, scores = self.known[name]
        i = int(np.searchsorted(rows, row))
        return rounded(scores[i]) if i < len(rows) and rows[i] == row else None


def _rows(ctx: _Context, x: np.ndarray, qv: np.ndarray, faiss_rows: FaissRows | None):
    """(query position, its score row, band function) for every query of one index, in the
    arithmetic the ``scores`` option names."""
    if faiss_rows is not None:
        for j in range(len(qv)):
            yield j, faiss_rows.row(qv[j]), (lambda lo, up, j=j: faiss_rows.band(qv[j], lo, up)[0])
        return
    for sl in batches(len(qv), len(x)):
        block = score_block(qv[sl], x)
        for j in range(sl.start, sl.stop):
            row = block[j - sl.start]
            yield j, row, (lambda lo, up, row=row: in_band(row, lo, up))


def _best(ctx: _Context, q: Figure, role: IndexRole, row: np.ndarray, th: Thresholds) -> BestMatch | None:
    """The query's best-scoring candidate figure on one index and the groups whose band holds it."""
    skip = ctx.not_candidates(q)
    r = row.copy()
    r[skip] = -np.inf
    if not len(r) or not np.isfinite(r).any():
        return None
    pos = int(np.argmax(r))
    s = r[pos]
    bands = tuple(g.name for g in ctx.config.groups
                  if s > np.float32(th.values[g.band_for(role).lower]) and s <= float(th.values[g.band_for(role).upper]))
    top = th.values.get(ctx.config.percentiles[0]) if ctx.config.percentiles else None
    return BestMatch(ctx.collection.figures[pos].id, float(s), top, bands)


def _scan(ctx: _Context, role: IndexRole, x: np.ndarray, qv: np.ndarray, queries: Sequence[Figure],
          out: list[_QueryScores]) -> None:
    """One index: per query its score row (faiss per query, or a matrix product per batch), its
    thresholds and its band hits."""
    cfg = ctx.config
    faiss_rows = FaissRows(x) if ctx.options.scores == "faiss" else None
    for j, row, band_of in _rows(ctx, x, qv, faiss_rows):
        q, qs = queries[j], out[j]
        own = ctx.own_rows(q)
        th = thresholds(np.delete(row, own) if own else row, cfg.percentiles)
        qs.thresholds[role.name] = th
        qs.best[role.name] = _best(ctx, q, role, row, th)
        skip = ctx.not_candidates(q)
        parts = [np.asarray(ctx.cited_rows(q), dtype=np.int64)]
        for g in cfg.groups:
            band = g.band_for(role)
            hits = band_of(th.values[band.lower], th.values[band.upper])
            if skip:
                hits = hits[~np.isin(hits, skip)]
            qs.hits[(g.name, role.name)] = hits
            parts.append(hits)
        rows = np.unique(np.concatenate(parts))
        qs.known[role.name] = (rows, row[rows].copy())


def _candidate(ctx: _Context, qs: _QueryScores, pos: int, score: float, drawn_by=()) -> Candidate:
    """A candidate with its scores on the indices known so far (the rest are filled in later)."""
    f = ctx.collection.figures[pos]
    scores = {r.name: qs.score(r.name, pos) for r in ctx.config.indices}
    return Candidate(f.id, int(pos), f.patent, score, {k: v for k, v in scores.items() if v is not None},
                     tuple(drawn_by))


def _draw_cited(ctx: _Context, q: Figure, qs: _QueryScores, rng: random.Random):
    cfg = ctx.config
    visual = cfg.visual_index or cfg.dedup_index
    positions = sorted(ctx.cited_rows(q), key=lambda p: (-qs.score(visual, p), p))
    pos_of = {ctx.collection.figures[p].id: p for p in positions}
    cited = ctx.citations.get(q.patent, set())
    ids = cited_pool(list(pos_of), {i: ctx.collection.figures[p].patent for i, p in pos_of.items()}, cited)
    vec = lambda fid: ctx.dedup[pos_of[fid]]  # noqa: E731
    if len(ids) > cfg.dedup_min or ctx.method == "strict":
        d = deduplicate(ids, cfg.cited_sample_size, vec, rng, cfg.dedup_threshold, factor=cfg.sample_factor,
                        nearest=ctx.nearest(), reference_stop=ctx.method == "upair")
        kept, drops = list(d.kept), d.dropped
    else:
        kept, drops = ids, ()
    mk = lambda fid: _candidate(ctx, qs, pos_of[fid], qs.score(visual, pos_of[fid]))  # noqa: E731
    dropped = tuple(dataclasses.replace(d, candidate=mk(d.candidate)) for d in drops)
    return tuple(mk(i) for i in kept), dropped, len(ids)


def _draw_group(ctx: _Context, g: GroupSpec, qs: _QueryScores, rng: random.Random, prior: list[str]) -> GroupDraw:
    cfg = ctx.config
    figs = ctx.collection.figures
    per_index: dict[str, dict[str, float]] = {}
    pos_of: dict[str, int] = {}
    for role in cfg.indices:
        hits = qs.hits[(g.name, role.name)]
        rows, scores = qs.known[role.name]
        values = scores[np.searchsorted(rows, hits)]
        per_index[role.name] = {figs[p].id: rounded(v) for p, v in zip(hits.tolist(), values.tolist())}
        pos_of.update((figs[p].id, p) for p in hits.tolist())
    m = merge(per_index, cfg.description_index, cfg.visual_index, rng, cfg.min_intersection, cfg.union_cap)
    strict = ctx.method == "strict"
    dedup = strict or len(m.scores) > cfg.dedup_min
    drops: tuple[Dropped[str], ...] = ()
    excluded = len(set(m.scores) & set(prior)) if dedup else 0
    if dedup:
        def vec(fid: str) -> np.ndarray:
            return ctx.dedup[pos_of[fid] if fid in pos_of else ctx.collection.position[fid]]

        d = deduplicate(list(m.scores), g.size, vec, rng, cfg.dedup_threshold, seeds=prior, factor=cfg.sample_factor,
                        nearest=ctx.nearest(), reference_stop=ctx.method == "upair")
        kept_ids, drops = list(d.kept), d.dropped
    else:
        kept_ids = list(m.scores)
    mk = lambda fid: _candidate(ctx, qs, pos_of[fid], m.scores[fid], m.contributors[fid])  # noqa: E731
    kept = sorted((mk(i) for i in kept_ids), key=lambda c: (-c.score, c.id))
    return GroupDraw(g, m.case, {n: len(v) for n, v in per_index.items()}, len(m.scores), dedup, tuple(kept),
                     tuple(dataclasses.replace(d, candidate=mk(d.candidate)) for d in drops), excluded)


def _one_per_family(ctx: _Context, gd: GroupDraw, drawn: list[str]) -> GroupDraw:
    """``gd`` without the figures that copy one already drawn for the query (or an earlier one
    of the group): the ``families=one-per-family`` option."""
    from ...families import copies_of_kept

    ids = [c.id for c in gd.kept]
    pos = ctx.collection.position
    vectors = {i: ctx.dedup[pos[i]] for i in ids + drawn if i in pos and pos[i] < len(ctx.dedup)}
    copies = copies_of_kept(ids, drawn, ctx.hashes, vectors)
    if not copies:
        return gd
    return dataclasses.replace(gd, kept=tuple(c for c in gd.kept if c.id not in copies),
                               family_copies=tuple(i for i in ids if i in copies))


def _draw_query(ctx: _Context, q: Figure, qs: _QueryScores, seed: int) -> QueryDraw:
    rng = random.Random(f"{seed}:{q.id}")
    cited, cited_drops, found = _draw_cited(ctx, q, qs, rng)
    prior = [c.id for c in cited]
    drawn = list(prior)
    groups = []
    for g in ctx.config.groups:
        gd = _draw_group(ctx, g, qs, rng, prior)
        if ctx.options.families == "one-per-family":
            gd = _one_per_family(ctx, gd, drawn)
        drawn += [c.id for c in gd.kept]
        groups.append(gd)
        if ctx.method == "strict":
            prior = prior + [c.id for c in gd.kept]
    best = {r.name: qs.best[r.name] for r in ctx.config.indices if qs.best.get(r.name) is not None}
    return QueryDraw(q, dict(qs.thresholds), cited, cited_drops, found, tuple(groups), best)


def _candidates(d: QueryDraw) -> list[Candidate]:
    return [*d.cited, *(x.candidate for x in d.cited_dropped),
            *(c for g in d.groups for c in (*g.kept, *(x.candidate for x in g.dropped)))]


def _fill_scores(draws: list[QueryDraw], role: IndexRole, x: np.ndarray, qv: np.ndarray) -> None:
    """Every drawn candidate's score on ``role``'s index where the pass did not keep it."""
    for j, d in enumerate(draws):
        todo = [c for c in _candidates(d) if role.name not in c.scores]
        if todo:
            values = x[[c.row for c in todo]] @ qv[j]
            for c, v in zip(todo, values.tolist()):
                c.scores[role.name] = rounded(v)  # type: ignore[index] - filled before the run is returned


def _order_scores(draws: list[QueryDraw], names: list[str]) -> None:
    for d in draws:
        for c in _candidates(d):
            ordered = {n: c.scores[n] for n in names}
            c.scores.clear()  # type: ignore[attr-defined]
            c.scores.update(ordered)  # type: ignore[attr-defined]


def complete_figures(collection: Corpus) -> Corpus:
    """The collection as the reference indexes it (``index_figures=complete``): only figures
    with a title, a description not empty once cleaned with the official ``clean_text``, and
    labels not empty once joined."""
    keep = tuple(f for f in collection.figures
                 if f.title and reference_text(f, "desc") != "" and reference_text(f, "labels") != "")
    if len(keep) == len(collection.figures):
        return collection
    return dataclasses.replace(collection, figures=keep)


def _check_citations(queries: Sequence[Figure], cites: Mapping[str, set[str]], options: SamplingOptions) -> None:
    if not cites or options.missing_citations != "raise":
        return
    missing = sorted({q.patent for q in queries if q.patent not in cites})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MissingCitations(
            f"{len(missing)} query patent(s) not in the citations file: {shown} (the reference stops here "
            f"too). Add them to citations_data.json, or sample with --option missing_citations=empty "
            f"(or --protocol clean) to give them an empty cited group")


def sample_pools(collection: Corpus, queries: Sequence[Figure], config: SamplingConfig, seed: int = 0,
                 method: str = "upair", citations: Mapping[str, Sequence[str]] | None = None,
                 progress: Progress | None = None, show_bar: bool = True) -> SampleRun:
    """Draw every query's cited candidates and groups from ``collection``.

    One index's vectors are in memory at a time (plus the dedup index's): a first pass over the
    indices keeps each query's thresholds and band hits, the draws follow, and a second pass
    adds each drawn candidate's score on the indices that did not draw it. Raises
    ``SamplingUnavailable`` naming every encoder that cannot run, and ``ValueError`` for an
    unknown ``method`` or an empty query list.
    """
    from tqdm.auto import tqdm

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if not queries:
        raise ValueError("no queries to sample for")
    opts = config.options
    problems = check_encoders(config)
    why = faiss_missing() if opts.scores == "faiss" else None
    if why:
        problems.append(f"{why}: the upair protocol scores with faiss as the reference does. "
                        f"Fix: pip install faiss-cpu, or sample with --protocol fast-scores")
    if problems:
        raise SamplingUnavailable("cannot sample: these encoders are unavailable:\n  " + "\n  ".join(problems))
    queries = list(queries)
    cites = {k: set(v) for k, v in (citations or {}).items()}
    _check_citations(queries, cites, opts)
    full = collection
    if opts.index_figures == "complete":
        collection = complete_figures(collection)
        if not collection.figures:
            raise ValueError(f"{full.name}: no figure has a title, a description and labels, so the "
                             f"reference would index none; sample with --option index_figures=all")
    by_patent: dict[str, list[int]] = {}
    for p, f in enumerate(collection.figures):
        by_patent.setdefault(f.patent, []).append(p)
    by_path = {f.path: p for p, f in enumerate(collection.figures)}
    ctx = _Context(config, method, collection, np.zeros((0, 0), np.float32), cites, by_patent, by_path,
                   options=opts)
    if opts.families == "one-per-family":
        from ...families import corpus_hashes

        ctx.hashes = corpus_hashes(collection)
    scanned = [_QueryScores() for _ in queries]
    qvecs: dict[str, np.ndarray] = {}
    # image indices first: the figures they find unreadable are then no candidates on any index
    order = sorted(config.indices, key=lambda r: r.field != "image")
    ibar = tqdm(order, desc="Indices", unit="index", disable=not show_bar, leave=False)
    for i, role in enumerate(ibar):
        ibar.set_postfix_str(f"{role.name}: {role.encoder} · {role.field}")
        if progress:
            progress(i, len(config.indices), f"index {role.name} ({role.encoder} · {role.field})")
        x, qvecs[role.name], bad = _index_vectors(collection, queries, role, show_bar, opts.texts)
        ctx.unreadable.update(collection.position[fid] for fid in bad)
        _scan(ctx, role, x, qvecs[role.name], queries, scanned)
        if role.name == config.dedup_index:
            ctx.dedup = x
        del x
    draws: list[QueryDraw] = []
    for q, qs in zip(tqdm(queries, desc="Sampling queries", unit="query", disable=not show_bar, leave=False), scanned):
        draws.append(_draw_query(ctx, q, qs, seed))
        if progress:
            progress(len(draws), len(queries), f"query {q.id}")
    del scanned
    for role in config.indices:
        x = ctx.dedup if role.name == config.dedup_index else _vectors(collection, queries, role, False, opts.texts)[0]
        _fill_scores(draws, role, x, qvecs[role.name])
    _order_scores(draws, [r.name for r in config.indices])
    used = {q.id: q for q in queries}
    for d in draws:
        for c in (*d.cited, *(c for g in d.groups for c in g.kept)):
            used.setdefault(c.id, collection.by_id[c.id])
    notes = list(config.notes)
    notes.append(f"sampling protocol {config.protocol}"
                 + (f" ({', '.join(opts.differences())} differ from the reference)" if opts.differences() else
                    " (every option as the reference)"))
    if len(collection.figures) < len(full.figures):
        notes.append(f"{len(full.figures) - len(collection.figures)} of {len(full.figures)} figures not indexed: "
                     f"no title, description or labels (index_figures=complete, as the reference)")
    if not cites:
        notes.append("no citation data: the cited group is empty")
    return SampleRun(config, seed, method, collection.name, collection.fingerprint, tuple(draws), used, tuple(notes))
