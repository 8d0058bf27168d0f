"""Error types shared by every floor of the library (no imports of its own)."""
from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file is unusable; the message names the file (and line or id)."""


class ConfigError(ValueError):
    """An environment variable holds an unusable value; the message names the variable."""
