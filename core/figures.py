"""The ``Figure`` record and the one place where images are opened and normalised."""
from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from . import config

#: File endings every loader and the upload widget accept.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp", ".webp")


class ImageError(ValueError):
    """An image could not be used; the message says why and what to do."""


@dataclass(frozen=True)
class Figure:
    """One patent figure of a corpus.

    ``id`` is stable across runs (the UPAIR hashcode where there is one); ``labels`` are the
    component labels; ``section`` is the CPC section letter ("A".."H") or "" when unknown.
    When ``member`` is set, the image is that member of a tar archive (a WebDataset shard)
    and ``path`` is ``<archive>/<member>``, a path inside the archive that ``open_image``
    reads (so code that opens ``figure.path`` needs no change); ``digest`` is then the SHA-1
    of the member's bytes, recorded by the loader so the content key needs no second read.
    """

    id: str
    path: Path
    patent: str = ""
    section: str = ""
    title: str = ""
    description: str = ""
    labels: tuple[str, ...] = ()
    source: str = ""
    member: str = ""
    digest: str = ""
    priority_date: str = ""  # ISO ``YYYY-MM-DD`` of the patent, "" when unknown
    publication_date: str = ""
    cpc: tuple[str, ...] = ()  # full CPC symbols (``A01D34/73``) where the corpus carries them

    @property
    def labels_text(self) -> str:
        """Component labels joined into one text (as UPAIR's label runs encode them)."""
        return ", ".join(self.labels)

    @property
    def espacenet_url(self) -> str:
        """Link to the patent on Espacenet, or "" when the patent number is unknown."""
        return espacenet_url(self.patent)


def espacenet_url(patent: str) -> str:
    """Link to a patent number on Espacenet, or "" when there is none."""
    from urllib.parse import quote

    return f"https://worldwide.espacenet.com/patent/search?q=pn%3D{quote(patent, safe='')}" if patent else ""


def parse_date(value: object) -> str:
    """A date as ISO ``YYYY-MM-DD`` (from ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/MM/DD`` or an
    ISO timestamp), or "" when absent or not a valid date."""
    import datetime as _dt

    text = str(value or "").strip()[:10].replace("/", "-")
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return _dt.date.fromisoformat(text).isoformat() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else ""
    except ValueError:
        return ""


def parse_labels(value: object) -> tuple[str, ...]:
    """Component labels as a tuple, whether given as a list or a comma/semicolon string."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.replace(";", ",").split(",")
    elif isinstance(value, Iterable):
        parts = [str(v) for v in value]
    else:
        parts = [str(value)]
    return tuple(p.strip() for p in parts if p and p.strip())


def file_digest(path: Path | str) -> str:
    """SHA-1 of a file's bytes, memoised on (path, size, mtime) (``store.cached_file_hash``)."""
    from .store import cached_file_hash

    return cached_file_hash(path, "sha1")


def _check_pixels(width: int, height: int, name: str) -> None:
    if width * height > config.MAX_IMAGE_PIXELS:
        raise ImageError(
            f"{name} is {width} x {height} pixels ({width * height / 1e6:.0f} MP), more than the "
            f"{config.MAX_IMAGE_PIXELS / 1e6:.0f} MP limit; downscale it and try again."
        )


def _bomb_message(name: str, exc: BaseException) -> str:
    """Plain message for Pillow's own decompression-bomb refusal (it names no dimensions)."""
    m = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(m.group(1)) / 1e6:.0f} MP ({int(m.group(1)):,} pixels)" if m else "too large"
    return (
        f"{name} is {size}, more than the {config.MAX_IMAGE_PIXELS / 1e6:.0f} MP limit; it looks like a "
        "decompression bomb, so it was not decoded. Downscale it and try again."
    )


def open_image(source: Path | str | bytes, name: str | None = None, mode: str = "RGB"):
    """Open any supported image safely and return it as an 8-bit RGB ``PIL.Image``.

    ``source`` is a path, the file's bytes (``bytes``/``bytearray``/``memoryview``) or a
    binary file-like object (e.g. a Streamlit upload). Handles 16-bit grayscale, CMYK,
    palette/grayscale/RGB transparency (composited on white), animated files (first frame)
    and EXIF orientation. Raises ``ImageError`` with a plain message for anything that is
    not a usable image, including decompression bombs, which are refused from their header
    alone (the pixels are never decoded). The returned image holds no open file.

    ``mode="L"`` returns the same pixels as 8-bit grey (what the grey descriptors need): a
    grey file stays grey instead of going to RGB and back (the same values: PIL's RGB → L
    weights sum to one, so a grey pixel maps to itself).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if mode not in ("RGB", "L"):
        raise ValueError(f"open_image: mode must be 'RGB' or 'L', not {mode!r}")

    if hasattr(source, "read"):  # file-like (an upload): read it whole, keep its name
        name = name or Path(str(getattr(source, "name", "") or "the upload")).name
        source = source.read()
    if isinstance(source, (bytearray, memoryview)):
        source = bytes(source)
    if isinstance(source, (str, Path)) and (inside := split_member_path(source)) is not None:
        name = name or Path(inside[1]).name
        source = read_member(*inside)
    label = name or (Path(source).name if not isinstance(source, bytes) else "the upload")
    if isinstance(source, bytes):
        if not source:
            raise ImageError(f"{label} is empty (0 bytes); choose an image file.")
        fp: object = io.BytesIO(source)
    else:
        fp = str(source)
        if not os.path.exists(fp):
            raise ImageError(f"{label}: file not found at {source}.")
        if not os.path.isfile(fp):
            raise ImageError(f"{label}: {source} is not a file; choose an image file.")
        if os.path.getsize(fp) == 0:
            raise ImageError(f"{label} is empty (0 bytes); choose an image file.")
    # Our own limit governs: when it is configured above Pillow's, lift Pillow's to match so
    # Pillow does not refuse images the configuration allows (never lowered, never disabled).
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < config.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = config.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only *warns* between its limit and twice it; ``_check_pixels`` below refuses
            # those with their dimensions, so the warning is just noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp) as im:
                _check_pixels(im.width, im.height, label)
                # Image.open leaves multi-frame files (GIF, APNG, TIFF) on their first frame;
                # asking for n_frames would walk every frame of a hostile file, so don't.
                im.load()
                try:
                    oriented = ImageOps.exif_transpose(im) or im
                except Exception:  # malformed EXIF: the pixels are fine, keep them unrotated
                    oriented = im
                out = to_rgb(oriented, keep_grey=mode == "L")
                if mode == "L" and out.mode != "L":
                    out = out.convert("L")
                if out is im:  # still backed by the file we are about to close
                    out = im.copy()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(_bomb_message(label, exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{label} is not a picture this app can open (or not an image at all); upload a PNG, JPEG, TIFF, GIF, BMP or WebP."
        ) from exc
    except (PermissionError, IsADirectoryError) as exc:
        raise ImageError(f"{label} could not be read ({exc}).") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise ImageError(f"{label} is damaged or truncated ({exc}); re-export it and try again.") from exc
    return out


def to_rgb(im, keep_grey: bool = False):
    """Convert any PIL image mode to 8-bit RGB, compositing transparency onto white
    (``keep_grey``: an image that is grey once transparency is handled stays 8-bit grey)."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np

        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.full_like(arr, 255.0 if hi > 0 else 0.0)
        im = Image.fromarray(arr.astype("uint8"), "L")
    elif im.mode == "F":
        import numpy as np

        arr = np.nan_to_num(np.asarray(im, dtype=np.float64))
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        im = Image.fromarray(arr.astype("uint8"), "L")
    if im.mode == "P" or (im.mode in ("L", "RGB") and "transparency" in im.info):
        im = im.convert("RGBA")  # palette / tRNS colour-key transparency -> real alpha
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    if im.mode == "1":
        im = im.convert("L")
    if keep_grey and im.mode == "L":
        return im
    return im.convert("RGB") if im.mode != "RGB" else im


@lru_cache(maxsize=256)
def _tar_offsets(path: str, size: int, mtime_ns: int) -> dict[str, tuple[int, int]]:
    """member name -> (data offset, size) of an uncompressed tar (headers only are read)."""
    import tarfile

    with tarfile.open(path, "r:") as tar:
        return {m.name: (m.offset_data, m.size) for m in tar if m.isfile()}


def read_member(archive: Path | str, member: str) -> bytes:
    """The bytes of one member of a local tar archive (random access by offset).

    Raises ``ImageError`` when the archive is missing, damaged or lacks the member.
    """
    import tarfile

    path = str(archive)
    try:
        st = os.stat(path)
        offsets = _tar_offsets(path, st.st_size, st.st_mtime_ns)
    except FileNotFoundError as exc:
        raise ImageError(f"shard {path} not found; was it moved? Reload the corpus.") from exc
    except (OSError, tarfile.TarError) as exc:
        raise ImageError(f"shard {path} cannot be read as a tar archive ({exc}).") from exc
    if member not in offsets:
        raise ImageError(f"shard {path} has no member {member}; it changed since it was catalogued.")
    offset, size = offsets[member]
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(size)
    if len(data) != size:
        raise ImageError(f"shard {path} is truncated inside {member}.")
    return data


def split_member_path(path: Path | str) -> tuple[str, str] | None:
    """(archive, member) when ``path`` is ``<archive>.tar/<member>`` of an existing local
    archive (and not itself a file), else None."""
    text = str(path)
    cut = text.find(".tar/")
    if cut < 0 or os.path.isfile(text):
        return None
    archive = text[:cut + 4]
    return (archive, text[cut + 5:]) if os.path.isfile(archive) else None


def shard_of(figure: Figure) -> str:
    """The archive holding a shard member's image (the figure's own path otherwise)."""
    text = str(figure.path)
    if figure.member and text.endswith("/" + figure.member):
        return text[: -len(figure.member) - 1]
    return text


def figure_bytes(figure: Figure) -> bytes:
    """The raw bytes of a figure's image file, or of its shard member."""
    if figure.member:
        return read_member(shard_of(figure), figure.member)
    return Path(figure.path).read_bytes()


def figure_digest(figure: Figure) -> str:
    """SHA-1 of a figure's image bytes: the content key of its cached vectors (the same
    image as a file or as a shard member has the same key)."""
    if figure.member:
        return figure.digest or hashlib.sha1(figure_bytes(figure)).hexdigest()
    return file_digest(figure.path)


def load_figure_image(figure: Figure, mode: str = "RGB"):
    """Open a figure's image (RGB, or grey with ``mode="L"``); raises ``ImageError`` naming
    the figure when unusable."""
    if figure.member:
        name = f"figure {figure.id} ({Path(shard_of(figure)).name}:{figure.member})"
        return open_image(figure_bytes(figure), name=name, mode=mode)
    return open_image(figure.path, name=f"figure {figure.id} ({Path(figure.path).name})", mode=mode)


def store_upload(data: bytes, name: str = "the upload") -> Path:
    """Validate an uploaded image and keep a normalised PNG copy under ``cache/uploads``.

    Returns the path of the copy (named by the SHA-1 of the upload, so the same file
    uploaded twice is one query). Raises ``ImageError`` with a plain message for empty,
    oversized, damaged or non-image uploads.
    """
    if len(data) > config.MAX_UPLOAD_MB * 1024 * 1024:
        raise ImageError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {config.MAX_UPLOAD_MB} MB. "
                         "Downscale or compress it and try again.")
    image = open_image(data, name=name)
    digest = hashlib.sha1(data).hexdigest()
    folder = config.cache_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.png"
    if not path.exists():
        buf = io.BytesIO()
        image.save(buf, "PNG")
        from .store import atomic_write_bytes

        atomic_write_bytes(path, buf.getvalue())
    return path
