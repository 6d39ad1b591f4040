"""The runtime registry: each runtime kind is one module that declares itself here.

A runtime module defines its options model (a subclass of `RuntimeOptions` whose `kind` is a
one-value Literal), a constructor and a `diagnose` for `puma doctor`, and registers them with
`register_runtime(RuntimeKind(...))`. The spec's `runtime:` section is the discriminated union of
the registered options models (`puma.runtimes.options_union`), so an option of another kind is a
located spec error; `create_runtime` and `diagnose` look the kind up here. Nothing else in PUMA
names a runtime kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, Literal, NamedTuple, Self, TypeVar, get_args

from pydantic import Field, model_validator

from puma.errors import SpecError
from puma.runtimes.base import Check, Runtime
from puma.spec_fields import NonEmptyText, StrictModel, Text, distinct

DIAGNOSE_TIMEOUT_S = 5.0  # `puma doctor` waits this long for a server, not a run's timeout_s
# The nine keys every runtime section had before options were typed per kind: manifests of that
# time hold them all in their resolved spec, null where unused.
FLAT_KEYS = frozenset(
    {"kind", "url", "model", "models", "preset", "api_key_env", "keep_alive", "n_threads", "mode"}
)


class OptionProblem(NamedTuple):
    """A problem with a runtime option found in the environment (not in the spec's text): the
    field under `runtime` it concerns, what is wrong, and how to fix it."""

    field: tuple[str | int, ...]
    message: str
    hint: str | None = None


class RuntimeOptions(StrictModel):
    """What every runtime kind accepts; a kind's module adds its own options in a subclass."""

    kind: str
    model: Text | None = None
    models: Annotated[list[NonEmptyText], distinct("model")] | None = None
    mode: Literal["chat", "completion"] | None = Field(
        default=None,
        description="send chat messages or a completion prompt; default: completion for the "
        "embedded base model, chat for servers",
    )

    chat_by_default: ClassVar[bool] = True

    @model_validator(mode="after")
    def _one_way_to_name_models(self) -> Self:
        if self.model and self.models:
            raise ValueError("give either 'model' or 'models', not both")
        return self

    @property
    def uses_chat(self) -> bool:
        return self.mode == "chat" if self.mode else self.chat_by_default

    @property
    def model_names(self) -> list[str]:
        """Models to run, in order; `default_models` when the spec names none."""
        if self.models:
            return list(self.models)
        if self.model:
            return [self.model]
        return self.default_models()

    def default_models(self) -> list[str]:
        return []

    def environment_problems(
        self, environ: Mapping[str, str], *, check_models: bool
    ) -> Iterator[OptionProblem]:
        """What the environment lacks for these options (an API key variable, a model file);
        `check_models=False` skips model files (`puma run --model` replaces them)."""
        return iter(())


OptionsT = TypeVar("OptionsT", bound=RuntimeOptions)


@dataclass(frozen=True)
class RuntimeKind(Generic[OptionsT]):
    """One runtime kind: its name in `runtime.kind`, its options, how to build it, how to check
    it (`puma doctor`), one line for people, and the pip extra it needs (None: none)."""

    name: str
    options: type[OptionsT]
    create: Callable[[OptionsT, float], Runtime]
    diagnose: Callable[[OptionsT, bool, float], Awaitable[list[Check]]]
    summary: str
    extra: str | None = None


_KINDS: dict[str, RuntimeKind[Any]] = {}


def register_runtime(kind: RuntimeKind[OptionsT]) -> RuntimeKind[OptionsT]:
    declared = kind.options.model_fields["kind"].annotation
    if get_args(declared) != (kind.name,):  # the union is told apart by this Literal
        raise TypeError(f"{kind.options.__name__}.kind must be Literal[{kind.name!r}]")
    _KINDS[kind.name] = kind
    return kind


def runtime_kinds() -> list[RuntimeKind[Any]]:
    """The registered kinds, in the order of their names."""
    return [_KINDS[name] for name in sorted(_KINDS)]


def runtime_kind(name: str) -> RuntimeKind[Any]:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise SpecError(
            f"unknown runtime kind {name!r}", where="runtime.kind", hint=f"known kinds: {known}"
        ) from None


def create_runtime(options: RuntimeOptions, timeout_s: float = 120.0) -> Runtime:
    """The runtime the options describe (not yet connected: `info()` does that)."""
    return runtime_kind(options.kind).create(options, timeout_s)


async def diagnose(
    options: RuntimeOptions, *, required: bool = True, timeout_s: float = DIAGNOSE_TIMEOUT_S
) -> list[Check]:
    """`puma doctor`'s checks for one runtime; `required=False` turns what would fail a run of
    this runtime into warnings (the runtime is checked but the spec does not use it)."""
    return await runtime_kind(options.kind).diagnose(options, required, timeout_s)


def migrate_flat(data: Any) -> Any:
    """A runtime section in the flat shape of older manifests, reduced to its kind's options:
    the other kinds' keys go (null there, or ignored by the code that wrote them)."""
    if not isinstance(data, dict) or set(data) != FLAT_KEYS or data["kind"] not in _KINDS:
        return data
    fields = _KINDS[data["kind"]].options.model_fields
    return {key: value for key, value in data.items() if key in fields}
