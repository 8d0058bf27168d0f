"""One ``python -m bench.run --quick --only NAME`` per section and test run, shared by the tests
that read it (the bench smoke test and a section's own tests) and by the pytest-xdist workers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, session_dir, session_lock


def quick_bench(tmp_path_factory, name: str) -> tuple[dict, Path]:
    """(``{"returncode", "stdout", "stderr"}`` of the run, its ``--out`` folder) for section ``name``."""
    d = session_dir(tmp_path_factory) / f"upair-quick-bench-{name}"
    with session_lock(d.with_suffix(".lock")):
        done = d / "proc.json"
        if not done.is_file():
            out = d / "report"
            env = {**os.environ}
            env.pop("UPAIR_CACHE", None)  # the bench uses its own scratch caches
            proc = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--only", name, "--out", str(out)],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            tmp = d / "proc.tmp"
            tmp.write_text(json.dumps({"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}))
            os.replace(tmp, done)
        return json.loads(done.read_text()), d / "report"
