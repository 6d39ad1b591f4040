"""Generate the bundled suites into src/puma/suites/data/<id>/, deterministically and offline.

Fills the YAML templates and vocabulary of scripts/suite_sources/ (shape-checked on load) from a
seeded random.Random: same sources, same bytes. `--out DIR` writes elsewhere, `--sources DIR` reads
other sources, `--check` compares a fresh generation with the committed files (exit 1 on any
difference); a malformed source file exits 2 with the file and key at fault.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from puma.hashing import sha256_hex
from puma.jsonio import dumps_line, write_json, write_text_atomic
from puma.suites.bundled import (
    DATA_DIR,
    DATASHEET_NAME,
    EXAMPLES_NAME,
    HASHED_FILES,
    ITEMS_NAME,
    MANIFEST_NAME,
    SCHEMA_NAME,
    SuiteCounts,
    SuiteManifest,
    suite_content_hash,
)
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS

SEED = 20240611
VERSION = "1.0.0"
LICENSE = "CC-BY-4.0"
GENERATOR = "scripts/make_suites.py"
SOURCES_DIR = Path(__file__).resolve().parent / "suite_sources"

# Items per label (test pool, examples pool). Shares stay within 15-35% so macro-F1 means something.
TRIAGE_COUNTS = {"Critical": (72, 10), "Major": (96, 10), "Minor": (90, 10), "Trivial": (62, 10)}
ESTIMATION_COUNTS = {
    1: (25, 5),
    2: (39, 6),
    3: (49, 6),
    5: (59, 6),
    8: (54, 6),
    13: (44, 6),
    21: (30, 5),
}
PAIR_COUNTS = (320, 24)  # test pairs, example pairs
PAIR_MAX_USES = 3  # how many pairs one triage issue may appear in
DEMO_PREFIX = 15  # demo specs take `limit: 15`; the first 15 items must cover every label


# --------------------------------------------------------------------------------------------
# The shapes of the source files. Pydantic validates plain dicts and lists from YAML into these
# frozen dataclasses (lists become tuples); an unknown or missing key is an error, not a default.
# --------------------------------------------------------------------------------------------

STRICT_KEYS = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entity:
    """A thing users work with, the page or screen that lists it, and some of its fields."""

    __pydantic_config__ = STRICT_KEYS

    singular: str
    plural: str
    page: str
    fields: tuple[str, ...]
    endpoint: str  # the API call that reads or writes it


@dataclass(frozen=True)
class Project:
    """An invented product (projects.yaml): the vocabulary every template draws from."""

    __pydantic_config__ = STRICT_KEYS

    key: str
    name: str
    stack: str  # java | kotlin | python | go | typescript | dotnet: decides the stack traces
    surfaces: dict[str, tuple[str, ...]]  # surface -> components
    entities: tuple[Entity, ...]
    roles: dict[str, str]  # admin | user | dev | ops -> role name
    versions: tuple[str, ...]
    frames: tuple[tuple[str, str], ...]  # (module or class, function) for stack traces
    jobs: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """Slot values shared by every project (vocabulary.yaml)."""

    __pydantic_config__ = STRICT_KEYS

    reporters: tuple[str, ...]
    customers: tuple[str, ...]
    browsers: tuple[str, ...]
    desktops: tuple[str, ...]
    devices: tuple[str, ...]
    regions: tuple[str, ...]
    dates: tuple[str, ...]
    times: tuple[str, ...]
    typos: tuple[tuple[str, str], ...]  # (misspelt, correct)
    renames: tuple[tuple[str, str], ...]  # (old label, new label)
    huge: tuple[str, ...]


@dataclass(frozen=True)
class IssueTemplate:
    """One kind of issue of a priority (triage_templates.yaml)."""

    __pydantic_config__ = STRICT_KEYS

    surfaces: tuple[str, ...]  # where it can happen; "any" = every surface of the project
    titles: tuple[str, ...]
    context: tuple[str, ...]
    impact: tuple[str, ...]
    steps: tuple[str, ...] = ()
    expected: str = ""
    actual: str = ""
    trace: str | None = None  # exception kind for a stack trace, see exceptions.yaml
    projects: tuple[str, ...] = ()  # restrict to these project keys; empty = any


@dataclass(frozen=True)
class StoryTemplate:
    """One kind of user story of a size (story_templates.yaml)."""

    __pydantic_config__ = STRICT_KEYS

    surfaces: tuple[str, ...]
    titles: tuple[str, ...]
    story: str
    criteria: tuple[str, ...]
    context: tuple[str, ...] = ("",)
    extra: tuple[str, ...] = ()  # criteria of which a random number are added
    projects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Remarks:
    """Closing lines that carry no signal about the gold value (remarks.yaml)."""

    __pydantic_config__ = STRICT_KEYS

    issue_remarks: tuple[str, ...]
    story_notes: tuple[str, ...]  # "" = no note


@dataclass(frozen=True)
class ShortQuestion:
    """A question of the small-model-eval suite (short_answers.yaml)."""

    __pydantic_config__ = STRICT_KEYS

    category: str  # arithmetic, units, geography, science, language, dates, logic
    question: str
    gold: str  # the answer; accepted alternatives separated by " | "


@dataclass(frozen=True)
class ShortQuestions:
    __pydantic_config__ = STRICT_KEYS

    items: tuple[ShortQuestion, ...]
    examples: tuple[ShortQuestion, ...]


@dataclass(frozen=True)
class ProgrammingTask:
    """A task of the python-tasks suite (python_tasks.yaml)."""

    __pydantic_config__ = STRICT_KEYS

    title: str
    entry_point: str
    prompt: str  # signature and docstring: all the model sees
    solution: str  # the reference solution
    tests: str  # the hidden tests


@dataclass(frozen=True)
class ProgrammingTasks:
    __pydantic_config__ = STRICT_KEYS

    items: tuple[ProgrammingTask, ...]
    examples: tuple[ProgrammingTask, ...]


@dataclass(frozen=True)
class Sources:
    """Everything the generator reads from the sources folder."""

    projects: tuple[Project, ...]
    vocabulary: Vocabulary
    exceptions: dict[str, dict[str, str]]  # stack -> exception kind -> first line of the trace
    issues: dict[str, tuple[IssueTemplate, ...]]  # priority -> templates
    stories: dict[int, tuple[StoryTemplate, ...]]  # story points -> templates
    remarks: Remarks
    short_questions: ShortQuestions
    programming_tasks: ProgrammingTasks


class SourceError(Exception):
    """A source file that cannot be read or has the wrong shape; the message names file and key."""


def error_line(error: ErrorDetails) -> str:
    loc = list(error["loc"])
    of_key = loc[-1:] == ["[key]"]  # Pydantic's marker for a mapping key that failed, not a value
    where = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}"
        for part in loc[: -1 if of_key else None]
    )
    where = (where.removeprefix(".") or "(top level)") + (" (the key)" if of_key else "")
    if error["type"] in ("missing", "missing_argument"):
        return f"{where}: missing key"
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{where}: unknown key"
    # YAML 1.1 turns some unquoted text into other types: null, no, 1.0, 11:03 (a number).
    hint = "; quote it" if error["type"] == "string_type" else ""
    return f"{where}: {error['msg']} (found {error['input']!r}{hint})"


def read_source(folder: Path, name: str, shape: Any) -> Any:
    """One YAML file of the sources folder, validated into `shape`."""
    path = folder / name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from None
    try:
        return TypeAdapter(shape).validate_python(raw)
    except ValidationError as exc:
        lines = "\n".join(f"  {error_line(error)}" for error in exc.errors())
        raise SourceError(f"{path}:\n{lines}") from None


def require_keys(path: Path, keys: Sequence[Any], wanted: Sequence[Any]) -> None:
    """The top-level keys of a file keyed by gold value must be exactly those values."""
    unknown = [k for k in keys if k not in wanted]
    missing = [k for k in wanted if k not in keys]
    if unknown or missing:
        found = ", ".join(
            [f"{k}: unknown key" for k in unknown] + [f"{k}: missing key" for k in missing]
        )
        raise SourceError(f"{path}: {found} (expected {', '.join(map(str, wanted))})")


def check_references(folder: Path, sources: Sources) -> None:
    """Names that point into another file (stack, trace kind, project key) must exist there."""
    problems = [
        f"{folder / 'projects.yaml'}: [{i}].stack: {p.stack!r} is not a stack of exceptions.yaml"
        for i, p in enumerate(sources.projects)
        if p.stack not in sources.exceptions
    ]
    stacks = sources.exceptions.values()
    kinds = {kind for by_kind in stacks for kind in by_kind if all(kind in s for s in stacks)}
    keys = {p.key for p in sources.projects}
    by_file: dict[str, dict[Any, Sequence[IssueTemplate | StoryTemplate]]] = {
        "triage_templates.yaml": dict(sources.issues),
        "story_templates.yaml": dict(sources.stories),
    }
    for name, by_gold in by_file.items():
        for gold, templates in by_gold.items():
            for i, t in enumerate(templates):
                where = f"{folder / name}: {gold}[{i}]"
                problems += [
                    f"{where}.projects: unknown project {k!r}" for k in t.projects if k not in keys
                ]
                if isinstance(t, IssueTemplate) and t.trace is not None and t.trace not in kinds:
                    problems.append(f"{where}.trace: {t.trace!r} is not a kind of every stack")
    if problems:
        raise SourceError("\n".join(problems))


def load_sources(folder: Path = SOURCES_DIR) -> Sources:
    """Read and check every source file; raises SourceError naming the file and key at fault."""
    issues = read_source(folder, "triage_templates.yaml", dict[str, tuple[IssueTemplate, ...]])
    require_keys(folder / "triage_templates.yaml", list(issues), TRIAGE_LABELS)
    stories = read_source(folder, "story_templates.yaml", dict[int, tuple[StoryTemplate, ...]])
    require_keys(folder / "story_templates.yaml", list(stories), list(ESTIMATION_COUNTS))
    sources = Sources(
        projects=read_source(folder, "projects.yaml", tuple[Project, ...]),
        vocabulary=read_source(folder, "vocabulary.yaml", Vocabulary),
        exceptions=read_source(folder, "exceptions.yaml", dict[str, dict[str, str]]),
        issues=issues,
        stories=stories,
        remarks=read_source(folder, "remarks.yaml", Remarks),
        short_questions=read_source(folder, "short_answers.yaml", ShortQuestions),
        programming_tasks=read_source(folder, "python_tasks.yaml", ProgrammingTasks),
    )
    check_references(folder, sources)
    return sources


# --------------------------------------------------------------------------------------------
# Filling templates with the vocabulary.
# --------------------------------------------------------------------------------------------


def article(phrase: str) -> str:
    """'a' or 'an' before a phrase (good enough for the vocabulary in the sources)."""
    return "an" if phrase[:1].lower() in "aeio" or phrase.startswith("HR") else "a"


def environment(
    vocab: Vocabulary, surface: str, project: Project, version: str, rng: random.Random
) -> str:
    if surface == "web":
        browser, desktop = rng.choice(vocab.browsers), rng.choice(vocab.desktops)
        return f"{browser} on {desktop}, {project.name} {version}"
    if surface == "mobile":
        return f"{rng.choice(vocab.devices)}, app {version}"
    if surface == "cli":
        return f"{project.commands[0].split()[0]} {version} on {rng.choice(vocab.desktops)}"
    if surface == "batch":
        return f"production scheduler ({rng.choice(vocab.regions)}), {project.name} {version}"
    return f"production, {rng.choice(vocab.regions)}, {project.name} {version}"


def fill_slots(
    vocab: Vocabulary, project: Project, surface: str, rng: random.Random
) -> dict[str, str]:
    """The slot values of one rendered item; a template naming a missing slot fails loudly."""
    chosen = rng.choice(project.entities)
    entity, entities = chosen.singular, chosen.plural
    v = rng.randrange(len(project.versions) - 1)
    version = project.versions[v + 1]
    typo_wrong, typo_right = rng.choice(vocab.typos)
    rename_old, rename_new = rng.choice(vocab.renames)
    slots = {
        "project": project.name,
        "component": rng.choice(project.surfaces[surface]),
        "entity": entity,
        "entities": entities,
        "Entity": entity[0].upper() + entity[1:],
        "Entities": entities[0].upper() + entities[1:],
        "a_entity": f"{article(entity)} {entity}",
        "field": rng.choice(chosen.fields),
        "page": chosen.page,
        "view": "screen" if surface == "mobile" else "page",
        "version": version,
        "prev_version": project.versions[v],
        "env": environment(vocab, surface, project, version, rng),
        "n": str(rng.randint(2, 9)),
        "big": f"{rng.choice((1, 2, 5, 10, 12, 25, 40)) * 1000:,}",
        "huge": rng.choice(vocab.huge),
        "pct": str(rng.choice((3, 5, 8, 12, 20, 30, 40))),
        "minutes": str(rng.choice((10, 15, 20, 35, 45, 90))),
        "customer": rng.choice(vocab.customers),
        "ticket": f"SUP-{rng.randint(1200, 9800)}",
        "region": rng.choice(vocab.regions),
        "date": rng.choice(vocab.dates),
        "time": rng.choice(vocab.times),
        "typo_wrong": typo_wrong,
        "typo_right": typo_right,
        "rename_old": rename_old,
        "rename_new": rename_new,
    }
    for kind, role in project.roles.items():
        slots[kind] = role
        slots[f"a_{kind}"] = f"{article(role)} {role}"
    if "api" in project.surfaces:
        slots["endpoint"] = chosen.endpoint
    if project.jobs:
        slots["job"] = rng.choice(project.jobs)
    if project.commands:
        slots["cmd"] = rng.choice(project.commands)
    return slots


def fill(text: str, slots: dict[str, str]) -> str:
    return text.format_map(slots)


# --------------------------------------------------------------------------------------------
# Stack traces, in the style of each project's language.


# --------------------------------------------------------------------------------------------
# Stack traces, in the style of each project's language.
# --------------------------------------------------------------------------------------------


def stack_trace(project: Project, head: str, rng: random.Random) -> str:
    """A short, plausible trace: the exception line `head`, then three or four project frames."""
    frames = rng.sample(project.frames, k=min(len(project.frames), rng.choice((3, 4))))
    lines = [rng.randint(40, 480) for _ in frames]
    stack = project.stack
    if stack == "python":
        body = ["Traceback (most recent call last):"]
        for (path, func), line in zip(frames, lines, strict=True):
            body.append(f'  File "/srv/app/{path}", line {line}, in {func}')
        return "\n".join([*body, head])
    if stack == "go":
        body = [head, "", f"goroutine {rng.randint(7, 900)} [running]:"]
        for (path, func), line in zip(frames, lines, strict=True):
            body.append(f"github.com/kestrel-ci/kestrel/{path.rsplit('/', 1)[0]}.{func}(...)")
            body.append(f"\t/src/{path}:{line} +0x{rng.randint(16, 4095):x}")
        return "\n".join(body)
    if stack == "typescript":
        body = [head]
        for (path, func), line in zip(frames, lines, strict=True):
            body.append(f"    at {func} (/app/{path}:{line}:{rng.randint(5, 60)})")
        return "\n".join(body)
    if stack == "dotnet":
        body = [head]
        for (cls, func), line in zip(frames, lines, strict=True):
            source = "/".join(cls.split(".")[1:]) + ".cs"
            body.append(f"   at {cls}.{func}() in /src/{source}:line {line}")
        return "\n".join(body)
    body = [head] if stack == "java" else ["FATAL EXCEPTION: main", head]
    ext = "java" if stack == "java" else "kt"
    for (cls, func), line in zip(frames, lines, strict=True):
        body.append(f"\tat {cls}.{func}({cls.rsplit('.', 1)[1]}.{ext}:{line})")
    return "\n".join(body)


# --------------------------------------------------------------------------------------------
# Issue templates. The label follows from the impact (data loss, outage or security: Critical;
# a broken feature with no workaround: Major; a workaround exists or the effect is small: Minor;
# cosmetic: Trivial), never from a single keyword.
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Rendering.
# --------------------------------------------------------------------------------------------


def pick_project(
    projects: Sequence[Project],
    surfaces: tuple[str, ...],
    only: tuple[str, ...],
    rng: random.Random,
) -> Project:
    fits = [
        p
        for p in projects
        if (not only or p.key in only) and ("any" in surfaces or set(surfaces) & set(p.surfaces))
    ]
    return rng.choice(fits)


def pick_surface(surfaces: tuple[str, ...], project: Project, rng: random.Random) -> str:
    usable = (
        list(project.surfaces)
        if "any" in surfaces
        else [s for s in surfaces if s in project.surfaces]
    )
    return rng.choice(usable)


def render_issue(sources: Sources, t: IssueTemplate, rng: random.Random) -> dict[str, Any]:
    project = pick_project(sources.projects, t.surfaces, t.projects, rng)
    surface = pick_surface(t.surfaces, project, rng)
    s = fill_slots(sources.vocabulary, project, surface, rng)
    style = rng.choice(("markdown", "plain", "terse"))
    parts = [fill(rng.choice(t.context), s)]
    if t.steps and rng.random() < 0.8:
        steps = [fill(step, s) for step in t.steps]
        if style == "markdown":
            parts.append(
                "**Steps to reproduce**\n" + "\n".join(f"{i}. {x}" for i, x in enumerate(steps, 1))
            )
        elif style == "plain":
            parts.append(
                "Steps to reproduce:\n" + "\n".join(f"{i}. {x}" for i, x in enumerate(steps, 1))
            )
        else:
            parts.append("STR: " + " > ".join(steps))
    if t.expected:
        expected, actual = fill(t.expected, s), fill(t.actual, s)
        if style == "markdown":
            parts.append(f"**Expected:** {expected}\n**Actual:** {actual}")
        elif style == "plain":
            parts.append(f"Expected: {expected}\nActual: {actual}")
        else:
            parts.append(f"exp: {expected} / got: {actual}")
    if t.trace and rng.random() < 0.85:
        trace = stack_trace(project, sources.exceptions[project.stack][t.trace], rng)
        parts.append(f"```\n{trace}\n```" if style == "markdown" else trace)
    env_line = rng.choice(("Environment: {env}", "Seen on {env}.", "Env: {env}"))
    parts.append(fill(env_line, s))
    parts.append(fill(rng.choice(t.impact), s))
    if rng.random() < 0.4:
        parts.append(fill(rng.choice(sources.remarks.issue_remarks), s))
    return {
        "project": project.key,
        "component": s["component"],
        "title": fill(rng.choice(t.titles), s),
        "description": "\n\n".join(parts),
        "reporter": rng.choice(sources.vocabulary.reporters),
    }


def render_story(sources: Sources, t: StoryTemplate, rng: random.Random) -> dict[str, Any]:
    project = pick_project(sources.projects, t.surfaces, t.projects, rng)
    surface = pick_surface(t.surfaces, project, rng)
    s = fill_slots(sources.vocabulary, project, surface, rng)
    criteria = [fill(c, s) for c in t.criteria]
    extras = [fill(c, s) for c in t.extra]
    criteria += rng.sample(extras, k=rng.randint(0, len(extras)))
    parts = [fill(t.story, s)]
    context = fill(rng.choice(t.context), s)
    if context:
        parts.append(context)
    heading = rng.choice(("Acceptance criteria:", "**Acceptance criteria**", "AC:"))
    if rng.random() < 0.5:
        listed = "\n".join(f"- {c}" for c in criteria)
    else:
        listed = "\n".join(f"{i}. {c}" for i, c in enumerate(criteria, 1))
    parts.append(f"{heading}\n{listed}")
    note = fill(rng.choice(sources.remarks.story_notes), s)
    if note:
        parts.append(note)
    return {
        "project": project.key,
        "title": fill(rng.choice(t.titles), s),
        "description": "\n\n".join(parts),
    }


def generate_pool(
    templates: Sequence[Any],
    count: int,
    render: Callable[[Any, random.Random], dict[str, Any]],
    seen: set[tuple[str, str]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """`count` rows cycling through the templates; a (project, title) pair never repeats."""
    order = list(templates)
    rng.shuffle(order)
    rows: list[dict[str, Any]] = []
    turn = 0
    while len(rows) < count:
        template = order[turn % len(order)]
        turn += 1
        if turn > count * 50:
            raise RuntimeError("templates cannot produce enough distinct rows; add variety")
        for _ in range(20):
            row = render(template, rng)
            key = (row["project"], row["title"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
                break
    return rows


def assign_keys(
    rows: list[dict[str, Any]], first: int, projects: Sequence[Project], rng: random.Random
) -> None:
    """Issue keys like ORBIT-1042, numbered after a shuffle so that order says nothing of gold."""
    shuffled = list(rows)
    rng.shuffle(shuffled)
    counters = {p.key: first + rng.randint(0, 400) for p in projects}
    for row in shuffled:
        counters[row["project"]] += rng.randint(1, 7)
        row["instance_id"] = f"{row['project']}-{counters[row['project']]}"


def demo_order(
    rows: list[dict[str, Any]], labels: Sequence[Any], rng: random.Random
) -> list[dict[str, Any]]:
    """A seeded shuffle whose first DEMO_PREFIX rows cover every label (reshuffle until so)."""
    ordered = list(rows)
    while True:
        rng.shuffle(ordered)
        if {r["gold"] for r in ordered[:DEMO_PREFIX]} >= set(labels):
            return ordered


def with_field_order(row: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: row[name] for name in fields}


TRIAGE_FIELDS = ("instance_id", "project", "component", "title", "description", "reporter", "gold")
ESTIMATION_FIELDS = ("instance_id", "project", "title", "description", "gold")
PAIR_ISSUE_FIELDS = ("project", "component", "title", "description")
PAIR_FIELDS = ("instance_id", "a", "b", "source_ids", "gold")


Rows = list[dict[str, Any]]


def build_pools(
    templates: Mapping[Any, Sequence[Any]],
    counts: dict[Any, tuple[int, int]],
    render: Callable[[Any, random.Random], dict[str, Any]],
    fields: Sequence[str],
    first_key: int,
    labels: Sequence[Any],
    projects: Sequence[Project],
    rng: random.Random,
) -> tuple[Rows, Rows]:
    """Items and examples for every gold value, keyed and ordered (see demo_order)."""
    seen: set[tuple[str, str]] = set()
    items: Rows = []
    examples: Rows = []
    for gold, (n_items, n_examples) in counts.items():
        rows = generate_pool(templates[gold], n_items + n_examples, render, seen, rng)
        for row in rows:
            row["gold"] = gold
        # Every template reaches both pools: examples take every k-th row, not a block.
        step = (n_items + n_examples) // n_examples
        chosen = set(range(0, step * n_examples, step))
        examples += [r for i, r in enumerate(rows) if i in chosen]
        items += [r for i, r in enumerate(rows) if i not in chosen]
    assign_keys(items + examples, first_key, projects, rng)
    items = demo_order(items, labels, rng)
    examples = demo_order(examples, labels, rng)
    return (
        [with_field_order(r, fields) for r in items],
        [with_field_order(r, fields) for r in examples],
    )


def build_pairs(
    issues: list[dict[str, Any]], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """`count` pairs of issues with different priority; each issue in at most PAIR_MAX_USES pairs.
    Exactly half the pairs have the more urgent issue first (gold "A")."""
    rank = {label: i for i, label in enumerate(TRIAGE_LABELS)}
    candidates = [
        (i, j)
        for i in range(len(issues))
        for j in range(i + 1, len(issues))
        if issues[i]["gold"] != issues[j]["gold"]
    ]
    rng.shuffle(candidates)
    uses: Counter[int] = Counter()
    chosen: list[tuple[int, int]] = []
    for i, j in candidates:
        if uses[i] < PAIR_MAX_USES and uses[j] < PAIR_MAX_USES:
            chosen.append((i, j))
            uses[i] += 1
            uses[j] += 1
            if len(chosen) == count:
                break
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} pairs possible, {count} wanted")
    pairs = []
    for k, (i, j) in enumerate(chosen):
        urgent, other = (i, j) if rank[issues[i]["gold"]] < rank[issues[j]["gold"]] else (j, i)
        first, second = (urgent, other) if k % 2 == 0 else (other, urgent)
        a, b = issues[first], issues[second]
        source_ids = [a["instance_id"], b["instance_id"]]
        pairs.append(
            {
                "instance_id": "pair-" + sha256_hex("|".join(source_ids))[:12],
                "a": with_field_order(a, PAIR_ISSUE_FIELDS),
                "b": with_field_order(b, PAIR_ISSUE_FIELDS),
                "source_ids": source_ids,
                "gold": "A" if k % 2 == 0 else "B",
            }
        )
    return demo_order(pairs, PAIR_LABELS, rng)


# --------------------------------------------------------------------------------------------
# Schemas, datasheets and files.
# --------------------------------------------------------------------------------------------

ISSUE_KEY_PATTERN = "^[A-Z][A-Z0-9]*-[0-9]+$"


def text_property(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description}


def item_schema(suite_id: str, task: str) -> dict[str, Any]:
    base = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://puma-bench.example/suites/{suite_id}/item.schema.json",
        "title": f"One item of the {suite_id} suite",
        "type": "object",
        "additionalProperties": False,
    }
    issue_props = {
        "project": text_property("project key"),
        "component": text_property("component the issue was filed against"),
        "title": text_property("issue summary"),
        "description": text_property("issue body: context, steps, traces, impact"),
    }
    if task == "triage":
        return base | {
            "required": list(TRIAGE_FIELDS),
            "properties": {
                "instance_id": {"type": "string", "pattern": ISSUE_KEY_PATTERN},
                **issue_props,
                "reporter": text_property("reporter's display name (a plain name)"),
                "gold": {"enum": list(TRIAGE_LABELS), "description": "priority"},
            },
        }
    if task == "short-answer":
        return base | {
            "required": list(SHORT_ANSWER_FIELDS),
            "properties": {
                "instance_id": {"type": "string", "pattern": "^QA-[0-9]{3}$"},
                "category": {"enum": list(SHORT_ANSWER_CATEGORIES), "description": "a slice"},
                "question": text_property("the question, naming the answer's form if needed"),
                "gold": text_property('the answer; accepted alternatives joined by " | "'),
            },
        }
    if task == "python-tasks":
        return base | {
            "required": list(PYTHON_TASK_FIELDS),
            "properties": {
                "instance_id": {"type": "string", "pattern": "^PY-[0-9]{3}$"},
                "title": text_property("what the function does, in a few words"),
                "entry_point": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
                "prompt": text_property("signature and docstring: all the model sees"),
                "solution": text_property("the reference solution (examples show it)"),
                "gold": text_property("the hidden tests: assert statements, never in a prompt"),
            },
        }
    if task == "estimation":
        return base | {
            "required": list(ESTIMATION_FIELDS),
            "properties": {
                "instance_id": {"type": "string", "pattern": ISSUE_KEY_PATTERN},
                "project": text_property("project key"),
                "title": text_property("story title"),
                "description": text_property("user story with acceptance criteria"),
                "gold": {
                    "type": "integer",
                    "enum": list(FIBONACCI_POINTS),
                    "description": "story points",
                },
            },
        }
    return base | {
        "required": list(PAIR_FIELDS),
        "$defs": {
            "issue": {
                "type": "object",
                "additionalProperties": False,
                "required": list(PAIR_ISSUE_FIELDS),
                "properties": issue_props,
            }
        },
        "properties": {
            "instance_id": {"type": "string", "pattern": "^pair-[0-9a-f]{12}$"},
            "a": {"$ref": "#/$defs/issue"},
            "b": {"$ref": "#/$defs/issue"},
            "source_ids": {
                "type": "array",
                "items": {"type": "string", "pattern": ISSUE_KEY_PATTERN},
                "minItems": 2,
                "maxItems": 2,
                "description": "pm-triage instance ids of a and b",
            },
            "gold": {"enum": list(PAIR_LABELS), "description": "which issue to handle first"},
        },
    }


@dataclass
class SuiteBuild:
    id: str
    task: str
    labels: tuple[str, ...]
    description: str
    measures: str
    made: str
    limits: tuple[str, ...]
    items: list[dict[str, Any]]
    examples: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)
    # Open answers (text, code): no gold distribution, and a datasheet of their own.
    sheet: Callable[[SuiteBuild, SuiteManifest], str] | None = None


def jsonl_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    return "".join(dumps_line(row) + "\n" for row in rows).encode("utf-8")


def distribution(rows: Sequence[dict[str, Any]], order: Sequence[Any]) -> dict[str, int]:
    counts = Counter(str(r["gold"]) for r in rows)
    return {str(label): counts[str(label)] for label in order}


def datasheet(build: SuiteBuild, manifest: SuiteManifest, projects: Sequence[Project]) -> str:
    order = build.labels or tuple(str(p) for p in FIBONACCI_POINTS)
    items_dist = distribution(build.items, order)
    examples_dist = distribution(build.examples, order)
    table = ["| gold | items | share | examples |", "|---|---:|---:|---:|"]
    n = len(build.items)
    for label in order:
        share = 100 * items_dist[label] / n
        table.append(f"| {label} | {items_dist[label]} | {share:.1f}% | {examples_dist[label]} |")
    per_project = Counter(
        (r["project"] if "project" in r else r["a"]["project"]) for r in build.items
    )
    project_line = ", ".join(f"{p.key} ({p.name}, {per_project[p.key]})" for p in projects)
    limits = "\n".join(f"- {limit}" for limit in build.limits)
    return f"""# {build.id} — datasheet

Version {VERSION} · task `{build.task}` · license {LICENSE}

## What it measures

{build.measures}

## Composition

{len(build.items)} test items in `items.jsonl` and {len(build.examples)} few-shot examples in
`examples.jsonl`. The two pools never share an instance id or a text. Items by project:
{project_line}.

{chr(10).join(table)}

The order of `items.jsonl` is a seeded shuffle whose first {DEMO_PREFIX} items cover every label,
so a run with `limit: {DEMO_PREFIX}` still sees all of them. `schema.json` is the JSON Schema of
one item.

## How it was made

{build.made}

The data is synthetic: `{GENERATOR}` fills hand-written templates from a seeded
`random.Random` ({SEED}) with the vocabulary of six invented products. No network, no
personal data, no random ids; running the script again gives the same bytes (a test checks the
committed files against a fresh generation).

## Content hash

`content_hash` in `suite.json` is the SHA-256 (lower-case hex) of the concatenation, for each file
in the order {", ".join(f"`{name}`" for name in HASHED_FILES)}, of: the file name in UTF-8, a line
feed, the file's length in bytes as decimal ASCII, a line feed, then the file's bytes. `files` in
`suite.json` holds each file's own SHA-256. PUMA refuses to load the suite when either differs
from the bytes on disk. This version's hash:

`{manifest.content_hash}`

## License

{LICENSE} (Creative Commons Attribution 4.0). The texts are generated, invented and free of
personal data; the reporter names are common given and family names chosen for variety.

## Known limits

{limits}
"""


def finish(build: SuiteBuild) -> SuiteManifest:
    build.files[ITEMS_NAME] = jsonl_bytes(build.items)
    build.files[EXAMPLES_NAME] = jsonl_bytes(build.examples)
    gold_order = build.labels or tuple(str(p) for p in FIBONACCI_POINTS)
    manifest = SuiteManifest(
        id=build.id,
        version=VERSION,
        task=build.task,
        labels=build.labels,
        description=build.description,
        license=LICENSE,
        content_hash=suite_content_hash(build.files),
        files={name: sha256_hex(build.files[name]) for name in HASHED_FILES},
        counts=SuiteCounts(
            items=len(build.items),
            examples=len(build.examples),
            gold={} if build.sheet else distribution(build.items, gold_order),
        ),
        generator=f"{GENERATOR} (seed {SEED})",
    )
    return manifest


def write_suite(build: SuiteBuild, out: Path, projects: Sequence[Project]) -> None:
    manifest = finish(build)
    folder = out / build.id
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in build.files.items():
        tmp = folder / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(folder / name)
    write_json(folder / MANIFEST_NAME, manifest.model_dump(mode="json"))
    write_json(folder / SCHEMA_NAME, item_schema(build.id, build.task))
    sheet = build.sheet(build, manifest) if build.sheet else datasheet(build, manifest, projects)
    write_text_atomic(folder / DATASHEET_NAME, sheet)


COMMON_LIMITS = (
    "Synthetic text: realistic in shape, but invented. Scores on it say how well a model reads "
    "well-formed reports, not how it copes with the noise of a real tracker.",
    "English only.",
)


def build_suites(sources: Sources) -> list[SuiteBuild]:
    rng = random.Random(SEED)
    triage_items, triage_examples = build_pools(
        sources.issues,
        TRIAGE_COUNTS,
        partial(render_issue, sources),
        TRIAGE_FIELDS,
        1000,
        TRIAGE_LABELS,
        sources.projects,
        rng,
    )
    estimation_items, estimation_examples = build_pools(
        sources.stories,
        ESTIMATION_COUNTS,
        partial(render_story, sources),
        ESTIMATION_FIELDS,
        5000,
        (),
        sources.projects,
        rng,
    )
    pair_items = build_pairs(triage_items, PAIR_COUNTS[0], rng)
    pair_examples = build_pairs(triage_examples, PAIR_COUNTS[1], rng)
    return [
        SuiteBuild(
            id="pm-triage",
            task="triage",
            labels=TRIAGE_LABELS,
            description="Issue triage: an issue report in, a priority (Critical, Major, Minor, "
            "Trivial) out.",
            measures="Whether a model assigns the priority a careful triager would give a "
            "software issue report. Each item is an issue (project, component, title, "
            "description, reporter) whose priority follows from its impact: data loss, outage "
            "or a security hole is Critical; a broken feature with no workaround is Major; a "
            "problem with a workaround or a small functional effect is Minor; a cosmetic "
            "problem is Trivial. Scored with accuracy and macro-F1 (the classes are balanced "
            "enough for macro-F1 to mean something) and calibration where the runtime gives "
            "probabilities.",
            made="Each label has its own set of issue templates (about sixteen each: data loss, "
            "outages, tenant leaks, broken exports, stale counters, typos...). A template is "
            "filled with a project's components, entities, fields, pages, versions and, for "
            "several templates, a stack trace in the project's language. Wording, format "
            "(Markdown, plain, terse), steps to reproduce and closing remarks vary per item. "
            "The priority is carried by the described impact, not by a keyword: 'typo' appears "
            "in Critical and Minor issues too, and every label gets the same pool of neutral "
            "remarks. Instance ids are issue keys numbered after a shuffle, so they say nothing "
            "about the label.",
            limits=(
                *COMMON_LIMITS,
                "Gold labels are the template author's judgement of impact, not the priority a "
                "real team assigned; real trackers are noisier and more skewed to Major.",
                "Descriptions reuse template sentences, so a model that memorises the suite can "
                "score well; treat results as a comparison between models on the same suite.",
                "The reporter field is a plain name with no bearing on priority; the gender "
                "perturbations replace it to test that models ignore it.",
            ),
            items=triage_items,
            examples=triage_examples,
        ),
        SuiteBuild(
            id="pm-estimation",
            task="estimation",
            labels=(),
            description="Effort estimation: a user story with acceptance criteria in, story "
            "points (1, 2, 3, 5, 8, 13, 21) out.",
            measures="Whether a model sizes user stories the way a team using Fibonacci story "
            "points would. Each item is a story (project, title, description with acceptance "
            "criteria); the gold value follows from the scope: how many parts of the system it "
            "touches, whether it needs a migration, an integration or work on two platforms, and "
            "how many acceptance criteria it has. Scored with MAE, median absolute error, MdMRE "
            "and the share of estimates within one step of the gold value.",
            made="Each size has its own story templates (from a copy change at 1 point to a "
            "re-platforming at 21), filled with the vocabulary of the project. Zero to two "
            "optional criteria and a random note are added per item, so neighbouring sizes "
            "overlap in length and the size must be judged from the scope rather than counted.",
            limits=(
                *COMMON_LIMITS,
                "Story points are relative to a team; these golds encode one consistent, "
                "invented team's scale.",
                "The scale has no 0, 1/2, 40 or 100; local TAWOS data with such values is "
                "rejected rather than snapped.",
            ),
            items=estimation_items,
            examples=estimation_examples,
        ),
        SuiteBuild(
            id="pm-prioritization",
            task="prioritization",
            labels=PAIR_LABELS,
            description="Prioritisation: two issues in, which one to handle first (A or B) out.",
            measures="Whether a model orders two issues the way their priorities do. Each item "
            "shows two pm-triage issues of different priority (without their labels or "
            "reporters); gold is the more urgent one. Scored with accuracy; a coin flip scores "
            "50%.",
            made=f"Derived from pm-triage by `{GENERATOR}`: candidate pairs of test items with "
            "different priorities are shuffled with the seed and taken in turn, each issue in "
            f"at most {PAIR_MAX_USES} pairs; exactly half the pairs put the more urgent issue "
            "first. The examples are built the same way from pm-triage's example pool only, so "
            "no test issue ever appears in a few-shot prompt. `source_ids` names the two "
            "pm-triage issues; the instance id is `pair-` and the first 12 hex digits of the "
            "SHA-256 of the two source ids joined by '|'.",
            limits=(
                *COMMON_LIMITS,
                "Pairs inherit pm-triage's labels; adjacent priorities (Major vs Minor) are "
                "harder and more debatable than distant ones.",
                "The same triage issue appears in up to three pairs, so items are not "
                "independent; bootstrap intervals are a little too narrow.",
            ),
            items=pair_items,
            examples=pair_examples,
        ),
    ]


# --------------------------------------------------------------------------------------------
# The quality phases: hand-written questions and programming tasks, in a seeded order.
# --------------------------------------------------------------------------------------------

SHORT_ANSWER_FIELDS = ("instance_id", "category", "question", "gold")
SHORT_ANSWER_CATEGORIES = (
    "arithmetic",
    "units",
    "geography",
    "science",
    "language",
    "dates",
    "logic",
)
PYTHON_TASK_FIELDS = ("instance_id", "title", "entry_point", "prompt", "solution", "gold")


def category_order(questions: Sequence[ShortQuestion], rng: random.Random) -> list[ShortQuestion]:
    """Shuffled within each category, then taken one category at a time: the first seven items
    cover every category, so `limit: 7` still sees all of them."""
    by_category = {c: [q for q in questions if q.category == c] for c in SHORT_ANSWER_CATEGORIES}
    unknown = {q.category for q in questions} - set(SHORT_ANSWER_CATEGORIES)
    if unknown:
        raise SourceError(f"short_answers.yaml: unknown categories {sorted(unknown)}")
    for group in by_category.values():
        rng.shuffle(group)
    ordered: list[ShortQuestion] = []
    while any(by_category.values()):
        for group in by_category.values():
            if group:
                ordered.append(group.pop(0))
    return ordered


def short_answer_rows(questions: Sequence[ShortQuestion], first: int) -> list[dict[str, Any]]:
    return [
        {
            "instance_id": f"QA-{first + i:03d}",
            "category": q.category,
            "question": q.question,
            "gold": q.gold,
        }
        for i, q in enumerate(questions)
    ]


def python_task_rows(tasks: Sequence[ProgrammingTask], first: int) -> list[dict[str, Any]]:
    return [
        {
            "instance_id": f"PY-{first + i:03d}",
            "title": t.title,
            "entry_point": t.entry_point,
            "prompt": t.prompt,
            "solution": t.solution,
            "gold": t.tests,
        }
        for i, t in enumerate(tasks)
    ]


def quality_datasheet(build: SuiteBuild, manifest: SuiteManifest) -> str:
    limits = "\n".join(f"- {limit}" for limit in build.limits)
    if build.task == "short-answer":
        per = Counter(str(r["category"]) for r in build.items)
        composition = (
            "Items by category: "
            + ", ".join(f"{c} ({per[c]})" for c in SHORT_ANSWER_CATEGORIES)
            + ". The first seven items cover every category."
        )
    else:
        composition = (
            "Each item is one function: "
            + ", ".join(f"`{r['entry_point']}`" for r in build.items)
            + "."
        )
    return f"""# {build.id} — datasheet

Version {VERSION} · task `{build.task}` · license {LICENSE}

## What it measures

{build.measures}

## Composition

{len(build.items)} test items in `items.jsonl` and {len(build.examples)} few-shot examples in
`examples.jsonl`; the two pools share no text. {composition} `schema.json` is the JSON Schema of
one item.

## How it was made

{build.made}

Written by hand for PUMA (`scripts/suite_sources/`), not taken from a public benchmark.
`{GENERATOR}` orders the items with a seeded `random.Random` ({SEED}) and numbers them after the
shuffle; running it again gives the same bytes.

## Content hash

`content_hash` in `suite.json` is the SHA-256 (lower-case hex) of the concatenation, for each file
in the order {", ".join(f"`{name}`" for name in HASHED_FILES)}, of: the file name in UTF-8, a line
feed, the file's length in bytes as decimal ASCII, a line feed, then the file's bytes. This
version's hash:

`{manifest.content_hash}`

## License

{LICENSE} (Creative Commons Attribution 4.0).

## Known limits

{limits}
"""


def build_quality_suites(sources: Sources, rng: random.Random) -> list[SuiteBuild]:
    questions = sources.short_questions
    tasks = list(sources.programming_tasks.items)
    rng.shuffle(tasks)
    items = short_answer_rows(category_order(questions.items, rng), 1)
    return [
        SuiteBuild(
            id="small-model-eval",
            task="short-answer",
            labels=(),
            description="Short general questions (arithmetic, units, geography, science, "
            "language, dates, logic) with one checkable answer each.",
            measures="Whether a model answers short general questions right: a sanity check of "
            "a small or quantised model before its speed is measured. Each item is one "
            "question with one short answer (a number, a word, a name). Scored by exact match "
            "and by normalised match (case, white space, punctuation, articles and number "
            "words ignored: docs/tasks.md), with Wilson intervals; an unparsed answer is wrong.",
            made="Each question was written for this suite with a single defensible answer; "
            "where the form of the answer could vary, the question names it (a number, yes or "
            "no, HH:MM), and where two names are common both are accepted (`gold` joins them "
            'with " | "). Instance ids are numbered after the ordering, so they say nothing '
            "about the answer.",
            limits=(
                "Easy on purpose: a capable model scores near 100%; the suite tells a broken "
                "set-up (wrong template, a cut-off answer, a damaged quantisation) from a working "
                "one rather than ranking strong models.",
                "English only; general knowledge as of writing.",
                f"{len(items)} items: an interval on one model is about ±14 percentage points "
                "wide; compare models on the same items (paired tests).",
            ),
            items=items,
            examples=short_answer_rows(questions.examples, len(items) + 1),
            sheet=quality_datasheet,
        ),
        SuiteBuild(
            id="python-tasks",
            task="python-tasks",
            labels=(),
            description="Small Python programming tasks (a signature and docstring in, the "
            "function out), scored by hidden unit tests run in a sandbox.",
            measures="Whether a model writes small, correct Python functions. Each item is a "
            "signature with a docstring; the model's function is run against hidden tests "
            "(assert statements kept in `gold`, never shown in a prompt) in a sandboxed "
            "subprocess when the run is scored (`puma eval`). Scored by pass@1, the share of "
            "tasks whose hidden tests all pass, with a Wilson interval; each answer's outcome "
            "(passed, failed, error, timeout, refused, unparsed) is recorded.",
            made="Each task, its reference solution (`solution`) and its tests were written for "
            "this suite. A test of the suite checks that every reference solution passes its "
            "tests in the sandbox and that a function with only its signature fails them.",
            limits=(
                "Small, classic tasks: they separate working from broken code generation, not "
                "strong models from each other; similar functions are common on the web.",
                "Standard library only; tests are a handful of asserts, so a wrong solution "
                "that fits them passes.",
                "The sandbox stops accidents (a loop, a memory hog, a stray socket or write), "
                "not code written to escape it: docs/tasks.md says what it does not cover.",
            ),
            items=python_task_rows(tasks, 1),
            examples=python_task_rows(sources.programming_tasks.examples, len(tasks) + 1),
            sheet=quality_datasheet,
        ),
    ]


def generate(out: Path, sources: Sources) -> list[str]:
    builds = build_suites(sources) + build_quality_suites(sources, random.Random(SEED))
    for build in builds:
        write_suite(build, out, sources.projects)
    return [build.id for build in builds]


def compare_trees(fresh: Path, committed: Path) -> list[str]:
    problems = []
    for path in sorted(fresh.rglob("*")):
        if path.is_file():
            other = committed / path.relative_to(fresh)
            if not other.is_file():
                problems.append(f"missing: {other}")
            elif other.read_bytes() != path.read_bytes():
                problems.append(f"differs: {other}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="where to write <id>/ folders")
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh generation with --out; write nothing"
    )
    parser.add_argument(
        "--sources",
        type=Path,
        default=SOURCES_DIR,
        help="folder of the YAML templates and vocabulary",
    )
    args = parser.parse_args(argv)
    try:
        sources = load_sources(args.sources)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), sources)
            problems = compare_trees(Path(tmp), args.out)
        for problem in problems:
            print(problem, file=sys.stderr)
        print("up to date" if not problems else f"{len(problems)} file(s) out of date")
        return 1 if problems else 0
    ids = generate(args.out, sources)
    print(f"wrote {', '.join(ids)} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
