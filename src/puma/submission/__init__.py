"""Submission packages (PUMA schema v1): build one from a run, validate it, verify it.

Public: `build_submission`, `Consents`, `Submission`, `validate_submission_file`,
`verify_submission`. Modules load their heavy dependencies on use.
"""

from puma.submission.builder import Consents, SubmissionPackage, build_submission
from puma.submission.package import SubmissionFiles
from puma.submission.schema import Submission, validate_submission_file
from puma.submission.verify import Verification, verify_submission

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
