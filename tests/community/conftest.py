"""A real local HTTP server (stdlib, in a thread) that records each request and answers what
the test tells it to, standing in for Discord, Telegram, Zenodo, the Hub and a registry."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from puma.submission import Consents, build_submission

REPO = Path(__file__).resolve().parents[2]
DEMO_RUN = REPO / "tests" / "fixtures" / "demo-run"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, Any]  # (status, JSON body or None)


@dataclass
class LocalServer:
    url: str
    requests: list[Request] = field(default_factory=list)
    answer: Callable[[Request], Answer] = lambda request: (200, {})


@pytest.fixture(autouse=True)
def own_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test its own PUMA folder (history, credentials), so none sees another's sends."""
    folder = tmp_path / "puma-config"
    monkeypatch.setenv("PUMA_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def server() -> Iterator[LocalServer]:
    state = LocalServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, dict(self.headers), self.rfile.read(length))
            state.requests.append(request)
            status, body = state.answer(request)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _handle

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real submission package, built by share-results' own code from the stored demo run."""
    root = tmp_path_factory.mktemp("package")
    run = root / "run"
    shutil.copytree(DEMO_RUN, run)
    out = root / "share"
    build_submission(run, out, consents=Consents.all_given())
    return out


@pytest.fixture
def package_copy(package: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "share"
    shutil.copytree(package, folder)
    return folder
