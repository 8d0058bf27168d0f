"""Uploads through the real search page (Streamlit ``AppTest``): hostile files get a clear
message, odd-but-valid files are searched correctly, and the session keeps working.

``AppTest`` drives ``st.file_uploader`` itself (``at.file_uploader(key=...).set_value(
(name, bytes, mime))``): the bytes reach the page through Streamlit's own upload manager,
so the page's real path (``store_upload`` → ``push_query`` → search) is what is tested.
AppTest does not enforce ``server.maxUploadSize`` (the HTTP upload handler does); the size
limit is therefore checked here on ``store_upload``'s own refusal, and
``test_reliability.py`` checks that the server limit equals ``MAX_UPLOAD_MB``.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import config
from core.corpora import load_corpus
from core.search import search

pytestmark = pytest.mark.shared

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
SHARED = Path(os.environ.get("UPAIR_SHARED", ROOT.parent / "shared" / "data"))
ENCODERS = ["hog", "ahdh"]
K = 6


# --------------------------------------------------------------------------- fixtures / helpers


@pytest.fixture(scope="module")
def qp() -> Path:
    path = SHARED / "query-patents"
    if not path.exists():
        pytest.skip(f"needs the shared UPAIR data at {path} (present in CI; absent on a fresh clone)")
    return path


@pytest.fixture(scope="module")
def app_cache(tmp_path_factory):
    """One cache for the whole module, so the corpus is encoded once, not once per case."""
    d = tmp_path_factory.mktemp("app_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UPAIR_CACHE", str(d))
        yield d


@pytest.fixture(scope="module")
def source(qp) -> tuple[str, Image.Image]:
    """(figure id, its image) of one real figure used as the valid query."""
    p = sorted((qp / "sections" / "C").glob("*/*.png"))[0]
    with Image.open(p) as im:
        return p.stem, im.convert("L")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG of width x height that compresses to kilobytes
    (same construction as tests/test_images.py)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    full, rest = divmod(height, 2000)
    block = row * 2000
    idat = b"".join([comp.compress(block) for _ in range(full)] + [comp.compress(row * rest), comp.flush()])
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def open_search_page(qp: Path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["corpus_pick"] = f"query-patents:{qp}"
    at.session_state["encoders"] = list(ENCODERS)
    at.session_state["k"] = K
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("../pages/search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Search"
    return at


def upload(at, name: str, data: bytes, mime: str = "image/png"):
    at.file_uploader(key="upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


_RESULT_KEY = re.compile(r"^res-(%s)-(\d+)-(.+)$" % "|".join(map(re.escape, ENCODERS)))


def shown_results(at) -> dict[str, list[str]]:
    """Per encoder, the ids of the result cards on the page, in rank order."""
    out: dict[str, list[tuple[int, str]]] = {s: [] for s in ENCODERS}
    for b in at.button:
        m = _RESULT_KEY.match(b.key or "")
        if m:
            out[m.group(1)].append((int(m.group(2)), m.group(3)))
    return {s: [fid for _, fid in sorted(v)] for s, v in out.items()}


def uploads_dir() -> Path:
    return config.cache_dir() / "uploads"


def stored_uploads() -> set[str]:
    d = uploads_dir()
    return {p.name for p in d.iterdir()} if d.is_dir() else set()


def check_results_for_upload(at, qp: Path) -> Path:
    """The page shows k results per encoder for the current upload, equal to core's search."""
    assert not at.error, [e.value for e in at.error]
    query = at.session_state["query_trail"][-1]
    path = Path(query)
    assert path.parent == uploads_dir() and path.is_file()
    shown = shown_results(at)
    corpus = load_corpus(f"query-patents:{qp}")
    # the stored copy is named by the SHA-1 of the uploaded bytes
    same = [f.id for f in corpus.figures if hashlib.sha1(Path(f.path).read_bytes()).hexdigest() == path.stem]
    # an upload byte-identical to a corpus figure is searched as that figure (itself left out)
    expected = search(corpus, same[0] if same else str(path), ENCODERS, k=K)
    for spec in ENCODERS:
        assert not expected[spec].error
        assert len(shown[spec]) == K, (spec, shown[spec])
        assert shown[spec] == expected[spec].ids, spec
    assert any(m.value == "**Query**" for m in at.markdown)
    return path


# --------------------------------------------------------------------------- hostile uploads


def _truncated_png(source) -> bytes:
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "PNG")
    return data[: len(data) // 2]


def _oversized(source) -> bytes:
    """A real, small PNG followed by padding past the limit (Pillow ignores bytes after IEND),
    so the size limit is the only reason to refuse it."""
    return encode(source[1], "PNG") + b"\0" * (config.MAX_UPLOAD_MB * 1024 * 1024 + 1024)


HOSTILE = {
    "text-named-png": ("notes.png", lambda s: b"<html><body>404 not found</body></html>\n",
                       r"notes\.png.*not an image"),
    "truncated-png": ("cut.png", _truncated_png, r"cut\.png.*damaged or truncated"),
    "zero-bytes": ("empty.png", lambda s: b"", r"empty\.png.*empty \(0 bytes\)"),
    "decompression-bomb": ("bomb.png", lambda s: bomb_png(30000, 30000), r"bomb\.png.*900 MP.*limit"),
    "over-upload-limit": ("huge.png", _oversized, r"huge\.png.*limit is %d MB" % config.MAX_UPLOAD_MB),
    "escaping-name": ("../../../../tmp/evil.png", lambda s: b"MZ\x90\x00 not an image", r"evil\.png.*not an image"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_upload_gives_a_clear_error_and_the_session_keeps_working(case, qp, app_cache, source):
    name, make, pattern = HOSTILE[case]
    data = make(source)
    if case == "decompression-bomb":
        assert len(data) < 1_000_000
    at = open_search_page(qp)
    before = stored_uploads()
    upload(at, name, data)
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert re.search(pattern, errors[0], re.S), errors[0]
    assert "Traceback" not in errors[0]
    assert stored_uploads() == before  # nothing was kept for a refused upload
    trail = at.session_state["query_trail"] if "query_trail" in at.session_state else []
    assert not trail  # the refused file did not become the query
    assert not any(shown_results(at).values())
    assert not list(app_cache.rglob("evil*")) and not list(app_cache.parent.glob("evil*"))

    # The same session then takes a valid query and shows k results per encoder.
    upload(at, "fine.png", encode(source[1], "PNG"))
    assert not at.error, [e.value for e in at.error]
    check_results_for_upload(at, qp)
    assert source[0] not in shown_results(at)["hog"]  # a byte-identical copy is searched as that figure


def test_several_bad_uploads_in_a_row_then_a_good_one(qp, app_cache, source):
    """One session: good query, then every hostile file in turn (the previous results stay
    on the page, each bad file gets its own error), then a good one again."""
    at = open_search_page(qp)
    upload(at, "first.png", encode(source[1], "PNG"))
    first = check_results_for_upload(at, qp)
    for case, (name, make, pattern) in HOSTILE.items():
        upload(at, name, make(source))
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and re.search(pattern, errors[0], re.S), (case, errors)
        assert at.session_state["query_trail"][-1] == str(first)
        assert all(len(v) == K for v in shown_results(at).values())
    other = source[1].transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    upload(at, "second.png", encode(other, "PNG"))
    second = check_results_for_upload(at, qp)
    assert second != first


# --------------------------------------------------------------------------- odd but valid uploads


def _as_16bit(im: Image.Image) -> bytes:
    arr = np.asarray(im, dtype=np.uint16) * 16 + 1000  # a 12-bit range stored in 16 bits
    out = Image.fromarray(arr.astype(np.uint16))
    assert out.mode.startswith("I;16")
    return encode(out, "PNG")


def _as_cmyk_jpeg(im: Image.Image) -> bytes:
    data = encode(im.convert("RGB").convert("CMYK"), "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK"
    return data


def _as_palette_with_transparency(im: Image.Image) -> bytes:
    # White paper becomes the transparent palette entry; the app must put it back on white.
    p = im.convert("RGB").quantize(colors=16)
    pal = p.getpalette()[: 16 * 3]
    white = max(range(16), key=lambda i: sum(pal[3 * i: 3 * i + 3]))
    return encode(p, "PNG", transparency=white)


def _as_animated_gif(im: Image.Image) -> bytes:
    frames = [im.convert("RGB"), Image.new("RGB", im.size, "black"), im.convert("RGB").rotate(90)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.n_frames == 3
    return data


def _as_exif_rotated_jpeg(im: Image.Image) -> bytes:
    # Pad to portrait so a missing rotation shows as swapped dimensions, store the pixels
    # turned a quarter left and tag them "rotate 90° clockwise to display" (orientation 6).
    upright = Image.new("L", (im.width, im.height + im.height // 2), 255)
    upright.paste(im, (0, 0))
    raw = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(raw.convert("RGB"), "JPEG", quality=95, exif=exif.tobytes())


VALID = {
    "16-bit-grayscale": ("scan16.png", _as_16bit, "image/png"),
    "cmyk-jpeg": ("print.jpg", _as_cmyk_jpeg, "image/jpeg"),
    "palette-transparency": ("pal.png", _as_palette_with_transparency, "image/png"),
    "animated-gif": ("anim.gif", _as_animated_gif, "image/gif"),
    "exif-rotated-jpeg": ("phone.jpg", _as_exif_rotated_jpeg, "image/jpeg"),
}


@pytest.mark.parametrize("case", list(VALID))
def test_unusual_valid_upload_is_searched_correctly(case, qp, app_cache, source):
    name, make, mime = VALID[case]
    at = open_search_page(qp)
    upload(at, name, make(source[1]), mime)
    path = check_results_for_upload(at, qp)
    with Image.open(path) as stored:
        assert stored.mode == "RGB"
        w, h = stored.size
        corner = stored.getpixel((0, 0))
    fid, im = source
    if case == "exif-rotated-jpeg":
        assert (w, h) == (im.width, im.height + im.height // 2)  # upright, not lying on its side
    else:
        assert (w, h) == im.size
    assert min(corner) > 200  # paper is white (transparency composited on white, 16-bit stretched)
    # Each is the same drawing as a corpus figure, so that figure comes first for HOG.
    assert shown_results(at)["hog"][0] == fid, case
    # ... and the session takes the next query.
    upload(at, "next.png", encode(im.transpose(Image.Transpose.FLIP_TOP_BOTTOM), "PNG"))
    assert check_results_for_upload(at, qp) != path
