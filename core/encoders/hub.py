"""Weights from the Hugging Face hub, kept under ``cache/huggingface`` (hub cache layout).

Lookups never touch the network; only the ``download_*`` functions do.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from .. import config

__all__ = ["hf_cache_dir", "repo_folder", "find_cached", "cached_snapshot", "download_file", "download_snapshot",
           "hub_endpoint", "require_hub", "OFFLINE_NOTE"]

#: Seconds to wait for the hub to answer before saying the network is not there.
REACH_TIMEOUT_S = 5.0


def hub_endpoint() -> str:
    """The hub's address: ``$HF_ENDPOINT`` (as huggingface_hub reads it), else huggingface.co."""
    from urllib.parse import urlsplit

    value = os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"HF_ENDPOINT={value!r} is not an http(s) address")
    return value.rstrip("/")


def OFFLINE_NOTE(what: str, spec: str) -> str:  # noqa: N802 - reads as a message template
    """One line: ``what`` needs the network once, and how to fetch it later."""
    return (f"{what} needs the network once: run `{config.cli()} fetch-weights {spec}` on a machine with internet "
            "access (or copy its cache/ folder here), then restart the app")


def require_hub(what: str, spec: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Fail at once, in one line, when the hub cannot be reached (``OFFLINE=1``, refused, no route,
    no answer within ``timeout`` s) instead of waiting on the download library's retries."""
    import socket
    from urllib.parse import urlsplit

    if os.environ.get("OFFLINE", "").strip() not in ("", "0") or os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true"):
        raise RuntimeError(f"offline (OFFLINE / HF_HUB_OFFLINE is set): {OFFLINE_NOTE(what, spec)}")
    url = hub_endpoint()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "connection refused" if isinstance(exc, ConnectionRefusedError) else \
            "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        raise RuntimeError(f"cannot reach {url} ({why}): {OFFLINE_NOTE(what, spec)}") from None


def hf_cache_dir() -> Path:
    """Where hub downloads of timm and sentence-transformers models live."""
    return config.cache_dir() / "huggingface"


def repo_folder(repo_id: str, root: Path | None = None) -> Path:
    """The hub-cache folder of ``repo_id`` (may not exist)."""
    return (root or hf_cache_dir()) / f"models--{repo_id.replace('/', '--')}"


def find_cached(repo_id: str, filenames: tuple[str, ...], root: Path | None = None) -> Path | None:
    """The first of ``filenames`` of ``repo_id`` already in the hub cache, else None."""
    folder = repo_folder(repo_id, root) / "snapshots"
    if not folder.is_dir():
        return None
    for name in filenames:
        for hit in sorted(glob.glob(str(folder / "*" / name))):
            if os.path.isfile(hit) and os.path.getsize(hit) > 0:
                return Path(hit)
    return None


def cached_snapshot(repo_id: str, required: str = "config.json", root: Path | None = None) -> Path | None:
    """A downloaded snapshot folder of ``repo_id`` that holds ``required``, else None."""
    hit = find_cached(repo_id, (required,), root)
    return hit.parent if hit is not None else None


def download_file(repo_id: str, filenames: tuple[str, ...], root: Path | None = None, spec: str = "") -> Path:
    """Download the first of ``filenames`` that ``repo_id`` has; RuntimeError says why none could be."""
    have = find_cached(repo_id, filenames, root)
    if have is not None:
        return have
    require_hub(repo_id, spec or repo_id)
    from huggingface_hub import hf_hub_download

    root = root or hf_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    for name in filenames:
        try:
            return Path(hf_hub_download(repo_id, name, cache_dir=str(root)))
        except Exception as exc:  # noqa: BLE001 - missing file, network, auth alike
            errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    raise RuntimeError(f"could not download {repo_id} from the Hugging Face hub into {root} ({'; '.join(errors)}); "
                       "check the name and the internet connection")


def download_snapshot(repo_id: str, root: Path | None = None) -> Path:
    """Download every file of ``repo_id`` (a model folder); returns the snapshot folder."""
    require_hub(repo_id, repo_id)
    from huggingface_hub import snapshot_download

    root = root or hf_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        return Path(snapshot_download(repo_id, cache_dir=str(root)))
    except Exception as exc:  # noqa: BLE001 - network, auth, unknown repo alike
        raise RuntimeError(f"could not download {repo_id} from the Hugging Face hub into {root}: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}") from exc
