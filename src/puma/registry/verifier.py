"""The server side of `puma verify-hash --remote` (contract in puma.submission.remote).

Takes the client's multipart/form-data body (parts "submission" and "predictions") and answers
`{"match", "computed_hash", "n_rows", "message"}`, computed by the same code as the local check.
Multipart is read with the standard library's e-mail parser, which speaks the same MIME format.
"""

from __future__ import annotations

import email.parser
import email.policy
import tempfile
from pathlib import Path
from typing import Any

from puma.errors import PumaError
from puma.registry.intake import UploadRejected
from puma.submission.verify import verify_submission

PARTS = ("submission", "predictions")


def multipart_parts(content_type: str, body: bytes) -> dict[str, bytes]:
    """The named parts of a multipart/form-data body; UploadRejected (400) when it is not one."""
    form = content_type.lower()
    if not form.startswith("multipart/form-data") or "boundary=" not in form:
        raise UploadRejected("request", "expected multipart/form-data with a boundary", status=400)
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts: dict[str, bytes] = {}
    if message.is_multipart():
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                parts[name] = payload
    missing = [name for name in PARTS if name not in parts]
    if missing:
        raise UploadRejected(
            "request", f"the form lacks the part(s): {', '.join(missing)}", status=400
        )
    return parts


def verify_parts(parts: dict[str, bytes]) -> dict[str, Any]:
    """The verifier's answer for a submission and its predictions."""
    with tempfile.TemporaryDirectory(prefix="puma-verify-") as folder:
        submission = Path(folder, "submission.json")
        predictions = Path(folder, "submission.predictions.jsonl")
        submission.write_bytes(parts["submission"])
        predictions.write_bytes(parts["predictions"])
        try:
            result = verify_submission(submission, predictions)
        except PumaError as exc:
            message = str(exc).replace(folder + "/", "")
            raise UploadRejected("predictions", message, status=422) from None
    check = result.check
    return {
        "match": check.match,
        "computed_hash": check.computed,
        "n_rows": check.n_rows,
        "message": None if check.match else f"predictions hash mismatch: {result.mismatch}",
    }
