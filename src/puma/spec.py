"""Run specs: Pydantic models and YAML loading with errors that name file, line and field.

A spec says what to run (runtime, models, suites, strategy, generation options) and where to
write it. Unknown keys, duplicate keys, wrong types and numbers outside their documented range
are errors. This module checks the file on its own; `puma.spec_check` adds what needs the
environment and the suites (what `puma run`, `spec check` and `doctor` all go through).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator

from puma.errors import SpecError
from puma.hashing import sha256_json
from puma.runtimes import (
    RuntimeOptions,
    default_options,
    options_union,
    runtime_kind,
    runtime_kinds,
)
from puma.spec_fields import (
    NonEmptyText,
    StopText,
    StrictModel,
    Text,
    distinct,
)

HANDLE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# A spec is a page of YAML; anything near this size is a mistake (a data file given as a spec),
# and PyYAML needs minutes and gigabytes for tens of megabytes.
MAX_SPEC_BYTES = 1024 * 1024
# llama.cpp seeds are uint32 and 0xFFFFFFFF (LLAMA_DEFAULT_SEED) means "pick one at random",
# which would make a run unrepeatable; servers pass the seed on to the same code.
SEED_MAX = 2**32 - 2
NUM_CTX_MAX = 131_072  # the largest context of common local models (128k)
MAX_LIMIT = 1_000_000  # items per suite: far above any suite's size
MAX_PROBLEMS = 50  # listed one by one; a 1 MiB list of wrong values is summed up after these
# What PyYAML's reader refuses (it raises a bare ReaderError without a line): C0 controls other
# than tab, LF and CR, DEL, C1 controls other than NEL, surrogates, U+FFFE and U+FFFF.
NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

# `runtime:` is one of the registered kinds' options models, told apart by `kind` (mypy sees
# their base class; pydantic validates the union).
if TYPE_CHECKING:
    RuntimeSection = RuntimeOptions
else:
    RuntimeSection = options_union()


class SuiteSpec(StrictModel):
    id: NonEmptyText = Field(description="a bundled suite id (see `puma suites list`) or 'local'")
    path: NonEmptyText | None = Field(
        default=None, description="local data file for id 'local', relative to the spec's folder"
    )
    format: Literal["jira", "tawos"] | None = Field(
        default=None, description="shape of local data: Jira issue-priority or TAWOS story points"
    )
    columns: dict[NonEmptyText, NonEmptyText] | None = Field(
        default=None, description="column mapping for local data: canonical name -> file column"
    )
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    subset: Annotated[list[NonEmptyText], Field(min_length=1)] | None = Field(
        default=None, description="explicit instance ids to run"
    )
    slices: Annotated[list[NonEmptyText], distinct("slice field")] | None = Field(
        default=None, description="item fields to slice metrics by, e.g. [project]"
    )

    @model_validator(mode="after")
    def _local_needs_path(self) -> SuiteSpec:
        if self.id == "local" and not (self.path and self.format):
            raise ValueError("a local suite needs 'path' and 'format' (jira or tawos)")
        if self.id != "local" and (self.path or self.format or self.columns):
            raise ValueError("'path', 'format' and 'columns' are for id: local only")
        return self


class GenerationSpec(StrictModel):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=40, ge=0, le=1000)
    seed: int = Field(default=42, ge=0, le=SEED_MAX)
    max_tokens: int = Field(default=16, ge=1, le=32768)
    stop: Annotated[list[StopText], Field(max_length=16)] | None = Field(
        default=None, description="extra stop sequences (the scenario adds its own)"
    )
    num_ctx: int = Field(
        default=4096, ge=256, le=NUM_CTX_MAX, description="context window sent to the runtime"
    )


def _known_strategy(value: str) -> str:
    # The names live with the strategies and perturbations (loaded on use: they pull in
    # the scenarios, which a spec that names none does not need).
    from puma.scenarios.strategies import is_strategy, strategy_choices

    if not is_strategy(value):
        raise ValueError(f"expected {strategy_choices()}, got {value!r}")
    return value


def _known_perturbations(value: list[str]) -> list[str]:
    from puma.scenarios.perturbations import perturbation_names

    known = perturbation_names()
    unknown = [p for p in value if p not in known]
    if unknown:
        raise ValueError(f"unknown perturbation {unknown[0]!r}; known: {', '.join(known)}")
    return value


# A spec's strategy and perturbations (sweep files name them too, in their template).
StrategyName = Annotated[str, AfterValidator(_known_strategy)]
PerturbationNames = Annotated[
    list[str], distinct("perturbation"), AfterValidator(_known_perturbations)
]


class SpecFile(StrictModel):
    """A run spec as written in YAML (`specs/runs/*.yaml`)."""

    name: Annotated[Text, Field(min_length=1, max_length=100)]
    runtime: RuntimeSection = Field(default_factory=default_options)
    suites: Annotated[list[SuiteSpec], Field(min_length=1)]
    strategy: StrategyName = "zero-shot"
    generation: GenerationSpec = GenerationSpec()
    perturbations: PerturbationNames = Field(default_factory=list)
    repetitions: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=1, ge=1, le=256)
    retries: int = Field(default=3, ge=0, le=20, description="retries after the first attempt")
    timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="per call: the longest a server may stay silent (s)",
    )
    output: NonEmptyText = "runs"
    submitter: Annotated[str, Field(pattern=HANDLE_PATTERN)] = "anonymous"
    device_tag: Annotated[str, Field(pattern=r"^(auto|[a-z0-9][a-z0-9-]{0,63})$")] = "auto"

    def content_hash(self) -> str:
        return sha256_json(self.model_dump(mode="json"))


# --- reading a spec file -----------------------------------------------------------------------


ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class SpecDocument(Generic[ModelT]):
    """A YAML file as read: where it came from, its YAML node tree (for line numbers), its
    model (None when it does not validate) and every problem found, each located. Run specs
    are SpecDocument[SpecFile]; sweep files (puma.sweep) use the same reader."""

    source: str
    node: yaml.Node | None = None
    spec: ModelT | None = None
    problems: tuple[SpecError, ...] = field(default=())

    def problem(
        self, loc: tuple[str | int, ...], message: str, hint: str | None = None
    ) -> SpecError:
        """A SpecError at the line of the field `loc` (e.g. ("suites", 0, "subset", 2))."""
        return SpecError(
            f"{format_loc(loc)}: {message}",
            where=f"{self.source}:{_line_of(self.node, loc)}",
            hint=hint,
        )

    def require(self) -> ModelT:
        """The model, or the first problem raised (naming how many more there are)."""
        raise_first(self.problems)
        assert self.spec is not None  # no problem means it validated
        return self.spec


def raise_first(problems: tuple[SpecError, ...] | list[SpecError]) -> None:
    if not problems:
        return
    first = problems[0]
    if len(problems) == 1:
        raise first
    more = f"{len(problems) - 1} more problem(s) in this spec: `puma spec check` lists them all"
    raise SpecError(
        first.message,
        where=first.where,
        hint=f"{first.hint}; {more}" if first.hint else more,
    )


def load_spec(path: Path) -> SpecFile:
    """Read and validate a spec file on its own; a problem raises SpecError naming file, line
    and field path. `puma.spec_check.validate_spec` adds the environment and the suites."""
    return read_spec(path).require()


def parse_spec(text: str, *, source: str = "<spec>") -> SpecFile:
    """Validate spec text (see `load_spec`)."""
    return parse_document(text, source=source, model=SpecFile).require()


def read_spec(path: Path) -> SpecDocument[SpecFile]:
    """Read a spec file: at most MAX_SPEC_BYTES of UTF-8 text, then `parse_document`."""
    return read_yaml_model(path, SpecFile)


def read_yaml_model(
    path: Path, model: type[ModelT], *, example: str = "specs/runs/demo_publication.yaml"
) -> SpecDocument[ModelT]:
    """Read a YAML file of at most MAX_SPEC_BYTES of UTF-8 text and validate it as `model`,
    every problem located as file:line: field (see `parse_document`)."""
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            # One byte past the limit, not the size stat gives: a FIFO or /dev/zero has none.
            data = handle.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        return SpecDocument(source, problems=(SpecError("no such spec file", where=source),))
    except OSError as exc:
        message = f"cannot read spec: {exc.strerror or exc}"
        return SpecDocument(source, problems=(SpecError(message, where=source),))
    if len(data) > MAX_SPEC_BYTES:
        too_big = SpecError(
            f"spec file is larger than {MAX_SPEC_BYTES // 1024} KiB ({MAX_SPEC_BYTES} bytes)",
            where=source,
            hint="a spec is a page of YAML; is this a data file? Local data goes in "
            "suites: [{id: local, path: ..., format: ...}]",
        )
        return SpecDocument(source, problems=(too_big,))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        not_utf8 = SpecError(
            f"not UTF-8 (byte 0x{data[exc.start]:02x} at column {column})",
            where=f"{source}:{line}",
            hint="save the file as UTF-8",
        )
        return SpecDocument(source, problems=(not_utf8,))
    return parse_document(text, source=source, model=model, example=example)


def parse_document(
    text: str,
    *,
    source: str = "<spec>",
    model: type[ModelT],
    example: str = "specs/runs/demo_publication.yaml",
) -> SpecDocument[ModelT]:
    """Parse and validate spec text (as `model`, a run spec by default); never raises, every
    problem is in `problems`."""
    bad = NON_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        control = SpecError(
            f"control character U+{ord(bad.group()):04X} at column {column}",
            where=f"{source}:{line}",
            hint="a spec is plain text: remove the character (write \\t or \\n inside "
            "double quotes for a stop sequence)",
        )
        return SpecDocument(source, problems=(control,))
    try:
        node, data, duplicates = _load_yaml(text)
    except _NodeError as exc:
        return SpecDocument(source, exc.root, problems=(exc.located(source),))
    except yaml.MarkedYAMLError as exc:
        return SpecDocument(source, problems=(_yaml_problem(exc, source),))
    except (yaml.YAMLError, RecursionError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return SpecDocument(source, problems=(SpecError(f"not valid YAML: {what}", where=source),))
    document: SpecDocument[ModelT] = SpecDocument(source, node)
    # Duplicate keys are reported, then validation goes on with the last value (as YAML would)
    # so that one pass lists every problem.
    problems = [duplicate.located(source) for duplicate in duplicates]
    if not isinstance(data, dict):
        what = "empty" if node is None else f"a {_kind_of(data)}"
        line = node.start_mark.line + 1 if node is not None else 1
        not_mapping = SpecError(
            f"a spec must be a YAML mapping (key: value lines); this file is {what}",
            where=f"{source}:{line}",
            hint=f"start from {example}",
        )
        return SpecDocument(source, node, problems=(*problems, not_mapping))
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        shown: set[str] = set()
        for error in errors[:MAX_PROBLEMS]:
            loc, message = _located(error)
            problem = document.problem(loc, message, _HINTS.get(_last_name(loc)))
            if str(problem) not in shown:
                shown.add(str(problem))
                problems.append(problem)
        if len(errors) > MAX_PROBLEMS:
            more = f"{len(errors) - MAX_PROBLEMS} more problems of the same kinds"
            problems.append(SpecError(more, where=source))
        return SpecDocument(source, node, problems=tuple(problems))
    except RecursionError:
        deep = SpecError("not valid: nested too deeply", where=f"{source}:1")
        return SpecDocument(source, node, problems=(*problems, deep))
    return SpecDocument(source, node, spec, tuple(problems))


class _NodeError(Exception):
    """A problem with one YAML node found while constructing values (its line is exact)."""

    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node, self.message = node, message
        self.root: yaml.Node | None = None

    def located(self, source: str) -> SpecError:
        path = _path_to(self.root, self.node, ()) if self.root is not None else None
        field_text = f"{format_loc(path)}: " if path else ""
        return SpecError(
            f"{field_text}{self.message}", where=f"{source}:{self.node.start_mark.line + 1}"
        )


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what it would otherwise accept silently or with a bare
    traceback: a key given twice in one mapping (PyYAML keeps the last), an integer too long
    for Python, a date that does not exist. Duplicate keys are collected in `duplicates`."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[_NodeError] = []

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise _NodeError(node, f"cannot read this value: {exc}") from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: PyYAML reports it with its line
            if first is not key_node:
                self.duplicates.append(
                    _NodeError(
                        key_node,
                        f"duplicate key (first on line {first.start_mark.line + 1}); "
                        "YAML would keep only the last",
                    )
                )
        return super().construct_mapping(node, deep=deep)

    def construct_long_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise _NodeError(
                node, f"integer of {len(str(node.value))} digits is too long"
            ) from None


_SpecLoader.add_constructor("tag:yaml.org,2002:int", _SpecLoader.construct_long_int)


def _load_yaml(text: str) -> tuple[yaml.Node | None, Any, list[_NodeError]]:
    """The node tree, the data, and each duplicate key (located from the root)."""
    loader = _SpecLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None, []
        try:
            data = loader.construct_document(node)
        except _NodeError as exc:
            exc.root = node
            raise
        for duplicate in loader.duplicates:
            duplicate.root = node
        return node, data, loader.duplicates
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    problem = str(exc.problem or exc.context or "cannot parse")
    if "another document" in problem:
        return SpecError(
            "not valid YAML: a spec is one document, but a second one starts here",
            where=f"{source}:{line}",
            hint="remove the '---' line and what follows, or put it in its own file",
        )
    if "'\\t'" in problem:
        return SpecError(
            "not valid YAML: a tab where YAML needs spaces",
            where=f"{source}:{line}",
            hint="indent with spaces, not tabs",
        )
    return SpecError(f"not valid YAML: {problem}", where=f"{source}:{line}")


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "single string"
    return type(value).__name__ if value is not None else "null"


def _path_to(
    node: yaml.Node, target: yaml.Node, path: tuple[str | int, ...], seen: set[int] | None = None
) -> tuple[str | int, ...] | None:
    """The field path from `node` down to `target` (a key node ends the path at its key)."""
    seen = set() if seen is None else seen
    if node is target:
        return path
    if id(node) in seen:  # an alias back to an ancestor
        return None
    seen.add(id(node))
    children: list[tuple[str | int, yaml.Node, yaml.Node | None]] = []
    if isinstance(node, yaml.MappingNode):
        children = [(str(k.value), v, k) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
    elif isinstance(node, yaml.SequenceNode):
        children = [(i, v, None) for i, v in enumerate(node.value)]
    for part, child, key_node in children:
        if key_node is target:
            return (*path, part)
        found = _path_to(child, target, (*path, part), seen)
        if found is not None:
            return found
    return None


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _last_name(loc: tuple[Any, ...]) -> str:
    return next((str(part) for part in reversed(loc) if isinstance(part, str)), "")


_HINTS = {
    "seed": f"seeds run from 0 to {SEED_MAX} (llama.cpp's are 32-bit; {SEED_MAX + 1} means "
    "'random' there)",
    "num_ctx": f"the context window in tokens, from 256 to {NUM_CTX_MAX}; most runs need 4096",
    "url": "e.g. http://127.0.0.1:11434 (Ollama) or http://127.0.0.1:8000 (vLLM)",
}
_PATTERNS = {
    "submitter": "lower-case letters, digits and hyphens (at most 64)",
    "device_tag": "auto, or lower-case letters, digits and hyphens (at most 64)",
    "api_key_env": "the name of an environment variable (letters, digits, _)",
}
_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "finite_number": "a finite number",
    "union_tag_not_found": "a mapping",  # a runtime section that is not one
}
_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", "≥"),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "≤"),
}


def _located(error: Any) -> tuple[tuple[str | int, ...], str]:
    """The field path a validation error is at, as the spec's author wrote it, and what is
    wrong. Pydantic names the runtime union's member after `runtime` (runtime.ollama.url): that
    is the kind, not a key of the file, so it is dropped, and the message says which kind an
    option belongs to when it is given to another. A runtime section may sit deeper (a sweep
    file's matrix.models[0].runtime)."""
    full = tuple(error["loc"])
    at = full.index("runtime") if "runtime" in full else None
    if at is None:
        return full, _describe(error)
    prefix, loc = full[:at], full[at:]
    kinds = [kind.name for kind in runtime_kinds()]
    if error["type"] == "union_tag_invalid":
        expected = ", ".join(f"'{kind}'" for kind in kinds[:-1]) + f" or '{kinds[-1]}'"
        given = _show(error["input"].get("kind"))
        return (*prefix, *loc, "kind"), f"expected {expected}, got {given}"
    if len(loc) < 2 or loc[1] not in kinds:
        return full, _describe(error)
    kind, loc = loc[1], (loc[0], *loc[2:])
    options = [name for name in runtime_kind(kind).options.model_fields if name != "kind"]
    if error["type"] == "extra_forbidden" and len(loc) == 2:
        owners = [k.name for k in runtime_kinds() if loc[1] in k.options.model_fields]
        if owners:
            return (*prefix, *loc), (
                f"an option of runtime kind {' and '.join(owners)}, not {kind} (options of "
                f"{kind}: {', '.join(options)})"
            )
    return (*prefix, *loc), _describe(error)


def _describe(error: Any) -> str:
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_show(given)}"
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return f"must be {sign} {ctx[key]}, got {_show(given)}"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see `puma spec check --help`)"
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {_show(given)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters, got {len(given)}"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s)"
    if kind == "too_long":
        return f"at most {ctx['max_length']} items, got {ctx.get('actual_length', '?')}"
    if kind == "string_pattern_mismatch":
        expected = _PATTERNS.get(_last_name(tuple(error["loc"])), f"a match for {ctx['pattern']}")
        return f"expected {expected}, got {_show(given)}"
    return str(error["msg"]).removeprefix("Value error, ")


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, float) and not math.isfinite(value):
        text = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    elif isinstance(value, bool | int | float) or value is None:
        text = yaml.safe_dump(value).removesuffix("\n...\n").strip()
    elif isinstance(value, dict | list):
        text = "a mapping" if isinstance(value, dict) else "a list"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        elif isinstance(node, yaml.MappingNode):  # a key that is not text, e.g. `1: x`
            match = next((kv for kv in node.value if kv[0].value == str(part)), None)
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
