"""Registries for the tests: on SQLite in a temporary folder, or on a real PostgreSQL server
(started by scripts/ensure-test-services.sh), each test on a database of its own; real
submission packages made by `build_submission` from run folders whose items are the bundled
suite's, so the registry's re-scoring has gold answers to check them against."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from puma.registry.settings import RegistrySettings

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL_FILE = REPO_ROOT / ".pytest-services" / "postgres-url"
POSTGRES_URL_ENV = "PUMA_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url and POSTGRES_URL_FILE.is_file():
        url = POSTGRES_URL_FILE.read_text(encoding="utf-8").strip()
    return url or None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server the tests may create databases on. Skips when there is
    none here; in CI (env CI set) a missing server is a failure, never a skip."""
    url = postgres_admin_url()
    reason = (
        f"no PostgreSQL for the registry tests: run scripts/ensure-test-services.sh (it starts "
        f"one and writes {POSTGRES_URL_FILE.relative_to(REPO_ROOT)}) or set {POSTGRES_URL_ENV}"
    )
    if url is not None:
        import psycopg

        try:
            with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5):
                pass
        except psycopg.Error as exc:
            reason = f"PostgreSQL at {url} does not answer ({exc}); {reason}"
            url = None
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    import psycopg

    admin = postgres_server.replace("+psycopg", "")
    name = f"puma_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


# --- packages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """A package's three files as text, as `puma share-results` wrote them."""

    submission: str
    predictions: str
    provenance: str

    @property
    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.submission)
        return result

    @property
    def submission_id(self) -> str:
        return str(self.data["submission_id"])

    def wire(self) -> dict[str, Any]:
        return {
            "kind": "package",
            "files": {
                "submission": self.submission,
                "predictions": self.predictions,
                "provenance": self.provenance,
            },
        }

    def with_id(self, submission_id: str) -> Package:
        """The same results under another submission id (a different package)."""
        data = self.data
        data["submission_id"] = submission_id
        provenance = json.loads(self.provenance)
        provenance["submission_id"] = submission_id
        return Package(json.dumps(data, indent=2), self.predictions, json.dumps(provenance))

    def edited(self, change: Callable[[dict[str, Any]], None]) -> Package:
        data = self.data
        change(data)
        return Package(json.dumps(data, indent=2), self.predictions, self.provenance)

    def with_rows(self, change: Callable[[list[dict[str, Any]]], None]) -> Package:
        rows = [json.loads(line) for line in self.predictions.splitlines() if line.strip()]
        change(rows)
        text = "".join(json.dumps(row) + "\n" for row in rows)
        return Package(self.submission, text, self.provenance)


def build_package(parent: Path, *, suite_id: str, task: str, n: int, model: str) -> Package:
    from puma.submission import Consents, build_submission
    from puma.suites import load_suite
    from submission.conftest import make_run

    suite = load_suite(suite_id)
    items = [(item["instance_id"], item["gold"]) for item in suite.items[:n]]
    run = make_run(parent / "runs", suites=[(suite_id, task, items)], models=(model,))
    package = build_submission(run, parent / "package", consents=Consents.all_given())
    files = package.files
    return Package(
        files.submission.read_text(encoding="utf-8"),
        files.predictions.read_text(encoding="utf-8"),
        files.provenance.read_text(encoding="utf-8"),
    )


@pytest.fixture(scope="session")
def base_packages(tmp_path_factory: pytest.TempPathFactory) -> list[Package]:
    """Two honest packages: a triage run and an estimation run on the bundled suites."""
    return [
        build_package(
            tmp_path_factory.mktemp("triage"),
            suite_id="pm-triage",
            task="triage",
            n=40,
            model="gemma3-270m",
        ),
        build_package(
            tmp_path_factory.mktemp("estimation"),
            suite_id="pm-estimation",
            task="estimation",
            n=30,
            model="qwen2.5-0.5b",
        ),
    ]


@pytest.fixture
def package(base_packages: list[Package]) -> Package:
    """A fresh honest triage package (a new submission id each test)."""
    return base_packages[0].with_id(str(uuid.uuid4()))


# --- a registry ------------------------------------------------------------------------------


@dataclass
class Registry:
    """A registry app under a test client, with an uploader's and an admin's token."""

    client: Any  # fastapi.testclient.TestClient
    url: str
    uploader: str
    admin: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.uploader}"}

    def upload(self, body: Any, token: str | None = None) -> Any:
        return self.client.post("/api/v1/submissions", json=body, headers=self.headers(token))

    def log(self) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/log")
        assert response.status_code == 200
        entries: list[dict[str, Any]] = response.json()
        return entries


def make_registry(database_url: str, **limits: Any) -> Iterator[Registry]:
    from fastapi.testclient import TestClient

    from puma.registry.app import create_app
    from puma.registry.tokens import issue_token

    settings = RegistrySettings(database_url=database_url, **limits)
    app = create_app(settings)
    uploader = issue_token(database_url, "uploader").token
    admin = issue_token(database_url, "admin", admin=True).token
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Registry(client, database_url, uploader, admin)
    app.state.engine.dispose()


@pytest.fixture
def registry(sqlite_url: str) -> Iterator[Registry]:
    """A registry on SQLite."""
    yield from make_registry(sqlite_url)


@pytest.fixture
def any_registry(database_url: str) -> Iterator[Registry]:
    """A registry on SQLite, then on PostgreSQL."""
    yield from make_registry(database_url)


# --- a real server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    server: Any  # uvicorn.Server
    thread: threading.Thread
    database_url: str

    def token(self, name: str = "uploader", *, admin: bool = False) -> str:
        from puma.registry.tokens import issue_token

        return issue_token(self.database_url, name, admin=admin).token


def start_server(settings: RegistrySettings) -> LiveServer:
    """The registry under uvicorn on 127.0.0.1 (a free port), in a thread of this process."""
    import uvicorn

    from puma.registry.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", backlog=256
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the registry did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread, settings.database_url)


def stop_server(live: LiveServer) -> None:
    live.server.should_exit = True
    live.thread.join(timeout=30)
    live.server.config.app.state.engine.dispose()


@pytest.fixture
def live_registry(sqlite_url: str) -> Iterator[LiveServer]:
    live = start_server(RegistrySettings(database_url=sqlite_url))
    yield live
    stop_server(live)


@contextmanager
def served_registry(*options: str) -> Iterator[str]:
    """`puma registry serve` in a process of its own on a free loopback port: its base URL."""
    import signal
    import subprocess

    import httpx

    port = free_port()
    server = subprocess.Popen(
        [
            str(REPO_ROOT / ".venv/bin/python"),
            "-m",
            "puma.cli.app",
            "registry",
            "serve",
            "--port",
            str(port),
            *options,
        ],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the registry did not start: {server.stderr}") from None
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
