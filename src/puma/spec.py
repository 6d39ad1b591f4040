"""Run specs: Pydantic models and YAML loading with errors that name file, line and field.

A spec says what to run (runtime, models, suites, strategy, generation options) and where to
write it. Unknown keys are errors. `load_spec` is the only way a spec enters the program.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from puma.errors import SpecError
from puma.hashing import sha256_json

STRATEGY_PATTERN = re.compile(
    r"^(zero-shot|few-shot-[1-9][0-9]?|contextual-anchoring|chain-of-thought)$"
)
HANDLE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
PERTURBATIONS = (
    "typos",
    "uppercase",
    "lowercase",
    "truncate-half",
    "technical-noise",
    "gender-male",
    "gender-female",
    "informal",
)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuntimeSpec(StrictModel):
    kind: Literal["embedded", "ollama", "openai"] = "embedded"
    url: str | None = None
    model: str | None = None
    models: list[str] | None = None
    preset: Literal["vllm", "llamacpp", "lmstudio", "ollama"] | None = Field(
        default=None, description="OpenAI-compatible server flavour (default URL and quirks)"
    )
    api_key_env: str | None = Field(
        default=None, description="name of the environment variable holding an API key, if any"
    )
    keep_alive: str | None = Field(default=None, description="Ollama keep_alive, e.g. '5m'")
    n_threads: int | None = Field(default=None, ge=1, description="embedded: CPU threads")
    mode: Literal["chat", "completion"] | None = Field(
        default=None,
        description="send chat messages or a completion prompt; default: completion for the "
        "embedded base model, chat for servers",
    )

    @model_validator(mode="after")
    def _one_way_to_name_models(self) -> RuntimeSpec:
        if self.model and self.models:
            raise ValueError("give either 'model' or 'models', not both")
        if self.kind != "embedded" and not (self.model or self.models):
            raise ValueError(f"runtime kind '{self.kind}' needs 'model' or 'models'")
        return self

    @property
    def uses_chat(self) -> bool:
        return self.mode == "chat" if self.mode else self.kind != "embedded"

    @property
    def model_names(self) -> list[str]:
        """Models to run, in order; the embedded runtime's default model is 'embedded-default'."""
        if self.models:
            return list(self.models)
        if self.model:
            return [self.model]
        return ["embedded-default"]


class SuiteSpec(StrictModel):
    id: str = Field(description="a bundled suite id (see `puma suites list`) or 'local'")
    path: str | None = Field(default=None, description="local data file for id 'local'")
    format: Literal["jira", "tawos"] | None = Field(
        default=None, description="shape of local data: Jira issue-priority or TAWOS story points"
    )
    columns: dict[str, str] | None = Field(
        default=None, description="column mapping for local data: canonical name -> file column"
    )
    limit: int | None = Field(default=None, ge=1)
    subset: list[str] | None = Field(default=None, description="explicit instance ids to run")
    slices: list[str] | None = Field(
        default=None, description="item fields to slice metrics by, e.g. [project]"
    )

    @model_validator(mode="after")
    def _local_needs_path(self) -> SuiteSpec:
        if self.id == "local" and not (self.path and self.format):
            raise ValueError("a local suite needs 'path' and 'format' (jira or tawos)")
        return self


class GenerationSpec(StrictModel):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=40, ge=0)
    seed: int = 42
    max_tokens: int = Field(default=16, ge=1, le=32768)
    stop: list[str] | None = Field(
        default=None, description="extra stop sequences (the scenario adds its own)"
    )
    num_ctx: int = Field(default=4096, ge=256, description="context window sent to the runtime")


class SpecFile(StrictModel):
    """A run spec as written in YAML (`specs/runs/*.yaml`)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    runtime: RuntimeSpec = RuntimeSpec()
    suites: Annotated[list[SuiteSpec], Field(min_length=1)]
    strategy: str = "zero-shot"
    generation: GenerationSpec = GenerationSpec()
    perturbations: list[str] = Field(default_factory=list)
    repetitions: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=1, ge=1, le=256)
    retries: int = Field(default=3, ge=0, le=20, description="retries after the first attempt")
    timeout_s: float = Field(
        default=120.0, gt=0, description="per call: the longest a server may stay silent (s)"
    )
    output: str = "runs"
    submitter: Annotated[str, Field(pattern=HANDLE_PATTERN)] = "anonymous"
    device_tag: Annotated[str, Field(pattern=r"^(auto|[a-z0-9][a-z0-9-]{0,63})$")] = "auto"

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if not STRATEGY_PATTERN.match(value):
            raise ValueError(
                "expected zero-shot, few-shot-K (K from 1 to 99), contextual-anchoring or "
                f"chain-of-thought, got {value!r}"
            )
        return value

    @field_validator("perturbations")
    @classmethod
    def _known_perturbations(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PERTURBATIONS]
        if unknown:
            raise ValueError(
                f"unknown perturbation {unknown[0]!r}; known: {', '.join(PERTURBATIONS)}"
            )
        return value

    def content_hash(self) -> str:
        return sha256_json(self.model_dump(mode="json"))


def load_spec(path: Path) -> SpecFile:
    """Read and validate a spec; a problem raises SpecError naming file, line and field path."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError("no such spec file", where=str(path)) from exc
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror}", where=str(path)) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"not UTF-8 (byte 0x{exc.object[exc.start]:02x})", where=f"{path}:{line}"
        ) from exc
    return parse_spec(text, source=str(path))


def parse_spec(text: str, *, source: str = "<spec>") -> SpecFile:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise SpecError(f"not valid YAML: {exc.problem}", where=f"{source}:{line}") from exc
    if not isinstance(data, dict):
        raise SpecError("a spec must be a YAML mapping (key: value lines)", where=f"{source}:1")
    try:
        return SpecFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line = _line_of(node, loc)
        raise SpecError(
            f"{_format_loc(loc)}: {_describe(error)}", where=f"{source}:{line}"
        ) from None


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: Any) -> str:
    kind, given = error["type"], error.get("input")
    expected = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
    }.get(kind)
    if expected:
        return f"expected {expected}, got {_show(given)}"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see `puma spec check --help`)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest YAML node the error location reaches."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            key_node, node = match
            line = key_node.start_mark.line + 1
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
