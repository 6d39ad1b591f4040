"""Doctor checks for a remote runtime (ollama or openai): reachable, version, model present.

`check_remote_runtime` returns small `Check` values (call it with `asyncio.run` from sync code);
`puma doctor` renders them. Nothing here prints or exits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from puma.errors import PumaError
from puma.runtimes.base import ModelInfo, Runtime, RuntimeInfo
from puma.runtimes.http import api_key_from_env

CheckStatus = Literal["ok", "fail", "warn"]
OLLAMA_LOGPROBS_SINCE = (0, 12, 11)  # the first Ollama release that returns logprobs


@dataclass(frozen=True)
class Check:
    """One line of `puma doctor`: what was checked, how it went, and what to do if it failed."""

    name: str
    status: CheckStatus
    detail: str
    fix: str | None = None


async def check_remote_runtime(
    kind: Literal["ollama", "openai"],
    *,
    url: str | None = None,
    model: str | None = None,
    preset: str | None = None,
    api_key_env: str | None = None,
    timeout_s: float = 5.0,
) -> list[Check]:
    """Is the server reachable, which version is it, and does it have the model?"""
    try:
        runtime = _runtime(kind, url, preset, api_key_env, timeout_s)
    except PumaError as exc:
        return [Check("runtime settings", "fail", exc.message, exc.hint)]
    try:
        try:
            info = await runtime.info()
        except PumaError as exc:
            return [Check("runtime reachable", "fail", exc.message, exc.hint)]
        checks = [
            Check("runtime reachable", "ok", f"{_label(kind, preset)} at {info.url}"),
            _version_check(kind, preset, info),
        ]
        checks.append(await _model_check(runtime, model, info))
        if kind == "openai" and preset == "ollama":
            checks.append(
                Check(
                    "context size",
                    "warn",
                    "Ollama's /v1 endpoint ignores num_ctx, so prompts longer than the server's "
                    "default context are silently truncated",
                    "use runtime kind 'ollama' (the native API), which sets num_ctx per call",
                )
            )
        return checks
    finally:
        await runtime.aclose()


def _runtime(
    kind: str, url: str | None, preset: str | None, api_key_env: str | None, timeout_s: float
) -> Runtime:
    api_key = api_key_from_env(api_key_env)
    if kind == "ollama":
        from puma.runtimes.ollama import DEFAULT_URL, OllamaRuntime

        return OllamaRuntime(url or DEFAULT_URL, timeout_s=timeout_s, api_key=api_key)
    from puma.runtimes.openai import OpenAICompatibleRuntime

    return OpenAICompatibleRuntime(url, timeout_s=timeout_s, preset=preset, api_key=api_key)


def _label(kind: str, preset: str | None) -> str:
    if kind == "ollama":
        return "Ollama (native API)"
    return f"OpenAI-compatible server ({preset})" if preset else "OpenAI-compatible server"


def _version_check(kind: str, preset: str | None, info: RuntimeInfo) -> Check:
    if info.version is None:
        return Check(
            "runtime version",
            "warn",
            "the server does not report its version; record it by hand in the run notes",
        )
    if kind == "ollama" or preset == "ollama":
        parsed = _version_tuple(info.version)
        if parsed is not None and parsed < OLLAMA_LOGPROBS_SINCE:
            since = ".".join(map(str, OLLAMA_LOGPROBS_SINCE))
            return Check(
                "runtime version",
                "warn",
                f"Ollama {info.version} returns no logprobs, so triage answers get no label "
                "probabilities (calibration metrics will be missing)",
                f"update Ollama to {since} or later",
            )
    return Check("runtime version", "ok", info.version)


async def _model_check(runtime: Runtime, model: str | None, info: RuntimeInfo) -> Check:
    if model is None:
        names = ", ".join(m.name for m in info.models[:8]) or "none"
        return Check(
            "model present",
            "warn",
            f"no model named; the server has: {names}",
            "pass --model NAME to check the one you will run",
        )
    try:
        found = await runtime.ensure_model(model)
    except PumaError as exc:
        return Check("model present", "fail", exc.message, exc.hint)
    return Check("model present", "ok", _describe(found))


def _describe(model: ModelInfo) -> str:
    parts = [model.name]
    if model.digest:
        parts.append(f"digest {model.digest[:12]}")
    if model.size_bytes:
        parts.append(f"{model.size_bytes / 1e9:.1f} GB")
    for key in ("parameter_size", "quantization_level", "context_length", "server_context"):
        if key in model.details:
            parts.append(f"{key.replace('_', ' ')} {model.details[key]}")
    return ", ".join(parts)


def _version_tuple(version: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())
