"""``core.download``: resumable HTTP download, safe unzip and the UPAIR fetcher.

Everything runs against a throw-away HTTP server on 127.0.0.1 (never the network).
"""
from __future__ import annotations

import io
import json
import os
import re
import socket
import stat
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from core import download as dl
from core.download import DownloadError, UnsafeArchiveError


@pytest.fixture(autouse=True)
def _isolated_cache(cache):
    """Every test gets its own cache (``download`` keeps its lock files there)."""
    return cache


# --------------------------------------------------------------------------- test server


class RangeHandler(BaseHTTPRequestHandler):
    """Serves ``server.root`` with ``Range`` support and a few switchable misbehaviours."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        srv = self.server
        path = urlsplit(self.path).path
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append({"path": path, "range": rng})
        if path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/" + path[len("/redirect/"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        file = srv.root / path.lstrip("/")
        if not file.is_file():
            self.send_error(404, "Not Found")
            return
        data = file.read_bytes()
        size = len(data)
        status, body, headers = 200, data, {}
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m and not srv.ignore_range:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, body = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "none" if srv.ignore_range else "bytes")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        with srv.lock:
            cut = srv.drop_after.pop(0) if srv.drop_after else None
        if cut is not None:  # announce everything, send a little, hang up
            body = body[:cut]
        with srv.lock:  # counted before the write: the client may finish reading before this thread runs on
            srv.bytes_served += len(body)
        self.wfile.write(body)
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.daemon_threads = True
    httpd.root = root
    httpd.lock = threading.Lock()
    httpd.requests = []
    httpd.bytes_served = 0
    httpd.ignore_range = False
    httpd.drop_after = []  # byte counts at which the next responses are cut off
    httpd.url = lambda name: f"http://127.0.0.1:{httpd.server_address[1]}/{name}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buf, "PNG")
    return buf.getvalue()


def upair_zip(prefix: str = "", pad: int = 200_000) -> bytes:
    """A small UPAIR-like archive: metadata.json, test/images/{x,y}.png, test/qrels_visual.txt.

    ``pad`` bytes of incompressible filler make the transfer span many read chunks.
    """
    meta = {
        "x": {
            "query": {"hashcode": "x", "patent": "EP1", "title": "Widget", "component_labels": ["arm", "base"]},
            "candidates": [{"hashcode": "y", "patent": "US2", "title": "Gadget"}],
        }
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{prefix}metadata.json", json.dumps(meta))
        zf.writestr(f"{prefix}test/", b"")
        zf.writestr(f"{prefix}test/images/x.png", _png((255, 0, 0)))
        zf.writestr(f"{prefix}test/images/y.png", _png((0, 0, 255)))
        zf.writestr(f"{prefix}test/qrels_visual.txt", "x 0 y 1\n")
        zf.writestr(f"{prefix}README.bin", np.random.default_rng(0).bytes(pad))
    return buf.getvalue()


def evil_zip(name: str, *, symlink: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok/first.txt", "harmless")  # a good member before the bad one
        info = zipfile.ZipInfo(name)
        if symlink:
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd" if symlink else "pwned")
        zf.writestr("ok/last.txt", "harmless")
    return buf.getvalue()


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --------------------------------------------------------------------------- download()


def test_full_download_and_extract(server, tmp_path):
    data = upair_zip()
    (server.root / "upair.zip").write_bytes(data)
    dest = tmp_path / "data" / "upair"
    root = dl.download_upair(dest, url=server.url("upair.zip"), progress=False)
    assert root == dest.resolve()
    assert (root / "metadata.json").is_file()
    assert (root / "test" / "images" / "x.png").read_bytes() == _png((255, 0, 0))
    assert (root / "test" / "qrels_visual.txt").read_text() == "x 0 y 1\n"
    assert not (dest / "upair.zip").exists() and not (dest / "upair.zip.part").exists()
    # nothing left beside dest (the temporary extraction folder is gone)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["upair"]
    assert server.bytes_served == len(data)
    assert [r["range"] for r in server.requests] == [None]

    # idempotent: a second call finds the data and never touches the network
    assert dl.download_upair(dest, url=server.url("upair.zip"), progress=False) == root
    assert len(server.requests) == 1

    # and the result is loadable by the UPAIR loader
    from core.corpora.upair import load_upair

    corpus = load_upair(root)
    assert sorted(corpus.by_id) == ["x", "y"]
    assert corpus.benchmark.judgement("visual", "x", "y") == 1


@pytest.mark.parametrize("prefix", ["upair/", "upair/test/"])
def test_nested_archive_root_is_found(server, tmp_path, prefix):
    (server.root / "upair.zip").write_bytes(upair_zip(prefix, pad=10))
    dest = tmp_path / "upair"
    root = dl.download_upair(dest, url=server.url("upair.zip"), progress=False, keep_zip=True)
    assert root == (dest / prefix).resolve()
    assert (root / "metadata.json").is_file()
    assert (dest / "upair.zip").is_file()  # kept on request


def test_download_upair_defaults_to_the_cache(server, cache, monkeypatch):
    (server.root / "upair.zip").write_bytes(upair_zip(pad=10))
    root = dl.download_upair(url=server.url("upair.zip"), progress=False)
    assert root == cache.resolve() / "upair"
    assert (root / "metadata.json").is_file()


def test_constants_point_at_the_zenodo_record():
    assert dl.UPAIR_DOI == "10.5281/zenodo.15564780"
    assert dl.UPAIR_RECORD_URL == "https://zenodo.org/records/15564780"
    assert dl.UPAIR_ZIP_URL.startswith(dl.UPAIR_RECORD_URL + "/files/upair.zip")


def test_resume_sends_range_and_fetches_only_the_rest(server, tmp_path):
    data = upair_zip()
    (server.root / "upair.zip").write_bytes(data)
    dest = tmp_path / "upair.zip"
    half = len(data) // 2
    (tmp_path / "upair.zip.part").write_bytes(data[:half])
    out = dl.download(server.url("upair.zip"), dest, progress=False, chunk=16 * 1024)
    assert out == dest
    assert dest.read_bytes() == data
    assert not (tmp_path / "upair.zip.part").exists()
    assert [r["range"] for r in server.requests] == [f"bytes={half}-"]
    assert server.bytes_served == len(data) - half


def test_resume_survives_a_redirect(server, tmp_path):
    data = upair_zip(pad=50_000)
    (server.root / "upair.zip").write_bytes(data)
    dest = tmp_path / "upair.zip"
    (tmp_path / "upair.zip.part").write_bytes(data[:1000])
    dl.download(server.url("redirect/upair.zip"), dest, progress=False)
    assert dest.read_bytes() == data
    assert [r["range"] for r in server.requests] == ["bytes=1000-", "bytes=1000-"]
    assert server.bytes_served == len(data) - 1000


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = upair_zip()
    (server.root / "upair.zip").write_bytes(data)
    server.ignore_range = True
    dest = tmp_path / "upair.zip"
    (tmp_path / "upair.zip.part").write_bytes(b"\xff" * (len(data) // 3))  # would corrupt if appended
    dl.download(server.url("upair.zip"), dest, progress=False, chunk=16 * 1024)
    assert dest.read_bytes() == data
    assert server.requests[0]["range"] == f"bytes={len(data) // 3}-"
    assert server.bytes_served == len(data)


def test_complete_part_gets_416_and_is_kept(server, tmp_path):
    data = upair_zip(pad=1000)
    (server.root / "upair.zip").write_bytes(data)
    dest = tmp_path / "upair.zip"
    (tmp_path / "upair.zip.part").write_bytes(data)
    dl.download(server.url("upair.zip"), dest, progress=False)
    assert dest.read_bytes() == data
    assert server.bytes_served == 0


def test_oversized_part_is_discarded(server, tmp_path):
    data = upair_zip(pad=1000)
    (server.root / "upair.zip").write_bytes(data)
    dest = tmp_path / "upair.zip"
    (tmp_path / "upair.zip.part").write_bytes(data + b"junk" * 100)
    dl.download(server.url("upair.zip"), dest, progress=False)
    assert dest.read_bytes() == data
    assert [r["range"] for r in server.requests] == [f"bytes={len(data) + 400}-", None]


def test_dropped_connection_is_resumed_automatically(server, tmp_path):
    data = upair_zip()
    (server.root / "upair.zip").write_bytes(data)
    server.drop_after = [70_000]
    dest = tmp_path / "upair.zip"
    dl.download(server.url("upair.zip"), dest, progress=False, chunk=8 * 1024)
    assert dest.read_bytes() == data
    assert [r["range"] for r in server.requests] == [None, "bytes=70000-"]
    assert server.bytes_served == len(data)


def test_repeated_drops_give_up_but_keep_the_part(server, tmp_path):
    data = upair_zip(pad=5000)
    (server.root / "upair.zip").write_bytes(data)
    server.drop_after = [0] * 10
    dest = tmp_path / "upair.zip"
    with pytest.raises(DownloadError, match="run again to resume"):
        dl.download(server.url("upair.zip"), dest, progress=False, retries=1)
    assert not dest.exists()
    server.drop_after = []
    dl.download(server.url("upair.zip"), dest, progress=False)
    assert dest.read_bytes() == data


def test_progress_bar_does_not_break_the_download(server, tmp_path, capsys):
    data = upair_zip(pad=30_000)
    (server.root / "f.zip").write_bytes(data)
    dl.download(server.url("f.zip"), tmp_path / "f.zip", progress=True, chunk=4096)
    assert (tmp_path / "f.zip").read_bytes() == data


def test_existing_destination_is_not_fetched_again(server, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"already here")
    assert dl.download(server.url("f.bin"), dest, progress=False) == dest
    assert server.requests == []


# --------------------------------------------------------------------------- failures


def test_non_zip_payload_is_refused_and_removed(server, tmp_path):
    (server.root / "upair.zip").write_bytes(b"<!doctype html><title>Rate limited</title>" + b" " * 100)
    dest = tmp_path / "upair"
    with pytest.raises(DownloadError, match="did not return a zip") as info:
        dl.download_upair(dest, url=server.url("upair.zip"), progress=False)
    assert "<!doctype html>" in str(info.value)
    assert not dest.exists()  # no leftover file, and no empty folder posing as a dataset


def test_http_404_is_reported_with_its_status(server, tmp_path):
    dest = tmp_path / "upair"
    with pytest.raises(DownloadError, match="404") as info:
        dl.download_upair(dest, url=server.url("missing.zip"), progress=False)
    assert server.url("missing.zip") in str(info.value)
    assert not dest.exists()


def test_connection_refused_is_explained(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/upair.zip"
    with pytest.raises(DownloadError) as info:
        dl.download(url, tmp_path / "upair.zip", progress=False, timeout=5)
    msg = str(info.value)
    assert f"could not reach 127.0.0.1:{port}" in msg
    assert "check your internet connection" in msg and url in msg
    assert not (tmp_path / "upair.zip").exists()


def test_offline_download_upair_advises_only_a_flag_it_has(tmp_path, capsys):
    """Offline, the advice names `download-upair --zip FILE`, and that flag unpacks a zip."""
    from core.cli import main, parser

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError) as info:
        dl.download_upair(tmp_path / "upair", url=f"http://127.0.0.1:{port}/upair.zip", progress=False)
    msg = str(info.value)
    assert "download-upair --zip FILE" in msg and dl.UPAIR_RECORD_URL in msg
    flags = [a.option_strings for a in parser()._subparsers._group_actions[0].choices["download-upair"]._actions]
    assert ["--zip"] in flags
    assert main(["download-upair", "--zip", str(tmp_path / "nope.zip"), "--dest", str(tmp_path / "d")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_unsupported_scheme_is_refused(tmp_path):
    with pytest.raises(DownloadError, match="http"):
        dl.download("file:///etc/passwd", tmp_path / "x", progress=False)


# --------------------------------------------------------------------------- safe_extract


def _outside_sentinels(tmp_path: Path) -> list[Path]:
    return [tmp_path / "evil.txt", tmp_path / "outside" / "evil"]


@pytest.mark.parametrize(
    "member",
    ["../evil.txt", "ok/../../evil.txt", "ABSOLUTE", "..\\evil.txt", "C:/evil.txt", "C:\\evil.txt"],
)
def test_escaping_members_are_refused_and_nothing_is_written(tmp_path, member):
    if member == "ABSOLUTE":
        member = str(tmp_path / "outside" / "evil")
    z = tmp_path / "evil.zip"
    z.write_bytes(evil_zip(member))
    dest = tmp_path / "work" / "dest"
    with pytest.raises(UnsafeArchiveError) as info:
        dl.safe_extract(z, dest)
    assert member.replace("\\", "\\\\") in str(info.value) or member in str(info.value)
    assert tree(dest) == []
    assert not (tmp_path / "work").exists() or tree(tmp_path / "work") == []
    for p in _outside_sentinels(tmp_path):
        assert not p.exists()


def test_symlink_member_is_refused(tmp_path):
    z = tmp_path / "link.zip"
    z.write_bytes(evil_zip("ok/passwd", symlink=True))
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        dl.safe_extract(z, dest)
    assert tree(dest) == []


def test_zip_bomb_limits(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * 5_000_000)  # 5 MB that compresses to ~5 kB
        for i in range(20):
            zf.writestr(f"many/{i}.txt", "x")
    work = tmp_path / "w"
    work.mkdir()
    z = work / "bomb.zip"
    z.write_bytes(buf.getvalue())
    assert z.stat().st_size < 100_000
    dest = work / "dest"
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        dl.safe_extract(z, dest, max_total_bytes=1_000_000)
    with pytest.raises(UnsafeArchiveError, match="members"):
        dl.safe_extract(z, dest, max_members=10)
    assert tree(dest) == []
    assert sorted(p.name for p in work.iterdir()) == ["bomb.zip"]
    paths = dl.safe_extract(z, dest)
    assert (dest / "zeros.bin").stat().st_size == 5_000_000
    assert len(paths) == 21 and all(p.is_file() for p in paths)


def test_damaged_member_leaves_nothing_half_extracted(tmp_path):
    data = bytearray(upair_zip(pad=50_000))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("README.bin")
    data[info.header_offset + 30 + len(info.filename) + 100] ^= 0xFF  # flip a byte of its data: CRC fails
    work = tmp_path / "w"
    work.mkdir()
    z = work / "bad.zip"
    z.write_bytes(bytes(data))
    dest = work / "dest"
    with pytest.raises(DownloadError, match="damaged"):
        dl.safe_extract(z, dest)
    assert tree(dest) == []
    assert sorted(p.name for p in work.iterdir()) == ["bad.zip"]


def test_extract_replaces_only_what_an_earlier_unpack_created(tmp_path):
    z = tmp_path / "a.zip"
    z.write_bytes(upair_zip(pad=10))
    dest = tmp_path / "dest"
    dl.safe_extract(z, dest)
    (dest / "test" / "stale.txt").write_text("left by the old unpack")
    (dest / "keep.txt").write_text("mine")
    paths = dl.safe_extract(z, dest)  # a second unpack replaces its own entries
    assert dest / "metadata.json" in paths and dest / "test" / "images" / "x.png" in paths
    assert not (dest / "test" / "stale.txt").exists()
    assert (dest / "keep.txt").read_text() == "mine"


def test_is_zip(tmp_path):
    good, bad = tmp_path / "a.zip", tmp_path / "b.zip"
    good.write_bytes(upair_zip(pad=10))
    bad.write_bytes(b"PK\x03\x04 not really")
    assert dl.is_zip(good) and not dl.is_zip(bad) and not dl.is_zip(tmp_path / "missing.zip")
    with pytest.raises(DownloadError, match="not a zip"):
        dl.safe_extract(bad, tmp_path / "dest")


def test_a_zip_downloaded_by_hand_can_be_passed_as_its_path(tmp_path):
    z = tmp_path / "hand" / "upair.zip"
    z.parent.mkdir()
    z.write_bytes(upair_zip("upair/", pad=10))
    dest = tmp_path / "upair"
    for url in (str(z), z.as_uri()):
        root = dl.download_upair(dest, url=url, progress=False)
        assert root == dest.resolve() / "upair" and (root / "metadata.json").is_file()
    assert z.is_file()  # the user's file is left alone
    bad = tmp_path / "hand" / "page.html"
    bad.write_text("<html>")
    with pytest.raises(DownloadError, match="not a zip"):
        dl.download_upair(tmp_path / "other", url=str(bad), progress=False)
    assert bad.is_file() and not (tmp_path / "other").exists()


def test_interrupted_download_keeps_its_part_in_dest(server, tmp_path):
    data = upair_zip(pad=5000)
    (server.root / "upair.zip").write_bytes(data)
    server.drop_after = [1000] + [0] * 10
    dest = tmp_path / "upair"
    with pytest.raises(DownloadError, match="resume"):
        dl.download(server.url("upair.zip"), dest / "upair.zip", progress=False, retries=0)
    assert (dest / "upair.zip.part").stat().st_size == 1000
    server.drop_after = []
    root = dl.download_upair(dest, url=server.url("upair.zip"), progress=False)
    assert (root / "metadata.json").is_file()
    assert server.requests[-1]["range"] == "bytes=1000-"
    assert tree(dest) == [".upair-unpack.json", "README.bin", "metadata.json", "test", "test/images", "test/images/x.png",
                          "test/images/y.png", "test/qrels_visual.txt"]


def test_archive_without_metadata_is_reported(server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("something/else.txt", "hi")
    (server.root / "upair.zip").write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="no metadata.json"):
        dl.download_upair(tmp_path / "upair", url=server.url("upair.zip"), progress=False)


def test_part_file_name():
    assert dl._part_path(Path("/x/upair.zip")) == Path("/x/upair.zip.part")
    assert dl._part_path(Path("/x/data")) == Path("/x/data.part")
    assert os.sep not in dl._part_path(Path("a.b.c")).name
