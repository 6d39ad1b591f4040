"""Submission packages (PUMA schema v1): build one from a run, validate it, verify it.

Public: `build_submission`, `Consents`, `Submission`, `SubmissionFiles`, `SubmissionPackage`,
`validate_submission_file`, `verify_submission`, `Verification`. Each is imported on first use,
so `verify-hash` does not pay for the builder's numpy and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from puma.submission.builder import Consents, SubmissionPackage, build_submission
    from puma.submission.package import SubmissionFiles
    from puma.submission.schema import Submission, validate_submission_file
    from puma.submission.verify import Verification, verify_submission

_HOME = {
    "Consents": "puma.submission.builder",
    "SubmissionPackage": "puma.submission.builder",
    "build_submission": "puma.submission.builder",
    "SubmissionFiles": "puma.submission.package",
    "Submission": "puma.submission.schema",
    "validate_submission_file": "puma.submission.schema",
    "Verification": "puma.submission.verify",
    "verify_submission": "puma.submission.verify",
}
__all__ = [
    "Consents",
    "Submission",
    "SubmissionFiles",
    "SubmissionPackage",
    "Verification",
    "build_submission",
    "validate_submission_file",
    "verify_submission",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'puma.submission' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
