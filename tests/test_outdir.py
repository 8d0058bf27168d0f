"""Output folders (core.outdir): a command writes only into a new or empty folder or one its
manifest proves it wrote, replaces only its own files, and recovers from a SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli import main
from core.outdir import JOURNAL, MANIFEST, OutputFolderError, open_output

ROOT = Path(__file__).resolve().parents[1]


def _write(folder, files: dict[str, bytes], command: str = "sample") -> None:
    with open_output(folder, command) as out:
        for rel, data in files.items():
            out.write_bytes(rel, data)


def test_new_and_empty_folders_are_taken_and_get_a_manifest(tmp_path):
    _write(tmp_path / "new" / "deep", {"run.json": b"{}", "a/b.txt": b"x"})
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty", {"run.json": b"{}"})
    m = json.loads((tmp_path / "new" / "deep" / MANIFEST).read_text())
    assert m["state"] == "complete" and set(m["files"]) == {"run.json", "a/b.txt"}
    assert not (tmp_path / "new" / "deep" / JOURNAL).exists()


def test_a_stray_run_json_the_tool_did_not_write_is_refused_and_kept(tmp_path):
    (tmp_path / "run.json").write_text("user's")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match=r"--out .*did not write") as e:
        _write(tmp_path, {"run.json": b"{}"})
    assert "\n" not in str(e.value)
    assert (tmp_path / "run.json").read_text() == "user's" and (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / MANIFEST).exists()


def test_rewrite_replaces_only_its_own_files(tmp_path):
    _write(tmp_path, {"run.json": b"1", "old/x.json": b"old"})
    _write(tmp_path, {"run.json": b"2", "new/y.json": b"new"})
    assert (tmp_path / "run.json").read_bytes() == b"2"
    assert not (tmp_path / "old").exists()  # its own stale file removed, and the emptied folder
    assert (tmp_path / "new" / "y.json").read_bytes() == b"new"


def test_a_user_file_added_later_is_refused_and_survives(tmp_path):
    _write(tmp_path, {"run.json": b"1"})
    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / "my-notes.md").write_text("keep me")
    with pytest.raises(OutputFolderError, match="my-notes.md"):
        _write(tmp_path, {"run.json": b"2"})
    assert (tmp_path / "pool" / "my-notes.md").read_text() == "keep me"
    assert (tmp_path / "run.json").read_bytes() == b"1"


def test_a_changed_file_is_detected_by_its_hash(tmp_path):
    _write(tmp_path, {"qrels_visual.txt": b"q 0 d 1\n"}, "judge-export")
    (tmp_path / "qrels_visual.txt").write_text("q 0 d 0\nq 0 e 1\n")  # a judge edited it by hand
    with pytest.raises(OutputFolderError, match="changed after"):
        _write(tmp_path, {"qrels_visual.txt": b""}, "judge-export")
    assert (tmp_path / "qrels_visual.txt").read_text() == "q 0 d 0\nq 0 e 1\n"


@pytest.mark.parametrize("edit", ["add", "rehash", "garbage", "command"])
def test_manifest_tampering_is_detected(tmp_path, edit):
    _write(tmp_path, {"run.json": b"1"})
    m = json.loads((tmp_path / MANIFEST).read_text())
    if edit == "add":  # claim a user's file as the tool's
        (tmp_path / "user.txt").write_text("u")
        m["files"]["user.txt"] = "0" * 64
    elif edit == "rehash":
        (tmp_path / "run.json").write_text("changed")
        m["files"]["run.json"] = "f" * 64
    elif edit == "command":
        m["command"] = "evaluate"
    text = "{not json" if edit == "garbage" else json.dumps(m)
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(OutputFolderError, match="damaged or was edited"):
        _write(tmp_path, {"run.json": b"2"})


def test_another_commands_folder_is_refused(tmp_path):
    _write(tmp_path, {"run.json": b"1"}, "sample")
    with pytest.raises(OutputFolderError, match="written by `sample`, not `evaluate`"):
        _write(tmp_path, {"results.csv": b""}, "evaluate")


def test_a_file_or_a_link_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputFolderError, match="not a folder"):
        _write(tmp_path / "f", {"a": b""})
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "d")
    with pytest.raises(OutputFolderError, match="not a folder"):
        _write(tmp_path / "link", {"a": b""})


@pytest.mark.parametrize("rel", ["../escape", "/abs", "a/../../b", MANIFEST])
def test_names_outside_the_folder_are_refused(tmp_path, rel):
    with pytest.raises(ValueError):
        _write(tmp_path / "o", {rel: b"x"})
    assert not (tmp_path / "escape").exists() and not (tmp_path / "b").exists()


def test_an_error_midway_leaves_a_folder_the_next_run_replaces(tmp_path):
    with pytest.raises(RuntimeError):
        with open_output(tmp_path, "sample") as out:
            out.write_bytes("a.json", b"1")
            out.write_bytes("b.json", b"1")
            raise RuntimeError("boom")
    assert json.loads((tmp_path / MANIFEST).read_text())["state"] == "writing"
    _write(tmp_path, {"a.json": b"2"})
    assert (tmp_path / "a.json").read_bytes() == b"2" and not (tmp_path / "b.json").exists()


_WRITER = """
import sys, time
from core.outdir import open_output
with open_output(sys.argv[1], "sample") as out:
    for i in range(100000):
        out.write_bytes(f"candidates/{i % 7}/{i}.json", b"x" * 4096)
        if i == 20:
            print("started", flush=True)
"""


def test_sigkill_mid_write_then_rerun_succeeds(tmp_path):
    out = tmp_path / "pools"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == b"started"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    left = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert len(left) > 20 and json.loads((out / MANIFEST).read_text())["state"] == "writing"
    (out / "candidates" / "0" / ".0.json.abc123.tmp").write_bytes(b"half")  # as atomic_path leaves one
    _write(out, {"run.json": b"done", "candidates/0/0.json": b"y"})
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [MANIFEST, "candidates/0/0.json", "run.json"]


def test_sample_refuses_a_folder_with_a_stray_run_json(tmp_path, capsys):
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / "data.csv").write_text("precious")
    rc = main(["sample", "--corpus", "demo", "--out", str(tmp_path), "--limit", "1"])
    err = capsys.readouterr()
    assert rc == 2 and "did not write" in err.err and "Traceback" not in err.err
    assert (tmp_path / "data.csv").read_text() == "precious" and (tmp_path / "run.json").read_text() == "{}"


def test_judge_export_never_overwrites_a_qrels_file_it_did_not_write(tmp_path, cache, capsys):
    (tmp_path / "qrels_visual.txt").write_text("q 0 d 1\n")
    rc = main(["judge-export", "--corpus", "demo", "--set", "official", "--out", str(tmp_path)])
    assert rc == 2 and "qrels_visual.txt" in capsys.readouterr().err
    assert (tmp_path / "qrels_visual.txt").read_text() == "q 0 d 1\n"


@pytest.mark.slow
def test_a_sigkilled_sample_is_replaced_cleanly_by_the_next_run(tmp_path):
    """The real command: killed while writing its pools, then run again into the same folder."""
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "core", "sample", "--corpus", "demo", "--seed", "1"]
    warm = subprocess.run([*cmd, "--limit", "1", "--out", str(tmp_path / "warm")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # builds the demo and its indices once
    assert warm.returncode == 0, warm.stderr
    out = tmp_path / "pools"
    proc = subprocess.Popen([*cmd, "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    journal = out / JOURNAL
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_text().count("\n") >= 40:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "sample finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert not (out / "run.json").exists() and json.loads((out / MANIFEST).read_text())["state"] == "writing"
    again = subprocess.run([*cmd, "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    m = json.loads((out / MANIFEST).read_text())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    assert m["state"] == "complete" and sorted(m["files"]) == files and "run.json" in files
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))
