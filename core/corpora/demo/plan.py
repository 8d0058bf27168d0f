"""The invention plan: fake patents (family, function, parts, alternative embodiment) and their figures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .catalog import PartDesign, designs_of
from .dates import assign_dates
from .housings import FAMILIES, HOUSINGS, Housing

#: Seed of the default demo corpus.
DEMO_SEED = 0
N_INVENTIONS = 48

#: function → (CPC sections, device nouns, part kinds to pick from)
FUNCTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "power transmission": (("F", "B"), ("GEARBOX", "DRIVE UNIT", "TRANSMISSION ASSEMBLY", "POWER TAKE-OFF UNIT"),
                           ("gear", "gear", "shaft", "bearing", "pulley", "bolt")),
    "damping vibrations": (("F", "B"), ("VIBRATION DAMPER", "SHOCK-ABSORBING MOUNT", "ANTI-VIBRATION SUPPORT",
                                        "DAMPING UNIT"), ("spring", "piston", "plate", "bolt", "hinge", "bearing")),
    "fastening panels": (("E", "F"), ("PANEL FASTENING DEVICE", "PANEL CLAMP", "FIXING BRACKET FOR WALL PANELS",
                                      "PANEL CONNECTOR"), ("bolt", "hinge", "plate", "lever", "spring")),
    "lifting loads": (("B", "E"), ("LIFTING DEVICE", "HOIST", "LOAD LIFTING APPARATUS", "WINCH"),
                      ("pulley", "hook", "gear", "lever", "wheel", "shaft")),
    "conducting current": (("H",), ("ELECTRICAL CONNECTOR", "CURRENT COLLECTOR", "TERMINAL ASSEMBLY",
                                    "BUSBAR COUPLING"), ("coil", "terminal", "spring", "bolt", "plate")),
    "pumping fluid": (("F", "A"), ("PUMP", "FLUID DELIVERY UNIT", "DOSING PUMP", "CIRCULATION PUMP"),
                      ("impeller", "shaft", "nozzle", "piston", "bearing")),
    "cutting material": (("B", "A"), ("CUTTING TOOL", "SHEARING APPARATUS", "TRIMMING DEVICE", "CUTTING HEAD"),
                         ("blade", "lever", "hinge", "spring", "shaft", "wheel")),
    "mixing liquids": (("B", "C"), ("MIXING DEVICE", "AGITATOR", "STIRRING APPARATUS", "BLENDING UNIT"),
                       ("impeller", "shaft", "gear", "nozzle", "bearing")),
    "measuring rotation": (("G",), ("ROTARY ENCODER", "SPEED SENSOR", "ROTATION MEASURING DEVICE",
                                    "TACHOMETER UNIT"), ("disc", "shaft", "bearing", "terminal", "coil")),
    "winding thread": (("D", "B"), ("YARN WINDING DEVICE", "SPOOL HOLDER", "THREAD TENSIONING UNIT",
                                    "WINDING MACHINE"), ("spool", "shaft", "gear", "lever", "spring", "wheel")),
}
_GENERIC_KINDS = ("bolt", "plate", "shaft", "bearing", "spring", "lever")
_TITLE_ADJ = {"gear": "GEAR-DRIVEN", "spring": "SPRING-LOADED", "lever": "LEVER-OPERATED", "piston": "HYDRAULIC",
              "coil": "ELECTROMAGNETIC", "pulley": "PULLEY-TYPE", "impeller": "ROTARY", "bolt": "BOLTED",
              "hinge": "HINGED", "wheel": "WHEELED", "blade": "BLADED", "disc": "OPTICAL", "spool": "REEL-TYPE",
              "bearing": "BEARING-MOUNTED", "hook": "HOOK-TYPE", "terminal": "PLUG-IN", "nozzle": "JET-TYPE"}
_VIEW_NAMES = ("front view", "front elevation", "side elevation")

#: view kinds that show the whole invention (vs "detail" views of one part)
WHOLE_VIEWS = frozenset({"full", "section", "exploded", "alternative"})


@dataclass
class FigurePlan:
    """One figure to draw, with its record texts and generation facts."""

    id: str
    invention: int
    number: int
    view: str  # full | section | exploded | detail | alternative
    part_index: int = -1  # detail views: index into the parts drawn (alt parts for alt detail)
    alt: bool = False
    description: str = ""
    labels: tuple[str, ...] = ()
    parts_shown: frozenset[str] = frozenset()  # part design keys visible in the figure
    part_key: str = ""  # detail views: the design shown


@dataclass
class Invention:
    """A fake patent: housing family, function, parts, alternative embodiment and figures."""

    index: int
    patent: str
    family: str
    function: str
    section: str
    device: str
    title: str
    ja: float
    jb: float
    parts: list[PartDesign]
    alt_parts: list[PartDesign]
    swapped: int
    view_name: str
    figures: list[FigurePlan] = field(default_factory=list)
    priority_date: str = ""  # ISO dates, set by ``dates.assign_dates``
    publication_date: str = ""


def _pick_designs(rng: np.random.Generator, pool: Sequence[str], n: int) -> list[PartDesign]:
    kinds = [str(k) for k in rng.permutation(np.array(pool))]
    kinds += [k for k in rng.permutation(np.array(_GENERIC_KINDS)).tolist()]
    chosen: list[PartDesign] = []
    for kind in kinds:
        if len(chosen) >= n:
            break
        free = [d for d in designs_of(kind) if d not in chosen]
        if free:
            chosen.append(free[int(rng.integers(len(free)))])
    return chosen


def _title(rng: np.random.Generator, noun: str, parts: list[PartDesign]) -> str:
    adj = _TITLE_ADJ.get(parts[0].kind, "")
    second = parts[1].name.upper()
    third = parts[2].name.upper()
    style = int(rng.integers(3))
    if style == 0 and adj:
        return f"{adj} {noun} WITH {second}"
    if style == 1:
        return f"{noun} HAVING A {parts[0].name.upper()} AND A {second}"
    return f"{noun} COMPRISING A {second} AND A {third}"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def build_spec(seed: int = DEMO_SEED) -> list[Invention]:
    """Plan every invention and figure (no drawing); deterministic from ``seed``."""
    rng = np.random.default_rng([seed, 7])
    fam_idx = rng.permutation(np.arange(N_INVENTIONS) % len(FAMILIES))
    fun_names = list(FUNCTIONS)
    fun_idx = rng.permutation(np.arange(N_INVENTIONS) % len(fun_names))
    used_numbers: set[int] = set()
    seen_function: dict[str, int] = {}
    inventions: list[Invention] = []
    for idx in range(N_INVENTIONS):
        r = np.random.default_rng([seed, 1000 + idx])
        family, function = FAMILIES[int(fam_idx[idx])], fun_names[int(fun_idx[idx])]
        sections, nouns, pool = FUNCTIONS[function]
        occurrence = seen_function.get(function, 0)
        seen_function[function] = occurrence + 1
        section = sections[occurrence % len(sections)]
        while True:
            num = int(rng.integers(1_000_000, 9_999_999))
            if num not in used_numbers:
                used_numbers.add(num)
                break
        kind_code = ("A1", "A1", "A2", "B1")[int(rng.integers(4))]
        ja, jb = (float(x) for x in r.uniform(0.9, 1.1, 2))
        n_slots = len(HOUSINGS[family](ja, jb, False).slots)
        n_parts = min(int(r.integers(4, 7)), n_slots)
        parts = _pick_designs(r, pool, n_parts)
        noun = str(nouns[int(r.integers(len(nouns)))])
        # alternative embodiment: one part swapped for another design (same kind when possible)
        swappable = [i for i, d in enumerate(parts) if any(o not in parts for o in designs_of(d.kind))]
        swapped = int(swappable[int(r.integers(len(swappable)))]) if swappable else 0
        options = [o for o in designs_of(parts[swapped].kind) if o not in parts] or \
                  [o for k in _GENERIC_KINDS for o in designs_of(k) if o not in parts]
        alt_parts = list(parts)
        alt_parts[swapped] = options[int(r.integers(len(options)))]
        inv = Invention(idx, f"XX{num}{kind_code}", family, function, section, noun.lower(),
                        _title(r, noun, parts), ja, jb, parts, alt_parts, swapped,
                        str(_VIEW_NAMES[int(r.integers(len(_VIEW_NAMES)))]))
        details = sorted(int(i) for i in r.choice(len(parts), 3, replace=False))
        alt_detail = bool(r.random() < 0.5)
        _plan_figures(inv, details, alt_detail)
        inventions.append(inv)
    assign_dates(inventions, seed)
    return inventions


def _housing_labels(h: Housing) -> list[str]:
    return [h.name] + list(h.features)[:2]


def _plan_figures(inv: Invention, details: list[int], alt_detail: bool) -> None:
    dev = inv.device
    base_h = HOUSINGS[inv.family](inv.ja, inv.jb, False)
    alt_h = HOUSINGS[inv.family](inv.ja, inv.jb, True)
    whole_labels = tuple(_housing_labels(base_h) + [d.name for d in inv.parts])
    keys = frozenset(d.key for d in inv.parts)
    plans: list[FigurePlan] = []

    def add(view: str, **kw: object) -> FigurePlan:
        n = len(plans) + 1
        fp = FigurePlan(id=f"demo-{inv.index:02d}-{n}", invention=inv.index, number=n, view=view, **kw)  # type: ignore[arg-type]
        plans.append(fp)
        return fp

    f1 = add("full", labels=whole_labels, parts_shown=keys)
    f1.description = (f"FIG. 1 is a {inv.view_name} of the {dev} according to a first embodiment of the "
                      f"invention, shown with the front cover removed.")
    fs = add("section", labels=whole_labels + ("wall",), parts_shown=keys)
    fs.description = f"FIG. {fs.number} is a cross-sectional view of the {dev} taken along line A-A of FIG. 1."
    fe = add("exploded", labels=whole_labels, parts_shown=keys)
    names = [d.name for d in inv.parts]
    fe.description = (f"FIG. {fe.number} is an exploded view of the {dev} of FIG. 1, showing the "
                      f"{', the '.join(names[:-1])} and the {names[-1]} separated from the {base_h.name}.")
    for i in details:
        d = inv.parts[i]
        fd = add("detail", part_index=i, labels=(d.name,) + d.features, parts_shown=frozenset({d.key}), part_key=d.key)
        fd.description = f"FIG. {fd.number} is a detail view of the {d.name} of FIG. 1."
    fa = add("alternative", alt=True, labels=tuple(_housing_labels(alt_h) + [d.name for d in inv.alt_parts]),
             parts_shown=frozenset(d.key for d in inv.alt_parts))
    old, new = inv.parts[inv.swapped], inv.alt_parts[inv.swapped]
    fa.description = (f"FIG. {fa.number} is a {inv.view_name} of an alternative embodiment of the {dev}, in which "
                      f"the {old.name} is replaced by {_article(new.name)} {new.name} and the {alt_h.name} is modified.")
    if alt_detail:
        fx = add("detail", part_index=inv.swapped, alt=True, labels=(new.name,) + new.features,
                 parts_shown=frozenset({new.key}), part_key=new.key)
        fx.description = f"FIG. {fx.number} is an enlarged detail view of the {new.name} of the embodiment of FIG. {fa.number}."
    inv.figures = plans
