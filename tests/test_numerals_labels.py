"""The numeral-phrase parser (core.numerals.labels) on the phrasings patent descriptions use."""
from __future__ import annotations

import pytest

from core.numerals import is_numeral, key, parse_numeral_labels


@pytest.mark.parametrize("text, expected", [
    ("a housing 10 having a lid 12", {"10": "housing", "12": "lid"}),
    ("FIG. 3 shows a spring (12) mounted on a shaft (14).", {"12": "spring", "14": "shaft"}),
    ("the springs 12a-12c are attached to a frame 20",
     {"12a": "spring", "12b": "spring", "12c": "spring", "20": "frame"}),
    ("springs 12a to 12c", {"12a": "spring", "12b": "spring", "12c": "spring"}),
    ("arms 12', 14 and 16 hold it", {"12'": "arm", "14": "arm", "16": "arm"}),
    ("first and second rollers 20 and 22", {"20": "first roller", "22": "second roller"}),
    ("wellbores 120a and 120b", {"120a": "wellbore", "120b": "wellbore"}),
    ("As shown in FIG. 2, the valve 12 of the container 10 is open", {"12": "valve", "10": "container"}),
    ("FIGS. 1 to 4 show a seat 3 with an opening 62", {"3": "seat", "62": "opening"}),
    ("the device 20 is about 10 mm wide", {"20": "device"}),  # "about 10" is a size, not a part
    ("embodiment 1 of claim 2, received 2020", {}),
    ("a rotary damper 7, a pivot (1)", {"7": "rotary damper", "1": "pivot"}),
    ("the spring 12 presses on the lid 14; the spring 12 is steel", {"12": "spring", "14": "lid"}),  # first naming wins
    ("", {}),
])
def test_phrasings(text, expected):
    assert parse_numeral_labels(text) == expected


def test_component_labels_choose_the_extent():
    """A label with a stop word inside ("pair of pliers") is taken whole; a longer description
    phrase than the label ("upper outer wall" vs "outer wall") keeps the longer phrase."""
    labels = ["pair of pliers", "outer wall"]
    assert parse_numeral_labels("a pair of pliers 30", labels) == {"30": "pair of pliers"}
    assert parse_numeral_labels("the upper outer wall 14", labels) == {"14": "upper outer wall"}
    assert parse_numeral_labels("outer walls 14", labels) == {"14": "outer walls"}


@pytest.mark.parametrize("token, k", [("12", "12"), ("(12)", "12"), ("12A", "12a"), ("12'", "12'"), ("12′", "12'"),
                                      ("1234", "1234"), ("12.", "12"), ("12345", ""), ("A", ""), ("FIG", ""),
                                      ("1/3", ""), ("12ab", ""), ("", "")])
def test_numeral_tokens(token, k):
    assert key(token) == k
    assert is_numeral(token) == bool(k)
