"""Writing a draw: per-query JSON in the reference's layout, a trace of why, and a UPAIR pool.

Layout under ``out``::

    run.json                                 config, seed, method, collection, notes, summary
    candidates/<section>/<query file>.json   the reference's layout: group → figure → record
    trace/<section>/<query file>.json        thresholds, bands, merge case, kept / dropped and why
    pool/metadata.json                       UPAIR layout: query hash → {query, candidates}
    pool/test/images/<id>.<ext>              the query and candidate drawings
    pool/test/qrels_<axis>.txt               empty, to be filled by judging
    .upair-output.json                       what this writer wrote, with content hashes (core.outdir)

JSON is written with sorted keys and scores rounded to 6 decimals, so the same draw gives
the same bytes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ...corpora.base import AXES
from ...figures import Figure
from ...outdir import open_output
from .sampler import Candidate, QueryDraw, SampleRun
from .select import Dropped

def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _record(c: Candidate, summed: bool = True) -> dict:
    rec = {"id": c.row, "key": c.id, "patent": c.patent, "hashcode": c.id}
    if summed:
        rec["sum_score"] = c.score
    return rec


def reference_layout(draw: QueryDraw) -> dict:
    """One query's pools as the reference saves them: group → hashcode → record."""
    out: dict[str, dict] = {"cited": {c.id: _record(c, summed=False) for c in draw.cited}}
    for g in draw.groups:
        out[g.name] = {c.id: _record(c) for c in g.kept}
    return out


def _cand(c: Candidate) -> dict:
    return {"id": c.id, "patent": c.patent, "score": c.score, "scores": dict(c.scores), "drawn_by": list(c.drawn_by)}


def _drop(d: Dropped) -> dict:
    return {**_cand(d.candidate), "duplicate_of": d.of, "cosine": d.cosine}


def trace(draw: QueryDraw, run: SampleRun | None = None) -> dict:
    """Why each candidate of one query was drawn: the sampling protocol and options, thresholds,
    each index's best match and where it fell, bands, merge case, duplicates."""
    q = draw.query
    head = {"protocol": run.config.protocol, "options": run.config.options.as_json()} if run is not None else {}
    return {
        **head,
        "query": {"id": q.id, "patent": q.patent, "section": q.section, "file": draw.key},
        "best_match": {n: {"id": b.id, "score": round(b.score, 6), "score_float32": b.score, "top_threshold": b.top,
                           "above_top_threshold": b.above_top, "in_bands": list(b.bands)}
                       for n, b in draw.best.items()},
        "thresholds": {n: {k: round(v, 6) for k, v in t.values.items()} for n, t in draw.thresholds.items()},
        "histograms": {n: {"edges": list(t.hist_edges), "counts": list(t.hist_counts)}
                       for n, t in draw.thresholds.items()},
        "cited": {"found": draw.cited_found, "kept": [_cand(c) for c in draw.cited],
                  "dropped": [_drop(d) for d in draw.cited_dropped]},
        "groups": {g.name: {
            "text_band": [g.spec.text.upper, g.spec.text.lower], "image_band": [g.spec.image.upper, g.spec.image.lower],
            "size": g.spec.size, "case": g.case, "in_band": dict(g.in_band), "merged": g.merged,
            "deduplicated": g.deduplicated, "shortfall": g.shortfall, "excluded_as_kept_elsewhere": g.excluded,
            "kept": [_cand(c) for c in g.kept], "dropped": [_drop(d) for d in g.dropped],
            **({"family_copies": list(g.family_copies)} if g.family_copies else {}),
        } for g in draw.groups},
    }


def _figure_record(f: Figure) -> dict:
    return {"hashcode": f.id, "patent": f.patent, "section": f.section, "title": f.title,
            "description": f.description, "component_labels": list(f.labels)}


def pool_metadata(run: SampleRun) -> dict:
    """UPAIR ``metadata.json``: per query its record and its candidates' (sorted by id, so the
    order tells a judge nothing about the group a candidate came from)."""
    meta = {}
    for d in run.draws:
        ids = {c.id for c in d.cited} | {c.id for g in d.groups for c in g.kept}
        ids.discard(d.query.id)
        meta[d.query.id] = {"query": _figure_record(d.query),
                            "candidates": [_figure_record(run.figures[i]) for i in sorted(ids)]}
    return meta


def summary(run: SampleRun) -> dict:
    """Counts per group over all queries: kept, shortfall, merge cases."""
    out: dict[str, dict] = {}
    for d in run.draws:
        for g in d.groups:
            s = out.setdefault(g.name, {"kept": 0, "shortfall": 0, "queries_short": 0, "cases": {}})
            s["kept"] += len(g.kept)
            s["shortfall"] += g.shortfall
            s["queries_short"] += int(g.shortfall > 0)
            s["cases"][g.case] = s["cases"].get(g.case, 0) + 1
    out["cited"] = {"kept": sum(len(d.cited) for d in run.draws),
                    "queries_with_cited": sum(1 for d in run.draws if d.cited)}
    return out


def _check_judged(out: Path) -> None:
    for axis in AXES:
        q = out / "pool" / "test" / f"qrels_{axis}.txt"
        if q.is_file() and q.read_text(encoding="utf-8", errors="replace").strip():
            raise ValueError(f"{q} already holds judgements; draw into another folder so they are not lost")


def write_run(run: SampleRun, out: Path | str, what: str = "--out") -> Path:
    """Write the draw under ``out`` (see the module docstring); returns ``out``.

    ``out`` must be new, empty or an earlier draw's folder as its manifest proves
    (``core.outdir``); only the earlier draw's own files are replaced. A pool already
    judged is refused.
    """
    out = Path(out).expanduser()
    if out.is_dir() and not out.is_symlink():
        _check_judged(out)
    with open_output(out, "sample", what) as folder:
        for d in run.draws:
            folder.write_bytes(f"candidates/{d.section}/{d.key}.json", _dump(reference_layout(d)))
            folder.write_bytes(f"trace/{d.section}/{d.key}.json", _dump(trace(d, run)))
        meta = pool_metadata(run)
        for fid in sorted({i for qid, e in meta.items() for i in (qid, *(c["hashcode"] for c in e["candidates"]))}):
            f = run.figures[fid]
            folder.write_bytes(f"pool/test/images/{fid}{f.path.suffix.lower()}", f.path.read_bytes())
        folder.write_bytes("pool/metadata.json", _dump(meta))
        for axis in AXES:
            folder.write_bytes(f"pool/test/qrels_{axis}.txt", b"")
        info: Mapping[str, Any] = {
            "config": run.config.as_json(), "config_source": run.config.source, "seed": run.seed,
            "method": run.method, "collection": run.collection, "collection_fingerprint": run.collection_fingerprint,
            "queries": [d.query.id for d in run.draws], "notes": list(run.notes), "summary": summary(run),
        }
        folder.write_bytes("run.json", _dump(info))
    return out
