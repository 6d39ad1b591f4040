"""A run against a REAL llama-cpp-python server started at its defaults: it cuts a streaming
answer short whenever another request arrives (`--interrupt_requests True`), so PUMA must send it
one call at a time, say so once, and record the deviation; every call is then answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_fakes import LLAMA_MODEL_ALIAS, LlamaServer

from puma.runner.execute import SERIALISED_AFTER_INTERRUPTION
from puma.runner.session import RunResult, start_run
from puma.runtimes.openai import SERIAL_REASON, OpenAICompatibleRuntime
from puma.spec import load_spec

SPEC = """\
name: default-llama-cpp-python
runtime:
  kind: openai
  url: {url}
  model: {model}
  mode: completion        # Gemma 3 270M is a base model
suites:
  - id: pm-triage
    limit: {limit}
strategy: zero-shot
generation:
  temperature: 0
  seed: 42
  max_tokens: 8
  num_ctx: 1024
concurrency: 2
retries: {retries}
output: {output}
"""


@pytest.fixture(scope="module")
def default_server(
    embedded_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("default-llama-server") / "server.log"
    server = LlamaServer(embedded_model_path, log=log, interrupt_requests=True).start()
    yield server
    server.stop()


def _run(
    server: LlamaServer, tmp_path: Path, limit: int, retries: int = 1
) -> tuple[RunResult, list[str]]:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        SPEC.format(
            url=server.url, model=LLAMA_MODEL_ALIAS, limit=limit, retries=retries, output=tmp_path
        )
    )
    warnings: list[str] = []
    result = start_run(load_spec(spec_path), spec_path, on_warning=warnings.append)
    return result, warnings


def test_a_recognised_llama_cpp_python_server_gets_one_call_at_a_time_from_the_start(
    default_server: LlamaServer, tmp_path: Path
) -> None:
    result, warnings = _run(default_server, tmp_path, limit=3)

    assert result.failed_calls == 0 and len(result.rows) == 3
    manifest = result.manifest
    assert manifest.runtime["build"]["server"] == "llama-cpp-python"
    assert manifest.runtime["version"].startswith("llama-cpp-python ")
    (deviation,) = manifest.deviations
    assert (deviation.setting, deviation.requested, deviation.used) == ("concurrency", 2, 1)
    assert deviation.reason == SERIAL_REASON
    assert len(warnings) == 1 and "concurrency 2 → 1" in warnings[0]
    saved = json.loads(result.folder.manifest.read_text())
    assert saved["deviations"][0]["used"] == 1
    (model,) = saved["models"]  # what the server reports about the model it serves
    assert model["name"] == LLAMA_MODEL_ALIAS and model["details"]["owned_by"] == "me"


def test_an_interrupted_stream_drops_an_unrecognised_server_to_one_call_at_a_time(
    default_server: LlamaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Behind a proxy the server may not be recognised: the symptom alone must be enough.
    async def anonymous(
        self: OpenAICompatibleRuntime, entries: object
    ) -> tuple[None, dict[str, str]]:
        return None, {}

    monkeypatch.setattr(OpenAICompatibleRuntime, "_version", anonymous)

    # No retries: an interrupted call is repeated all the same (the fault was the concurrency).
    result, warnings = _run(default_server, tmp_path, limit=4, retries=0)

    assert result.failed_calls == 0 and len(result.rows) == 4
    events = [json.loads(line) for line in result.folder.ledger.read_text().splitlines()]
    interrupted = [e for e in events if e["type"] == "call" and e["error"]]
    assert interrupted and all("interrupted" in e["error"] for e in interrupted)
    (deviation,) = result.manifest.deviations
    assert (deviation.requested, deviation.used) == (2, 1)
    assert deviation.reason == SERIALISED_AFTER_INTERRUPTION
    saved = json.loads(result.folder.manifest.read_text())
    assert [d["reason"] for d in saved["deviations"]] == [SERIALISED_AFTER_INTERRUPTION]
    assert warnings == [SERIALISED_AFTER_INTERRUPTION]  # once, however many were cut short
