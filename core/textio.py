"""Decoding dataset text files (metadata, sidecars, qrels) with problems reported, not raised."""
from __future__ import annotations

from pathlib import Path


def decode_text(raw: bytes, path: Path, warnings: list[str]) -> str:
    """UTF-8 text of a dataset file (a BOM is accepted). Bytes that are not UTF-8 are
    replaced by U+FFFD and reported in ``warnings`` with the file and byte offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.append(f"{path}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                        "undecodable bytes replaced with U+FFFD")
        return raw.decode("utf-8-sig", errors="replace")
