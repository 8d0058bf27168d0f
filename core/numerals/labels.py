"""The one parser of reference-numeral phrases: "a housing 10 having a lid 12" → {10: housing, 12: lid}.

A patent description names a drawn part by a noun phrase followed by its reference numeral(s):
``spring 12``, ``spring (12)``, ``springs 12a, 12b``, ``springs 12a-12c``, ``arms 12', 14``,
``the first and second rollers 20 and 22``. The phrase before the numerals is cut at the last
word that cannot belong to a part name (articles, verbs, prepositions, punctuation) and, where
the figure's component labels contain the phrase's tail, snapped to the longest such label.

Numerals are normalised (``key``): lower case, primes kept (``12'`` and ``12`` are different
parts), surrounding brackets dropped. ``FIG. 3`` / ``Figures 1 to 4`` / ``claim 2`` / years are
not numerals of parts.
"""
from __future__ import annotations

import re
from typing import Iterable

#: A numeral as printed in a drawing or a description: 1-4 digits, an optional letter, primes.
NUMERAL = r"\d{1,4}[a-zA-Z]?(?:'{1,3}|′{1,3})?"
_NUMERAL_RE = re.compile(rf"^\(?({NUMERAL})\)?[.,;:]?$")
#: A run of numerals after a name: "12", "(12)", "12a-12c", "12a to 12c", "12', 14 and 16".
_RUN = (rf"\(?{NUMERAL}\)?(?:\s*(?:-|–|to|through)\s*{NUMERAL})?"
        rf"(?:\s*(?:,|and|or|/|&|,\s*and)\s*\(?{NUMERAL}\)?(?:\s*(?:-|–|to|through)\s*{NUMERAL})?)*")
_PHRASE = re.compile(rf"(?P<words>[A-Za-z][A-Za-z\- ]{{0,80}}?)\s*(?P<run>\(?(?<![\w.]){_RUN})(?![\w'′])")
#: Words before a numeral that make it something other than a part's numeral.
_NOT_PARTS = {"fig", "figs", "figure", "figures", "claim", "claims", "embodiment", "embodiments", "step",
              "steps", "table", "example", "examples", "page", "paragraph", "line", "lines", "column",
              "section", "chapter", "sheet", "numeral", "numerals", "reference", "about", "approximately",
              "than", "least", "most", "of", "to", "from", "and", "or", "by", "in", "at", "is", "are",
              "be", "with", "between", "number", "formula", "equation", "ratio", "degrees", "mm", "cm", "percent",
              "received", "filed", "dated", "published", "year", "january", "february", "march", "april",
              "may", "june", "july", "august", "september", "october", "november", "december"}
#: Words that end a part name looking backwards (the name is what comes after the last of them).
_STOP = {"a", "an", "the", "said", "this", "that", "these", "those", "each", "its", "their", "his", "her",
         "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "onto", "over", "under", "and",
         "or", "is", "are", "was", "were", "be", "been", "has", "have", "having", "had", "which", "where",
         "wherein", "whereby", "includes", "including", "include", "comprises", "comprising", "comprise",
         "shows", "show", "shown", "illustrates", "illustrating", "depicts", "view", "as", "via", "through",
         "between", "when", "while", "then", "also", "such", "can", "may", "will", "provided", "formed",
         "connected", "coupled", "attached", "mounted", "arranged", "disposed", "located", "positioned",
         "fig", "figs", "figure", "figures", "first", "second", "third", "fourth", "plurality", "pair",
         "one", "two", "three", "four", "both", "all", "some", "it", "they", "there", "here", "not", "no",
         # verbs in -ing that join two parts ("a frame 20 carrying rollers 22")
         "carrying", "holding", "supporting", "containing", "receiving", "showing", "forming", "defining",
         "connecting", "surrounding", "extending", "enclosing", "providing", "using", "being", "engaging"}
_ORDINALS = {"first", "second", "third", "fourth", "fifth", "upper", "lower", "left", "right", "front",
             "rear", "inner", "outer"}
MAX_NAME_WORDS = 4


def key(numeral: str) -> str:
    """The normalised form of a numeral ("(12A)" → "12a", "12′" → "12'"); "" when it is none."""
    m = _NUMERAL_RE.match(numeral.strip().replace("′", "'"))
    return m.group(1).lower() if m else ""


def is_numeral(text: str) -> bool:
    """Whether ``text`` (an OCR token) reads as a reference numeral."""
    return bool(key(text))


def _expand(run: str) -> list[str]:
    """Numerals of a run: "12a-12c" → 12a 12b 12c; "10-14" → 10 14 (numeric ranges name the ends
    only: 10-14 rarely means 10, 11, ... 14); "12', 14 and (16)" → 12' 14 16."""
    out: list[str] = []
    for part in re.split(r"\s*(?:,\s*and|,|and|or|/|&)\s*", run.replace("′", "'")):
        rng = re.fullmatch(rf"\(?({NUMERAL})\)?\s*(?:-|–|to|through)\s*({NUMERAL})", part.strip())
        if rng:
            a, b = key(rng.group(1)), key(rng.group(2))
            ma, mb = re.fullmatch(r"(\d+)([a-z])", a), re.fullmatch(r"(\d+)([a-z])", b)
            if ma and mb and ma.group(1) == mb.group(1) and ma.group(2) <= mb.group(2) \
                    and ord(mb.group(2)) - ord(ma.group(2)) <= 12:
                out += [ma.group(1) + chr(c) for c in range(ord(ma.group(2)), ord(mb.group(2)) + 1)]
            else:
                out += [a, b]
        elif key(part):
            out.append(key(part))
    return [n for n in out if n]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _name(words: str, labels: Iterable[str]) -> str:
    """The part name at the end of ``words``: cut at the last stop word, snapped to the longest
    component label the tail ends with; "" when nothing is left."""
    toks = [t for t in re.split(r"[\s]+", words.strip().lower()) if t]
    if not toks or toks[-1] in _NOT_PARTS:
        return ""
    tail: list[str] = []
    for t in reversed(toks):
        if t in _STOP and not (t in _ORDINALS and tail):
            break
        tail.insert(0, t)
        if len(tail) >= MAX_NAME_WORDS:
            break
    if not tail:
        return ""
    best = " ".join(tail)
    for lab in labels:
        lw = lab.lower().split()
        if lw and len(lw) <= len(toks) and [_singular(w) for w in toks[-len(lw):]] == [_singular(w) for w in lw] \
                and len(lab) > len(best):
            best = lab.lower()
    return best


def _names_for(name: str, words: str, n: int) -> list[str]:
    """One name per numeral of a run: "first and second rollers" with two numerals → first
    roller, second roller; a plural name with several numerals → its singular for each."""
    if n <= 1:
        return [name] * n
    head = name.split()
    base = " ".join(head[:-1] + [_singular(head[-1])])
    m = re.search(r"(\w+)\s+and\s+(\w+)\s+" + re.escape(name.split(" ", 1)[-1] if head[0] in _ORDINALS else name) + r"\s*$",
                  words.strip().lower())
    if m and n == 2 and m.group(1) in _ORDINALS and m.group(2) in _ORDINALS:
        rest = base.split(" ", 1)[-1] if head[0] in _ORDINALS else base
        return [f"{m.group(1)} {rest}", f"{m.group(2)} {rest}"]
    return [base] * n


def parse_numeral_labels(text: str, labels: Iterable[str] = ()) -> dict[str, str]:
    """``{numeral key: part name}`` named in ``text``; the first naming of a numeral wins (later
    mentions "the spring 12" repeat it). ``labels``: the figure's component labels, used to
    choose the name's extent."""
    labels = tuple(labels)
    found: dict[str, str] = {}
    clean = re.sub(r"\b(?:FIGS?|Figs?|FIGURES?|Figures?)\.?\s*" + _RUN, " ", text or "")
    for sentence in re.split(r"[.;:!?\n]+(?=\s|$)", clean):
        for m in _PHRASE.finditer(sentence):
            words = re.split(r"[,()\[\]\"]", m.group("words"))[-1]
            name = _name(words, labels)
            if not name:
                continue
            nums = _expand(m.group("run"))
            for n, part in zip(nums, _names_for(name, words, len(nums))):
                found.setdefault(n, part)
    return found
