"""`puma import`: other evaluation tools' saved samples as PUMA run folders, re-scored with PUMA's
intervals, paired tests and hashes, without running any model again.

Public: `import_logs`, `ImportResult`, `Comparison`, `reader_names`. A tool is one module with a
`LogReader` under `@register_reader` (lm_eval, inspect_log); every module here is imported so
each registers itself.
"""

from __future__ import annotations

from puma.importers import inspect_log, lm_eval  # noqa: F401  # register the readers
from puma.importers.base import reader_names
from puma.importers.build import Comparison, ImportResult, import_logs

__all__ = ["Comparison", "ImportResult", "import_logs", "reader_names"]
