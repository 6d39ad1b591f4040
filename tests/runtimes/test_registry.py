"""The runtime registry: each kind is one module that declares its options, constructor and
doctor checks; the spec accepts exactly the registered kinds, each with its own options; run
folders written with the older flat runtime section still resume."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from runtime_fakes import FakeOllama, Reply

from puma.errors import ExitCode, SpecError
from puma.runner.session import resume_run, start_run
from puma.runtimes import create_runtime, runtime_kind, runtime_kinds
from puma.runtimes.base import Runtime
from puma.runtimes.embedded import EmbeddedOptions
from puma.runtimes.ollama import OllamaOptions, OllamaRuntime
from puma.runtimes.openai import OpenAIOptions
from puma.spec import SpecFile, parse_spec

SPEC = """\
name: demo
runtime:
  kind: embedded
suites:
  - id: pm-triage
"""
# How manifests stored every runtime section before options were typed per kind: all nine
# keys, null where unused.
FLAT = {
    "api_key_env": None,
    "keep_alive": None,
    "kind": "embedded",
    "mode": None,
    "model": None,
    "models": None,
    "n_threads": None,
    "preset": None,
    "url": None,
}


def _runtime(lines: str) -> str:
    return SPEC.replace("  kind: embedded\n", textwrap.indent(lines, "  "))


def test_the_registered_kinds_are_embedded_ollama_and_openai_each_with_a_summary() -> None:
    kinds = runtime_kinds()
    assert [kind.name for kind in kinds] == ["embedded", "ollama", "openai"]
    assert [kind.options for kind in kinds] == [EmbeddedOptions, OllamaOptions, OpenAIOptions]
    assert all(kind.summary for kind in kinds)
    assert runtime_kind("embedded").extra == "embedded"  # doctor fails without it


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "kind: embedded\nkeep_alive: 5m\n",
            "<spec>:4: runtime.keep_alive: an option of runtime kind ollama, not embedded "
            "(options of embedded: model, models, mode, n_threads)",
        ),
        (
            "kind: ollama\nmodel: m\nn_threads: 4\n",
            "<spec>:5: runtime.n_threads: an option of runtime kind embedded, not ollama",
        ),
        (
            "kind: ollama\nmodel: m\npreset: vllm\n",
            "<spec>:5: runtime.preset: an option of runtime kind openai, not ollama",
        ),
        (
            "kind: embedded\nurl: http://127.0.0.1:8000\n",
            "<spec>:4: runtime.url: an option of runtime kind ollama and openai, not embedded",
        ),
        ("kind: vllm\n", "<spec>:3: runtime.kind: expected 'embedded', 'ollama' or 'openai', got"),
        ("kind: [ollama]\n", "<spec>:3: runtime.kind: expected 'embedded', 'ollama' or 'openai'"),
        ("n_threads: 0\n", "<spec>:3: runtime.n_threads: must be ≥ 1, got 0"),
        ("kind: openai\nmodel: m\nurl: ftp://h\n", "<spec>:5: runtime.url: not an http(s) URL"),
        ("kind: ollama\n", "<spec>:2: runtime: runtime kind 'ollama' needs 'model' or 'models'"),
    ],
)
def test_an_option_is_checked_against_its_kind_at_its_line(lines: str, expected: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(_runtime(lines))
    assert str(caught.value).startswith(expected), str(caught.value)
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_a_runtime_section_that_is_not_a_mapping_says_so() -> None:
    with pytest.raises(SpecError, match=r'^<spec>:2: runtime: expected a mapping, got "ollama"'):
        parse_spec(SPEC.replace("runtime:\n  kind: embedded\n", "runtime: ollama\n"))


def test_without_kind_or_runtime_section_the_runtime_is_embedded() -> None:
    assert parse_spec(SPEC.replace("  kind: embedded\n", "  n_threads: 2\n")).runtime == (
        EmbeddedOptions(n_threads=2)
    )
    assert parse_spec(SPEC.replace("runtime:\n  kind: embedded\n", "")).runtime == (
        EmbeddedOptions()
    )


def test_each_kind_writes_only_its_own_options() -> None:
    spec = parse_spec(_runtime("kind: ollama\nmodel: m\nkeep_alive: 5m\n"))
    assert spec.model_dump(mode="json")["runtime"] == {
        "kind": "ollama",
        "model": "m",
        "models": None,
        "mode": None,
        "url": None,
        "api_key_env": None,
        "keep_alive": "5m",
    }
    assert SpecFile.model_validate(spec.model_dump(mode="json")) == spec


@pytest.mark.parametrize(
    ("flat", "expected"),
    [
        ({}, EmbeddedOptions()),
        ({"n_threads": 2, "model": "m.gguf"}, EmbeddedOptions(n_threads=2, model="m.gguf")),
        (
            {"kind": "ollama", "model": "m", "keep_alive": "5m", "url": "http://h:1"},
            OllamaOptions(model="m", keep_alive="5m", url="http://h:1"),
        ),
        (
            {"kind": "openai", "models": ["a", "b"], "preset": "vllm", "api_key_env": "K"},
            OpenAIOptions(models=["a", "b"], preset="vllm", api_key_env="K"),
        ),
        # The flat section accepted, and ignored, another kind's option: it still loads.
        ({"kind": "embedded", "keep_alive": "5m"}, EmbeddedOptions()),
    ],
)
def test_a_manifest_with_the_older_flat_runtime_section_still_loads(
    flat: dict[str, object], expected: object
) -> None:
    resolved = {"name": "old", "suites": [{"id": "pm-triage"}], "runtime": {**FLAT, **flat}}
    assert SpecFile.model_validate(resolved).runtime == expected


def test_only_the_exact_flat_shape_is_migrated() -> None:
    """A section written by hand with one null option of another kind is still an error."""
    with pytest.raises(SpecError, match=r"runtime.keep_alive: an option of runtime kind ollama"):
        parse_spec(_runtime("kind: embedded\nkeep_alive: null\n"))


def test_create_runtime_builds_the_kind_the_options_name(fake_ollama: FakeOllama) -> None:
    runtime = create_runtime(OllamaOptions(url=fake_ollama.url, model="m", keep_alive="1h"), 3.0)
    assert isinstance(runtime, OllamaRuntime) and isinstance(runtime, Runtime)
    assert runtime.keep_alive == "1h" and runtime.timeout_s == 3.0


def test_a_run_folder_written_with_the_flat_runtime_section_resumes(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    spec = parse_spec(
        f"""\
name: old-manifest
runtime:
  kind: ollama
  url: {fake_ollama.url}
  model: llama3
  keep_alive: 5m
suites:
  - id: pm-triage
    limit: 2
retries: 0
output: {tmp_path / "runs"}
"""
    )
    fake_ollama.fault = Reply.json({"error": "model is loading"}, 503)
    first = start_run(spec)
    assert first.failed_calls == 2
    folder = first.folder
    manifest = json.loads(folder.manifest.read_text())
    runtime = manifest["spec"]["runtime"]
    manifest["spec"]["runtime"] = {**FLAT, **runtime}  # as older versions wrote it
    folder.manifest.write_text(json.dumps(manifest), encoding="utf-8")

    fake_ollama.fault = None
    resumed = resume_run(folder.root)

    assert resumed.exit_code == ExitCode.OK and resumed.failed_calls == 0
    keep_alive = [r.body.get("keep_alive") for r in fake_ollama.requests if r.path == "/api/chat"]
    assert keep_alive[-2:] == ["5m", "5m"]  # the option survived the migration


def test_a_new_runtime_is_one_module_that_spec_run_and_doctor_pick_up(tmp_path: Path) -> None:
    """A kind registered by a module of its own is a spec's `runtime.kind`, built by
    `create_runtime`, checked by `puma doctor`, and its options are refused under other kinds."""
    (tmp_path / "echo_runtime.py").write_text(ECHO_MODULE, encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import asyncio, pathlib, sys
        import puma.runtimes  # the built-in kinds
        import echo_runtime  # registers itself before the spec's union is built
        from puma.doctor import run_checks
        from puma.errors import SpecError
        from puma.runtimes import create_runtime
        from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt
        from puma.spec import parse_spec

        spec = parse_spec({SPEC!r}.replace("embedded", "echo\\n  greeting: hello"))
        runtime = create_runtime(spec.runtime)
        request = CompletionRequest("m", Prompt("Q?", ()), GenerationOptions())
        print(asyncio.run(runtime.generate(request)).text)
        rows = run_checks(spec.runtime, pathlib.Path(sys.argv[1]))
        print([(c.name, c.status) for c in rows][-1])
        try:
            parse_spec({SPEC!r}.replace("embedded", "embedded\\n  greeting: hello"))
        except SpecError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=_env_with(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "hello Q?"
    assert lines[1] == "('echo says', 'ok')"
    assert lines[2].startswith("<spec>:4: runtime.greeting: an option of runtime kind echo")


def _env_with(folder: Path) -> dict[str, str]:
    import os

    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


ECHO_MODULE = """
from typing import Literal

from puma.runtimes.base import Check, Completion, CompletionRequest, ModelInfo, Runtime, RuntimeInfo
from puma.runtimes.registry import RuntimeKind, RuntimeOptions, register_runtime


class EchoOptions(RuntimeOptions):
    kind: Literal["echo"] = "echo"
    greeting: str = "hi"


class EchoRuntime(Runtime):
    name = "echo"

    def __init__(self, greeting: str):
        self.greeting = greeting

    async def info(self) -> RuntimeInfo:
        return RuntimeInfo(name="echo", url=None, version="1")

    async def ensure_model(self, model: str) -> ModelInfo:
        return ModelInfo(name=model)

    async def generate(self, request: CompletionRequest) -> Completion:
        return Completion(text=f"{self.greeting} {request.prompt.text}", total_ms=0.0)


async def diagnose(options: EchoOptions, required: bool, timeout_s: float) -> list[Check]:
    return [Check("echo says", "ok", options.greeting)]


register_runtime(
    RuntimeKind(
        "echo", EchoOptions, lambda o, t: EchoRuntime(o.greeting), diagnose, summary="echoes"
    )
)
"""
