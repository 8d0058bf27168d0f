"""The import graph runs one way: ``pages`` → ``dashboard`` → ``core``, and inside ``core`` no
module imports a room on a higher floor.

Imports are read with ``ast`` (module level and inside functions, so lazy imports count too);
nothing is imported. Rooms are the first name below ``core`` (``core.corpora.demo.render`` is in
room ``corpora``); every room must be placed on a floor. The app side: ``core`` never imports
``dashboard`` or ``pages``; ``dashboard`` never imports ``pages``; ``dashboard/services`` draws
nothing (imports no widget module of the app); and ``pages/`` render only:

* no ``st.cache_*`` in ``pages/`` or anywhere in ``dashboard/`` outside ``dashboard/services/``;
* a page imports from the computing modules of core (``COMPUTING``: encoding, indexing,
  search, maps, evaluation, sampling, training, integrity checks, downloads) only types and
  constants (CapWords and UPPER_CASE names, e.g. ``EncoderUnavailable``, ``MAX_DRAWN``), never a
  function; the work itself is called through ``dashboard.services`` (no exceptions).
"""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"

#: Floors from the ground up; a module may import rooms on its own floor or below.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"config", "errors", "textio", "store", "figures", "outdir"}),  # ground: paths, errors, files
    frozenset({"qrels", "metrics", "protocols"}),  # judgements, measures, named preprocessing
    frozenset({"corpora"}),  # datasets and their benchmarks
    frozenset({"download", "encoders", "integrity", "numerals", "families"}),  # fetching datasets; figure/text → vectors; checks; OCR, pHash
    frozenset({"embed"}),  # cached embeddings of a corpus
    frozenset({"index", "maps"}),  # what is built on embeddings
    frozenset({"search", "evaluation", "annotation", "adapt", "engine", "comparison", "examiner", "explain"}),  # users
    frozenset({"cli", "__init__", "__main__"}),  # entry points (the package root re-exports)
)
FLOOR_OF = {room: i for i, rooms in enumerate(FLOORS) for room in rooms}


def _module_name(path: Path) -> tuple[str, ...]:
    parts = ("core",) + path.relative_to(CORE).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _exists(mod: tuple[str, ...]) -> bool:
    base = CORE.joinpath(*mod[1:])
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[tuple[str, ...], int]]:
    """Every (imported module, line) in ``path``; ``from pkg import name`` resolves to the
    submodule when ``name`` is one."""
    mod = _module_name(path)
    package = mod if _is_package(path) else mod[:-1]
    out: list[tuple[tuple[str, ...], int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(tuple(a.name.split(".")), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = base + (tuple(node.module.split(".")) if node.module else ())
            else:
                target = tuple((node.module or "").split("."))
            for a in node.names:
                sub = target + (a.name,)
                out.append((sub if target[:1] == ("core",) and _exists(sub) else target, node.lineno))
    return out


def _room(mod: tuple[str, ...]) -> str:
    return mod[1] if len(mod) > 1 else "__init__"


def _edges() -> list[tuple[str, str, str, int]]:
    """(importer room, imported room, importer file, line) for every import inside core."""
    edges = []
    for path in sorted(CORE.rglob("*.py")):
        here = _room(_module_name(path))
        if path.name == "__main__.py" and path.parent == CORE:
            here = "__main__"
        for target, line in _imports(path):
            if target[:1] == ("core",):
                edges.append((here, _room(target), str(path.relative_to(CORE.parent)), line))
    return edges


def test_resolver_sees_known_arrows():
    """The parser itself: known imports of today's tree are found (guards against a silent no-op)."""
    found = {(a, b) for a, b, _, _ in _edges()}
    assert {("embed", "encoders"), ("qrels", "store"), ("corpora", "qrels"), ("download", "corpora")} <= found
    assert ("__init__", "corpora") in found


def test_every_placed_room_exists_or_is_planned():
    rooms = {_room(_module_name(p)) for p in CORE.rglob("*.py")} | {"__main__"}
    planned: set[str] = set()  # rooms placed before their code lands
    assert set(FLOOR_OF) - rooms - planned == set()


def test_no_upward_imports():
    upward = [f"{file}:{line}: {a} (floor {FLOOR_OF[a]}) imports {b} (floor {FLOOR_OF[b]})"
              for a, b, file, line in _edges()
              if a in FLOOR_OF and b in FLOOR_OF and FLOOR_OF[b] > FLOOR_OF[a]]
    assert upward == []


def test_no_cycles_between_placed_rooms():
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in _edges():
        if a != b and a in FLOOR_OF and b in FLOOR_OF:
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for room in sorted(graph):
        if room not in state:
            visit(room, [room])
    assert cycles == []


def test_core_never_imports_streamlit():
    hits = [f"{path.relative_to(CORE.parent)}:{line}"
            for path in sorted(CORE.rglob("*.py"))
            for target, line in _imports(path) if target[:1] == ("streamlit",)]
    assert hits == []


def test_qrels_and_download_do_not_reach_into_higher_rooms():
    """The two arrows this layering removed stay removed."""
    edges = {(a, b) for a, b, _, _ in _edges()}
    assert ("qrels", "corpora") not in edges
    assert ("corpora", "download") not in edges


# --------------------------------------------------------------------------- the app side
ROOT = CORE.parent
APP_DIRS = ("dashboard", "pages")

#: Core modules that compute (encode, index, search, map, evaluate, sample, train, check, fetch);
#: a page imports from them only types and constants. A name is matched with its submodules.
COMPUTING = ("core.embed", "core.index", "core.search", "core.engine", "core.maps", "core.evaluation",
             "core.annotation.sampling", "core.adapt.train", "core.adapt.compare", "core.integrity",
             "core.download", "core.examiner.query", "core.examiner.patents", "core.examiner.report",
             "core.explain")


def _app_files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def _app_imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(imported module, the names taken from it, line) of every import in an app file."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = rel if path.name == "__init__.py" else rel[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            mod = ".".join(base + (tuple(node.module.split(".")) if node.module else ()))
            out.append((mod, tuple(a.name for a in node.names), node.lineno))
    return out


def _under(mod: str, prefixes) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def test_core_never_imports_the_app():
    hits = [f"{p.relative_to(ROOT)}:{line} imports {mod}" for p in sorted(CORE.rglob("*.py"))
            for mod, names, line in _app_imports(p) if _under(mod, APP_DIRS)]
    assert hits == []


def test_dashboard_never_imports_pages():
    hits = [f"{p.relative_to(ROOT)}:{line} imports {mod}" for p in _app_files("dashboard")
            for mod, names, line in _app_imports(p) if _under(mod, ("pages",))]
    assert hits == []


def test_services_draw_nothing():
    """The service layer imports core, Streamlit (for its caches) and the job registry, never a widget module."""
    widgets = ("dashboard.components", "dashboard.sidebar", "dashboard.navigation", "dashboard.examiner",
               "dashboard.session", "dashboard.urlstate", "pages")
    hits = [f"{p.relative_to(ROOT)}:{line} imports {mod}" for p in _app_files("dashboard/services")
            for mod, names, line in _app_imports(p)
            if _under(mod, widgets) or (mod == "dashboard" and set(names) & {w.split(".")[1] for w in widgets[:-1]})]
    assert hits == []


def _caches(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("st", "streamlit")
                and node.attr in ("cache_data", "cache_resource", "cache", "experimental_memo", "experimental_singleton")):
            lines.append(node.lineno)
    return lines


def test_only_the_service_layer_caches():
    services = ROOT / "dashboard" / "services"
    hits = [f"{p.relative_to(ROOT)}:{line}" for p in _app_files(*APP_DIRS) if services not in p.parents
            for line in _caches(p)]
    assert hits == []
    assert _caches(services / "scores.py"), "the cache finder finds nothing (guards against a silent no-op)"


def _page_calls() -> set[tuple[str, str, str]]:
    calls = set()
    for p in _app_files("pages"):
        for mod, names, _ in _app_imports(p):
            if _under(mod, COMPUTING):
                calls |= {(str(p.relative_to(ROOT)), mod, n) for n in names if not (n[:1].isupper())}
            elif mod == "core" or mod.startswith("core."):
                # ``from core.evaluation import selection``-style: a computing submodule taken whole
                calls |= {(str(p.relative_to(ROOT)), f"{mod}.{n}", "*") for n in names if _under(f"{mod}.{n}", COMPUTING)}
        for mod, names, _ in _app_imports(p):
            if not names and _under(mod, COMPUTING):  # import core.search
                calls.add((str(p.relative_to(ROOT)), mod, "*"))
    return calls


def test_pages_render_only():
    """Pages take only types and constants from the computing modules of core (see the docstring)."""
    assert sorted(_page_calls()) == [], "call it through dashboard/services instead"


def test_page_helpers_are_imported_under_their_own_names():
    """``from pages import scores_widgets`` then ``scores_widgets.table(…)``: no aliases for app modules."""
    hits = []
    for p in _app_files(*APP_DIRS):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("pages", "dashboard"):
                hits += [f"{p.relative_to(ROOT)}:{node.lineno}: {a.name} as {a.asname}" for a in node.names if a.asname]
    assert hits == []
