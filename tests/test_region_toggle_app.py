"""The Search page's region toggle and its box editor never disagree (issue 25: the toggle was once
seen off with the editor still on screen): on, off, on again across reruns, a drawn box, clearing
it and page switches, the editor (its typed-box sliders) is on screen exactly when the toggle is on."""
from __future__ import annotations

import pytest

from tests.test_examiner_app import _search_page, demo_cache  # noqa: F401 - demo_cache is a fixture

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_caches")]


def _toggle(at):
    found = [t for t in at.toggle if t.key == "ex-region-open"]
    assert len(found) == 1, [t.key for t in found]
    return found[0]


def _editor_shown(at) -> bool:
    return any((s.key or "").startswith("ex-xs-") for s in at.slider)


def _agree(at, want: bool, step: str) -> None:
    assert not at.exception, (step, at.exception)
    t = _toggle(at)
    assert t.value is want and _editor_shown(at) is want, (step, t.key, t.value, _editor_shown(at))


def _away_and_back(at):
    at.switch_page("../pages/overview.py").run()
    assert not at.exception, at.exception
    return at.switch_page("../pages/search.py").run()


def test_the_box_editor_follows_the_region_toggle(demo_cache):
    at = _search_page(query="demo-03-1")
    _agree(at, False, "first open")
    _toggle(at).set_value(True).run()
    _agree(at, True, "toggled on")
    at.run()
    _agree(at, True, "a rerun")
    _toggle(at).set_value(False).run()
    _agree(at, False, "toggled off, no box")
    _away_and_back(at)
    _agree(at, False, "another page and back, no box")
    _toggle(at).set_value(True).run()
    at.button(key="ex-region-apply").click().run()  # a box searched: the toggle says so and stays on
    _agree(at, True, "box applied")
    assert at.session_state["ex_regions"]["demo-03-1"]
    _toggle(at).set_value(False).run()
    _agree(at, False, "toggled off with a box")
    at.run()
    _agree(at, False, "a rerun with a box")
    _toggle(at).set_value(True).run()
    _agree(at, True, "on again")
    _toggle(at).set_value(False).run()
    _away_and_back(at)
    _agree(at, True, "another page and back with a box: open, as a searched box is shown")
    at.button(key="ex-region-clear").click().run()  # the whole figure again
    assert not at.session_state["ex_regions"].get("demo-03-1")
    _agree(at, True, "box cleared: the editor stays open for a new box")
    _toggle(at).set_value(False).run()
    _agree(at, False, "off after clearing (it once could not be turned off)")
    at.run()
    _agree(at, False, "a rerun after clearing")
    _away_and_back(at)
    _agree(at, False, "another page and back after clearing")
    _toggle(at).set_value(True).run()
    _agree(at, True, "on once more")
