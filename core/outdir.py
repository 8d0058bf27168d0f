"""Output folders a command may write: new, empty, or provably its own.

Every command that writes a folder (``sample --out``, ``judge-export --out``, ``evaluate
--out``, the Sample and Judge pages' exports) claims it through :func:`open_output`:

- a folder that does not exist, or is empty, is taken;
- a folder holding a manifest (``.upair-output.json``) written by the *same* command is
  taken when every file in it is listed there with the content hash the tool recorded
  (files left by a killed run of that command, listed in the intent journal
  ``.upair-output.journal``, count as its own; its ``.NAME.*.tmp`` leftovers are deleted);
- anything else is refused with one line naming the first file the tool cannot prove it
  wrote (a stray ``run.json``, a user's notes, a changed qrels file, an edited manifest).

Writing then registers each file before it is written (:meth:`OutputFolder.file`) and
:meth:`OutputFolder.commit` hashes what was written, deletes only the tool's own files of an
earlier run that this run did not write again, and records the new manifest. A run killed at
any point leaves the folder claimable by the next run of the same command, which replaces
its own partial output cleanly.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterator

from .store import atomic_write_bytes, hash_file

__all__ = ["MANIFEST", "JOURNAL", "OutputFolder", "OutputFolderError", "check_output", "open_output"]

MANIFEST = ".upair-output.json"
JOURNAL = ".upair-output.journal"
_TOOL = "upair-explorer"
_TMP = re.compile(r"^\.(?P<name>.+)\.[^.]+\.tmp$")  # store.atomic_path's temporary names


class OutputFolderError(ValueError):
    """A folder the command may not write into; the message names the folder and the file."""


def _checksum(command: str, state: str, files: dict) -> str:
    body = json.dumps({"command": command, "state": state, "files": files}, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _walk(root: Path) -> Iterator[str]:
    """Every non-directory entry under ``root`` (relative, POSIX), links included, not followed."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames:
            if (base / name).is_symlink():
                filenames.append(name)
        for name in filenames:
            rel = (base / name).relative_to(root).as_posix()
            if rel not in (MANIFEST, JOURNAL):
                yield rel


def _read_journal(root: Path) -> list[str]:
    try:
        text = (root / JOURNAL).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line and not line.startswith("/") and ".." not in line.split("/")]


class OutputFolder:
    """A claimed output folder; see the module docstring. Make one with :func:`open_output`."""

    def __init__(self, root: Path, command: str, what: str):
        self.root, self.command, self.what = root, command, what
        self._owned: dict[str, str] = {}   # files of earlier runs (rel → sha256 at claim time)
        self._written: list[str] = []
        self._journal = None

    # -- claiming ------------------------------------------------------------------------
    def _refuse(self, why: str) -> OutputFolderError:
        return OutputFolderError(f"{self.what} {self.root}: {why}; choose an empty or new folder "
                                 f"(`{self.command}` writes only into folders it made)")

    def _manifest(self) -> dict | None:
        path = self.root / MANIFEST
        if not path.exists():
            return None
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
            ok = (isinstance(m, dict) and m.get("tool") == _TOOL and isinstance(m.get("files"), dict)
                  and m.get("state") in ("writing", "complete")
                  and m.get("checksum") == _checksum(m.get("command"), m["state"], m["files"]))
        except (OSError, UnicodeDecodeError, ValueError):
            ok = False
        if not ok:
            raise self._refuse(f"its manifest {MANIFEST} is damaged or was edited")
        if m.get("command") != self.command:
            raise self._refuse(f"it was written by `{m.get('command')}`, not `{self.command}`")
        return m

    def _claim(self, dry: bool = False) -> None:
        root = self.root
        if root.is_symlink() or (root.exists() and not root.is_dir()):
            raise self._refuse("exists and is not a folder")
        if not root.exists():
            if dry:
                return
            root.mkdir(parents=True)
        manifest = self._manifest()
        listed: dict = manifest["files"] if manifest else {}
        journal = set(_read_journal(root)) if manifest else set()
        present = sorted(_walk(root))
        if present and manifest is None:
            raise self._refuse(f"it is not empty and holds {present[0]!r}, which this tool did not write "
                               f"(no {MANIFEST})")
        owned: dict[str, str] = {}
        for rel in present:
            path = root / rel
            m = _TMP.match(path.name)
            if m and (path.parent / m["name"]).relative_to(root).as_posix() in (listed.keys() | journal):
                if not dry:
                    path.unlink()  # a temporary file of a killed run: ours, never renamed into place
                continue
            if path.is_symlink() or not path.is_file():
                raise self._refuse(f"{rel!r} is not a file this tool wrote")
            if rel in journal:  # written by a run that was killed: ours, whatever it holds
                owned[rel] = hash_file(path)
            elif rel in listed:
                digest = hash_file(path)
                if digest != listed[rel]:
                    raise self._refuse(f"{rel!r} was changed after `{self.command}` wrote it "
                                       "(its content hash differs from the manifest's)")
                owned[rel] = digest
            else:
                raise self._refuse(f"it holds {rel!r}, which `{self.command}` did not write")
        self._owned = owned
        if dry:
            return
        self._write_manifest("writing", owned)
        self._journal = open(root / JOURNAL, "w", encoding="utf-8")

    def _write_manifest(self, state: str, files: dict) -> None:
        body = {"tool": _TOOL, "command": self.command, "state": state, "files": files,
                "checksum": _checksum(self.command, state, files)}
        atomic_write_bytes(self.root / MANIFEST, (json.dumps(body, indent=1, sort_keys=True) + "\n").encode())

    # -- writing -------------------------------------------------------------------------
    def file(self, rel: str) -> Path:
        """The path of ``rel`` inside the folder, recorded as this run's before it is written."""
        rel = Path(rel).as_posix()
        if rel.startswith("/") or ".." in rel.split("/") or rel in (MANIFEST, JOURNAL, "", "."):
            raise ValueError(f"{rel!r} is not a file name inside {self.root}")
        if self._journal is None:
            raise RuntimeError(f"{self.root} is not open for writing")
        if rel not in self._written:
            self._written.append(rel)
            self._journal.write(rel + "\n")
            self._journal.flush()
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self.file(rel)
        atomic_write_bytes(path, data)
        return path

    def write_text(self, rel: str, text: str) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"))

    def commit(self) -> None:
        """Record what this run wrote; delete the tool's own files of earlier runs not written again."""
        written = set(self._written)
        for rel in sorted(set(self._owned) - written):
            with contextlib.suppress(FileNotFoundError):
                (self.root / rel).unlink()
            self._prune((self.root / rel).parent)
        files = {rel: hash_file(self.root / rel) for rel in sorted(written) if (self.root / rel).is_file()}
        self._write_manifest("complete", files)
        self.close()
        with contextlib.suppress(FileNotFoundError):
            (self.root / JOURNAL).unlink()

    def _prune(self, folder: Path) -> None:
        while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def check_output(folder: Path | str, command: str, what: str = "--out") -> None:
    """Raise :class:`OutputFolderError` now if ``command`` could not claim ``folder``; changes
    nothing (a command checks its ``--out`` before spending minutes computing)."""
    OutputFolder(Path(folder).expanduser(), command, what)._claim(dry=True)


@contextlib.contextmanager
def open_output(folder: Path | str, command: str, what: str = "--out") -> Iterator[OutputFolder]:
    """Claim ``folder`` for ``command`` (see the module docstring), yield it, commit on success.

    Raises :class:`OutputFolderError` (a ValueError) naming ``what`` (the flag), the folder and
    the file that makes it not the command's own. On an error inside the block nothing is
    committed: the folder stays claimable by the next run of the same command.
    """
    out = OutputFolder(Path(folder).expanduser(), command, what)
    out._claim()
    try:
        yield out
        out.commit()
    finally:
        out.close()
