"""Colour-blind-safe colours (Okabe & Ito 2008) used for badges, maps and charts."""
from __future__ import annotations

#: Okabe–Ito: distinguishable with protanopia, deuteranopia and tritanopia.
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
             "grey": "#999999"}
#: Judgement colours: relevant blue, not relevant orange, unjudged grey (never red vs green).
JUDGEMENT_COLOURS = {1: OKABE_ITO["blue"], 0: OKABE_ITO["vermillion"], None: "#9e9e9e"}
#: Judgement marks, so a badge reads without colour too.
JUDGEMENT_MARKS = {1: "✓", 0: "✗", None: "–"}
JUDGEMENT_WORDS = {1: "relevant", 0: "not relevant", None: "unjudged"}
#: Eight CPC sections plus Y (new technologies) and unknown.
SECTION_COLOURS = {"A": "#E69F00", "B": "#56B4E9", "C": "#009E73", "D": "#F0E442", "E": "#0072B2",
                   "F": "#D55E00", "G": "#CC79A7", "H": "#000000", "Y": "#7f7f7f", "?": "#c8c8c8"}
#: The CPC sections' names (WIPO).
CPC_SECTIONS = {"A": "Human necessities", "B": "Operations; transport", "C": "Chemistry; metallurgy",
                "D": "Textiles; paper", "E": "Fixed constructions", "F": "Mechanical eng.; lighting; heating",
                "G": "Physics", "H": "Electricity", "Y": "New technologies", "?": "No CPC section"}


def section_name(letter: str) -> str:
    """'G · Physics' for a CPC section letter."""
    return f"{letter} · {CPC_SECTIONS.get(letter, 'unknown')}"
