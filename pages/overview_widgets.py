"""Widgets of the Corpus page: headline numbers, encoder status, the figure browser."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import Corpus
from dashboard import navigation, serve
from dashboard.components.cards import figure_card
from dashboard.components.grids import follow_search_request, pager, use_as_query


def corpus_summary(corpus: Corpus) -> None:
    """Headline numbers of a corpus."""
    cols = st.columns([1, 1, 1.8, 1.3, 1])
    cols[0].metric("Figures", f"{len(corpus):,}")
    cols[1].metric("Patents", f"{len({f.patent for f in corpus.figures if f.patent}):,}")
    cols[2].metric("CPC sections", "".join(corpus.sections) or "—")
    b = corpus.benchmark
    cols[3].metric("Benchmark queries", f"{len(b.queries):,}" if b else "—")
    cols[4].metric("Judged axes", len(b.qrels) if b else "—")
    st.caption(f"`{serve.shown_text(corpus.name)}`" + ("" if corpus.kind == corpus.name else f" · {corpus.kind} layout"))


def encoder_table(status: list[dict], selected: tuple[str, ...]) -> None:
    """Status of every known encoder, unavailable ones with the reason and the fix (wrapped, not cut)."""
    df = pd.DataFrame(status)
    df["status"] = df.apply(lambda r: ("in use" if r["spec"] in selected else "available")
                            if r["available"] else "unavailable", axis=1)
    df["fix"] = [fix_command(r) for r in status]
    # served mode: reasons and fixes name server paths, and a hidden column still reaches the browser
    cols = ["label", "kind", "status", "spec"] if serve.served() else ["label", "kind", "status", "reason", "fix", "spec"]
    if serve.served():
        df["spec"] = df["spec"].map(serve.shown_text)
    st.dataframe(df[cols], hide_index=True, width="stretch",
                 column_order=("label", "kind", "status", "spec"),  # reasons and fixes, in full, below
                 column_config={"label": "Encoder", "spec": st.column_config.TextColumn("Spec", width="large")})
    if not df["available"].all() and not serve.served():
        st.caption("Why an encoder is unavailable, and the fix, are listed in full under **Get the missing "
                   "encoders** below.")


def fix_command(row: dict) -> str:
    """The fix for an unavailable encoder, as a command that works as written from the checkout."""
    from core.encoders import DOWNLOADABLE, get_encoder

    if row["available"]:
        return ""
    try:
        downloadable = DOWNLOADABLE in get_encoder(row["spec"]).capabilities
    except ValueError:
        downloadable = False
    if downloadable and "not downloaded" in row["reason"]:
        return f"{venv_python()} -m core fetch-weights {row['spec']}  (or press Download weights below)"
    return row["fix"]


def figure_browser(corpus: Corpus, key: str, per_page: int = 24, columns: int = 6) -> None:
    """Filterable, paginated thumbnail grid; each card can become the search query."""
    c1, c2, c3 = st.columns([2, 1, 1])
    text = c1.text_input("Filter by title, description or label", key=f"{key}-filter")
    sections = c2.multiselect("CPC section", corpus.sections, key=f"{key}-sections")
    only_q = c3.toggle("Benchmark queries only", key=f"{key}-onlyq", disabled=corpus.benchmark is None)
    figs = list(corpus.figures)
    if text:
        t = text.lower()
        figs = [f for f in figs if t in f.title.lower() or t in f.description.lower()
                or any(t in lab.lower() for lab in f.labels) or t in f.patent.lower()]
    if sections:
        figs = [f for f in figs if f.section in sections]
    if only_q and corpus.benchmark:
        qs = set(corpus.benchmark.queries)
        figs = [f for f in figs if f.id in qs]
    show = figs[pager(len(figs), per_page, f"{key}-page")]
    for row in range(0, len(show), columns):
        cols = st.columns(columns)
        for col, fig in zip(cols, show[row:row + columns]):
            with col:
                figure_card(fig, button="Search with this", key=f"{key}-use", on_click=use_as_query)
    follow_search_request()


def start_here(corpus: Corpus) -> None:
    """What to do first, in three steps."""
    b = corpus.benchmark
    with st.container(border=True):
        st.markdown("**Start here** — 1. pick a corpus and encoders in the sidebar · "
                    "2. press **Search with this** under any figure below (or upload one on Search) · "
                    "3. " + ("compare the encoders on the benchmark under **Scores**" if b else
                             "see how each encoder arranges the figures under **Map**") + ".")
        c1, c2, c3 = st.columns(3)
        pages = navigation.pages()
        c1.page_link(pages["search"], label="Search by figure or text", icon=":material/image_search:")
        c2.page_link(pages["scores"], label="Benchmark scores", icon=":material/leaderboard:")
        c3.page_link(pages["map"], label="Map of the encoders' spaces", icon=":material/scatter_plot:")


#: The fine-tuned UPAIR CLIP checkpoints are not on a public URL.
CHECKPOINT_SOURCE = (
    "The fine-tuned UPAIR CLIP checkpoints (`patent_clip_desc_aug.pt`, `patent_clip_labels_aug.pt` in the "
    "official evaluation code) are not published for download: ask the UPAIR authors (TIB Hannover) for "
    "them, or fine-tune your own, then save them at the path shown and press **Reload from disk**.")


def venv_python() -> str:
    """The interpreter to print in commands: the project's ``.venv`` when there is one."""
    from core import config

    return config.cli().removesuffix(" -m core")


def _download(spec: str) -> None:
    """Download one encoder's weights with a progress bar of the bytes received, then refresh."""
    import threading
    import time

    from core.encoders import get_encoder
    from core.encoders.clip import open_clip_cache_dir

    enc = get_encoder(spec)
    root = open_clip_cache_dir()
    before = _folder_bytes(root)
    result: dict = {}

    def work() -> None:
        try:
            result["path"] = enc.download()
        except Exception as exc:  # noqa: BLE001 - shown to the user
            result["error"] = str(exc)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    bar = st.progress(0.0, text=f"Downloading {enc.label or spec}…")
    expected = 600e6
    while t.is_alive():
        got = max(_folder_bytes(root) - before, 0)
        bar.progress(min(got / expected, 0.99), text=f"Downloading {enc.label or spec}: {got / 1e6:.0f} MB "
                                                     f"of about {expected / 1e6:.0f} MB")
        time.sleep(0.3)
    bar.empty()
    if "error" in result:
        st.session_state["weights_error"] = f"{enc.label or spec}: {result['error']}"
    else:
        from dashboard import services

        services.refresh_encoders()
        st.session_state["weights_done"] = f"{enc.label or spec} is ready ({result['path']})."


def _folder_bytes(root) -> int:
    try:
        return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    except OSError:
        return 0


def weights_panel(status: list[dict]) -> None:
    """Download buttons for encoders whose weights can be fetched; commands that work as written."""
    from core.encoders import DOWNLOADABLE, get_encoder

    missing = [r for r in status if not r["available"] and r.get("kind") != "invalid"]  # invalid: listed above
    if not missing:
        return
    st.markdown("##### Get the missing encoders")
    if msg := st.session_state.pop("weights_done", None):
        st.success(msg, icon=":material/check_circle:")
    if msg := st.session_state.pop("weights_error", None):
        st.error(msg, icon=":material/cloud_off:")
    py = venv_python()
    for r in missing:
        enc = get_encoder(r["spec"])
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        if DOWNLOADABLE in enc.capabilities and "not downloaded" in r["reason"]:
            c1.markdown(f"**{r['label']}** — {r['reason']}. Download it here (needs internet), or run "
                        f"`{py} -m core fetch-weights {r['spec']}` in the project folder.")
            if c2.button("Download weights", key=f"dl-{r['spec']}", icon=":material/download:"):
                with st.container():
                    _download(r["spec"])
                st.rerun()
        else:
            c1.markdown(f"**{r['label']}** — {r['reason']}.")
            if r["fix"]:
                c1.caption(f"How to fix: {r['fix']}")
    if any("checkpoint" in r["reason"] for r in missing):
        st.caption(CHECKPOINT_SOURCE)
