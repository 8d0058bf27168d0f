"""Judgements as TREC qrels, in and out: a journal's judgements as qrels, qrels into a journal,
a folder's ``qrels_<axis>.txt`` files, and exports (qrels files, a UPAIR-layout folder)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Mapping

from ..corpora.base import AXES, Corpus
from ..qrels import read_qrels, write_qrels
from ..store import atomic_write_json
from .judgements import Journal, Pair, PairJudgement


def to_qrels(judgements: Mapping[Pair, PairJudgement]) -> dict[str, dict[str, dict[str, int]]]:
    """Per axis TREC qrels ``{axis: {qid: {docid: 0/1}}}``; unsure, unanswered and skipped
    pairs are left out (unjudged)."""
    out: dict[str, dict[str, dict[str, int]]] = {a: {} for a in AXES}
    for (q, c), j in judgements.items():
        if j.skip:
            continue
        for axis, value in j.axes.items():
            if value is not None:
                out[axis].setdefault(q, {})[c] = int(value)
    return out


def import_qrels(journal: Journal, qrels: Mapping[str, Mapping[str, Mapping[str, int]]],
                 source: str = "qrels") -> int:
    """Write TREC qrels (``{axis: {qid: {docid: rel}}}``, rel > 0 is relevant) into a journal,
    one line per pair with every axis it has; returns the number of pairs."""
    return journal.record_many(qrels_pairs(qrels), source=source)


def qrels_pairs(qrels: Mapping[str, Mapping[str, Mapping[str, int]]]) -> list[tuple[str, str, dict[str, int]]]:
    """TREC qrels (``{axis: {qid: {docid: rel}}}``) as journal items, one per pair with every axis
    it has (rel > 0 is relevant), sorted by pair."""
    pairs: dict[Pair, dict[str, int]] = {}
    for axis, per_q in qrels.items():
        if axis not in AXES:
            raise ValueError(f"unknown axis {axis!r}; axes are {', '.join(AXES)}")
        for q, docs in per_q.items():
            for d, rel in docs.items():
                pairs.setdefault((q, d), {})[axis] = 1 if int(rel) > 0 else 0
    return [(q, c, a) for (q, c), a in sorted(pairs.items())]


def read_qrels_dir(folder: Path | str) -> dict[str, dict[str, dict[str, int]]]:
    """``qrels_<axis>.txt`` files of a folder (or its ``test/``), as read by ``core.qrels``."""
    folder = Path(folder)
    out = {}
    for axis in AXES:
        for d in (folder, folder / "test"):
            p = d / f"qrels_{axis}.txt"
            if p.is_file():
                out[axis] = read_qrels(p)[0]
                break
    if not out:
        raise ValueError(f"no qrels_<axis>.txt files in {folder} (expected qrels_visual.txt, qrels_semantic.txt, "
                         "qrels_part_whole.txt)")
    return out


def export_qrels(qrels: Mapping[str, Mapping[str, Mapping[str, int]]], folder: Path | str,
                 what: str = "--out") -> list[Path]:
    """Write one TREC qrels file per axis (``qrels_<axis>.txt``) into ``folder``, which must be
    new, empty or an earlier export's (``core.outdir``: never a qrels file this tool did not write)."""
    from ..outdir import open_output

    with open_output(folder, "judge-export", what) as out:
        paths = [write_qrels(out.file(f"qrels_{axis}.txt"), qrels.get(axis, {})) for axis in AXES]
    return paths


def _figure_record(fig) -> dict:
    return {"hashcode": fig.id, "patent": fig.patent, "section": fig.section, "title": fig.title,
            "description": fig.description, "component_labels": list(fig.labels)}


def export_upair(corpus: Corpus, qrels: Mapping[str, Mapping[str, Mapping[str, int]]],
                 folder: Path | str, what: str = "--out") -> Path:
    """Write a UPAIR-layout folder (``metadata.json``, ``test/images/``, ``test/qrels_<axis>.txt``)
    holding the judged queries, their judged candidates and the figures' images."""
    from ..outdir import open_output

    folder = Path(folder)
    cands: dict[str, set[str]] = {}
    for per_q in qrels.values():
        for q, docs in per_q.items():
            cands.setdefault(q, set()).update(docs)
    missing = sorted({i for q, ds in cands.items() for i in (q, *ds) if i not in corpus.by_id})
    if missing:
        raise ValueError(f"{len(missing)} judged id(s) are not figures of {corpus.name} (e.g. {missing[0]}); "
                         "export from the corpus the judgements were made on")
    meta = {}
    with open_output(folder, "judge-export --upair", what) as out:
        copied: set[str] = set()
        for q in sorted(cands):
            listed = corpus.candidates_for(q)
            order = [c for c in listed if c in cands[q]] + sorted(cands[q] - set(listed))
            meta[q] = {"query": _figure_record(corpus.by_id[q]),
                       "candidates": [_figure_record(corpus.by_id[c]) for c in order]}
            for fid in (q, *order):
                src = corpus.by_id[fid].path
                rel = f"test/images/{fid}{src.suffix.lower()}"
                if rel not in copied:
                    copied.add(rel)
                    shutil.copy2(src, out.file(rel))
        atomic_write_json(out.file("metadata.json"), meta)
        for axis in AXES:
            write_qrels(out.file(f"test/qrels_{axis}.txt"), qrels.get(axis, {}))
    return folder
