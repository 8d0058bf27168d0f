"""Draw UPAIR-style candidate pools for queries from a figure collection, keeping the why.

For every query: its score against every collection figure on every index (exact, one matrix
product per query batch), the percentile thresholds, the cited candidates, then per group the
in-band figures of each index, merged, deduplicated and drawn at random with a per-query
seeded generator. Each kept or dropped candidate records its score on every index, the merge
case that admitted it and, when dropped, the figure it duplicates.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from ...corpora.base import Corpus
from ...figures import Figure
from .bands import Thresholds, batches, in_band, rounded, score_block, thresholds
from .config import METHODS, GroupSpec, IndexRole, SamplingConfig
from .select import Dropped, cited_pool, deduplicate, merge

Progress = Callable[[int, int, str], None]


class SamplingUnavailable(RuntimeError):
    """An encoder the config needs cannot run here; the message names each and its fix."""


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
             show_bar: bool) -> tuple[np.ndarray, np.ndarray]:
    """(collection vectors, query vectors) of one index, L2-normalised float32."""
    return _index_vectors(collection, queries, role, show_bar)[:2]


def _index_vectors(collection: Corpus, queries: Sequence[Figure], role: IndexRole,
                   show_bar: bool) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(collection vectors, query vectors, ids of collection figures whose image is unreadable)
    of one index, L2-normalised float32."""
    from ...embed import build_embeddings, encode_query_text

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

    def own_rows(self, q: Figure) -> list[int]:
        """Collection rows that are never its candidates and take no part in its percentiles: the
        query itself (same id or same file) and figures whose image cannot be read."""
        rows = {self.collection.position.get(q.id), self.by_path.get(q.path)} | self.unreadable
        return sorted(p for p in rows if p is not None)

    def cited_rows(self, q: Figure) -> list[int]:
        cited = self.citations.get(q.patent, set())
        own = set(self.own_rows(q))
        return [p for pat in sorted(cited) for p in self.by_patent.get(pat, []) if p not in own]


@dataclass
class _QueryScores:
    """What the pass over the indices keeps of one query: thresholds, each group's band hits per
    index, and the (rounded) scores of those hits and of the cited figures, per index."""

    thresholds: dict[str, Thresholds] = field(default_factory=dict)
    hits: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (group, index) → rows
    known: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # index → (rows, scores)

    def score(self, name: str, row: int) -> float | None:
        rows, scores = self.known[name]
        i = int(np.searchsorted(rows, row))
        return rounded(scores[i]) if i < len(rows) and rows[i] == row else None


def _scan(ctx: _Context, role: IndexRole, x: np.ndarray, qv: np.ndarray, queries: Sequence[Figure],
          out: list[_QueryScores]) -> None:
    """One index: per query batch one matrix product; per query its thresholds and band hits."""
    cfg = ctx.config
    for sl in batches(len(queries), len(x)):
        block = score_block(qv[sl], x)
        for j in range(sl.start, sl.stop):
            row, q, qs = block[j - sl.start], queries[j], out[j]
            own = ctx.own_rows(q)
            th = thresholds(np.delete(row, own) if own else row, cfg.percentiles)
            qs.thresholds[role.name] = th
            parts = [np.asarray(ctx.cited_rows(q), dtype=np.int64)]
            for g in cfg.groups:
                band = g.band_for(role)
                hits = in_band(row, th.values[band.lower], th.values[band.upper])
                if own:
                    hits = hits[~np.isin(hits, own)]
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
        d = deduplicate(ids, cfg.cited_sample_size, vec, rng, cfg.dedup_threshold, factor=cfg.sample_factor)
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

        d = deduplicate(list(m.scores), g.size, vec, rng, cfg.dedup_threshold, seeds=prior, factor=cfg.sample_factor)
        kept_ids, drops = list(d.kept), d.dropped
    else:
        kept_ids = list(m.scores)
    mk = lambda fid: _candidate(ctx, qs, pos_of[fid], m.scores[fid], m.contributors[fid])  # noqa: E731
    kept = sorted((mk(i) for i in kept_ids), key=lambda c: (-c.score, c.id))
    return GroupDraw(g, m.case, {n: len(v) for n, v in per_index.items()}, len(m.scores), dedup, tuple(kept),
                     tuple(dataclasses.replace(d, candidate=mk(d.candidate)) for d in drops), excluded)


def _draw_query(ctx: _Context, q: Figure, qs: _QueryScores, seed: int) -> QueryDraw:
    rng = random.Random(f"{seed}:{q.id}")
    cited, cited_drops, found = _draw_cited(ctx, q, qs, rng)
    prior = [c.id for c in cited]
    groups = []
    for g in ctx.config.groups:
        gd = _draw_group(ctx, g, qs, rng, prior)
        groups.append(gd)
        if ctx.method == "strict":
            prior = prior + [c.id for c in gd.kept]
    return QueryDraw(q, dict(qs.thresholds), cited, cited_drops, found, tuple(groups))


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
    problems = check_encoders(config)
    if problems:
        raise SamplingUnavailable("cannot sample: these encoders are unavailable:\n  " + "\n  ".join(problems))
    queries = list(queries)
    by_patent: dict[str, list[int]] = {}
    for p, f in enumerate(collection.figures):
        by_patent.setdefault(f.patent, []).append(p)
    cites = {k: set(v) for k, v in (citations or {}).items()}
    by_path = {f.path: p for p, f in enumerate(collection.figures)}
    ctx = _Context(config, method, collection, np.zeros((0, 0), np.float32), cites, by_patent, by_path)
    scanned = [_QueryScores() for _ in queries]
    qvecs: dict[str, np.ndarray] = {}
    # image indices first: the figures they find unreadable are then no candidates on any index
    order = sorted(config.indices, key=lambda r: r.field != "image")
    ibar = tqdm(order, desc="Indices", unit="index", disable=not show_bar, leave=False)
    for i, role in enumerate(ibar):
        ibar.set_postfix_str(f"{role.name}: {role.encoder} · {role.field}")
        if progress:
            progress(i, len(config.indices), f"index {role.name} ({role.encoder} · {role.field})")
        x, qvecs[role.name], bad = _index_vectors(collection, queries, role, show_bar)
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
        x = ctx.dedup if role.name == config.dedup_index else _vectors(collection, queries, role, False)[0]
        _fill_scores(draws, role, x, qvecs[role.name])
    _order_scores(draws, [r.name for r in config.indices])
    used = {q.id: q for q in queries}
    for d in draws:
        for c in (*d.cited, *(c for g in d.groups for c in g.kept)):
            used.setdefault(c.id, collection.by_id[c.id])
    notes = list(config.notes)
    if not cites:
        notes.append("no citation data: the cited group is empty")
    return SampleRun(config, seed, method, collection.name, collection.fingerprint, tuple(draws), used, tuple(notes))
