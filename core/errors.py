"""Error types shared by every floor of the library, and the one place an exception becomes
the line a user reads (standard library only)."""
from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file is unusable; the message names the file (and line or id)."""


class ConfigError(ValueError):
    """An environment variable holds an unusable value; the message names the variable."""


# -- one line for an error a user can cause: what, where, and the fix ---------------------

#: What to do about an OS error, by errno name (the path is named in front).
_WRITABLE = ("if it is in the cache, set UPAIR_CACHE to a writable folder; for an output, choose another --out "
             "folder")
_OS_FIXES = {
    "ENOSPC": ("no space left on the device holding {path}",
               "free space there, or point UPAIR_CACHE / --out at a disk with room, and run again "
               "(finished work is kept)"),
    "EDQUOT": ("disk quota exceeded at {path}", "free space in your quota, or use a folder elsewhere, and run again"),
    "EROFS": ("{path} is on a read-only file system", f"remount it read-write, or {_WRITABLE}"),
    "EACCES": ("permission denied: {path}", f"make it writable for this user (chmod/chown), or {_WRITABLE}"),
    "EPERM": ("operation not permitted: {path}", f"make it writable for this user (chmod/chown), or {_WRITABLE}"),
    "EMFILE": ("too many open files at {path}", "raise the limit (ulimit -n) or use fewer --workers"),
}


def os_error_line(exc: OSError) -> str:
    """One line for an OS error: what happened, the path, and the fix."""
    import errno
    import os

    name = errno.errorcode.get(exc.errno or 0, "")
    path = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        path = f"{path} → {exc.filename2}"
    if name in _OS_FIXES:
        what, fix = _OS_FIXES[name]
        where = os.fspath(path) if path else "the cache or output folder being written"
        return f"{what.format(path=where)}: {fix}"
    detail = exc.strerror or str(exc) or type(exc).__name__
    return f"{detail}: {path}" if path else detail


def torch_load_reason(exc: BaseException) -> str:
    """Why torch could not load a file, in one line, without torch's advice to unpickle
    (turning weights_only off) — that advice would run whatever the file holds."""
    import pickle
    import re

    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
        return "it holds Python objects other than tensors, which are never unpickled here"
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """The message the command line prints for ``exc`` (OS errors get the path and the fix)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_error_line(exc)
    text = str(exc).strip() or type(exc).__name__
    if "No space left on device" in text:  # raised by a library as a RuntimeError (faiss, torch)
        return f"no space left on the device: {text.splitlines()[0][:200]}; free space (or point UPAIR_CACHE / " \
               "--out at a disk with room) and run again"
    return text
