"""A Streamlit websocket client: one examiner's session without a browser (Streamlit 1.67's protocol).

It speaks what Streamlit's own frontend speaks on ``/_stcore/stream``: protobuf ``BackMsg``
(``rerun_script`` with the ``ClientState``: query string, page, widget states, fragment id;
``file_urls_request`` for uploads) and ``ForwardMsg`` (``new_session``, ``delta`` elements,
``page_info_changed``, ``script_finished``, ``file_urls_response``). Widgets are found in the
delta elements (their id, label and the fragment they belong to), a click is a ``trigger_value``,
an upload is a ``PUT`` to ``/_stcore/upload_file/<session id>/<file id>`` (with the XSRF cookie and
header, as the frontend sends them) followed by a rerun carrying the file uploader's state.

An action is timed from sending its first message to the server's last ``script_finished`` that
ends it (a callback's ``st.rerun`` goes through ``FINISHED_EARLY_FOR_RERUN`` first): the server's
time, with nothing drawn. Nothing here is the app's: the bench's examiner flow
(``bench/load.py``) says which buttons to press.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

XSRF_COOKIE = "_streamlit_xsrf"
#: After a terminal ``script_finished``: how long no new run may start for the action to count as over.
QUIET_S = 0.15
TERMINAL = {"FINISHED_SUCCESSFULLY", "FINISHED_WITH_COMPILE_ERROR", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"}


class ProtocolError(RuntimeError):
    """The server answered something this client cannot follow (or nothing in time)."""


@dataclass
class Widget:
    kind: str  # the Element oneof: "button", "file_uploader", ...
    id: str  # Streamlit's widget id (the user key is its suffix)
    label: str
    fragment_id: str
    path: tuple[int, ...]


@dataclass
class _Node:
    kind: str
    run: str
    fragment_id: str
    widget: Widget | None = None
    text: str = ""  # markdown body, alert body, exception message


@dataclass
class Session:
    """One browser session on one websocket. ``async with Session(url, page="search") as s:``."""

    base_url: str  # http://127.0.0.1:PORT
    page: str = ""  # the url path of the first page ("search"); "" = the default page
    query_string: str = ""
    timeout_s: float = 120.0
    session_id: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # url path → page_script_hash
    page_hash: str = ""
    nodes: dict[tuple[int, ...], _Node] = field(default_factory=dict)
    states: dict[str, object] = field(default_factory=dict)  # widget id → WidgetState kept between reruns

    # ------------------------------------------------------------------ connection
    async def __aenter__(self) -> "Session":
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def open(self) -> float:
        """Connect and run the first page; the seconds from the first request to its ``script_finished``."""
        import httpx
        from websockets.asyncio.client import connect

        self._run, self._finished, self._running = "", [], False
        self._changed = asyncio.Event()
        self._urls: dict[str, asyncio.Future] = {}
        self._auto: dict[str, float] = {}  # fragment id → seconds between its automatic reruns
        t0 = time.perf_counter()
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s)
        r = await self._http.get("/_stcore/health")  # sets the XSRF cookie, as loading the page does
        r.raise_for_status()
        self.xsrf = self._http.cookies.get(XSRF_COOKIE, "")
        host = urlsplit(self.base_url).netloc
        self._ws = await connect(f"ws://{host}/_stcore/stream", origin=self.base_url,
                                 subprotocols=["streamlit", *([self.xsrf] if self.xsrf else [])],
                                 additional_headers={"Cookie": f"{XSRF_COOKIE}={self.xsrf}"} if self.xsrf else None,
                                 max_size=None, open_timeout=self.timeout_s, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        await self._rerun_and_wait(page_name=self.page, t0=t0)
        return self._last_elapsed

    async def close(self) -> None:
        """Close what ``open`` got to (safe after a failed or partial ``open``, and twice)."""
        ws, reader, http = (getattr(self, a, None) for a in ("_ws", "_reader", "_http"))
        try:
            if ws is not None:
                await ws.close()
        finally:
            if reader is not None:
                reader.cancel()
            if http is not None:
                await http.aclose()

    # ------------------------------------------------------------------ what the page shows
    def widgets(self, kind: str | None = None, label: str | None = None) -> list[Widget]:
        """The widgets on the page now, in page order (by delta path)."""
        out = [n.widget for _, n in sorted(self.nodes.items()) if n.widget is not None]
        return [w for w in out if (kind is None or w.kind == kind) and (label is None or w.label == label)]

    def texts(self, kind: str) -> list[str]:
        """Bodies of the page's elements of one kind ("markdown", "alert", "exception", …)."""
        return [n.text for _, n in sorted(self.nodes.items()) if n.kind == kind]

    def errors(self) -> list[str]:
        """What the page shows as an error: exceptions and ``st.error`` boxes."""
        return [f"{n.kind}: {n.text[:160]}" for _, n in sorted(self.nodes.items())
                if n.kind == "exception" or (n.kind == "alert:error")]

    def has(self, kind: str) -> bool:
        return any(n.kind == kind for n in self.nodes.values())

    def query_param(self, name: str) -> str | None:
        from urllib.parse import parse_qs

        vals = parse_qs(self.query_string).get(name)
        return vals[0] if vals else None

    # ------------------------------------------------------------------ actions (each returns seconds)
    async def click(self, w: Widget) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        await self._rerun_and_wait(trigger=WidgetState(id=w.id, trigger_value=True), fragment_id=w.fragment_id)
        return self._last_elapsed

    async def switch_page(self, url_path: str) -> float:
        """What a sidebar link does: a rerun of another page (its widgets' states and the query dropped)."""
        if url_path not in self.pages:
            raise ProtocolError(f"no page {url_path!r}; the app has {sorted(self.pages)}")
        self.states.clear()
        self.query_string = ""
        await self._rerun_and_wait(page_hash=self.pages[url_path])
        return self._last_elapsed

    async def upload(self, w: Widget, name: str, data: bytes, mime: str = "image/png") -> float:
        """Upload one file into a file uploader and rerun, as the frontend does; seconds from the
        upload-URL request to the rerun's end."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.Common_pb2 import FileUploaderState, UploadedFileInfo
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        t0 = time.perf_counter()
        rid = uuid.uuid4().hex
        fut = self._urls[rid] = asyncio.get_running_loop().create_future()
        msg = BackMsg()
        msg.file_urls_request.request_id = rid
        msg.file_urls_request.file_names.append(name)
        msg.file_urls_request.session_id = self.session_id
        await self._ws.send(msg.SerializeToString())
        resp = await asyncio.wait_for(fut, self.timeout_s)
        if resp.error_msg or not resp.file_urls:
            raise ProtocolError(f"upload refused: {resp.error_msg or 'no URL'}")
        urls = resp.file_urls[0]
        r = await self._http.put(urls.upload_url, files={"file": (name, data, mime)},
                                 headers={"X-Xsrftoken": self.xsrf} if self.xsrf else {})
        if r.status_code >= 300:
            raise ProtocolError(f"upload PUT answered {r.status_code}: {r.text[:120]}")
        info = UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls)
        self.states[w.id] = WidgetState(id=w.id, file_uploader_state_value=FileUploaderState(uploaded_file_info=[info]))
        await self._rerun_and_wait(fragment_id=w.fragment_id, t0=t0)
        return self._last_elapsed

    async def until(self, ready, t0: float) -> float:
        """Let the page's timed fragments rerun (as the frontend's timers do) until ``ready(self)``
        holds after a finished run; seconds from ``t0`` to that run's end."""

        deadline = time.monotonic() + self.timeout_s
        while not ready(self):
            if time.monotonic() > deadline:
                raise ProtocolError(f"the page did not get ready within {self.timeout_s:.0f} s")
            if not self._auto:
                raise ProtocolError("the page is not ready and nothing on it reruns")
            fid, every = next(iter(self._auto.items()))
            await asyncio.sleep(every)
            await self._rerun_and_wait(fragment_id=fid, auto=True)
        return self._finished[-1][0] - t0

    # ------------------------------------------------------------------ the wire
    async def _rerun_and_wait(self, trigger=None, fragment_id: str = "", page_name: str = "",
                              page_hash: str | None = None, t0: float | None = None, auto: bool = False) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        await self._wait_idle()
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        if page_name:
            cs.page_name = page_name
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        if not fragment_id:
            self._auto.clear()  # a whole run registers its timed fragments again
        for st_ in self.states.values():
            cs.widget_states.widgets.append(st_)
        if trigger is not None:
            cs.widget_states.widgets.append(trigger)
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-GB"
        cs.context_info.url = f"{self.base_url}/{page_name}"
        n = len(self._finished)
        sent = time.perf_counter() if t0 is None else t0
        self._running = True
        await self._ws.send(msg.SerializeToString())
        self._last_elapsed = await self._wait_done(n) - sent

    async def _wait_idle(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while self._running:
            await self._wait_change(deadline)

    async def _wait_done(self, n: int) -> float:
        """The time of the terminal ``script_finished`` after the ``n``-th, once no run follows it."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            done = [t for t, status in self._finished[n:] if status in TERMINAL]
            if done and not self._running:
                try:
                    await asyncio.wait_for(self._change(), QUIET_S)
                    continue  # something arrived: look again
                except asyncio.TimeoutError:
                    return done[-1]
            await self._wait_change(deadline)

    async def _change(self) -> None:
        await self._changed.wait()
        self._changed.clear()

    async def _wait_change(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0 or self._reader.done():
            why = self._reader.exception() if self._reader.done() and not self._reader.cancelled() else None
            raise ProtocolError(f"no end of the script run within {self.timeout_s:.0f} s" +
                                (f" (connection: {type(why).__name__}: {why})" if why else ""))
        try:
            await asyncio.wait_for(self._change(), left)
        except asyncio.TimeoutError:
            pass

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for raw in self._ws:
            msg = ForwardMsg.FromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self._on_new_session(msg)
            elif kind == "delta":
                self._on_delta(msg)
            elif kind == "navigation":
                self._note_pages(msg.navigation.app_pages)
                self.page_hash = msg.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "session_status_changed":
                self._running = msg.session_status_changed.script_is_running
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                self._on_finished(status)
            elif kind == "file_urls_response":
                fut = self._urls.pop(msg.file_urls_response.response_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg.file_urls_response)
            elif kind == "auto_rerun":  # a fragment with run_every: the frontend reruns it on a timer
                self._auto[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fid in msg.stop_auto_rerun.fragment_ids or list(self._auto):
                    self._auto.pop(fid, None)
            elif kind == "page_not_found":
                self.nodes[(-1,)] = _Node("exception", self._run, "", text="page not found")
            self._changed.set()

    def _on_new_session(self, msg) -> None:
        ns = msg.new_session
        if ns.initialize.session_id:
            self.session_id = ns.initialize.session_id
        self._note_pages(ns.app_pages)
        self.page_hash = ns.page_script_hash or self.page_hash
        self._run = msg.metadata.run.script_run_id or uuid.uuid4().hex
        self._fragments = set(msg.metadata.run.fragment_ids)
        self._running = True

    def _note_pages(self, app_pages) -> None:
        """Pages by their url path and by their name (``new_session`` and ``navigation`` fill different fields)."""
        for p in app_pages:
            for name in {p.url_pathname, p.page_name.lower()} - {""}:
                self.pages[name] = p.page_script_hash

    def _on_delta(self, msg) -> None:
        path = tuple(msg.metadata.delta_path)
        d = msg.delta
        frag = d.fragment_id
        which = d.WhichOneof("type")
        if which == "add_block":
            self.nodes[path] = _Node("block", self._run, frag)
            return
        if which != "new_element":
            return
        el = d.new_element
        kind = el.WhichOneof("type") or ""
        node = _Node(kind, self._run, frag)
        body = getattr(el, kind, None)
        if kind == "alert":
            node.kind = "alert:" + {1: "error", 2: "warning", 3: "info", 4: "success"}.get(el.alert.format, "other")
            node.text = el.alert.body
        elif kind == "exception":
            node.text = f"{el.exception.type}: {el.exception.message}"
        elif kind == "markdown":
            node.text = el.markdown.body
        if body is not None and hasattr(body, "id") and body.id:
            node.widget = Widget(kind, body.id, getattr(body, "label", ""), frag, path)
        self.nodes[path] = node

    def _on_finished(self, status: str) -> None:
        self._finished.append((time.perf_counter(), status))
        if status == "FINISHED_SUCCESSFULLY":  # a whole run: what it did not draw is gone
            self.nodes = {p: n for p, n in self.nodes.items() if n.run == self._run}
        elif status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY":  # a fragment's stale elements are gone
            self.nodes = {p: n for p, n in self.nodes.items()
                          if n.run == self._run or n.fragment_id not in self._fragments}
        self._running = False
