"""Checksums of the generated demo corpus, so a damaged cached copy is noticed and redrawn."""
from __future__ import annotations

from pathlib import Path

from ...store import atomic_write_json, cached_file_hash, load_json

#: Written last into a generated demo folder: ``{relative path: sha1}`` of every file before it.
CHECKSUMS = "checksums.json"


def write_checksums(root: Path) -> None:
    """Record the SHA-1 of every file under ``root`` (the checksum file itself excluded)."""
    sums = {p.relative_to(root).as_posix(): cached_file_hash(p, "sha1")
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != CHECKSUMS}
    atomic_write_json(root / CHECKSUMS, sums)


def damaged_files(root: Path) -> list[str]:
    """Files of a generated demo folder that are missing or differ from its checksums
    (``[CHECKSUMS]`` itself when that file is missing or unreadable)."""
    sums = load_json(Path(root) / CHECKSUMS)
    if not isinstance(sums, dict) or not sums:
        return [CHECKSUMS]
    bad = []
    for rel, want in sums.items():
        p = Path(root) / rel
        if not p.is_file() or cached_file_hash(p, "sha1") != want:
            bad.append(rel)
    return bad
