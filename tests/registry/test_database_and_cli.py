"""The database is made by the shipped migrations and agrees with the mappings; the CLI makes
tokens, migrates and serves as a person would run it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from puma.errors import InputFileError
from puma.registry.db import Base, make_engine, migrate
from puma.registry.settings import resolve_database_url
from registry.conftest import REPO_ROOT, served_registry


def test_the_migrations_make_exactly_the_mapped_schema_and_rerun_as_no_ops(database_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    assert migrate(engine) == "0001"
    assert migrate(engine) == "0001"
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_database_url_defaults_to_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("PUMA_DATABASE_URL", raising=False)
    assert resolve_database_url(None, tmp_path) == f"sqlite:///{tmp_path}/registry.sqlite3"
    monkeypatch.setenv("PUMA_DATABASE_URL", "postgresql://reg@db/registry")
    assert resolve_database_url(None, tmp_path) == "postgresql+psycopg://reg@db/registry"
    assert resolve_database_url("sqlite:///x.db", tmp_path) == "sqlite:///x.db"
    with pytest.raises(InputFileError, match="not supported"):
        resolve_database_url("mysql://root@db/x", tmp_path)


def puma(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / ".venv/bin/python"), "-m", "puma.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), **(env or {})},
    )


def test_a_token_is_printed_once_and_listed_without_its_value(tmp_path: Path):
    made = puma("registry", "token", "create", "--name", "ada", "--data-dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[1]
    assert token.startswith("puma_") and len(token) > 40
    assert "not shown again" in made.stdout
    listed = puma("registry", "token", "list", "--data-dir", str(tmp_path))
    assert "ada" in listed.stdout and "uploader" in listed.stdout and token not in listed.stdout
    assert token.encode() not in (tmp_path / "registry.sqlite3").read_bytes()
    unknown = puma("registry", "token", "revoke", "9", "--data-dir", str(tmp_path))
    assert unknown.returncode == 2 and "no token with id 9" in unknown.stderr


def test_migrate_reports_the_revision_and_a_bad_url_is_exit_2(tmp_path: Path):
    migrated = puma("registry", "migrate", "--data-dir", str(tmp_path))
    assert migrated.returncode == 0 and "revision 0001" in migrated.stdout
    bad = puma("registry", "migrate", "--database-url", "mysql://x@y/z")
    assert bad.returncode == 2 and "not supported" in bad.stderr


def test_serve_answers_on_its_port_until_interrupted(tmp_path: Path):
    with served_registry("--data-dir", str(tmp_path)) as url:
        spec = httpx.get(f"{url}/openapi.json", timeout=30).json()
        assert "/api/v1/submissions" in spec["paths"] and "/api/v1/log" in spec["paths"]
    assert (tmp_path / "registry.sqlite3").is_file()
