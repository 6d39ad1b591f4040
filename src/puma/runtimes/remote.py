"""What the server runtimes share beyond HTTP: their common options (`ServerOptions`), their
doctor checks (`diagnose_server`), the per-call clock, the context-edge and empty-answer
warnings, and choice probabilities from streamed top-k logprobs.

A server cannot score arbitrary continuations the way the embedded runtime does, but it can list
the k most likely tokens at each generated position. At the answer position, each choice gets the
probability mass of the listed tokens that spell it (or its start); choices outside the top k get
the smallest listed log-probability (an upper bound).
The result is normalised over the choices, like the embedded runtime's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from puma.errors import PumaError
from puma.runtimes.base import Check, ModelInfo, Runtime, RuntimeInfo
from puma.runtimes.registry import OptionProblem, RuntimeOptions
from puma.spec_fields import EnvName, is_http_url

CHOICE_METHOD = "top-k at the answer position; choices outside the top k get its smallest logprob"
TOP_LOGPROBS = 20  # the most Ollama and vLLM (by default) return
CONTEXT_WARNING_SHARE = 0.9  # warn when a prompt fills this share of the context or more


class ServerOptions(RuntimeOptions):
    """The options of every runtime that talks to a server: where it is, and its API key."""

    url: str | None = Field(default=None, description="http(s)://host[:port][/path]")
    api_key_env: EnvName | None = Field(
        default=None, description="name of the environment variable holding an API key, if any"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value):
            raise ValueError(f"not an http(s) URL with a host: {value!r}")
        return value

    @model_validator(mode="after")
    def _needs_a_model(self) -> Self:
        if not (self.model or self.models):
            raise ValueError(f"runtime kind '{self.kind}' needs 'model' or 'models'")
        return self

    def environment_problems(
        self, environ: Mapping[str, str], *, check_models: bool
    ) -> Iterator[OptionProblem]:
        if self.api_key_env and not environ.get(self.api_key_env):
            yield OptionProblem(
                ("api_key_env",),
                f"environment variable {self.api_key_env} is not set",
                hint=f"export {self.api_key_env}=<the server's API key>, or remove "
                "runtime.api_key_env",
            )


async def diagnose_server(
    options: ServerOptions,
    connect: Callable[[], Runtime],
    label: str,
    *,
    version_warning: Callable[[str], Check | None] | None = None,
    notes: Sequence[Check] = (),
) -> list[Check]:
    """Is the server reachable, which version is it, and does it have each model (none named:
    which it has)? `version_warning` judges a reported version; `notes` come after a good
    connection (what the doctor should say about this kind or preset)."""
    checks: list[Check] = []
    named: list[str | None] = [*options.model_names]
    for model in named or [None]:
        found = await _diagnose_one(connect, label, model, version_warning, notes)
        checks.extend(check for check in found if check not in checks)
    return checks


async def _diagnose_one(
    connect: Callable[[], Runtime],
    label: str,
    model: str | None,
    version_warning: Callable[[str], Check | None] | None,
    notes: Sequence[Check],
) -> list[Check]:
    try:
        runtime = connect()
    except PumaError as exc:
        return [Check("runtime settings", "fail", exc.message, exc.hint)]
    try:
        try:
            info = await runtime.info()
        except PumaError as exc:
            return [Check("runtime reachable", "fail", exc.message, exc.hint)]
        return [
            Check("runtime reachable", "ok", f"{label} at {info.url}"),
            _version_check(info, version_warning),
            await _model_check(runtime, model, info),
            *notes,
        ]
    finally:
        await runtime.aclose()


def _version_check(
    info: RuntimeInfo, version_warning: Callable[[str], Check | None] | None
) -> Check:
    if info.version is None:
        return Check(
            "runtime version",
            "warn",
            "the server does not report its version; record it by hand in the run notes",
        )
    warning = version_warning(info.version) if version_warning else None
    return warning or Check("runtime version", "ok", info.version)


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


@dataclass
class CallClock:
    """Wall-clock figures of one streamed call: time to first content and total time."""

    started: float = field(default_factory=time.perf_counter)
    first_content: float | None = None

    def saw_content(self) -> None:
        if self.first_content is None:
            self.first_content = time.perf_counter()

    @property
    def ttft_ms(self) -> float | None:
        if self.first_content is None:
            return None
        return (self.first_content - self.started) * 1000.0

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


def context_warning(
    prompt_tokens: int | None, completion_tokens: int | None, context: int
) -> str | None:
    """A warning when the prompt came within 10% of the context, or prompt+answer filled it."""
    if prompt_tokens is None or context <= 0:
        return None
    used = prompt_tokens + (completion_tokens or 0)
    if prompt_tokens >= context or used >= context:
        return (
            f"context full: prompt {prompt_tokens} + answer {completion_tokens or 0} tokens "
            f"reached the context of {context}; the runtime may have truncated the prompt"
        )
    if prompt_tokens >= CONTEXT_WARNING_SHARE * context:
        return (
            f"prompt near the context limit: {prompt_tokens} of {context} tokens "
            f"({prompt_tokens / context:.0%}); raise generation.num_ctx"
        )
    return None


def empty_completion_warning(finish_reason: str | None) -> str:
    """An empty answer is a valid call (recorded, scored as unparseable), flagged for review."""
    return f"empty completion: the model produced no text (finish_reason={finish_reason})"


@dataclass(frozen=True)
class TokenPosition:
    """One generated position: the sampled token and the top-k alternatives (token -> logprob)."""

    token: str
    top: dict[str, float]


def token_positions(entries: Any) -> list[TokenPosition]:
    """Per-token entries as Ollama and OpenAI chat stream them:
    [{token, logprob, top_logprobs: [{token, logprob}, ...]}, ...]."""
    positions = []
    for entry in entries or []:
        if not isinstance(entry, dict) or "token" not in entry:
            continue
        top = {
            str(alt["token"]): float(alt["logprob"])
            for alt in entry.get("top_logprobs") or []
            if isinstance(alt, dict) and "token" in alt and "logprob" in alt
        }
        if not top and "logprob" in entry:
            top = {str(entry["token"]): float(entry["logprob"])}
        positions.append(TokenPosition(token=str(entry["token"]), top=top))
    return positions


def choice_logprobs(
    positions: Sequence[TokenPosition], choices: Sequence[str]
) -> dict[str, float] | None:
    """Normalised log-probability per choice, or None when no listed token spells any choice.

    The answer position is the first one whose top-k spells a choice, looking no further than
    the first non-whitespace token generated (a model may emit a bare space before the label).
    """
    for position in positions:
        masses: dict[str, list[float]] = {choice: [] for choice in choices}
        for token, logprob in position.top.items():
            owner = _owner(token, choices)
            if owner is not None:
                masses[owner].append(logprob)
        if any(masses.values()):
            floor = min(position.top.values())
            raw = {c: _logsumexp(values) if values else floor for c, values in masses.items()}
            total = _logsumexp(list(raw.values()))
            return {choice: value - total for choice, value in raw.items()}
        if position.token.strip():
            return None
    return None


def _owner(token: str, choices: Sequence[str]) -> str | None:
    """The choice a token spells exactly, else the only choice it begins, else None."""
    text = token.strip().lower()
    if not text:
        return None
    exact = [c for c in choices if c.strip().lower() == text]
    if exact:
        return exact[0]
    starts = [c for c in choices if c.strip().lower().startswith(text)]
    return starts[0] if len(starts) == 1 else None


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
