"""The import graph of ``core`` runs one way: no module imports a room on a higher floor.

Imports are read with ``ast`` (module level and inside functions, so lazy imports count too);
nothing is imported. Rooms are the first name below ``core`` (``core.corpora.demo.render`` is in
room ``corpora``). A room not placed in ``FLOORS`` yet (work in progress) is only checked for
Streamlit; place it once its dependencies have settled.
"""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"

#: Floors from the ground up; a module may import rooms on its own floor or below.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"config", "errors", "textio", "store", "figures"}),  # ground: paths, errors, files
    frozenset({"qrels", "metrics", "protocols"}),  # judgements, measures, named preprocessing
    frozenset({"corpora"}),  # datasets and their benchmarks
    frozenset({"download", "encoders"}),  # fetching datasets; figure/text → vectors
    frozenset({"embed"}),  # cached embeddings of a corpus
    frozenset({"index", "maps"}),  # what is built on embeddings
    frozenset({"search", "evaluation", "annotation", "adapt", "engine", "comparison"}),  # users
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
