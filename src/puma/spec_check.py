"""Everything `puma run` would refuse in a spec, found before any model loads: the file itself
(`puma.spec`), what it names in the environment (API key variables, GGUF files) and its suites
(ids, local paths, subset ids, slice fields, few-shot pools). Each runtime kind says what it
needs from the environment (`RuntimeOptions.environment_problems`). `check_spec` is the one
function `puma run`, `puma spec check` and `puma doctor` go through; it reads suite data, never
a model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from puma.errors import PumaError, SpecError, SuiteError
from puma.scenarios import parse_strategy
from puma.spec import SpecDocument, SpecFile, SuiteSpec, raise_first, read_spec
from puma.suites import Suite, load_bundled_suite, load_local_suite, select_items
from puma.suites.local import JIRA_COLUMNS, TAWOS_COLUMNS
from puma.suites.select import local_suite_path
from puma.tasks import build_prompt

MAX_SUBSET_PROBLEMS = 5  # ids named one by one; past that, a count
LOCAL_COLUMNS = {"jira": JIRA_COLUMNS, "tawos": TAWOS_COLUMNS}


@dataclass(frozen=True)
class SpecCheck:
    """A checked spec: `spec` is None when the file itself does not validate."""

    spec: SpecFile | None
    problems: tuple[SpecError, ...]


def check_spec(
    path: Path, *, check_models: bool = True, environ: Mapping[str, str] | None = None
) -> SpecCheck:
    """Every problem `puma run` would stop at, each as `file:line: field: what is wrong`.

    `check_models=False` skips the embedded GGUF files (`puma run --model` replaces them);
    `environ` defaults to the process environment."""
    document = read_spec(path)
    spec = document.spec
    if spec is None:
        return SpecCheck(None, tuple(sorted(document.problems, key=_line_number)))
    env = os.environ if environ is None else environ
    problems = [
        *document.problems,
        *_runtime_problems(document, spec, env, check_models),
        *_suite_problems(document, spec, Path(path).parent),
    ]
    return SpecCheck(spec, tuple(sorted(problems, key=_line_number)))


def _line_number(problem: SpecError) -> float:
    """Problems are listed in file order; one without a line (a summary) comes last."""
    line = (problem.where or "").rpartition(":")[2]
    return int(line) if line.isdigit() else math.inf


def validate_spec(
    path: Path, *, check_models: bool = True, environ: Mapping[str, str] | None = None
) -> SpecFile:
    """The spec, or the first problem raised as SpecError (exit 2)."""
    checked = check_spec(path, check_models=check_models, environ=environ)
    raise_first(checked.problems)
    assert checked.spec is not None
    return checked.spec


def _runtime_problems(
    document: SpecDocument[SpecFile], spec: SpecFile, env: Mapping[str, str], check_models: bool
) -> Iterator[SpecError]:
    for problem in spec.runtime.environment_problems(env, check_models=check_models):
        yield document.problem(("runtime", *problem.field), problem.message, problem.hint)


def _suite_problems(
    document: SpecDocument[SpecFile], spec: SpecFile, base_dir: Path
) -> Iterator[SpecError]:
    strategy = parse_strategy(spec.strategy)  # the spec's pattern admits only known strategies
    listed: dict[str, int] = {}
    for index, entry in enumerate(spec.suites):
        loc: tuple[str | int, ...] = ("suites", index)
        try:
            suite = _load(entry, base_dir)
        except _Located as exc:
            yield document.problem((*loc, *exc.field), exc.message, exc.hint)
            continue
        if suite.id in listed:
            yield document.problem(
                (*loc, "path" if entry.id == "local" else "id"),
                f"suite {suite.id} is already listed as suites[{listed[suite.id]}]",
                hint="a spec runs each suite once; merge the two entries",
            )
        listed.setdefault(suite.id, index)
        missing = list(_missing_subset_ids(document, suite, entry, loc))
        yield from missing
        selected = suite if missing else select_items(suite, subset=entry.subset, limit=entry.limit)
        yield from _slice_problems(document, selected, entry, loc)
        if missing:
            continue
        if strategy.shots > len(suite.examples):
            yield document.problem(
                ("strategy",),
                f"{strategy.name} needs {strategy.shots} examples but suite {suite.id} has "
                f"{len(suite.examples)} in its example pool",
                hint="choose a smaller K",
            )
            continue
        # One prompt per perturbation finds what rendering would refuse for every item (a field
        # the task needs, a pool too small once the item's own issue is left out).
        for perturbation in ["none", *spec.perturbations]:
            try:
                build_prompt(
                    selected,
                    selected.items[0],
                    spec.strategy,
                    seed=spec.generation.seed,
                    perturbation=perturbation,
                )
            except PumaError as exc:
                yield document.problem(loc, exc.message, exc.hint)
                break


class _Located(Exception):
    """A suite entry's problem and the field of the entry it is at, e.g. ("columns", "title")."""

    def __init__(self, field: tuple[str, ...], message: str, hint: str | None = None):
        super().__init__(message)
        self.field, self.message, self.hint = field, message, hint


def _load(entry: SuiteSpec, base_dir: Path) -> Suite:
    """The full suite an entry names; a problem is raised at the entry's field it concerns."""
    if entry.id != "local":
        try:
            return load_bundled_suite(entry.id)
        except SuiteError as exc:
            where = f"{exc.where}: " if exc.where else ""
            raise _Located(("id",), f"{where}{exc.message}", exc.hint) from None
    known = LOCAL_COLUMNS[entry.format or "jira"]
    for name in entry.columns or {}:
        if name not in known:
            raise _Located(
                ("columns", name),
                f"unknown canonical column {name!r} for {entry.format} data",
                hint=f"canonical names: {', '.join(known)}; the value is your file's column",
            )
    path = local_suite_path(entry, base_dir)
    if not path.is_file():
        what = "is a folder, not a data file" if path.is_dir() else "does not exist"
        raise _Located(
            ("path",),
            f"{path.absolute()} {what}",
            hint=f"a local suite's path is relative to the spec's folder ({base_dir.absolute()})",
        )
    try:
        return load_local_suite(path, entry.format, entry.columns)
    except SuiteError as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise _Located(("path",), f"{where}{exc.message}", exc.hint) from None


def _missing_subset_ids(
    document: SpecDocument[SpecFile], suite: Suite, entry: SuiteSpec, loc: tuple[str | int, ...]
) -> Iterator[SpecError]:
    if entry.subset is None:
        return
    present = {str(item["instance_id"]) for item in suite.items}
    examples = {str(example["instance_id"]) for example in suite.examples}
    missing = [(i, sid) for i, sid in enumerate(entry.subset) if sid not in present]
    for index, sid in missing[:MAX_SUBSET_PROBLEMS]:
        what = "a few-shot example, not a test item," if sid in examples else "not an item"
        yield document.problem(
            (*loc, "subset", index),
            f"{sid!r} is {what} of suite {suite.id}",
            hint=f"`puma suites show {suite.id}` prints an item; ids are in items.jsonl"
            if suite.source == "bundled"
            else "ids are the issue keys of the file (or row-<hash> where it has none)",
        )
    if len(missing) > MAX_SUBSET_PROBLEMS:
        yield document.problem(
            (*loc, "subset"),
            f"{len(missing) - MAX_SUBSET_PROBLEMS} more ids are not items of suite {suite.id}",
        )


def _slice_problems(
    document: SpecDocument[SpecFile], selected: Suite, entry: SuiteSpec, loc: tuple[str | int, ...]
) -> Iterator[SpecError]:
    fields = sorted({key for item in selected.items for key in item} - {"instance_id", "gold"})
    for index, name in enumerate(entry.slices or []):
        lacking = [item for item in selected.items if name not in item]
        if not lacking:
            continue
        if len(lacking) == len(selected.items):
            message = f"items of suite {selected.id} have no field {name!r}"
        else:
            message = (
                f"{len(lacking)} of {len(selected.items)} items of suite {selected.id} lack "
                f"field {name!r} (first: {lacking[0]['instance_id']})"
            )
        yield document.problem(
            (*loc, "slices", index), message, hint=f"item fields: {', '.join(fields)}"
        )
