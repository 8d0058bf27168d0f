"""Measure cut text in a rendered page: every text element whose content is wider (or taller) than
the box that shows it, or that runs past an ancestor that clips it. Used by tests/test_layout_browser.py."""
from __future__ import annotations

#: JavaScript run in the page; returns a list of {text, why, sel} for every cut text element.
PROBE_JS = r"""
() => {
  const out = [];
  const SEL = 'button, [role=tab], label, th, [data-testid=stMarkdownContainer], [data-testid=stHeadingWithActionElements], [data-testid=stMetricLabel], [data-testid=stMetricValue],'
    + ' [data-testid=stMetricDelta], [data-testid=stCaptionContainer], [data-testid=stMarkdownContainer] p,'
    + ' [data-testid=stMarkdownContainer] span, [data-testid=stMarkdownContainer] a, h1, h2, h3, h4, td,'
    + ' [data-baseweb=select] div, [data-baseweb=tag] span, [data-testid=stWidgetLabel] p,'
    + ' [data-testid=stExpander] summary p, [data-testid=stPopover] button p, [data-testid=stSidebarNav] span,'
    + ' [data-testid=stBaseButton-segmented_control] p, [data-testid=stBaseButton-pills] p';
  const PAGE_SCROLLERS = '[data-testid=stMain], [data-testid=stSidebarContent], [data-testid=stAppViewContainer],'
    + ' [data-testid=stSidebar], [data-testid=stMainBlockContainer], [data-testid=stExpanderDetails], [role=dialog]';
  const seen = new Set();
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const clips = cs => cs.overflowX !== 'visible' || cs.textOverflow === 'ellipsis';
  for (const el of document.querySelectorAll(SEL)) {
    if (seen.has(el) || !visible(el)) continue;
    seen.add(el);
    const text = (el.innerText || '').trim();
    if (!text) continue;
    if (el.closest('[data-testid=stPlotlyChart], [data-testid=stDataFrame], [data-testid=stVegaLiteChart], .stDeckGlJsonChart, [data-testid=stCode], pre, textarea, input')) continue;
    const cs = getComputedStyle(el);
    // content this app keeps to one line on purpose (a patent title in a compact row), whole on hover
    const hover = el.closest('.upair-title[title]');
    if (hover && hover.getAttribute('title').trim().length >= text.replace(/…$/, '').length) continue;
    let why = null;
    // an ellipsis shows as soon as the text is one pixel wider than its box
    const slack = cs.textOverflow === 'ellipsis' ? 0 : 1;
    if (clips(cs) && el.scrollWidth > el.clientWidth + slack) why = `scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`;
    if (!why && cs.overflowY !== 'visible' && cs.overflowY !== 'auto' && el.scrollHeight > el.clientHeight + 2 && cs.webkitLineClamp !== 'none')
      why = `line-clamped: scrollHeight ${el.scrollHeight} > clientHeight ${el.clientHeight}`;
    if (!why) {  // the text runs past an ancestor that clips
      const r = el.getBoundingClientRect();
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const acs = getComputedStyle(a);
        if (a.matches(PAGE_SCROLLERS)) break;  // scrolling the page is not cutting
        if (acs.overflowX !== 'visible') {  // hidden, clip, or a box the user has to scroll sideways
          const ar = a.getBoundingClientRect();
          if (r.right > ar.right + 1.5 || r.left < ar.left - 1.5) {
            why = `runs past a clipping ${a.tagName.toLowerCase()} (${Math.round(r.right)} > ${Math.round(ar.right)})`;
            break;
          }
        }
      }
    }
    if (why) {
      const tid = el.closest('[data-testid]');
      out.push({text: text.slice(0, 80), why, where: tid ? tid.getAttribute('data-testid') : el.tagName});
    }
  }
  // the shown value of a select box (react-aria renders it as the text of a combobox input)
  for (const inp of document.querySelectorAll('input[role=combobox]')) {
    if (!visible(inp) || !inp.value) continue;
    if (inp.scrollWidth > inp.clientWidth + 1)
      out.push({text: inp.value.slice(0, 80), why: `select value: scrollWidth ${inp.scrollWidth} > clientWidth ${inp.clientWidth}`, where: 'select'});
  }
  // SVG axis labels of plotly charts: a tick label outside its chart's box
  for (const svg of document.querySelectorAll('[data-testid=stPlotlyChart] svg.main-svg')) {
    const sr = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text')) {
      const r = t.getBoundingClientRect();
      if (!r.width) continue;
      if (r.left < sr.left - 1 || r.right > sr.right + 1 || r.top < sr.top - 1 || r.bottom > sr.bottom + 1)
        out.push({text: (t.textContent || '').slice(0, 80), why: 'axis label outside its chart', where: 'plotly'});
      else if ((t.textContent || '').endsWith('…'))
        out.push({text: t.textContent.slice(0, 80), why: 'axis label shortened with …', where: 'plotly'});
    }
  }
  return out;
}
"""


def cut_text(page) -> list[dict]:
    """Every cut text element on ``page`` (see ``PROBE_JS``)."""
    return page.evaluate(PROBE_JS)
