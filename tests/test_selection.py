"""``core.evaluation.selection.Selection``: one frozen value, one content key per distinct selection."""
from __future__ import annotations

import dataclasses

import pytest

from core.evaluation.selection import Selection

BASE = dict(corpus="demo", encoders=("hog", "ahdh"), runs=("image", "image+desc"), weight=1.0,
            judgements="annotator:alice", judged_digest="d1", protocol="clean")


def test_equal_selections_have_one_key_whatever_the_sequence_type():
    a = Selection(**BASE)
    b = Selection(**{**BASE, "encoders": ["hog", "ahdh"], "runs": ["image", "image+desc"], "weight": 1.0000000002})
    assert a == b and hash(a) == hash(b) and a.key == b.key and a.runs_key == b.runs_key
    assert b.encoders == ("hog", "ahdh") and b.weight == 1.0


@pytest.mark.parametrize("field,value", [("corpus", "upair:x"), ("encoders", ("ahdh", "hog")), ("runs", ("image",)),
                                         ("weight", 0.5), ("judgements", "majority"), ("judged_digest", "d2"),
                                         ("protocol", "upair")])
def test_every_field_changes_the_key(field, value):
    a, b = Selection(**BASE), Selection(**{**BASE, field: value})
    assert a.key != b.key
    # the rankings do not depend on the judgements
    assert (a.runs_key == b.runs_key) == (field in ("judgements", "judged_digest"))


def test_frozen_and_checked():
    s = Selection(**BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.weight = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="not the string"):
        Selection("demo", "hog", ("image",))
    with pytest.raises(ValueError, match="official"):
        Selection("demo", ("hog",), ("image",), judgements="official", judged_digest="x")
    assert Selection("demo", ("hog",), ("image",)).official
