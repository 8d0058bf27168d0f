"""Hostile and unusual inputs to ``core.figures.open_image`` (and ``parse_labels``)."""
from __future__ import annotations

import io
import struct
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from core import config
from core.figures import ImageError, open_image, parse_labels, to_rgb


# --------------------------------------------------------------------------- helpers


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit grayscale PNG of ``width`` x ``height``, built row-wise.

    The pixel data is streamed through zlib in blocks, so neither the raw image nor the
    compressed file is ever large in memory (30000 x 30000 compresses to ~110 kB).
    """
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte "None" + packed 1-bit pixels
    rows_per_block = 2000
    comp = zlib.compressobj(9)
    out = []
    full, rest = divmod(height, rows_per_block)
    block = row * rows_per_block
    for _ in range(full):
        out.append(comp.compress(block))
    out.append(comp.compress(row * rest))
    out.append(comp.flush())
    idat = b"".join(out)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit, grayscale
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def check_rgb(im: Image.Image) -> np.ndarray:
    assert im.mode == "RGB"
    arr = np.asarray(im)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    return arr


# --------------------------------------------------------------------------- unusable inputs


def test_text_named_png_is_rejected_clearly(tmp_path):
    p = tmp_path / "drawing.png"
    p.write_bytes(b"<html><body>404 not found</body></html>\n")
    with pytest.raises(ImageError, match="drawing.png is not a picture this app can open"):
        open_image(p)
    with pytest.raises(ImageError, match="not an image"):
        open_image(p.read_bytes())


def test_truncated_png_is_rejected(tmp_path):
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = encode(noise, "PNG")
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(p)
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(data[: len(data) // 2], name="cut upload")


def test_truncated_header_is_rejected():
    data = encode(Image.new("RGB", (8, 8)), "PNG")
    with pytest.raises(ImageError):
        open_image(data[:20])


def test_zero_bytes_are_rejected(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        open_image(p)
    with pytest.raises(ImageError, match="empty"):
        open_image(b"")


def test_missing_file_and_directory_are_rejected(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        open_image(tmp_path / "nope.png")
    d = tmp_path / "folder.png"
    d.mkdir()
    with pytest.raises(ImageError, match="not a file"):
        open_image(d)


def test_decompression_bomb_is_rejected_without_decoding(tmp_path):
    t0 = time.perf_counter()
    data = bomb_png(30000, 30000)
    assert len(data) < 1_000_000  # kilobytes, not the 112 MB it decodes to
    p = tmp_path / "bomb.png"
    p.write_bytes(data)
    tracemalloc.start()
    try:
        for src in (p, data):
            with pytest.raises(ImageError) as info:
                open_image(src)
            msg = str(info.value)
            assert "900" in msg and "MP" in msg and "limit" in msg, msg
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"opening the bomb allocated {peak} bytes"
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("side", [7000, 10000])
def test_images_over_the_configured_limit_are_rejected_with_their_size(side):
    # 7000² is above our 40 MP limit but below Pillow's own warning threshold; 10000² is
    # above Pillow's warning threshold but below its hard error. Both must name the size.
    assert side * side > config.MAX_IMAGE_PIXELS
    data = bomb_png(side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match=f"{side} x {side}"):
            open_image(data)


# --------------------------------------------------------------------------- odd but valid inputs


def test_16bit_grayscale_png_is_stretched_to_8bit(tmp_path):
    # A 12-bit sensor range stored in 16 bits: naive conversion would be almost all white.
    ramp = np.linspace(1000, 4000, 256).astype(np.uint16)
    arr16 = np.tile(ramp, (16, 1))
    im16 = Image.fromarray(arr16)
    p = tmp_path / "scan16.png"
    im16.save(p)
    with Image.open(p) as raw:
        assert raw.mode.startswith("I")
    out = check_rgb(open_image(p))
    assert out.shape == (16, 256, 3)
    assert out.min() <= 5 and out.max() >= 250
    row = out[0, :, 0].astype(int)
    assert np.all(np.diff(row) >= 0)  # order preserved
    assert np.all(out[..., 0] == out[..., 1]) and np.all(out[..., 1] == out[..., 2])


def test_flat_16bit_image_does_not_divide_by_zero():
    im = Image.fromarray(np.full((8, 8), 3000, dtype=np.uint16))
    out = check_rgb(open_image(encode(im, "PNG")))
    assert np.all(out == out[0, 0])


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (32, 16), (0, 255, 255, 0))  # pure red in CMYK
    data = encode(cmyk, "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK"
    out = check_rgb(open_image(data))
    r, g, b = out[8, 16].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_palette_png_transparency_becomes_white(tmp_path):
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    im.paste(1, (4, 0, 8, 8))
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    out = check_rgb(open_image(p))
    assert tuple(out[0, 0]) == (255, 255, 255)  # transparent black -> white
    assert tuple(out[0, 7]) == (255, 0, 0)  # opaque red stays red


def test_rgba_and_la_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.putpixel((3, 3), (0, 0, 255, 255))
    out = check_rgb(open_image(encode(rgba, "PNG")))
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[3, 3]) == (0, 0, 255)
    la = Image.new("LA", (4, 4), (0, 0))
    out = check_rgb(open_image(encode(la, "PNG")))
    assert tuple(out[0, 0]) == (255, 255, 255)


def test_grayscale_png_with_trns_key_becomes_white():
    im = Image.new("L", (4, 4), 0)
    im.putpixel((0, 0), 128)
    out = check_rgb(open_image(encode(im, "PNG", transparency=0)))
    assert tuple(out[1, 1]) == (255, 255, 255)  # the keyed-out black
    assert tuple(out[0, 0]) == (128, 128, 128)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.n_frames == 3
    out = check_rgb(open_image(data))
    assert tuple(out[5, 5]) == (255, 0, 0)


def test_exif_orientation_6_is_applied(tmp_path):
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    p = tmp_path / "rotated.jpg"
    im.save(p, quality=95, exif=exif.tobytes())
    out = check_rgb(open_image(p))
    assert out.shape[:2] == (40, 20)  # height 40, width 20: dimensions swapped
    top, bottom = out[5, 10].astype(int), out[35, 10].astype(int)
    assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_one_bit_and_plain_modes_are_rgb():
    for im in (Image.new("1", (9, 9), 1), Image.new("L", (9, 9), 7), Image.new("RGB", (9, 9), (1, 2, 3))):
        out = check_rgb(open_image(encode(im, "PNG")))
        assert out.shape == (9, 9, 3)
    assert tuple(check_rgb(open_image(encode(Image.new("1", (3, 3), 1), "PNG")))[0, 0]) == (255, 255, 255)


def test_file_like_and_bytearray_sources():
    data = encode(Image.new("RGB", (5, 5), (9, 9, 9)), "PNG")
    assert open_image(bytearray(data)).size == (5, 5)
    assert open_image(io.BytesIO(data)).size == (5, 5)
    upload = io.BytesIO(b"not an image")
    upload.name = "/uploads/sketch.png"
    with pytest.raises(ImageError, match="sketch.png is not a picture this app can open"):
        open_image(upload)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_result_is_detached_from_the_file(tmp_path):
    p = tmp_path / "a.gif"
    frames = [Image.new("RGB", (6, 6), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(p, save_all=True, append_images=frames[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        im = open_image(p)
        p.unlink()  # the file handle was closed; the image stays usable
        assert im.load() is not None and im.size == (6, 6)


def test_to_rgb_float_and_int_modes():
    f = Image.fromarray(np.array([[0.0, np.nan], [1.0, 2.0]], dtype=np.float32), "F")
    assert check_rgb(to_rgb(f)).max() == 255
    i = Image.fromarray(np.array([[-5, 5]], dtype=np.int32), "I")
    assert tuple(check_rgb(to_rgb(i))[0, :, 0]) == (0, 255)


# --------------------------------------------------------------------------- parse_labels


def test_parse_labels():
    assert parse_labels(["wheel", " axle ", "", "  "]) == ("wheel", "axle")
    assert parse_labels("a, b; c") == ("a", "b", "c")
    assert parse_labels(" a ;; ,b ") == ("a", "b")
    assert parse_labels(None) == ()
    assert parse_labels("") == ()
    assert parse_labels((1, 2)) == ("1", "2")
    assert parse_labels(7) == ("7",)
