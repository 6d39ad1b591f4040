"""The runtime interface: one small async contract that every model runtime implements.

The runner only ever sees `Runtime`, `CompletionRequest` and `Completion`. A new runtime is one
module that registers itself with `register_runtime` (see runtimes/registry.py); its
`diagnose` reports `Check` lines to `puma doctor`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from puma.errors import PumaError

CheckStatus = Literal["ok", "fail", "warn"]


@dataclass(frozen=True)
class GenerationOptions:
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 40
    seed: int = 42
    max_tokens: int = 16
    stop: tuple[str, ...] = ()
    num_ctx: int = 4096

    def as_record(self) -> dict[str, Any]:
        """The options as they go into the ledger."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "num_ctx": self.num_ctx,
        }


@dataclass(frozen=True)
class Prompt:
    """One prompt in both shapes: completion text (base models) and chat messages (chat runtimes).

    `choices` are the answer labels whose probabilities the runtime should score when it can
    (classification tasks). A completion runtime scores the continuation `" " + choice` after
    `text` (which ends with the answer cue, e.g. "Priority:", and no trailing space).
    """

    text: str
    messages: tuple[dict[str, str], ...]
    stop: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    prompt: Prompt
    options: GenerationOptions
    chat: bool = False  # send `prompt.messages` to a chat endpoint instead of `prompt.text`


@dataclass
class Completion:
    text: str
    total_ms: float
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_counted_locally: bool = False  # True when the runtime gave no counts and we counted
    finish_reason: str | None = None
    choice_logprobs: dict[str, float] | None = None  # choice -> log-probability (normalised)
    runtime_timings: dict[str, Any] = field(default_factory=dict)  # the runtime's own figures
    warnings: list[str] = field(default_factory=list)

    @property
    def prompt_tokens_per_s(self) -> float | None:
        """Prompt processing speed: prompt tokens over time to first token."""
        if self.prompt_tokens is None or not self.ttft_ms:
            return None
        return self.prompt_tokens / (self.ttft_ms / 1000.0)

    @property
    def generation_tokens_per_s(self) -> float | None:
        """Generation speed: completion tokens after the first, over the time after the first."""
        if self.completion_tokens is None or self.ttft_ms is None:
            return None
        decode_ms = self.total_ms - self.ttft_ms
        if self.completion_tokens <= 1 or decode_ms <= 0:
            return None
        return (self.completion_tokens - 1) / (decode_ms / 1000.0)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    digest: str | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeInfo:
    name: str
    url: str | None
    version: str | None
    models: tuple[ModelInfo, ...] = ()
    build: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One line of `puma doctor`: what was checked, how it went, and what to do if it failed."""

    name: str
    status: CheckStatus
    detail: str
    fix: str | None = None


class RuntimeCallError(PumaError):
    """One call failed. `retryable` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after_s: float | None = None,
        hint: str | None = None,
    ):
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class PromptTooLong(RuntimeCallError):
    """The prompt does not fit the model's context, so the call was not made (or the server
    refused it). Trying again cannot help: the runner records the call as skipped, a wrong
    answer in every metric, and a resume does not repeat it."""

    reason = "prompt_exceeds_context"

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(
            message,
            retryable=False,
            hint=hint
            or "raise generation.num_ctx in the spec (and the server's context), "
            "or use a strategy with a shorter prompt",
        )


class CallInterrupted(RuntimeCallError):
    """The server cut the answer short because another request arrived (llama-cpp-python's
    server does this by default). The runner then makes its calls to that server one at a time
    and repeats the call; see runner/execute.py."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message, retryable=True, hint=hint)


class Runtime(abc.ABC):
    """A model runtime. Instances are used from one asyncio event loop."""

    name: ClassVar[str]

    @abc.abstractmethod
    async def info(self) -> RuntimeInfo:
        """Version and available models. Raises RuntimeUnavailable when unreachable."""

    @abc.abstractmethod
    async def ensure_model(self, model: str) -> ModelInfo:
        """Check that the model is present; raise RuntimeUnavailable with the fixing command."""

    @abc.abstractmethod
    async def generate(self, request: CompletionRequest) -> Completion:
        """One completion. Raises RuntimeCallError on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models."""

    @property
    def max_parallel(self) -> int | None:
        """Calls this runtime can serve at once (None: no limit of its own)."""
        return None

    @property
    def max_parallel_reason(self) -> str | None:
        """Why `max_parallel` is set, when it is the server's doing rather than the runtime's
        design: a spec asking for more concurrency then gets a warning and a deviation in the
        manifest. None for a runtime that is serial by design (the embedded one)."""
        return None
