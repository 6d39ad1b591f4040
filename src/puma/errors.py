"""The PumaError hierarchy: every error a person can see, with where it happened and what to do.

The CLI maps each class to a documented, stable exit code (see ExitCode and the README).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Stable process exit codes, documented in the README's table."""

    OK = 0
    FAILED_CHECK = 1  # a check ran and said no: hash mismatch, broken ledger, doctor found a ✗
    BAD_INPUT = 2  # unreadable or invalid input: spec, suite, submission, predictions file
    COMPLETED_WITH_FAILURES = 3  # the run finished but some calls failed after every retry
    RUNTIME_UNAVAILABLE = 4  # the model runtime cannot be reached or lacks the model
    CANNOT_WRITE = 5  # an output file or folder cannot be written: read-only, not a folder, full
    INTERNAL_ERROR = 70  # a bug in PUMA (sysexits' EX_SOFTWARE): an exception nobody expected
    INTERRUPTED = 130  # Ctrl-C; the ledger keeps every completed call


class PumaError(Exception):
    """An error meant for a person: what went wrong, where, and what to do about it."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class SpecError(PumaError):
    """A run spec that cannot be read or does not validate."""


class SuiteError(PumaError):
    """A suite that is missing, malformed, or whose bytes do not match its content hash."""


class InputFileError(PumaError):
    """A data file (predictions, submission, run folder) that cannot be read or is invalid."""


class CheckFailed(PumaError):
    """A verification ran and failed: the data was readable but is not what it claims to be."""

    exit_code = ExitCode.FAILED_CHECK


class RuntimeUnavailable(PumaError):
    """The model runtime cannot be reached, or it does not have the requested model."""

    exit_code = ExitCode.RUNTIME_UNAVAILABLE


class OutputWriteError(PumaError):
    """An output file or folder that cannot be written: read-only, not a folder, a name too
    long, a full disk. Raised by puma.outputs, the one place that turns such an OSError into a
    message."""

    exit_code = ExitCode.CANNOT_WRITE


class Interrupted(PumaError):
    """Ctrl-C: the message says what was kept and how to go on."""

    exit_code = ExitCode.INTERRUPTED


class RemoteUnavailable(PumaError):
    """A remote service (a registry's verifier) could not be asked, or answered outside its
    contract. `verify-hash --remote` turns it into a warning: the local result stands."""

    exit_code = ExitCode.RUNTIME_UNAVAILABLE


class CredentialError(PumaError):
    """A token that was not given, is malformed, or whose store cannot be read."""
