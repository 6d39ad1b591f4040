"""Suites: bundled project-management data sets with content hashes, and loaders for user data.

Public: `Suite`, `load_suite(ref)` (a bundled id, a suite folder or a local data file),
`list_suites()`, `resolve_suite(spec)` (bundled or local, with subset and limit),
`load_local_suite(path, format, columns)`.
"""

from puma.suites.bundled import SuiteManifest, list_suites, load_bundled_suite, suite_overview
from puma.suites.local import load_local_suite
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS, Suite
from puma.suites.select import load_suite, resolve_suite, select_items, selection_record

__all__ = [
    "FIBONACCI_POINTS",
    "PAIR_LABELS",
    "TRIAGE_LABELS",
    "Suite",
    "SuiteManifest",
    "list_suites",
    "load_bundled_suite",
    "load_local_suite",
    "load_suite",
    "resolve_suite",
    "select_items",
    "selection_record",
    "suite_overview",
]
