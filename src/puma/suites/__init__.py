"""Suites: bundled project-management data sets with content hashes, and loaders for user data.

Public: `Suite`, `load_suite(id_or_path)`, `list_suites()`.
"""

from puma.suites.model import Suite, TaskKind

__all__ = ["Suite", "TaskKind"]
