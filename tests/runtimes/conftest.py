"""Fixtures of the runtime tests: fake servers speaking Ollama's and OpenAI's APIs, and one real
llama.cpp server per session. The servers themselves live in runtime_fakes.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# importlib mode does not put test folders on sys.path; the tests import runtime_fakes directly.
sys.path.insert(0, str(Path(__file__).parent))

from runtime_fakes import FakeOllama, FakeOpenAI, LlamaServer, free_port


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    yield server
    server.stop()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.stop()


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def llama_server(
    embedded_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """One real llama.cpp server for the whole session (its startup is paid once)."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = LlamaServer(embedded_model_path, log=log).start()
    yield server
    server.stop()


@pytest.fixture
def llama_server_factory(
    embedded_model_path: Path, tmp_path: Path
) -> Iterator[Callable[..., LlamaServer]]:
    """Private servers for tests that kill them; all are stopped at the end."""
    started: list[LlamaServer] = []

    def make(port: int | None = None, *, interrupt_requests: bool = False) -> LlamaServer:
        server = LlamaServer(
            embedded_model_path,
            port=port,
            log=tmp_path / "server.log",
            interrupt_requests=interrupt_requests,
        )
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()
