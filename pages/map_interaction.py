"""Map page additions: a thumbnail of the figure under the mouse, and a clicked point as the query.

Plotly (WebGL) hover labels cannot hold images, so a small script in a zero-height component
listens to the page's Plotly charts (``plotly_hover`` / ``plotly_unhover``) and shows the
hovered figure's thumbnail (embedded as data URIs, at most ``MAX_THUMBS`` figures) beside the
mouse; a click on a point puts its id into a hidden text input, whose callback makes it the query
(a Plotly chart in lasso mode reports clicks to no Python code).
"""
from __future__ import annotations

import json

import streamlit as st

from core import Corpus
from dashboard import services, session
from dashboard.components.cards import fig_label

MAX_THUMBS = 4000
THUMB = 112

_SCRIPT = """
<script>
(function () {
  const thumbs = %s;
  const doc = window.parent.document;
  let tip = doc.getElementById("upair-hover-thumb");
  if (!tip) {
    tip = doc.createElement("div");
    tip.id = "upair-hover-thumb";
    tip.setAttribute("data-testid", "upair-hover-thumb");
    tip.style.cssText = "position:fixed;z-index:100000;display:none;pointer-events:none;background:#fff;" +
      "border:1px solid #888;border-radius:4px;padding:3px;box-shadow:0 2px 8px rgba(0,0,0,.25)";
    tip.innerHTML = '<img style="display:block;width:%dpx;height:%dpx"><div style="font:11px sans-serif;' +
      'max-width:%dpx;overflow:hidden;white-space:nowrap;text-overflow:ellipsis"></div>';
    doc.body.appendChild(tip);
  }
  function hide() {
    const win = doc.getElementById("upair-hover-thumb");
    if (win) win.style.display = "none";
  }
  if (!doc.__upairThumbMove) {  // hide the thumbnail whenever the mouse leaves the maps
    doc.__upairThumbMove = true;
    doc.addEventListener("mousemove", function (e) {
      if (!(e.target && e.target.closest && e.target.closest(".js-plotly-plot"))) hide();
    });
  }
  function sendClick(id) {
    hide();
    // a hidden text input of the page (key map_click) carries the clicked figure to Python
    const input = doc.querySelector(".st-key-map_click input");
    if (!input) return;
    const setter = Object.getOwnPropertyDescriptor(window.parent.HTMLInputElement.prototype, "value").set;
    setter.call(input, id + "|" + Date.now());
    input.dispatchEvent(new window.parent.Event("input", { bubbles: true }));
    input.dispatchEvent(new window.parent.KeyboardEvent("keydown", { key: "Enter", keyCode: 13, bubbles: true }));
  }
  function attach() {
    doc.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      if (gd.__upairThumbs || typeof gd.on !== "function") return;
      gd.__upairThumbs = true;
      gd.on("plotly_hover", function (ev) {
        const p = ev.points && ev.points[0];
        const id = p && p.customdata && p.customdata[0];
        const win = doc.getElementById("upair-hover-thumb");
        if (!id || !thumbs[id] || !win) return;
        win.firstChild.src = thumbs[id];
        win.firstChild.setAttribute("alt", id);
        win.lastChild.textContent = id;
        const e = ev.event || {};
        win.style.left = ((e.clientX || 0) + 16) + "px";
        win.style.top = Math.max(0, (e.clientY || 0) - %d) + "px";
        win.style.display = "block";
      });
      gd.on("plotly_click", function (ev) {
        const p = ev.points && ev.points[0];
        const id = p && p.customdata && p.customdata[0];
        console.log("upair-click " + id);
        if (id) sendClick(id);
      });
      gd.on("plotly_unhover", function () {
        const win = doc.getElementById("upair-hover-thumb");
        if (win) win.style.display = "none";
      });
    });
  }
  attach();
  setInterval(attach, 800);
})();
</script>
"""


def hover_thumbnails(corpus_spec: str, ids: list[str]) -> None:
    """Show each map point's thumbnail while the mouse is over it (first ``MAX_THUMBS`` figures)."""
    import streamlit.components.v1 as components

    if len(ids) > MAX_THUMBS:
        st.caption(f"Thumbnails on hover for the first {MAX_THUMBS:,} of {len(ids):,} figures.")
    uris = services.maps.thumb_uris(corpus_spec, tuple(ids[:MAX_THUMBS]), THUMB)
    components.html(_SCRIPT % (json.dumps(uris), THUMB, THUMB, THUMB, THUMB // 2), height=0)


def _on_click() -> None:
    """Callback of the hidden input the script fills with ``<figure id>|<time>`` on a click."""
    fid = (st.session_state.get("map_click") or "").rsplit("|", 1)[0]
    corpus = services.corpus(st.session_state.get("_map_corpus", ""))
    if fid in corpus.by_id and fid != session.current_query():
        session.push_query(fid)
        st.session_state["_map_new_query"] = fid


def hover_and_click(corpus_spec: str, ids: list[str]) -> None:
    """Thumbnails on hover and click-to-query for every Plotly map on the page."""
    st.session_state["_map_corpus"] = corpus_spec
    st.html("<style>.st-key-map_click { display: none; }</style>")
    st.text_input("Clicked figure", key="map_click", on_change=_on_click, label_visibility="collapsed")
    hover_thumbnails(corpus_spec, ids)


def new_query_note(corpus: Corpus) -> None:
    """Say which clicked figure is the query now, with a link to its results."""
    fid = st.session_state.get("_map_new_query")
    if fid and fid in corpus.by_id and fid == session.current_query():
        from dashboard import navigation

        a, b = st.columns([4, 1], vertical_alignment="center")
        a.success(f"Now the query: **{fig_label(corpus, fid)}** (clicked on the map).", icon=":material/ads_click:")
        b.page_link(navigation.pages()["search"], label="See its results", icon=":material/search:")
