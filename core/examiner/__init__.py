"""Search for a patent examiner: regions and several figures as one query, hits grouped by patent,
earlier art by priority date, citations found per encoder, a shortlist and an offline report."""
from __future__ import annotations

from .classes import NO_CLASSES, class_depth, in_classes, not_in_classes, parse_class_filter
from .citations import CitationCheck, citation_recall, cited_by, corpus_citations, parse_citations, patent_base
from .dates import NO_DATES, has_dates, not_before, query_priority
from .patents import PatentHit, group_by_patent, patent_figures
from .query import (COMBINATION_LABELS, COMBINATIONS, RRF_DEPTH, RRF_K, ExaminerQuery, ExaminerResult, QueryPart,
                    Region, combine_mean, fuse_rrf, search_query)
from .report import render_report, report_filters
from .shortlist import CATEGORIES, CSV_COLUMNS, Hit, Shortlist, ShortlistItem, parse_category

__all__ = ["CATEGORIES", "NO_CLASSES", "class_depth", "in_classes", "not_in_classes", "parse_category",
           "parse_class_filter", "COMBINATIONS", "COMBINATION_LABELS", "CSV_COLUMNS", "CitationCheck", "ExaminerQuery", "ExaminerResult",
           "Hit", "NO_DATES", "PatentHit", "QueryPart", "RRF_DEPTH", "RRF_K", "Region", "Shortlist", "ShortlistItem",
           "citation_recall", "cited_by", "combine_mean", "corpus_citations", "fuse_rrf", "group_by_patent",
           "has_dates", "not_before", "parse_citations", "patent_base", "patent_figures", "query_priority",
           "render_report", "report_filters", "search_query"]
