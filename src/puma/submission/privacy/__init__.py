"""The privacy scan: nothing leaves the machine before it passes.

`scan_folder(folder)` lists every private value (addresses, host and user names, home paths,
e-mail and MAC addresses, serial numbers, API keys and tokens, private keys) with file, line,
column and kind; `redact_folder(folder)` replaces them with stable placeholders and records what
it did in `redactions.json`. The kinds are a registry (`detectors.py`); docs/commands/privacy.md.
"""

from __future__ import annotations

from puma.errors import CheckFailed
from puma.submission.privacy.detectors import DETECTORS, KINDS, UNSCANNED, Identity
from puma.submission.privacy.scan import (
    REDACTIONS_FILE,
    Finding,
    Redaction,
    RedactionReport,
    is_hash_bearing,
    redact_folder,
    scan_folder,
)

__all__ = [
    "DETECTORS",
    "KINDS",
    "REDACTIONS_FILE",
    "UNSCANNED",
    "Finding",
    "Identity",
    "Redaction",
    "RedactionReport",
    "is_hash_bearing",
    "redact_folder",
    "refuse_on_findings",
    "scan_folder",
]


def refuse_on_findings(folder: object, findings: list[Finding], what: str = "it") -> None:
    """The refusal `prepare` and `publish` share: CheckFailed (exit 1) listing file:line:column
    and kind of each finding (the first 20), with the command that redacts."""
    if not findings:
        return
    from pathlib import Path

    root = Path(str(folder))
    lines = [f"  {f.location(root)} {f.kind}" for f in findings[:20]]
    more = f"\n  … and {len(findings) - 20} more" if len(findings) > 20 else ""
    raise CheckFailed(
        f"the privacy scan found {len(findings)} private value(s) in {root}; {what} was not "
        "sent\n" + "\n".join(lines) + more,
        hint=f"remove them, or run `puma submission scan {root} --redact` and check the result",
    )
