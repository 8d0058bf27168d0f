"""Import the official UPAIR evaluation code from ../shared for equality tests (never copied)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from .conftest import SHARED

REFERENCE = (SHARED.parent / "reference" / "upair").resolve()
EVALUATION = REFERENCE / "evaluation"
_SIBLINGS = ("constants", "utils", "model")


def need_reference() -> Path:
    """The official ``evaluation/`` folder, or skip with the reason."""
    if not (EVALUATION / "run.py").is_file():
        pytest.skip(f"needs the official UPAIR code at {EVALUATION} (present in CI; absent on a fresh clone)")
    return EVALUATION


def load_reference(name: str, run_dir: Path | None = None, patch: dict | None = None):
    """Load ``evaluation/<name>.py`` as an isolated module (``ref_<name>``).

    The official modules import their siblings (``constants``, ``utils``, ``model``) by bare
    name; those are resolved from ``evaluation/`` while loading and then removed again from
    ``sys.modules`` so they never shadow anything else. ``run.py`` reads ``metadata.json``
    from the working directory at import time: pass ``run_dir`` to load it from there.
    ``patch`` sets attributes of sibling modules before ``name`` is executed.
    """
    import os

    folder = need_reference()
    saved = {k: sys.modules.pop(k) for k in _SIBLINGS if k in sys.modules}
    sys.path.insert(0, str(folder))
    cwd = os.getcwd()
    try:
        if run_dir is not None:
            os.chdir(run_dir)
        for sib, attrs in (patch or {}).items():
            mod = importlib.import_module(sib)
            for k, v in attrs.items():
                setattr(mod, k, v)
        spec = importlib.util.spec_from_file_location(f"ref_{name}", folder / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        os.chdir(cwd)
        sys.path.remove(str(folder))
        for k in _SIBLINGS:
            sys.modules.pop(k, None)
        sys.modules.update(saved)
