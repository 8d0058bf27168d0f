"""Work units and the mapper every engine distributes.

A unit is one WebDataset shard (its images are streamed from it) or, for folder corpora, a
run of ``FILES_PER_UNIT`` figures. The mapper turns a unit and the content keys still
missing from the cache into vectors, with the same per-batch step as the local build
(:func:`core.embed.encode_batch`); the driver writes each finished unit to the vector cache,
so a stopped build loses at most the units in flight.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..corpora.base import Corpus
from ..embed import encode_batches, require
from ..figures import Figure, figure_digest, open_image, shard_of
from ..protocols import get_protocol, open_as_stored

#: Figures per unit for corpora that are not sharded.
FILES_PER_UNIT = 256


@dataclass(frozen=True)
class WorkUnit:
    """One shard (``shard`` set; images streamed from it) or a run of image files."""

    name: str
    figures: tuple[Figure, ...]
    shard: str = ""


@dataclass(frozen=True, eq=False)
class UnitResult:
    """The vectors a mapper produced for one unit (rows in ``keys`` order)."""

    unit: str
    keys: tuple[str, ...]
    vectors: np.ndarray = field(repr=False)
    problems: tuple[str, ...] = ()

    def to_row(self) -> dict:
        """A plain row (bytes and strings only) for transport between processes."""
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(self.vectors, dtype=np.float32), allow_pickle=False)
        return {"unit": self.unit, "keys": "\n".join(self.keys), "vectors": buf.getvalue(),
                "problems": "\n".join(self.problems)}

    @classmethod
    def from_row(cls, row: dict) -> "UnitResult":
        keys = tuple(k for k in str(row["keys"]).split("\n") if k)
        vectors = np.load(io.BytesIO(bytes(row["vectors"])), allow_pickle=False)
        problems = tuple(p for p in str(row["problems"]).split("\n") if p)
        return cls(str(row["unit"]), keys, vectors, problems)


def work_units(corpus: Corpus, per_unit: int = FILES_PER_UNIT) -> list[WorkUnit]:
    """The corpus cut into units: one per shard for sharded corpora, else runs of files."""
    shards = getattr(corpus, "shards", ())
    if shards:
        by_shard: dict[str, list[Figure]] = {}
        for f in corpus.figures:
            by_shard.setdefault(shard_of(f), []).append(f)
        units = []
        for shard in shards:
            figs = by_shard.get(str(Path(shard)), [])
            if figs:
                units.append(WorkUnit(shard, tuple(figs), shard=shard))
        return units
    figs = corpus.figures
    return [WorkUnit(f"figures {i}-{min(i + per_unit, len(figs)) - 1}", tuple(figs[i:i + per_unit]))
            for i in range(0, len(figs), per_unit)]


class Mapper:
    """One encoder, loaded once, turning units into vectors (one per engine worker)."""

    def __init__(self, spec: str):
        self.encoder = require(spec)
        self.encoder.dim  # noqa: B018 - load the model now, not on the first batch

    def __call__(self, unit: WorkUnit, wanted: list[str]) -> UnitResult:
        enc = self.encoder
        problems: list[str] = []
        keys, loaders = self._read(unit, set(wanted), enc.protocol, problems,
                                   getattr(enc, "image_mode", "RGB"))
        batches = [loaders[start:start + enc.batch_size] for start in range(0, len(loaders), enc.batch_size)]
        out = list(encode_batches(enc.encode_images, batches, problems))
        vectors = np.concatenate(out) if out else np.zeros((0, int(enc.dim)), dtype=np.float32)
        return UnitResult(unit.name, tuple(keys), vectors, tuple(problems))

    @staticmethod
    def _read(unit: WorkUnit, wanted: set[str], protocol: str, problems: list[str],
              mode: str = "RGB") -> tuple[list[str], list]:
        """(keys, image loaders) of the wanted images of a unit, each key once; images are
        opened as the encoder's protocol opens them in the local build."""
        proto = get_protocol(protocol)
        keys: list[str] = []
        loaders: list = []
        seen: set[str] = set()
        if unit.shard:
            from ..corpora.webdataset import iter_images

            errors: list[str] = []
            for digest, data, member in iter_images(unit.shard, wanted, errors):
                if digest in seen:
                    continue
                seen.add(digest)
                keys.append(digest)
                loaders.append(lambda d=data, m=member: _open_bytes(proto, d, f"{unit.shard}:{m}", mode))
            problems += [f"shard {unit.shard}: {e}" for e in errors]
            return keys, loaders
        for f in unit.figures:
            digest = figure_digest(f)
            if digest in wanted and digest not in seen:
                seen.add(digest)
                keys.append(digest)
                loaders.append(lambda f=f: proto.load_image(f, mode))
        return keys, loaders


def _open_bytes(protocol, data: bytes, name: str, mode: str = "RGB"):
    """A streamed image opened the way ``protocol.load_image`` opens a file."""
    if protocol.images_as_stored:
        return open_as_stored(io.BytesIO(data), name=name)
    return open_image(data, name=name, mode=mode)
