"""OS errors a user can cause (disk full, read-only file system, permissions, truncated and
untrusted checkpoints) end in one line naming the path and the fix, never a traceback or a
library's internal message. Tests run as root, so the faults are injected (monkeypatch)."""
from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pytest
from PIL import Image

from core.errors import one_line, torch_load_reason


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, ["no space left", "free space", "UPAIR_CACHE"]),
    (errno.EDQUOT, ["quota"]),
    (errno.EROFS, ["read-only file system", "UPAIR_CACHE", "--out"]),
    (errno.EACCES, ["permission denied", "chmod", "set UPAIR_CACHE to a writable folder"]),
    (errno.EPERM, ["not permitted", "chmod"]),
])
def test_each_os_error_names_the_path_and_the_fix(code, words):
    line = one_line(OSError(code, os.strerror(code), "/data/cache/vectors/x.npy"))
    assert "\n" not in line and "/data/cache/vectors/x.npy" in line, line
    assert all(w in line for w in words), line


def test_a_library_runtime_error_for_a_full_disk_says_so():
    line = one_line(RuntimeError("Error in faiss::FileIOWriter: No space left on device\nmore"))
    assert line.startswith("no space left on the device") and "\n" not in line


def _folder(tmp_path: Path) -> str:
    d = tmp_path / "figs"
    d.mkdir()
    for i, colour in enumerate(("red", "green", "blue")):
        img = Image.new("RGB", (48, 48), "white")
        img.paste(colour, (8 * i, 8, 8 * i + 20, 40))
        img.save(d / f"f{i}.png")
    return f"folder:{d}"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_build_whose_cache_write_fails_ends_in_one_line(tmp_path, cache, monkeypatch, capsys, code):
    from core.cli import main

    spec = _folder(tmp_path)
    real_replace = os.replace

    def failing_replace(src, dst, *a, **kw):  # every atomic write in the cache ends in os.replace
        if str(dst).startswith(str(cache)):
            raise OSError(code, os.strerror(code), str(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(["build", "--corpus", spec, "--encoders", "hog"]) == 2
    out = capsys.readouterr().err
    err = [ln for ln in out.splitlines() if ln.startswith("error")]  # (the rest is the progress bar)
    assert len(err) == 1 and str(cache) in err[0] and "Traceback" not in out, out
    assert ("free space" if code == errno.ENOSPC else "UPAIR_CACHE") in err[0]


def test_the_cli_turns_any_os_error_into_its_line(monkeypatch, capsys):
    from core.cli import main

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/out/results.csv")

    monkeypatch.setattr("core.cli.basic.cmd_info", full)
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/out/results.csv" in err and "free space" in err


# --------------------------------------------------------------------------- checkpoints


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/upair-pwned-by-checkpoint",))


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    import torch

    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": _Evil()}, evil)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Evil()))
    return {"text": text, "evil": evil, "raw-pickle": raw}


def test_adapt_pretrained_refuses_non_checkpoints_and_malicious_pickles_in_one_line(tmp_path, cache, tiny_clip_arch):
    from core.adapt.spec import AdaptError
    from core.adapt.train import resolve_init

    Path("/tmp/upair-pwned-by-checkpoint").unlink(missing_ok=True)
    for what, path in _bad_files(tmp_path).items():
        with pytest.raises(AdaptError) as err:
            resolve_init(tiny_clip_arch, str(path))
        msg = str(err.value)
        assert "\n" not in msg and str(path) in msg and "--pretrained checkpoint" in msg, (what, msg)
        assert "weights_only" not in msg and "trust" not in msg, (what, msg)
    assert not Path("/tmp/upair-pwned-by-checkpoint").exists()


def test_adapt_pretrained_via_the_cli_is_one_line(tmp_path, cache, tiny_clip_arch, capsys, query_patents):
    from core.cli import main

    path = _bad_files(tmp_path)["evil"]
    code = main(["adapt", "--corpus", f"query-patents:{query_patents}", "--out", "m", "--arch", tiny_clip_arch,
                 "--pretrained", str(path), "--batch-size", "32", "--dry-run"])
    out = capsys.readouterr().err
    err = [ln for ln in out.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and "never unpickled" in err[0] and "weights_only" not in err[0], out


def test_a_truncated_run_state_on_resume_is_one_line_not_torch_internals(tmp_path, tiny_clip_checkpoint):
    from core.adapt.spec import AdaptError
    from core.adapt.train import _restore

    run = tmp_path / "run-m"
    run.mkdir()
    data = tiny_clip_checkpoint.read_bytes()
    (run / "latest.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(AdaptError) as err:
        _restore(run, model=None, optimizer=None, scaler=None)
    msg = str(err.value)
    assert str(run / "latest.pt") in msg and "--overwrite" in msg and "\n" not in msg
    assert "PytorchStreamReader" not in msg or "damaged or truncated" in msg


def test_torch_advice_to_unpickle_is_never_passed_on():
    exc = pickle.UnpicklingError("Weights only load failed. ... set `weights_only=False` if you trust the source")
    assert "weights_only" not in torch_load_reason(exc)
    assert "weights_only" not in torch_load_reason(RuntimeError("... weights_only=False ..."))


def test_damaged_downloaded_weights_do_not_pass_on_torch_advice(tmp_path, cache, monkeypatch):
    import torch

    from core.encoders.clip import ClipEncoder

    evil = tmp_path / "open_clip_model.safetensors.bin"
    torch.save({"x": _Evil()}, evil)
    enc = ClipEncoder("ViT-B-32", "openai")
    monkeypatch.setattr(ClipEncoder, "local_weights", lambda self: evil)
    with pytest.raises(RuntimeError) as err:
        enc.load()
    msg = str(err.value)
    assert "damaged weights" in msg and "weights_only" not in msg and "trust" not in msg, msg
