"""Fetch and unpack the UPAIR benchmark (stdlib ``urllib`` + ``zipfile``; no extra deps).

UPAIR is published on Zenodo as the single archive ``upair.zip`` of the record with DOI
``10.5281/zenodo.15564780`` (https://zenodo.org/records/15564780). ``download_upair()``
fetches that archive into ``<cache>/upair/``, unpacks it safely and returns the folder
holding ``metadata.json`` (what ``core.corpora.upair.load_upair`` expects).

* ``download`` streams to ``<dest>.part`` and resumes an interrupted transfer with an HTTP
  ``Range`` request; the finished file is renamed into place atomically, so ``dest`` only
  ever exists complete.
* ``safe_extract`` refuses archives that would write outside the target folder (absolute
  names, ``..``, drive letters, symlinks) or that would unpack to an absurd size (zip
  bombs), and unpacks into a temporary folder first so a failure leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import socket
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from . import config, store
from .corpora.upair import find_dataset_root

#: DOI of the Zenodo record that publishes UPAIR (the archive is its ``upair.zip``).
UPAIR_DOI = "10.5281/zenodo.15564780"
#: Landing page of that record.
UPAIR_RECORD_URL = "https://zenodo.org/records/15564780"
#: Direct link to ``upair.zip`` in that record.
UPAIR_ZIP_URL = "https://zenodo.org/records/15564780/files/upair.zip?download=1"

#: Default ceiling on the total uncompressed size of an archive (zip-bomb guard).
MAX_TOTAL_BYTES = 20 * 1024**3
#: Default ceiling on the number of members of an archive.
MAX_MEMBERS = 1_000_000

_USER_AGENT = "upair-explorer/1 (+https://zenodo.org/records/15564780)"


class DownloadError(RuntimeError):
    """A download or an unpack failed; the message says why and what to do."""


class UnsafeArchiveError(DownloadError):
    """An archive member would escape the target folder, or the archive is a likely zip bomb."""


# --------------------------------------------------------------------------- download


#: What to do without a connection (the flag exists: ``download-upair --zip FILE``).
BY_HAND = (f"or download upair.zip from {UPAIR_RECORD_URL} on a machine with internet access and run "
           f"`{config.cli()} download-upair --zip FILE`")


def _part_path(dest: Path) -> Path:
    return dest.with_suffix(dest.suffix + ".part")


def _unreachable(url: str, reason: object) -> DownloadError:
    host = urllib.parse.urlsplit(url).netloc or url
    return DownloadError(
        f"could not reach {host}: {reason} (fetching {url}); check your internet connection"
    )


def _content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """``bytes a-b/total`` or ``bytes */total`` → (a, b, total); unknown parts are None."""
    m = re.match(r"\s*bytes\s+(?:(\d+)-(\d+)|\*)\s*/\s*(\d+|\*)\s*$", value or "", re.I)
    if not m:
        return None, None, None
    start, end, total = m.groups()
    return (
        int(start) if start is not None else None,
        int(end) if end is not None else None,
        int(total) if total and total != "*" else None,
    )


def _int_header(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _Retry(Exception):
    """Internal: restart the transfer (from the current .part size)."""


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) URLs only (checked)


def _transfer(url: str, dest: Path, part: Path, progress: bool, chunk: int, timeout: float) -> None:
    """One attempt: (re)open the URL, resuming from the .part size, and stream to the end."""
    from tqdm.auto import tqdm

    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # "Range Not Satisfiable": the part is already complete (or longer than the file).
            _, _, total = _content_range(exc.headers.get("Content-Range"))
            exc.close()
            if total is not None and offset == total:
                return
            part.unlink()  # larger than the file, or unverifiable: start again from 0
            raise _Retry from None
        reason = exc.reason or http.client.responses.get(exc.code, "")
        exc.close()
        raise DownloadError(
            f"{url} returned HTTP {exc.code} {reason}".rstrip()
            + "; check the address"
        ) from None
    except urllib.error.URLError as exc:
        raise _unreachable(url, exc.reason) from None
    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as exc:
        raise _unreachable(url, exc) from None

    with resp:
        status = getattr(resp, "status", 200)
        length = _int_header(resp.headers.get("Content-Length"))
        if status == 206:
            start, _, total = _content_range(resp.headers.get("Content-Range"))
            if start != offset:  # a range we did not ask for: throw the part away
                part.unlink(missing_ok=True)
                raise _Retry
            if total is None and length is not None:
                total = offset + length
            mode = "ab"
        else:  # 200: the server ignored the Range header and sends everything
            offset, total, mode = 0, length, "wb"
        written = offset
        with open(part, mode) as fh, tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=not progress,
            leave=False,
        ) as bar:
            while True:
                try:
                    block = resp.read(chunk)
                except (OSError, http.client.HTTPException) as exc:  # timeout, reset, short chunk
                    fh.flush()
                    raise _Retry(f"transfer interrupted after {written:,} bytes ({exc})") from None
                if not block:
                    break
                fh.write(block)  # a full disk raises OSError here, which is not retried
                written += len(block)
                bar.update(len(block))
            fh.flush()
            os.fsync(fh.fileno())
    if total is not None and written != total:
        raise _Retry(f"connection closed after {written:,} of {total:,} bytes")


def download(
    url: str,
    dest: Path,
    *,
    progress: bool = True,
    chunk: int = 1 << 20,
    timeout: float = 30,
    retries: int = 3,
) -> Path:
    """Download ``url`` to ``dest`` (resumable, atomic) and return ``dest``.

    Bytes go to ``<dest>.part``; if that file exists (an earlier run was interrupted) the
    transfer resumes with ``Range: bytes=<size>-``: a 206 reply is appended, a 200 reply
    (server ignores ranges) restarts from zero, a 416 reply means the part is already whole
    (checked against the size the server reports). A transfer cut off midway is resumed up
    to ``retries`` times. Only a complete file is renamed to ``dest``; an existing ``dest``
    is returned as is (delete it to fetch again). Raises ``DownloadError``.
    """
    dest = Path(dest).expanduser()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"cannot download {url!r}: only http:// and https:// addresses are supported")
    if dest.is_file():
        return dest
    if dest.exists():
        raise DownloadError(f"cannot download to {dest}: it exists and is not a file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    with store.exclusive(f"download:{dest.resolve()}"):
        if dest.is_file():  # another process finished it while we waited
            return dest
        attempt = 0
        while True:
            before = part.stat().st_size if part.exists() else 0
            try:
                _transfer(url, dest, part, progress, chunk, timeout)
                break
            except _Retry as exc:
                after = part.stat().st_size if part.exists() else 0
                if after <= before:  # no progress this time
                    attempt += 1
                if attempt > retries:
                    raise DownloadError(
                        f"download of {url} kept failing ({exc or 'no progress'}); the {after:,} bytes "
                        f"received are kept in {part} - run again to resume"
                    ) from None
                if after == before:  # nothing received: back off before trying again
                    time.sleep(min(2.0**attempt * 0.25, 5.0))
            except OSError as exc:  # writing the part failed (full disk, permissions)
                raise DownloadError(f"could not write {part} ({exc}); free some space or pick another folder") from exc
        os.replace(part, dest)
    return dest


# --------------------------------------------------------------------------- zip archives


def is_zip(path: Path) -> bool:
    """True when ``path`` is a (readable) zip archive."""
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


_DRIVE = re.compile(r"^[A-Za-z]:")


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """Safe relative path components of a member, or raise ``UnsafeArchiveError``."""
    name = info.filename
    norm = name.replace("\\", "/")
    why = None
    if "\x00" in name:
        why = "contains a NUL byte"
    elif norm.startswith("/"):
        why = "is an absolute path"
    elif _DRIVE.match(norm):
        why = "starts with a drive letter"
    elif any(p == ".." for p in norm.split("/")):
        why = "contains '..'"
    else:
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            why = "is a symbolic link"
        elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            why = "is a special file (device, fifo or socket)"
    if why:
        raise UnsafeArchiveError(f"refusing to unpack the archive: member {name!r} {why}; nothing was extracted")
    return tuple(p for p in norm.split("/") if p not in ("", "."))


def _check_members(zf: zipfile.ZipFile, name: str, max_total_bytes: int, max_members: int):
    """``([(info, safe parts)], total uncompressed bytes)``; raises before anything is written."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise UnsafeArchiveError(
            f"refusing to unpack {name}: {len(infos):,} members, more than the {max_members:,} "
            "limit (possible zip bomb); nothing was extracted"
        )
    total = sum(i.file_size for i in infos)
    if total > max_total_bytes:
        raise UnsafeArchiveError(
            f"refusing to unpack {name}: it expands to {total / 1e9:.1f} GB, more than the "
            f"{max_total_bytes / 1e9:.1f} GB limit (possible zip bomb); nothing was extracted"
        )
    plan = [(info, _member_parts(info)) for info in infos]
    encrypted = [i.filename for i in infos if i.flag_bits & 0x1]
    if encrypted:
        raise DownloadError(f"{name} is password-protected ({encrypted[0]!r}); cannot unpack it")
    return plan, total


def _extract_into(zf: zipfile.ZipFile, plan, root: Path, name: str, limit: int) -> list[Path]:
    """Write the planned members under ``root``; stop once more than ``limit`` bytes come out."""
    written = 0
    rels: list[Path] = []
    for info, parts in plan:
        if not parts:
            continue
        target = root.joinpath(*parts)
        if not target.resolve().is_relative_to(root):  # belt and braces
            raise UnsafeArchiveError(
                f"refusing to unpack the archive: member {info.filename!r} escapes the target folder"
            )
        rels.append(Path(*parts))
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            while True:
                block = src.read(1 << 20)
                if not block:
                    break
                written += len(block)
                if written > limit:
                    raise UnsafeArchiveError(
                        f"refusing to unpack {name}: member {info.filename!r} expands beyond "
                        "its declared size (possible zip bomb); nothing was extracted"
                    )
                out.write(block)
    return rels


#: Written into a folder after an unpack; lists the top-level entries the unpack created,
#: the only entries a later unpack may replace.
UNPACK_MARKER = ".upair-unpack.json"
#: Entries ``download_upair`` itself leaves in its folder (the archive, a resumable part).
_OWN_FILES = ("upair.zip", "upair.zip.part", UNPACK_MARKER)


def unpacked_entries(dest: Path) -> set[str]:
    """Top-level names an earlier unpack into ``dest`` created (from its marker), else empty."""
    data = store.load_json(Path(dest) / UNPACK_MARKER)
    entries = data.get("entries") if isinstance(data, dict) else None
    return {e for e in entries if isinstance(e, str)} if isinstance(entries, list) else set()


def _refuse_foreign(dest: Path, names: set[str], allowed: set[str]) -> None:
    """Raise when an entry of ``names`` exists in ``dest`` and was not created by an unpack."""
    foreign = sorted(n for n in names if n not in allowed and ((dest / n).exists() or (dest / n).is_symlink()))
    if foreign:
        raise DownloadError(
            f"refusing to unpack into {dest}: {dest / foreign[0]} already exists and was not created by an "
            f"earlier unpack ({len(foreign)} such entr{'y' if len(foreign) == 1 else 'ies'}); nothing was "
            "changed. Move it away, or unpack into an empty folder (--dest)."
        )


def _move_into(tmp: Path, dest: Path) -> None:
    """Move every top-level entry of ``tmp`` into ``dest``. Only entries an earlier unpack
    created are replaced (set aside first, deleted once the new ones are in place); any other
    existing entry makes it refuse before anything moves."""
    dest.mkdir(parents=True, exist_ok=True)
    names = {e.name for e in tmp.iterdir()}
    owned = unpacked_entries(dest)
    _refuse_foreign(dest, names, owned)
    trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    try:
        for name in sorted(names):
            final = dest / name
            if final.exists() or final.is_symlink():
                os.replace(final, trash / name)
            os.replace(tmp / name, final)
        store.atomic_write_json(dest / UNPACK_MARKER, {"entries": sorted(owned | names)})
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def safe_extract(
    zip_path: Path,
    dest: Path,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_members: int = MAX_MEMBERS,
) -> list[Path]:
    """Unpack every member of ``zip_path`` under ``dest`` and return their final paths.

    Every member is checked before anything is written: one that would land outside
    ``dest`` (absolute path, ``..``, drive letter, symlink or special file), more than
    ``max_members`` members, or more than ``max_total_bytes`` uncompressed raise
    ``UnsafeArchiveError`` and nothing is extracted. Members are unpacked into a temporary
    folder beside ``dest`` and then moved into place, so a failure midway (bad CRC, full
    disk) leaves nothing half-extracted. A top-level entry that already exists in ``dest``
    is replaced only when an earlier unpack created it (``UNPACK_MARKER``); any other makes
    it refuse before anything is written. Raises ``DownloadError`` for a missing, damaged
    or conflicting archive.
    """
    zip_path, dest = Path(zip_path), Path(dest).expanduser().resolve()
    if not is_zip(zip_path):
        raise DownloadError(f"{zip_path} is not a zip archive")
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"{zip_path} is not a readable zip archive ({exc}); download it again") from exc
    with zf:
        plan, total = _check_members(zf, zip_path.name, max_total_bytes, max_members)
        _refuse_foreign(dest, {parts[0] for _, parts in plan if parts}, unpacked_entries(dest))
        dest.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest.parent).free
        if total > free:
            raise DownloadError(
                f"unpacking {zip_path.name} needs {total / 1e9:.1f} GB but only {free / 1e9:.1f} GB is free "
                f"at {dest.parent}; free some space and run again"
            )
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extract-", dir=dest.parent))
        try:
            rels = _extract_into(zf, plan, tmp.resolve(), zip_path.name, min(max_total_bytes, total))
            _move_into(tmp, dest)
        except (UnsafeArchiveError, DownloadError):
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
            raise DownloadError(f"{zip_path} is damaged ({exc}); delete it and download it again") from exc
        except OSError as exc:
            raise DownloadError(f"could not unpack {zip_path.name} into {dest} ({exc})") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [dest / r for r in dict.fromkeys(rels)]


# --------------------------------------------------------------------------- UPAIR


def _local_file(url: str) -> Path | None:
    """``url`` as a local file when it is an existing path or a ``file://`` URL, else None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https"):
        return None
    raw = urllib.request.url2pathname(parts.path) if parts.scheme == "file" else url
    path = Path(raw).expanduser()
    return path.resolve() if path.is_file() else None


def _refuse_foreign_folder(dest: Path, url: str) -> None:
    """Refuse a ``dest`` that is not a folder, or a non-empty folder that holds anything other
    than this tool's own files (a previous or interrupted unpack, the archive being fetched)."""
    if dest.exists() and not dest.is_dir():
        raise DownloadError(f"{dest} exists and is not a folder; pass a folder for the dataset (--dest)")
    if not dest.is_dir():
        return
    local = _local_file(url)
    allowed = set(_OWN_FILES) | unpacked_entries(dest) | ({local.name} if local and local.parent == dest else set())
    _refuse_foreign(dest, {p.name for p in dest.iterdir()}, allowed)


def download_upair(
    dest: Path | None = None,
    url: str = UPAIR_ZIP_URL,
    progress: bool = True,
    *,
    keep_zip: bool = False,
) -> Path:
    """Download and unpack UPAIR; return the folder containing its ``metadata.json``.

    ``dest`` defaults to ``<cache>/upair``. The archive (``upair.zip`` of Zenodo record
    ``10.5281/zenodo.15564780``) is fetched to ``dest/upair.zip`` (resumable: an interrupted
    run leaves ``upair.zip.part`` there and the next run continues it), checked, unpacked
    with ``safe_extract`` and, unless ``keep_zip``, deleted afterwards. ``url`` may also be
    the path (or ``file://`` URL) of a ``upair.zip`` downloaded by hand; that file is
    unpacked and left alone. Idempotent: when ``dest`` already holds an unpacked dataset it
    is returned at once, without network access. Raises ``DownloadError``
    (``UnsafeArchiveError`` for a hostile archive).
    """
    dest = Path(dest).expanduser().resolve() if dest is not None else config.cache_dir() / "upair"
    root = find_dataset_root(dest) if dest.is_dir() else None
    if root is not None:
        return root
    _refuse_foreign_folder(dest, url)
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with store.exclusive(f"download-upair:{dest}"):
            root = find_dataset_root(dest)
            if root is not None:
                return root
            local = _local_file(url)
            try:
                zip_path = local or download(url, dest / "upair.zip", progress=progress)
            except DownloadError as exc:
                raise DownloadError(f"{exc}; {BY_HAND}") from None
            if not is_zip(zip_path):
                with open(zip_path, "rb") as fh:
                    head = fh.read(64)
                if local is not None:
                    raise DownloadError(f"{local} is not a zip archive (first bytes: {head!r}); pass upair.zip")
                zip_path.unlink()
                raise DownloadError(
                    f"the server did not return a zip archive for {url} (first bytes: {head!r}); "
                    f"try again later; {BY_HAND}"
                )
            safe_extract(zip_path, dest)
            root = find_dataset_root(dest)
            if root is None:
                raise DownloadError(
                    f"{zip_path.name} from {url} unpacked into {dest} but holds no metadata.json "
                    "(looked up to two levels down); is it the UPAIR archive?"
                )
            if local is None and not keep_zip:
                with contextlib.suppress(OSError):
                    zip_path.unlink()
            return root
    except BaseException:
        if created:  # leave no empty folder behind (the corpus list treats it as a dataset)
            with contextlib.suppress(OSError):
                dest.rmdir()  # only succeeds when empty: a resumable .part is kept
        raise
