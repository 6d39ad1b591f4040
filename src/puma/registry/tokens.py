"""API tokens: made by `puma registry token create`, shown once, stored as their SHA-256.

A token is `puma_` followed by 32 random bytes (256 bits, `secrets.token_urlsafe`). A slow
password hash (bcrypt, Argon2) protects low-entropy secrets people choose against guessing;
nobody can guess 256 random bits, so one SHA-256 is as safe here, and it lets the server find a
token by an indexed equality lookup instead of trying a slow hash against every stored one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from puma.errors import InputFileError
from puma.hashing import sha256_hex
from puma.registry.db import ApiToken, utc_now

TOKEN_PREFIX = "puma_"
TOKEN_BYTES = 32
NAME_MAX = 64


@dataclass(frozen=True)
class IssuedToken:
    id: int
    name: str
    admin: bool
    token: str  # the only time it is seen


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    admin: bool
    created_at: datetime
    revoked: bool


def create_token(session: Session, name: str, *, admin: bool = False) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        raise InputFileError(
            f"token name {name!r} is not allowed", hint=f"1-{NAME_MAX} printable characters"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(name=name, token_sha256=sha256_hex(token), admin=admin, created_at=utc_now())
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, name=name, admin=admin, token=token)


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for a presented token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == sha256_hex(token))
    ).scalar_one_or_none()
    return row if row is not None and row.revoked_at is None else None


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()
    return [TokenInfo(r.id, r.name, r.admin, r.created_at, r.revoked_at is not None) for r in rows]


def revoke_token(session: Session, token_id: int) -> TokenInfo:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise InputFileError(f"no token with id {token_id}", hint="`puma registry token list`")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
    return TokenInfo(row.id, row.name, row.admin, row.created_at, True)


def issue_token(database_url: str, name: str, *, admin: bool = False) -> IssuedToken:
    """`create_token` on the registry database at `database_url` (migrated first)."""
    from puma.registry.db import open_database

    with open_database(database_url).begin() as session:
        return create_token(session, name, admin=admin)


def stored_tokens(database_url: str) -> list[TokenInfo]:
    from puma.registry.db import open_database

    with open_database(database_url)() as session:
        return list_tokens(session)


def revoke_stored_token(database_url: str, token_id: int) -> TokenInfo:
    from puma.registry.db import open_database

    with open_database(database_url).begin() as session:
        return revoke_token(session, token_id)
