"""An examiner's workspace on disk: what one browser did on one corpus, so a reload or a
server restart loses nothing.

A workspace is one JSON file per (corpus, workspace id):
``cache/workspace/<corpus digest>/<workspace id>.json``, where the corpus digest is the first
16 hex digits of the SHA-256 of the corpus spec (so the workspace survives figures being
added to the folder) and the workspace id is a URL-safe token (``new_id``; the dashboard
keeps it in the URL as ``?ws=``, or derives it from a login with ``id_for_user``). It holds
the query trail, regions, added figures, upload names and descriptions, the shortlist with
its notes, the chosen encoders, k and the combination settings. Uploaded figures are
content-addressed blobs already (``cache/uploads/<sha1>.png``, written by
``core.figures.store_upload``); the workspace names them by that hash.

Every save writes a temporary file, fsyncs it and renames it over the old one
(``core.store.atomic_write_json``), so a SIGKILL leaves the previous or the new state, never a
torn file. ``load`` validates everything it reads (types and ranges) and drops what is not
valid, naming it in ``problems``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..store import atomic_write_json, load_json

__all__ = ["WORKSPACE_VERSION", "ID_RE", "Workspace", "new_id", "id_for_user", "check_id", "corpus_digest",
           "workspace_dir", "workspace_path", "save", "load"]

WORKSPACE_VERSION = 1
ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: The most encoders, trail entries, regions, … one workspace keeps (a file is bounded).
MAX_ITEMS = 500
K_RANGE = (1, 50)


def new_id() -> str:
    """A fresh workspace id (96 random bits, URL-safe)."""
    return secrets.token_urlsafe(12)


def id_for_user(user: str) -> str:
    """The workspace id of a logged-in user (served mode): a digest of the user name, so one
    user has one workspace per corpus on every browser."""
    if not user:
        raise ValueError("a workspace needs a non-empty user name")
    return "u-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:32]


def check_id(wid: str, source: str = "the workspace id") -> str:
    """``wid`` when it is a valid workspace id, else ValueError naming ``source``."""
    if not isinstance(wid, str) or not ID_RE.fullmatch(wid):
        raise ValueError(f"{source} {wid!r} is not a workspace id (8–64 letters, digits, '-' or '_')")
    return wid


def corpus_digest(corpus_spec: str) -> str:
    return hashlib.sha256(corpus_spec.encode("utf-8")).hexdigest()[:16]


def workspace_dir() -> Path:
    """``cache/workspace``: every examiner workspace, one folder per corpus."""
    return config.cache_dir() / "workspace"


def workspace_path(corpus_spec: str, wid: str) -> Path:
    return workspace_dir() / corpus_digest(corpus_spec) / f"{check_id(wid)}.json"


@dataclass
class Workspace:
    """What an examiner set up on one corpus. Queries are URL tokens: a figure id or
    ``upload:<sha1>`` (a stored upload)."""

    corpus: str
    trail: list[str] = field(default_factory=list)
    regions: dict[str, list[float]] = field(default_factory=dict)  # query token → [x0, y0, x1, y1]
    added: dict[str, list[str]] = field(default_factory=dict)  # query token → added figure tokens
    upload_names: dict[str, str] = field(default_factory=dict)  # upload token → file name given
    upload_texts: dict[str, str] = field(default_factory=dict)  # upload token → description
    shortlist: dict = field(default_factory=dict)  # core.examiner.Shortlist.to_dict()
    encoders: list[str] | None = None
    k: int | None = None
    combine: str = "mean"
    before: bool = False
    problems: list[str] = field(default_factory=list, compare=False)

    def to_dict(self) -> dict:
        return {"version": WORKSPACE_VERSION, "corpus": self.corpus, "trail": self.trail, "regions": self.regions,
                "added": self.added, "upload_names": self.upload_names, "upload_texts": self.upload_texts,
                "shortlist": self.shortlist, "encoders": self.encoders, "k": self.k, "combine": self.combine,
                "before": self.before}


def save(ws: Workspace, wid: str) -> Path:
    """Write the workspace atomically (tmp + fsync + rename); returns its path."""
    path = workspace_path(ws.corpus, wid)
    atomic_write_json(path, ws.to_dict())
    return path


def _strings(value, problems: list[str], what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        if value not in (None, []):
            problems.append(f"{what} is not a list of strings; dropped")
        return []
    return value[:MAX_ITEMS]


def _str_map(value, problems: list[str], what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        if value not in (None, {}):
            problems.append(f"{what} is not a mapping; dropped")
        return {}
    return {k: v for k, v in list(value.items())[:MAX_ITEMS] if isinstance(k, str) and isinstance(v, str)}


def _regions(value, problems: list[str]) -> dict[str, list[float]]:
    from .query import Region

    out = {}
    for tok, box in (value.items() if isinstance(value, dict) else ()):
        try:
            out[str(tok)] = list(Region(*[float(x) for x in box]).as_tuple())
        except (TypeError, ValueError) as exc:
            problems.append(f"region of {tok!r} dropped: {exc}")
    return out


def load(corpus_spec: str, wid: str) -> Workspace | None:
    """The saved workspace (None when there is none); invalid parts are dropped and named in
    ``problems``, a file that is not a workspace at all gives an empty one with a problem."""
    path = workspace_path(corpus_spec, wid)
    if not path.is_file():
        return None
    data = load_json(path)
    if not isinstance(data, dict) or data.get("version") != WORKSPACE_VERSION:
        return Workspace(corpus_spec, problems=[f"{path} is not a workspace file of this version; started afresh"])
    p: list[str] = []
    k = data.get("k")
    if k is not None and not (isinstance(k, int) and not isinstance(k, bool) and K_RANGE[0] <= k <= K_RANGE[1]):
        p.append(f"k {k!r} is not a whole number in {K_RANGE[0]}..{K_RANGE[1]}; dropped")
        k = None
    added = data.get("added") if isinstance(data.get("added"), dict) else {}
    shortlist = data.get("shortlist") if isinstance(data.get("shortlist"), dict) else {}
    if shortlist:
        from .shortlist import Shortlist

        try:
            shortlist = Shortlist.from_dict(shortlist).to_dict()
        except (TypeError, ValueError, KeyError) as exc:
            p.append(f"the shortlist could not be read ({exc}); it was moved aside")
            atomic_write_json(path.with_suffix(".damaged.json"), data)
            shortlist = {}
    combine = data.get("combine") if data.get("combine") in ("mean", "rrf") else "mean"
    return Workspace(
        corpus=corpus_spec, trail=_strings(data.get("trail"), p, "trail"), regions=_regions(data.get("regions"), p),
        added={str(q): _strings(v, p, f"added figures of {q!r}") for q, v in list(added.items())[:MAX_ITEMS]},
        upload_names=_str_map(data.get("upload_names"), p, "upload names"),
        upload_texts=_str_map(data.get("upload_texts"), p, "upload descriptions"), shortlist=shortlist,
        encoders=_strings(data.get("encoders"), p, "encoders") if data.get("encoders") is not None else None,
        k=k, combine=combine, before=data.get("before") is True, problems=p)
