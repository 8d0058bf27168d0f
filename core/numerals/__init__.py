"""Reference numerals: read the numbers in a drawing (OCR, with boxes) and name the part each
stands for from the figure's description ("a housing 10 having a lid 12" → 10: housing).

``labels`` — the one parser of numeral phrases; ``ocr`` — the engine registry (Tesseract default);
``build`` — the cached, resumable per-corpus build and the linking.
"""
from .build import (NUMERALS_VERSION, FigureNumerals, Numeral, NumeralBuild, build_numerals, engine_key, link,
                    part_matches, read_figure)
from .labels import is_numeral, key, parse_numeral_labels
from .ocr import DEFAULT_ENGINE, ENGINES, EngineUnavailable, Token, engine_available, get_engine

__all__ = ["NUMERALS_VERSION", "FigureNumerals", "Numeral", "NumeralBuild", "build_numerals", "engine_key", "link",
           "part_matches", "read_figure", "is_numeral", "key", "parse_numeral_labels", "DEFAULT_ENGINE", "ENGINES",
           "EngineUnavailable", "Token", "engine_available", "get_engine"]
