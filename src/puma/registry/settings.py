"""How a registry is configured: its database, its data folder and its limits.

The database URL comes from `--database-url`, else `PUMA_DATABASE_URL`, else one SQLite file in
the data folder (zero set-up). PostgreSQL URLs use the psycopg 3 driver.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from puma.errors import InputFileError
from puma.userconfig import config_dir

DATABASE_URL_ENV = "PUMA_DATABASE_URL"
SQLITE_FILE = "registry.sqlite3"
# Schema v1 caps predictions at about 12 MiB; JSON escaping of the quotes in each row adds a
# tenth. Anything larger is not a submission.
MAX_REQUEST_BYTES = 32 << 20


def default_data_dir() -> Path:
    return config_dir() / "registry"


def resolve_database_url(database_url: str | None, data_dir: Path | None) -> str:
    """The URL the registry uses; a bare `postgresql://` gets the psycopg 3 driver."""
    url = database_url or os.environ.get(DATABASE_URL_ENV) or ""
    if not url:
        folder = data_dir or default_data_dir()
        return f"sqlite:///{folder / SQLITE_FILE}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise InputFileError(
            f"database URL {url.split(':', 1)[0]}:… is not supported",
            where=DATABASE_URL_ENV if not database_url else "--database-url",
            hint="use postgresql://USER@HOST/DB (psycopg 3) or sqlite:///PATH",
        )
    return url


@dataclass(frozen=True)
class RegistrySettings:
    database_url: str
    max_request_bytes: int = MAX_REQUEST_BYTES
    uploads_per_minute: float = 60.0  # per token; a burst of `upload_burst` is allowed
    upload_burst: int = 30
    verifies_per_minute: float = 120.0  # per client address, for the public verifier
    title: str = "PUMA registry"

    @classmethod
    def from_options(
        cls,
        *,
        database_url: str | None = None,
        data_dir: Path | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        uploads_per_minute: float = 60.0,
    ) -> RegistrySettings:
        url = resolve_database_url(database_url, data_dir)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return cls(
            database_url=url,
            max_request_bytes=max_request_bytes,
            uploads_per_minute=uploads_per_minute,
        )
