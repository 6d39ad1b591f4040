"""The registry's tables (SQLAlchemy 2 typed mappings), its engine and its migrations.

Tables: API tokens (hashed), submissions with their files, the log and the log's head. The schema
is made only by the Alembic migrations shipped in `puma/registry/migrations`, applied at start-up
and by `puma registry migrate`; these mappings must agree with them (a test checks).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
GENESIS_HASH = "0" * 64  # the prev_hash of the first log entry
HEAD_ROW = 1  # the log head is one row, locked by every append


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # SHA-256 hex of the token; the token itself is shown once and never stored.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "package" | "contributor-folder"
    content_sha256: Mapped[str] = mapped_column(String(64))
    uploader_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    status: Mapped[str] = mapped_column(String(16))  # "accepted" | "withdrawn"
    record: Mapped[str] = mapped_column(Text)  # canonical JSON: what the log entry holds
    accepted_seq: Mapped[int] = mapped_column(Integer)
    withdrawn_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    files: Mapped[list[SubmissionFile]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionFile.name"
    )


class SubmissionFile(Base):
    __tablename__ = "submission_files"

    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)

    submission: Mapped[Submission] = relationship(back_populates="files")


class LogEntryRow(Base):
    __tablename__ = "log_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Unique: even a broken lock could not append two entries after the same one (a fork).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)  # the entry's canonical JSON, hash included


class LogHead(Base):
    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def make_engine(url: str) -> Engine:
    """An engine for `url`. On SQLite every transaction starts with BEGIN IMMEDIATE, taking the
    database's write lock at once: two appends can never read the same log head."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessions(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> str:
    """Apply every migration not yet applied; returns the revision the database is now at."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    return revision or "base"


def open_database(url: str) -> sessionmaker[Any]:
    """Sessions on the registry database at `url`, migrated to the newest schema first."""
    engine = make_engine(url)
    migrate(engine)
    return make_sessions(engine)
