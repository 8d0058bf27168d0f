"""The Sample page's draws: sampling configs, query ids, citations, one query's draw, the export (cached)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import streamlit as st

from core import config
from core.annotation.sampling import (
    SampleRun, SamplingConfig, find_citations, load_config, resolve_queries, sample_pools, write_run,
)
from core.annotation.sampling.sampler import check_encoders

from .. import jobs
from ..jobs import Job
from .corpora import corpus

REFERENCE_CONFIG = config.ROOT.parent / "shared" / "reference" / "upair" / "src" / "config.yaml"
DEFAULT = "default"


def config_choices() -> dict[str, str]:
    """Config key → label: the offline default, and the reference's config.yaml when present."""
    out = {DEFAULT: "Offline default (TF-IDF texts, HOG, AHDH)"}
    if REFERENCE_CONFIG.is_file():
        out[str(REFERENCE_CONFIG)] = "UPAIR reference (PaECTER, CLIP-H, PatentNet, ResNeXt)"
    return out


@st.cache_data(show_spinner=False, ttl=600)
def config_for(key: str, protocol: str = "upair", families: bool = False) -> SamplingConfig:
    """The sampling config for a choice key (``default`` or a file path) under a sampling protocol;
    ``families``: the labelled option ``families=one-per-family`` on top of it."""
    import dataclasses

    from core.annotation.sampling.config import with_protocol
    from core.annotation.sampling.options import with_options

    cfg = with_protocol(load_config(None if key == DEFAULT else key), protocol)
    if families:
        cfg = dataclasses.replace(cfg, options=with_options(cfg.options, {"families": "one-per-family"}))
    return cfg


@st.cache_data(show_spinner=False, ttl=300)
def missing_encoders(key: str) -> list[str]:
    """Why each encoder of a config cannot run here (empty when all can)."""
    return check_encoders(config_for(key))


@st.cache_data(show_spinner=False)
def query_ids(corpus_spec: str) -> list[str]:
    """The query figures of a corpus: its benchmark queries, else every figure."""
    return [f.id for f in resolve_queries(corpus(corpus_spec))]


@st.cache_data(show_spinner=False)
def citations(corpus_spec: str, config_key: str) -> tuple[dict, str]:
    """(citations, where from) for a corpus and config."""
    cites, where = find_citations(config_for(config_key), corpus(corpus_spec))
    return dict(cites), where


def draw_key(corpus_spec: str, qid: str, config_key: str, seed: int, method: str, protocol: str = "upair",
             families: bool = False) -> str:
    """The job key of one query's draw (one such job per process, shared by every session)."""
    return "sample:" + json.dumps([corpus_spec, qid, config_key, int(seed), method, protocol, bool(families)])


@st.cache_resource(show_spinner=False)
def _draws() -> dict[str, SampleRun]:
    """The draws done in this process, by ``draw_key`` (the last 64)."""
    return {}


def draw_job(corpus_spec: str, qid: str, config_key: str, seed: int, method: str, protocol: str = "upair",
             families: bool = False) -> Job | None:
    """None when this draw is in memory already (``drawn`` gives it); else the background job drawing
    it (the first draw encodes the corpus once per index, into the vector cache), started here or
    shared with the session that started it. The citations and the config are resolved here, in the
    script's thread, so a missing citations file raises here (``MissingCitations``)."""
    key = draw_key(corpus_spec, qid, config_key, seed, method, protocol, families)
    store = _draws()
    if key in store:
        return None
    known = jobs.get(key)
    if known is not None and known.state != jobs.DONE:  # running, or failed and not yet shown by a page
        return known
    jobs.forget(key)  # a draw done before the caches were cleared: drawn again
    c = corpus(corpus_spec)
    cites, _ = citations(corpus_spec, config_key)
    cfg = config_for(config_key, protocol, families)

    def work(progress) -> None:
        run = sample_pools(c, [c.by_id[qid]], cfg, seed=int(seed), method=method, citations=cites,
                           progress=progress, show_bar=False)
        store[key] = run
        while len(store) > 64:
            store.pop(next(iter(store)))

    return jobs.start(key, "Drawing the pool", work, n=len(c), indices=len(cfg.indices))


def drawn(corpus_spec: str, qid: str, config_key: str, seed: int, method: str, protocol: str = "upair",
          families: bool = False) -> SampleRun:
    """The draw a ``draw_job`` made (after it ended well)."""
    return _draws()[draw_key(corpus_spec, qid, config_key, seed, method, protocol, families)]


def export_zip(corpus_spec: str, config_key: str, seed: int, method: str, progress,
               protocol: str = "upair", families: bool = False) -> tuple[bytes, Path]:
    """Draw every query, write the run under the cache and return it zipped (and its folder)."""
    from core.store import key_of

    c = corpus(corpus_spec)
    cites, _ = citations(corpus_spec, config_key)
    queries = resolve_queries(c)
    run = sample_pools(c, queries, config_for(config_key, protocol, families), seed=seed, method=method,
                       citations=cites,
                       progress=progress, show_bar=False)
    # "outdir": folders since core.outdir carry a manifest; an older one (without) is never reused
    out = config.cache_dir() / "sampling" / key_of(c.fingerprint, config_key, seed, method, protocol, "outdir",
                                                     *(("families",) if families else ()))
    write_run(run, out)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(out.rglob("*")):
            if p.is_file():
                info = zipfile.ZipInfo(str(p.relative_to(out)), date_time=(2025, 1, 1, 0, 0, 0))
                zf.writestr(info, p.read_bytes())
    return buf.getvalue(), out


# --------------------------------------------------------------------------- the export, as a background job
def export_key(corpus_spec: str, config_key: str, seed: int, method: str, protocol: str = "upair",
               families: bool = False) -> str:
    """The job key of an export of every query (one such job per process, shared by every session)."""
    return "export:" + json.dumps([corpus_spec, config_key, int(seed), method, protocol, bool(families)])


@st.cache_resource(show_spinner=False)
def _exports() -> dict[str, tuple[bytes, Path]]:
    """Exports done in this process, by ``export_key``: (zip bytes, folder written) — the last 8."""
    return {}


def exported(corpus_spec: str, config_key: str, seed: int, method: str, protocol: str = "upair",
             families: bool = False) -> tuple[bytes, Path] | None:
    """(zip, folder) of an export done in this process, or None."""
    return _exports().get(export_key(corpus_spec, config_key, seed, method, protocol, families))


def export_job(corpus_spec: str, config_key: str, seed: int, method: str, protocol: str = "upair",
               families: bool = False, start: bool = False) -> Job | None:
    """The background job of an export: the one running (or failed and not yet shown) under its key,
    else a new one when ``start`` (it draws every query and writes the run folder, ``export_zip``),
    else None. A finished export is kept in memory (``exported``)."""
    key = export_key(corpus_spec, config_key, seed, method, protocol, families)
    known = jobs.get(key)
    if known is not None and known.state != jobs.DONE:
        return known
    if not start:
        return None
    jobs.forget(key)
    c = corpus(corpus_spec)
    citations(corpus_spec, config_key)  # a missing citations file raises here, in the script's thread
    store = _exports()

    def work(progress) -> None:
        store[key] = export_zip(corpus_spec, config_key, int(seed), method, progress, protocol, families)
        while len(store) > 8:
            store.pop(next(iter(store)))

    return jobs.start(key, "Exporting the pools", work, n=len(resolve_queries(c)))
