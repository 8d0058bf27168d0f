"""Served mode: one frozen ``Policy`` for serving the app to a room (``make serve``).

The workbench (``make run``) can read any folder, train, download weights and judge under any
name. Served mode (``UPAIR_SERVE=1``, or ``serve = true`` in ``.streamlit/secrets.toml``) keeps
only what examiners need: the allow-listed corpora, read-only models, upload limits per
session, annotators who sign in, and errors shown as an incident id (the detail goes to the
server's log). The policy is parsed once per process from the environment (which wins) and
the ``[upair]`` table of the secrets file; every value is typed and range-checked, and a bad one
is a ``ConfigError`` naming its source.

``python -m dashboard.serve args`` prints the Streamlit flags ``make serve`` starts with;
``python -m dashboard.serve hash`` turns a passphrase (read from stdin) into the salted scrypt
line to put under ``[upair.annotators]``.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from core.config import ENV, ENV_VARS, ROOT, env_raw, parse_value
from core.errors import ConfigError

LOG = logging.getLogger("upair.serve")
SECRETS = ROOT / ".streamlit" / "secrets.toml"
TABLE = "upair"
#: The UPAIR_* variables of served mode: declared (name, type, default, meaning, secrets key) with every
#: other one in ``core.config.ENV_VARS``; the environment wins over the secrets file.
VARIABLES: tuple[str, ...] = tuple(v.name for v in ENV_VARS if v.scope == "serve")
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Policy:
    """What a served app allows; ``served=False`` is the workbench (everything allowed)."""

    served: bool = False
    address: str = "127.0.0.1"
    port: int = 8502
    corpora: tuple[tuple[str, str], ...] = (("Demo (synthetic drawings, built in)", "demo"),)  # (label, spec)
    upload_mb: int = 20
    upload_pixels: int = 25_000_000
    uploads_per_minute: int = 10
    annotators: tuple[tuple[str, str], ...] = ()  # (name, "scrypt$n$r$p$salt$hash")
    adjudicators: tuple[str, ...] = ()

    @property
    def corpus_specs(self) -> tuple[str, ...]:
        return tuple(spec for _, spec in self.corpora)

    def corpus_allowed(self, spec: str) -> bool:
        return not self.served or spec in self.corpus_specs

    def corpus_label(self, spec: str) -> str:
        return dict((s, lab) for lab, s in self.corpora).get(spec, spec)

    def corpus_for_label(self, label: str) -> str | None:
        """The allow-listed spec a label names (None: not one this server serves)."""
        return dict(self.corpora).get(label)


# --------------------------------------------------------------------------- parsing (one parser per value)
def _key(var: str) -> str:
    """The secrets-file key of a variable: UPAIR_SERVE_PORT → port, UPAIR_UPLOAD_MB → upload_mb."""
    return ENV[var].secret


def _value(var: str, raw, where: str):
    """``raw`` (from the environment or the secrets file, named by ``where``) typed by its declaration."""
    return parse_value(ENV[var], raw, "" if where == var else where)


def _corpora(items: tuple[str, ...], where: str, raw) -> tuple[tuple[str, str], ...]:
    """(label, spec) pairs of the allow-list ``items`` (already split by the list parser)."""
    from core import known_corpora

    known = {c.spec: c.label for c in known_corpora()}
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        label, sep, spec = item.partition("=")
        label, spec = (label.strip(), spec.strip()) if sep else ("", label.strip())
        if not spec or "\x00" in spec:
            raise ConfigError(f"{where}: entry {item!r} names no corpus; use 'spec' or 'Label=spec'")
        out.append((label or known.get(spec) or spec.split(":", 1)[0] + " corpus", spec))
    if not out:
        raise ConfigError(f"{where}={raw!r} lists no corpus; name at least one (e.g. demo)")
    return tuple(out)


def _annotators(raw, where: str) -> tuple[tuple[str, str], ...]:
    from core.annotation.judgements import check_annotator

    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} is not a table of name = \"scrypt$…\" lines")
    out = []
    for name, line in raw.items():
        try:
            name = check_annotator(name)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not isinstance(line, str) or _parse_hash(line) is None:
            raise ConfigError(f"{where}.{name} is not a line made by `python -m dashboard.serve hash`")
        out.append((name, line))
    return tuple(sorted(out))


def read_secrets(path: Path) -> dict:
    """The ``[upair]`` table of a secrets file ({} when the file does not exist)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the secrets file {path} cannot be read ({exc}); fix or remove it") from None
    table = data.get(TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{TABLE}] in {path} is not a table")
    return table


def load_policy(env: Mapping[str, str] | None = None, secrets_path: Path | None = None) -> Policy:
    """The policy from ``env`` (default ``os.environ``) over the secrets file's ``[upair]`` table."""
    env = os.environ if env is None else env
    named = env.get("UPAIR_SECRETS", "")
    path = Path(secrets_path or (_value("UPAIR_SECRETS", named, "UPAIR_SECRETS") if named else SECRETS))
    table = read_secrets(path)

    def pick(var: str):
        key = _key(var)
        if env.get(var, "").strip():
            return env[var], var
        if key in table:
            return table[key], f"{TABLE}.{key} in {path.name}"
        return None, ""

    kw: dict = {}
    for var, field in (("UPAIR_SERVE", "served"), ("UPAIR_SERVE_ADDRESS", "address"), ("UPAIR_SERVE_PORT", "port"),
                       ("UPAIR_CORPORA", "corpora"), ("UPAIR_UPLOAD_MB", "upload_mb"),
                       ("UPAIR_UPLOAD_PIXELS", "upload_pixels"), ("UPAIR_UPLOADS_PER_MINUTE", "uploads_per_minute")):
        raw, where = pick(var)
        if where:
            value = _value(var, raw, where)
            kw[field] = _corpora(value, where, raw) if var == "UPAIR_CORPORA" else value
    if "annotators" in table:
        kw["annotators"] = _annotators(table["annotators"], f"{TABLE}.annotators in {path.name}")
    if "adjudicators" in table:
        adj = table["adjudicators"]
        if not isinstance(adj, list) or not all(isinstance(a, str) for a in adj):
            raise ConfigError(f"{TABLE}.adjudicators in {path.name} is not a list of annotator names")
        kw["adjudicators"] = tuple(a.strip() for a in adj)
    return Policy(**kw)


@functools.lru_cache(maxsize=1)
def policy() -> Policy:
    """The process's policy, parsed once (``policy.cache_clear()`` re-reads it, for tests)."""
    return load_policy()


def served() -> bool:
    """Whether this process serves a room (False on any configuration error: the app reports it)."""
    try:
        return policy().served
    except ConfigError:
        return env_raw("UPAIR_SERVE").strip() not in ("", "0")


def check() -> None:
    """``ConfigError`` naming the setting when the served-mode configuration is unusable."""
    policy()


# --------------------------------------------------------------------------- passphrases
def hash_passphrase(passphrase: str, salt: bytes | None = None) -> str:
    """A salted scrypt line ``scrypt$n$r$p$salt$hash`` (hex) for the secrets file."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(passphrase.encode(), salt=salt, **SCRYPT, dklen=32)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def _parse_hash(line: str):
    parts = line.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    if not (2 <= n <= 2 ** 20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16 and len(salt) >= 8
            and len(digest) >= 16):
        return None
    return n, r, p, salt, digest


def verify_passphrase(line: str, passphrase: str) -> bool:
    """Whether ``passphrase`` matches a line from ``hash_passphrase`` (constant-time compare)."""
    parsed = _parse_hash(line)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    got = hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest), maxmem=2 ** 27)
    return hmac.compare_digest(got, digest)


# --------------------------------------------------------------------------- uploads
def refuse_upload(data: bytes, history: list[float], now: float | None = None, pol: Policy | None = None) -> str | None:
    """Why an upload is refused in served mode (None: accepted, and counted in ``history``, the
    session's upload times). Size, then the rate, then the pixels (read from the header only)."""
    pol = pol or policy()
    if not pol.served:
        return None
    now = time.monotonic() if now is None else now
    if len(data) > pol.upload_mb * 1_000_000:
        return f"it is {len(data) / 1e6:.1f} MB; this server takes figures up to {pol.upload_mb} MB"
    history[:] = [t for t in history if now - t < 60]
    if len(history) >= pol.uploads_per_minute:
        return (f"this session has uploaded {len(history)} figures in the last minute (the limit here); "
                f"try again in {60 - (now - history[0]):.0f} s")
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        w = h = 0  # not an image: the ordinary upload check says why
    if w * h > pol.upload_pixels:
        return f"it is {w:,} × {h:,} pixels; this server takes figures up to {pol.upload_pixels:,} pixels"
    history.append(now)
    return None


def session_upload_refused(data: bytes) -> str | None:
    """``refuse_upload`` with this browser session's upload times (served mode; None otherwise)."""
    import streamlit as st

    return refuse_upload(data, st.session_state.setdefault("_upload_times", []))


# --------------------------------------------------------------------------- errors
def incident(exc: BaseException) -> str:
    """Log ``exc`` with its traceback under a new incident id (server side) and return the id."""
    ident = secrets.token_hex(4)
    LOG.error("incident %s: %s", ident, type(exc).__name__, exc_info=exc)
    return ident


# --------------------------------------------------------------------------- what a browser may see
#: An absolute path inside a text: '/' (not '//', so no URL) or '~/' at the start, after a space,
#: quote, bracket, '=' or ':' (a spec such as folder:/data/x), up to the next space, quote or bracket.
_PATH_IN_TEXT = re.compile(r"(?<![\w.~/\\])(?:~/|/(?!/))[^\s'\"`()\[\]{},;<>|]*")
_HASHLIKE = re.compile(r"[0-9a-f]{16,}")


def _hide(path: str) -> str:
    """What served mode shows of a server path: its last name, unless that is a hash (an internal id)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    stem = name.split(".", 1)[0]
    if not name or _HASHLIKE.fullmatch(stem):
        return "(a file on the server)"
    return name


def shown_text(text: str) -> str:
    """``text`` as a browser may see it: in served mode every absolute path in it is cut to its
    last name (a hash-like name is not shown at all); in the workbench unchanged."""
    if not served():
        return text
    return _PATH_IN_TEXT.sub(lambda m: _hide(m.group(0)), str(text))


def shown_path(path) -> str:
    """A server path as a browser may see it: the path in the workbench, only its name when served."""
    return _hide(str(path)) if served() else str(path)


def shown_error(exc: BaseException | str) -> str:
    """An expected error's message for the page (``st.error(shown_error(exc))``): in served mode
    without server paths (``shown_text``); the workbench shows it whole."""
    return shown_text(str(exc))


def url_corpus(spec: str) -> str:
    """The corpus as a link names it: the allow-list label in served mode (never a server path)."""
    pol = policy() if served() else None
    return pol.corpus_label(spec) if pol is not None and spec in pol.corpus_specs else spec


def corpus_from_url(value: str) -> str:
    """The corpus spec a link's ``?corpus=`` names (served mode: an allow-list label, resolved;
    anything else is returned as given, and the sidebar refuses it)."""
    if not served():
        return value
    try:
        return policy().corpus_for_label(value) or value
    except ConfigError:
        return value


# --------------------------------------------------------------------------- make serve
def streamlit_args(pol: Policy) -> list[str]:
    """The flags ``make serve`` gives ``streamlit run``. ``runner.postScriptGC false``: Streamlit's
    default runs a full ``gc.collect(2)`` after every script run of every session, holding the GIL
    for 0.5-2 s in this process (~430k objects: torch, pandas, plotly; measured on the shared 2-core
    machine) — py-spy put 39 % of the server's samples there with 10 examiners; Python's own
    generational collection still runs. ``client.toolbarMode viewer``: no developer menu, no Deploy."""
    return ["--server.address", pol.address, "--server.port", str(pol.port),
            "--server.maxUploadSize", str(pol.upload_mb), "--client.showErrorDetails", "none",
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--server.runOnSave", "false", "--browser.gatherUsageStats", "false",
            "--runner.postScriptGC", "false", "--client.toolbarMode", "viewer"]


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else ""
    try:
        if cmd == "args":
            pol = load_policy()
            print(" ".join(streamlit_args(pol)))
            return 0
        if cmd == "hash":
            import getpass

            phrase = getpass.getpass("Passphrase: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
            if len(phrase) < 8:
                print("a passphrase needs at least 8 characters", file=sys.stderr)
                return 2
            print(hash_passphrase(phrase))
            return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m dashboard.serve args | hash", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
