"""PUMA: benchmark local language models on project-management work, with verifiable results.

The public surface is small: run a spec, evaluate a run folder, verify a submission, and the
typed results they return. Everything else is internal and may change.

    import puma
    result = puma.run("specs/runs/demo_publication.yaml", limit=3)
    scores = puma.evaluate(result.folder.root)
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import TYPE_CHECKING, Any

from puma.api import evaluate, resume, resume_async, run, run_async, verify
from puma.errors import ExitCode, PumaError

try:
    __version__ = version("puma-bench")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from puma.evaluate import EvaluationResult
    from puma.evaluate.scoring import ScoringOptions
    from puma.runner.session import RunResult
    from puma.spec import SpecFile
    from puma.submission.verify import Verification

__all__ = [
    "EvaluationResult",
    "ExitCode",
    "PumaError",
    "RunResult",
    "ScoringOptions",
    "SpecFile",
    "Verification",
    "__version__",
    "evaluate",
    "resume",
    "resume_async",
    "run",
    "run_async",
    "verify",
]

# The result types live beside NumPy, PyArrow and llama.cpp: loaded when first named, so that
# `import puma` (and the `puma` command) stays quick.
_LAZY = {
    "EvaluationResult": "puma.evaluate",
    "ScoringOptions": "puma.evaluate.scoring",
    "RunResult": "puma.runner.session",
    "SpecFile": "puma.spec",
    "Verification": "puma.submission.verify",
}
_FUNCTIONS = frozenset({"evaluate", "resume", "resume_async", "run", "run_async", "verify"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'puma' has no attribute {name!r}")


class _Package(ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the subpackage puma.evaluate binds it as the attribute `evaluate`, over the
        # function of that name; the subpackage stays reachable through sys.modules.
        if name in _FUNCTIONS and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
