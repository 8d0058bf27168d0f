"""OCR engines that read the words of a drawing with their boxes; a registry, one entry per engine.

``tesseract`` (the default) is Tesseract 5 from Debian's ``tesseract-ocr`` through pytesseract:
page segmentation mode 11 (sparse text: labels scattered over a drawing), the image scaled up
so that a numeral is ~30 px high (UPAIR figures are 384 px). ``rapidocr`` is RapidOCR on
onnxruntime (PP-OCRv4 models shipped inside the ``rapidocr_onnxruntime`` wheel, so it needs no
download); it is optional and not pinned — see the README for the comparison that chose Tesseract.
"""
from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from typing import Callable

#: Long side, in pixels, an image is scaled up to before OCR (never down).
OCR_LONG_SIDE = 1152
#: Tokens Tesseract reports with a lower confidence (0-100) are dropped.
MIN_CONFIDENCE = 40.0
#: A token's height as a fraction of the image's height: outside this, it is no printed label
#: (a 384-px UPAIR figure: 5 to 40 px).
TOKEN_HEIGHT = (0.013, 0.105)
#: Most ink (fraction of dark pixels) in the 4-px ring around a token: a numeral is printed in
#: white space; text "read" in hatching or a dense part of a drawing is not.
MAX_RING_INK = 0.20


@dataclass(frozen=True)
class Token:
    """A word read in a drawing: its text, its box ``(x0, y0, x1, y1)`` in the original image's
    pixels and the engine's confidence (0-100)."""

    text: str
    box: tuple[int, int, int, int]
    conf: float

    def to_json(self) -> dict:
        return {"text": self.text, "box": list(self.box), "conf": round(float(self.conf), 1)}

    @classmethod
    def from_json(cls, d: dict) -> "Token":
        box = tuple(int(v) for v in d["box"])
        if len(box) != 4 or not isinstance(d["text"], str):
            raise ValueError("a token needs a text and four box coordinates")
        return cls(d["text"], box, float(d["conf"]))


class EngineUnavailable(RuntimeError):
    """An OCR engine's program or package is not installed; the message says how to get it."""


def plausible(tokens: list[Token], image) -> list[Token]:
    """The tokens that can be printed labels: of a label's height, with white space around."""
    import numpy as np

    ink = np.asarray(image.convert("L")) < 128
    h, w = ink.shape
    out = []
    for t in tokens:
        x0, y0, x1, y1 = (max(0, t.box[0]), max(0, t.box[1]), min(w, t.box[2]), min(h, t.box[3]))
        if not (TOKEN_HEIGHT[0] * h <= y1 - y0 <= TOKEN_HEIGHT[1] * h) or x1 <= x0:
            continue
        X0, Y0, X1, Y1 = max(0, x0 - 4), max(0, y0 - 4), min(w, x1 + 4), min(h, y1 + 4)
        ring_area = (X1 - X0) * (Y1 - Y0) - (x1 - x0) * (y1 - y0)
        ring = (int(ink[Y0:Y1, X0:X1].sum()) - int(ink[y0:y1, x0:x1].sum())) / max(1, ring_area)
        if ring <= MAX_RING_INK:
            out.append(t)
    return out


@dataclass(frozen=True)
class Engine:
    name: str
    describe: str
    version: Callable[[], str]  # raises EngineUnavailable
    read: Callable[[object], list[Token]]  # a PIL image → tokens


def _scaled(im):
    from PIL import Image

    im = im.convert("L")
    scale = max(1.0, OCR_LONG_SIDE / max(im.size))
    if scale > 1.0:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    return im, scale


def _tesseract_version() -> str:
    if shutil.which("tesseract") is None:
        raise EngineUnavailable("Tesseract is not installed: apt-get install -y tesseract-ocr")
    try:
        import pytesseract
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise EngineUnavailable("pytesseract is missing: pip install -r requirements.txt") from exc
    return f"tesseract {pytesseract.get_tesseract_version()} pytesseract {pytesseract.__version__}"


def _tesseract_read(im) -> list[Token]:
    import pytesseract

    big, scale = _scaled(im)
    data = pytesseract.image_to_data(big, config="--psm 11", output_type=pytesseract.Output.DICT)
    out = []
    for text, conf, x, y, w, h in zip(data["text"], data["conf"], data["left"], data["top"], data["width"],
                                      data["height"]):
        text, conf = str(text).strip(), float(conf)
        if not text or conf < MIN_CONFIDENCE:
            continue
        box = (int(x / scale), int(y / scale), int(round((x + w) / scale)), int(round((y + h) / scale)))
        out.append(Token(text, box, conf))
    return plausible(out, im)


@functools.lru_cache(maxsize=1)
def _rapid_engine():
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise EngineUnavailable("rapidocr is not installed: pip install rapidocr_onnxruntime==1.4.4 "
                                "(its models ship in the wheel)") from exc
    return RapidOCR()


def _rapid_version() -> str:
    from importlib import metadata

    _rapid_engine()
    return f"rapidocr_onnxruntime {metadata.version('rapidocr_onnxruntime')}"


def _rapid_read(im) -> list[Token]:
    import numpy as np

    res, _ = _rapid_engine()(np.asarray(im.convert("RGB")))
    out = []
    for quad, text, score in res or []:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        out.append(Token(str(text).strip(), (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))),
                         100.0 * float(score)))
    return plausible(out, im)


ENGINES: dict[str, Engine] = {
    "tesseract": Engine("tesseract", "Tesseract 5 (Debian tesseract-ocr), sparse text, scaled up",
                        _tesseract_version, _tesseract_read),
    "rapidocr": Engine("rapidocr", "RapidOCR PP-OCRv4 on onnxruntime (optional package)", _rapid_version,
                       _rapid_read),
}
DEFAULT_ENGINE = "tesseract"


def get_engine(name: str) -> Engine:
    """The engine called ``name``; ValueError listing the engines when there is none."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown OCR engine {name!r}; engines: {', '.join(ENGINES)}") from None


def engine_available(name: str = DEFAULT_ENGINE) -> str:
    """"" when the engine can run here, else the reason it cannot (with the install command)."""
    try:
        get_engine(name).version()
        return ""
    except EngineUnavailable as exc:
        return str(exc)
