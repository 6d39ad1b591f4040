"""Doctor checks for remote runtimes: reachable, version, model present, with the fix to run."""

from __future__ import annotations

import pytest
from runtime_fakes import LLAMA_MODEL_ALIAS, FakeOllama, LlamaServer

from puma.runtimes import diagnose
from puma.runtimes.base import Check
from puma.runtimes.ollama import OllamaOptions
from puma.runtimes.openai import OpenAIOptions

pytestmark = pytest.mark.anyio


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def test_healthy_ollama_with_the_model_passes_every_check(fake_ollama: FakeOllama):
    checks = by_name(await diagnose(OllamaOptions(url=fake_ollama.url, model="llama3")))

    assert {name: c.status for name, c in checks.items()} == {
        "runtime reachable": "ok",
        "runtime version": "ok",
        "model present": "ok",
    }
    assert checks["runtime version"].detail == "0.13.0"
    assert "fe938a131f40" in checks["model present"].detail  # the digest, shortened


async def test_missing_model_fails_with_the_pull_command(fake_ollama: FakeOllama):
    checks = by_name(await diagnose(OllamaOptions(url=fake_ollama.url, model="phi3")))

    assert checks["model present"].status == "fail"
    assert checks["model present"].fix == "ollama pull phi3"


async def test_ollama_too_old_for_logprobs_is_a_warning(fake_ollama: FakeOllama):
    fake_ollama.version = "0.5.7"

    checks = by_name(await diagnose(OllamaOptions(url=fake_ollama.url, model="llama3")))

    assert checks["runtime version"].status == "warn"
    assert "0.12.11" in (checks["runtime version"].fix or "")


async def test_no_model_named_is_a_warning_listing_what_the_server_has(fake_ollama: FakeOllama):
    # As `puma doctor --url` builds it: no model named, so not validated.
    checks = by_name(await diagnose(OllamaOptions.model_construct(url=fake_ollama.url)))

    assert checks["model present"].status == "warn"
    assert "llama3:latest" in checks["model present"].detail


async def test_unreachable_runtime_is_one_failed_check_with_how_to_start_it(refused_url: str):
    checks = await diagnose(OllamaOptions(url=refused_url, model="llama3"), timeout_s=1.0)

    assert [(c.name, c.status) for c in checks] == [("runtime reachable", "fail")]
    assert "ollama serve" in (checks[0].fix or "")


async def test_unset_api_key_variable_fails_the_settings_check(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PUMA_TEST_NO_SUCH_KEY", raising=False)

    checks = await diagnose(OpenAIOptions(model="m", api_key_env="PUMA_TEST_NO_SUCH_KEY"))

    assert [(c.name, c.status) for c in checks] == [("runtime settings", "fail")]


async def test_real_llama_cpp_server_passes_with_the_version_from_its_openapi_document(
    llama_server: LlamaServer,
):
    import llama_cpp

    checks = by_name(await diagnose(OpenAIOptions(url=llama_server.url, model=LLAMA_MODEL_ALIAS)))

    assert checks["runtime reachable"].status == "ok"
    assert checks["runtime version"].status == "ok"
    assert checks["runtime version"].detail == f"llama-cpp-python {llama_cpp.__version__}"
    assert checks["model present"].status == "ok"


async def test_ollama_v1_preset_warns_that_the_context_cannot_be_set(fake_ollama: FakeOllama):
    checks = by_name(
        await diagnose(
            OpenAIOptions(url=fake_ollama.url + "/v1", preset="ollama", model="llama3:latest")
        )
    )

    assert checks["runtime version"].detail == "0.13.0"  # from /api/version
    assert checks["model present"].status == "ok"
    assert checks["context size"].status == "warn"
    assert "runtime kind 'ollama'" in (checks["context size"].fix or "")
