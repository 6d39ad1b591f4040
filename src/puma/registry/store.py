"""The registry's writes and reads: accept a vetted upload, withdraw one, list and fetch.

Every write that appends to the log happens in one transaction that first locks the log head, so
uploads arriving together are appended one after another and the chain never forks; the same
lock makes "is this id new?" and "store it" one step, which keeps uploads idempotent by id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from puma.jsonio import dumps_canonical
from puma.registry.db import ApiToken, Submission, SubmissionFile, utc_now
from puma.registry.intake import UploadRejected, Vetted
from puma.registry.log import append_entry, lock_head

STATUSES = ("accepted", "withdrawn")


@dataclass(frozen=True)
class Stored:
    created: bool  # False: the same upload was already stored (idempotent repeat)
    view: dict[str, Any]


def view_of(row: Submission, *, with_files: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "submission_id": row.id,
        "kind": row.kind,
        "status": row.status,
        "content_sha256": row.content_sha256,
        "accepted_seq": row.accepted_seq,
        "withdrawn_seq": row.withdrawn_seq,
        "created_at": _utc_text(row.created_at),
        "record": json.loads(row.record),
    }
    if with_files:
        view["files"] = [{"name": f.name, "bytes": len(f.content)} for f in row.files]
    return view


def _utc_text(moment: datetime) -> str:
    # SQLite hands back naive datetimes; every one the registry writes is UTC.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def existing_answer(session: Session, submission_id: str, digest: str) -> Stored | None:
    """The stored submission when this exact upload was already accepted; UploadRejected (409)
    when the id was taken by different bytes; None when the id is new."""
    row = session.get(Submission, submission_id)
    if row is None:
        return None
    if row.content_sha256 != digest:
        raise UploadRejected(
            "conflict",
            f"submission {submission_id} was already uploaded with different content "
            f"(sha256 {row.content_sha256}); a changed package needs a new submission id",
            status=409,
        )
    return Stored(created=False, view=view_of(row))


def accept(sessions: sessionmaker[Session], vetted: Vetted, uploader: ApiToken) -> Stored:
    with sessions.begin() as session:
        head = lock_head(session)
        repeat = existing_answer(session, vetted.submission_id, vetted.content_sha256)
        if repeat is not None:
            return repeat
        entry = append_entry(
            session,
            head,
            action="accept",
            submission_id=vetted.submission_id,
            kind=vetted.kind,
            record=vetted.record,
        )
        row = Submission(
            id=vetted.submission_id,
            kind=vetted.kind,
            content_sha256=vetted.content_sha256,
            uploader_id=uploader.id,
            status="accepted",
            record=dumps_canonical(vetted.record),
            accepted_seq=entry["seq"],
            created_at=utc_now(),
        )
        row.files = [SubmissionFile(name=n, content=c) for n, c in vetted.files.items()]
        session.add(row)
        session.flush()
        return Stored(created=True, view=view_of(row))


def withdraw(
    sessions: sessionmaker[Session], submission_id: str, caller: ApiToken, reason: str | None
) -> Stored:
    """Withdraw a submission (its uploader or an admin): a log entry, the row marked. A second
    withdrawal answers the first one's result and appends nothing."""
    with sessions.begin() as session:
        head = lock_head(session)
        row = session.get(Submission, submission_id)
        if row is None:
            raise UploadRejected("not-found", f"no submission {submission_id}", status=404)
        if row.uploader_id != caller.id and not caller.admin:
            raise UploadRejected(
                "forbidden",
                "only the submission's uploader or an admin may withdraw it",
                status=403,
            )
        if row.status == "withdrawn":
            return Stored(created=False, view=view_of(row))
        record: dict[str, Any] = {"by": "admin" if caller.admin else "uploader"}
        if reason:
            record["reason"] = reason
        entry = append_entry(
            session,
            head,
            action="withdraw",
            submission_id=row.id,
            kind=row.kind,
            record=record,
        )
        row.status, row.withdrawn_seq = "withdrawn", entry["seq"]
        return Stored(created=True, view=view_of(row))


def find(session: Session, submission_id: str) -> dict[str, Any]:
    row = session.execute(
        select(Submission)
        .where(Submission.id == submission_id)
        .options(selectinload(Submission.files))
    ).scalar_one_or_none()
    if row is None:
        raise UploadRejected("not-found", f"no submission {submission_id}", status=404)
    return view_of(row, with_files=True)


def listing(session: Session, *, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    query = select(Submission)
    count = select(func.count()).select_from(Submission)
    if status is not None:
        query = query.where(Submission.status == status)
        count = count.where(Submission.status == status)
    rows = session.execute(
        query.order_by(Submission.accepted_seq).limit(limit).offset(offset)
    ).scalars()
    return {
        "total": session.execute(count).scalar_one(),
        "submissions": [view_of(row) for row in rows],
    }


def stored_files(session: Session, submission_id: str) -> dict[str, bytes]:
    """The files an accepted upload stored, by name (what the catalogue grades again)."""
    rows = session.execute(
        select(SubmissionFile).where(SubmissionFile.submission_id == submission_id)
    ).scalars()
    return {row.name: row.content for row in rows}
