"""Loader for the UPAIR benchmark layout (metadata.json, test/images/, qrels per axis)."""
from __future__ import annotations

import json
from pathlib import Path

from ..figures import IMAGE_EXTENSIONS, Figure, parse_date, parse_labels
from ..qrels import read_qrels
from .base import AXES, Benchmark, Corpus, DatasetError, decode_text
from .cpc import parse_cpc_list


def find_metadata(root: Path) -> Path:
    """Locate metadata.json at ``root`` or up to two levels below (e.g. ``test/``).

    The shallowest match wins; among equals one inside a ``test`` folder, then by name.
    macOS resource forks (``__MACOSX``) are ignored.
    """
    root = Path(root)
    if root.is_file() and root.name == "metadata.json":
        return root
    found = [p for pat in ("metadata.json", "*/metadata.json", "*/*/metadata.json") for p in root.glob(pat)]
    found = [p for p in found if p.is_file() and "__MACOSX" not in p.parts]
    if not found:
        raise DatasetError(
            f"no metadata.json found in {root} (looked in it and two levels below); "
            "point at the folder of the unpacked UPAIR archive, or run `python -m core download-upair`."
        )
    found.sort(key=lambda p: (len(p.relative_to(root).parts), "test" not in p.parent.name.lower(), str(p)))
    return found[0]


def _image_dirs(root: Path, meta_dir: Path) -> list[Path]:
    dirs = [meta_dir / "test" / "images", meta_dir / "images", root / "test" / "images", root / "images", meta_dir]
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def _find_image(hashcode: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for ext in IMAGE_EXTENSIONS:
            p = d / f"{hashcode}{ext}"
            if p.is_file():
                return p
    return None


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _read_metadata(meta_path: Path, warnings: list[str]) -> dict:
    """The parsed metadata.json object; ``DatasetError`` naming the line when it is not one."""
    try:
        meta = json.loads(decode_text(meta_path.read_bytes(), meta_path, warnings))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{meta_path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from exc
    except RecursionError as exc:
        raise DatasetError(f"{meta_path} is nested too deeply to read; expected an object mapping "
                           "query hash → {query, candidates}") from exc
    except (OSError, MemoryError) as exc:
        raise DatasetError(f"cannot read {meta_path}: {exc}") from exc
    if not isinstance(meta, dict):
        raise DatasetError(f"{meta_path} must hold an object mapping query hash → {{query, candidates}}")
    return meta


def _read_axis_qrels(folders: tuple[Path, ...], figures: dict[str, Figure], warnings: list[str]
                     ) -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, str]]:
    """``qrels_<axis>.txt`` of every axis from the first folder that has it; judgements naming
    ids that are not figures are dropped with a warning."""
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    qrels_files: dict[str, str] = {}
    for axis in AXES:
        for d in folders:
            p = d / f"qrels_{axis}.txt"
            if p.is_dir():
                warnings.append(f"{p} is a folder, not a qrels file; the {axis} axis is not judged")
                break
            if p.is_file():
                q, problems = read_qrels(p, strict=False)
                warnings.extend(problems)
                if not any(q.values()):
                    warnings.append(f"{p}: holds no judgements; the {axis} axis is not judged")
                    break
                unknown = sorted({f"{qid}/{doc}" for qid, docs in q.items() for doc in docs
                                  if qid not in figures or doc not in figures})
                if unknown:
                    warnings.append(f"{p}: {len(unknown)} judgement(s) name unknown ids (e.g. {unknown[0]}); ignored")
                    q = {qid: {d2: r for d2, r in docs.items() if d2 in figures}
                         for qid, docs in q.items() if qid in figures}
                qrels[axis] = q
                qrels_files[axis] = str(p)
                break
    return qrels, qrels_files


def load_upair(root: Path | str, name: str | None = None) -> Corpus:
    """Load a UPAIR-layout benchmark; bad records are skipped and counted in ``warnings``."""
    root = Path(root).expanduser().resolve()
    meta_path = find_metadata(root)
    try:
        return _load_upair(root, meta_path, name)
    except RecursionError as exc:  # values nested thousands deep (str() of them recurses)
        raise DatasetError(f"{meta_path} holds values nested too deeply to read; expected records with "
                           "plain text fields (hashcode, title, description, component_labels)") from exc


def _load_upair(root: Path, meta_path: Path, name: str | None) -> Corpus:
    warnings: list[str] = []
    meta = _read_metadata(meta_path, warnings)
    dirs = _image_dirs(root, meta_path.parent)
    figures: dict[str, Figure] = {}
    candidates: dict[str, tuple[str, ...]] = {}

    def add(rec: object, where: str) -> str | None:
        if not isinstance(rec, dict) or not rec.get("hashcode"):
            warnings.append(f"{meta_path}: {where}: record without a hashcode skipped")
            return None
        hid = str(rec["hashcode"])
        if "/" in hid or "\\" in hid or hid.strip(".") == "":
            warnings.append(f"{meta_path}: {where}: hashcode {hid!r} is not a file name; skipped")
            return None
        path = _find_image(hid, dirs)
        if path is None:
            warnings.append(f"{meta_path}: {where}: image for {hid} not found in {', '.join(map(str, dirs))}; skipped")
            return None
        fig = Figure(
            id=hid,
            path=path,
            patent=str(rec.get("patent", "") or ""),
            section=str(rec.get("section", "") or "")[:1].upper(),
            title=_text(rec.get("title")),
            description=_text(rec.get("description", rec.get("fig_desc"))),
            labels=parse_labels(rec.get("component_labels")),
            source="upair",
            priority_date=parse_date(rec.get("priority_date")),
            publication_date=parse_date(rec.get("publication_date")),
            cpc=parse_cpc_list(rec.get("cpc", rec.get("cpc_codes"))),
        )
        if hid in figures and figures[hid] != fig:
            warnings.append(f"{meta_path}: duplicate id {hid} with different metadata; kept the first")
        figures.setdefault(hid, fig)
        return hid

    for key, entry in meta.items():
        if not isinstance(entry, dict) or "query" not in entry:
            warnings.append(f"{meta_path}: entry {key!r} has no 'query' record; skipped")
            continue
        qid = add(entry["query"], f"query {key}")
        if qid is None:
            continue
        if qid in candidates:
            warnings.append(f"{meta_path}: entry {key!r} repeats query {qid}; kept the first entry")
            continue
        cands = entry.get("candidates", [])
        if isinstance(cands, dict):
            cands = [cands]
        elif not isinstance(cands, list):
            warnings.append(f"{meta_path}: candidates of query {key} are not a list of records; ignored")
            cands = []
        ids = [add(c, f"candidate {i} of query {key}") for i, c in enumerate(cands or [])]
        candidates[qid] = tuple(dict.fromkeys(i for i in ids if i and i != qid))

    qrels, qrels_files = _read_axis_qrels((meta_path.parent / "test", meta_path.parent, root / "test", root),
                                          figures, warnings)
    if not figures:
        raise DatasetError(f"{meta_path}: no usable figures (every record was skipped: {warnings[:3]})")
    bench = Benchmark(queries=tuple(candidates), candidates=candidates, qrels=qrels, qrels_files=qrels_files)
    synthetic = _is_generated_demo(meta_path.parent)
    if synthetic:
        warnings.append(f"{meta_path.parent} is the generated demo corpus (synthetic drawings and judgements), "
                        "not UPAIR data")
    return Corpus(
        name=name or f"upair:{root}", kind="upair", root=root, figures=tuple(figures.values()),
        benchmark=bench, synthetic=synthetic, warnings=tuple(warnings),
    )


def _is_generated_demo(folder: Path) -> bool:
    """Whether ``folder`` is a copy of the generated demo corpus (its README says so)."""
    try:
        with open(folder / "README.txt", "rb") as fh:
            return fh.read(64).startswith(b"UPAIR Explorer demo corpus (SYNTHETIC)")
    except OSError:
        return False


def find_dataset_root(folder: Path) -> Path | None:
    """The folder holding ``metadata.json`` at ``folder`` or up to two levels below, else None."""
    try:
        return find_metadata(Path(folder)).parent
    except DatasetError:
        return None
