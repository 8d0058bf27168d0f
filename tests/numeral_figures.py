"""Drawings with reference numerals, written as a small query-patents folder (for the numeral
tests and the Search page's numeral overlay): the numerals' positions and names are known."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

#: patent → (description, [(numeral, (x, y) where it is printed, the part it names)]).
FIGURES = {
    "US0000001A1": ("FIG. 1 shows a housing 10 having a lid 12 and a spring (14) under the lid.",
                    [("10", (40, 300), "housing"), ("12", (300, 40), "lid"), ("14", (300, 250), "spring")]),
    "US0000002A1": ("FIG. 2 shows a frame 20 carrying rollers 22a-22b and a spring 24.",
                    [("20", (30, 40), "frame"), ("22a", (320, 130), "roller"), ("24", (120, 330), "spring")]),
    "US0000003A1": ("FIG. 3 is a side view of the bracket.", []),  # no numerals drawn
}


def draw(numerals, size: int = 384) -> Image.Image:
    im = Image.new("L", (size, size), 255)
    d = ImageDraw.Draw(im)
    d.rectangle((90, 90, 290, 290), outline=0, width=2)
    d.ellipse((140, 140, 240, 240), outline=0, width=2)
    font = ImageFont.load_default(size=18)
    for text, (x, y), _ in numerals:
        d.text((x, y), text, fill=0, font=font)
        cx, cy = x + 10, y + 9  # a leader line from beside the numeral to the part
        dx, dy = 190 - cx, 190 - cy
        n = max(1.0, (dx * dx + dy * dy) ** 0.5)
        d.line([(cx + 22 * dx / n, cy + 22 * dy / n), (190, 190)], fill=0, width=1)
    return im


def write_corpus(root: Path) -> Path:
    """The figures above under ``root/sections/B/<patent>/<id>.png`` (+ .json); returns ``root``."""
    for i, (patent, (desc, nums)) in enumerate(FIGURES.items()):
        d = root / "sections" / "B" / patent
        d.mkdir(parents=True, exist_ok=True)
        draw(nums).save(d / f"fig{i}.png")
        (d / f"fig{i}.json").write_text(json.dumps({"title": "Spring-loaded box", "fig_desc": desc,
                                                    "component_labels": [n[2] for n in nums]}))
    return root
