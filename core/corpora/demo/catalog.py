"""The part catalogue: each part design is drawn identically wherever it appears."""
from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class PartDesign:
    """One reusable part design; ``features`` are the sub-features labelled in detail views."""

    key: str
    kind: str
    name: str
    features: tuple[str, ...]
    params: tuple[tuple[str, object], ...] = ()

    @property
    def p(self) -> dict:
        return dict(self.params)


def _d(kind: str, name: str, features: tuple[str, ...], **params: object) -> tuple:
    return kind, name, features, tuple(sorted(params.items()))


_CATALOG_SPEC = [
    _d("gear", "pinion", ("teeth", "hub"), teeth=9, hub=0.36),
    _d("gear", "spur gear", ("teeth", "hub", "lightening hole"), teeth=14, hub=0.3, holes=4),
    _d("gear", "drive gear", ("teeth", "hub", "lightening hole"), teeth=18, hub=0.28, holes=6),
    _d("gear", "worm wheel", ("teeth", "hub"), teeth=24, hub=0.42),
    _d("shaft", "output shaft", ("shoulder", "keyway"), dia=0.28, stepped=True, keyed=True),
    _d("shaft", "drive shaft", ("keyway", "chamfered end"), dia=0.24, keyed=True),
    _d("shaft", "axle", ("chamfered end",), dia=0.32),
    _d("spring", "compression spring", ("spring coil", "spring seat"), style="compression", coils=7),
    _d("spring", "return spring", ("spring coil", "spring seat"), style="compression", coils=4),
    _d("spring", "tension spring", ("spring coil", "hook end"), style="tension", coils=8),
    _d("spring", "leaf spring", ("spring leaf", "spring eye", "centre clamp"), style="leaf", leaves=3),
    _d("spring", "contact spring", ("contact point",), style="contact"),
    _d("wheel", "wheel", ("tyre", "hub", "spoke"), spokes=5),
    _d("wheel", "castor wheel", ("tyre", "hub"), holes=4),
    _d("wheel", "guide roller", ("tyre", "hub"), grooved=True),
    _d("hinge", "hinge", ("hinge leaf", "knuckle", "hinge pin"), knuckles=3),
    _d("hinge", "pivot hinge", ("hinge leaf", "knuckle", "hinge pin"), knuckles=5),
    _d("bolt", "mounting bolt", ("bolt head", "thread", "nut"), style="hex", nut=True),
    _d("bolt", "screw", ("screw head", "thread"), style="countersunk"),
    _d("bolt", "clamping bolt", ("bolt head", "thread", "washer"), style="hex", washer=True),
    _d("pulley", "pulley", ("groove", "rope"), rope=True, holes=4),
    _d("pulley", "sheave", ("groove", "spoke"), spokes=6),
    _d("bearing", "ball bearing", ("outer race", "ball", "inner race"), style="ball", n=8),
    _d("bearing", "roller bearing", ("outer race", "roller", "inner race"), style="roller", n=11),
    _d("lever", "lever", ("pivot hole",), style="straight"),
    _d("lever", "crank arm", ("pivot hole",), style="taper"),
    _d("lever", "handle", ("grip", "pivot hole"), style="grip"),
    _d("piston", "piston assembly", ("cylinder", "piston head", "piston rod")),
    _d("piston", "damper cylinder", ("cylinder", "piston rod", "fluid port"), port=True),
    _d("coil", "coil", ("winding", "bobbin", "lead wire"), turns=8),
    _d("coil", "solenoid", ("winding", "bobbin"), turns=12),
    _d("terminal", "terminal block", ("contact pin", "clamping screw"), pins=3, screws=True),
    _d("terminal", "plug connector", ("contact pin", "latch"), pins=2),
    _d("blade", "cutting blade", ("cutting edge", "bevel", "mounting hole")),
    _d("blade", "serrated blade", ("serrated edge", "mounting hole"), serrated=True),
    _d("impeller", "impeller", ("vane", "hub", "shroud"), vanes=6),
    _d("impeller", "mixing paddle", ("paddle blade", "hub"), style="paddle", vanes=3),
    _d("nozzle", "nozzle", ("outlet", "flange")),
    _d("nozzle", "spray nozzle", ("outlet", "flange", "swirl insert"), insert=True),
    _d("plate", "mounting plate", ("fixing hole",), rows=2, cols=3),
    _d("plate", "clamping plate", ("slot",), slot=True),
    _d("plate", "panel", ("panel edge", "fixing hole"), rows=1, cols=4),
    _d("spool", "spool", ("spool flange", "thread winding")),
    _d("spool", "thread reel", ("spool flange", "thread winding"), narrow=True),
    _d("disc", "encoder disc", ("slot", "hub"), slots=16),
    _d("disc", "slotted disc", ("slot", "hub"), slots=8),
    _d("hook", "load hook", ("hook", "eye", "safety latch"), latch=True),
    _d("hook", "lifting hook", ("hook", "eye")),
]


def _make_catalog() -> dict[str, PartDesign]:
    out: dict[str, PartDesign] = {}
    count: dict[str, int] = {}
    for kind, name, feats, params in _CATALOG_SPEC:
        i = count.get(kind, 0)
        count[kind] = i + 1
        key = f"{kind}-{i}"
        out[key] = PartDesign(key, kind, name, feats, params)
    return out


CATALOG: dict[str, PartDesign] = _make_catalog()
ROUND_KINDS = frozenset({"gear", "wheel", "pulley", "bearing", "impeller", "disc"})


def designs_of(kind: str) -> list[PartDesign]:
    return [d for d in CATALOG.values() if d.kind == kind]
