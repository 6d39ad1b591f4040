"""The bad-spec corpus: every spec `puma run` would refuse is refused by `puma spec check` first,
with exit 2 and `file:line: field: what is wrong`; `puma doctor` never calls such a spec ready,
and `puma run` stops at it before a model loads.

Each row of CASES is one bad spec: its bytes, any data files beside it, and the location and
start of the first message (`LINE: FIELD: WHAT`). Rows marked CLI also go through the real
command line; the rest go through `check_spec`, the function the command calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from puma.doctor import check_spec_file
from puma.errors import ExitCode, SpecError
from puma.spec import MAX_SPEC_BYTES, SEED_MAX
from puma.spec_check import check_spec, validate_spec
from puma.suites.bundled import DATA_DIR

PUMA = [sys.executable, "-m", "puma.cli.app"]

GOOD = """\
name: demo
runtime:
  kind: embedded
suites:
  - id: pm-triage
    limit: 3
strategy: few-shot-3
generation:
  temperature: 0
  seed: 42
  max_tokens: 16
"""
SERVER = GOOD.replace("  kind: embedded", "  kind: ollama\n  model: qwen2.5:3b")  # 3 lines
EXAMPLE_ID = json.loads((DATA_DIR / "pm-triage" / "examples.jsonl").read_text().split("\n")[0])[
    "instance_id"
]
JIRA_CSV = "key,project,title,priority\nA-1,A,Crash on start,Blocker\nA-2,A,Typo,Trivial\n"
LOCAL_JIRA = "  - id: local\n    path: issues.csv\n    format: jira\n"


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _suite(entry: str) -> str:
    """GOOD with its suite entry (lines 5-6) replaced by `entry` (starting at line 5)."""
    return _with(GOOD, "  - id: pm-triage\n    limit: 3\n", entry)


@dataclass(frozen=True)
class Case:
    name: str
    content: str | bytes
    expected: str  # "LINE: FIELD: start of message", or "LINE: start of message" (file level)
    files: dict[str, str] = field(default_factory=dict)
    cli: bool = False


CASES = [
    # --- duplicate keys -----------------------------------------------------------------------
    Case(
        "name twice", GOOD + "name: other\n", "12: name: duplicate key (first on line 1)", cli=True
    ),
    Case(
        "generation twice",
        GOOD + "generation:\n  seed: 7\n",
        "12: generation: duplicate key (first on line 8)",
    ),
    Case(
        "strategy three times",
        GOOD + "strategy: zero-shot\nstrategy: chain-of-thought\n",
        "12: strategy: duplicate key (first on line 7)",
    ),
    Case(
        "nested key twice",
        _with(GOOD, "  seed: 42\n", "  seed: 42\n  seed: 43\n"),
        "11: generation.seed: duplicate key (first on line 10)",
    ),
    Case(
        "key twice in a flow mapping",
        _suite("  - {id: pm-triage, limit: 3, limit: 4}\n"),
        "5: suites[0].limit: duplicate key (first on line 5)",
    ),
    # --- URLs and the environment --------------------------------------------------------------
    Case(
        "url without scheme separator",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  url: htp//nowhere"),
        "5: runtime.url: not an http(s) URL with a host: 'htp//nowhere'",
        cli=True,
    ),
    Case(
        "ftp url",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  url: ftp://127.0.0.1:21"),
        "5: runtime.url: not an http(s) URL with a host",
    ),
    Case(
        "url without host",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  url: 'http://'"),
        "5: runtime.url: not an http(s) URL with a host",
    ),
    Case(
        "url port out of range",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  url: http://127.0.0.1:99999"),
        "5: runtime.url: not an http(s) URL with a host",
    ),
    Case(
        "url with a space",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  url: http://local host:8000"),
        "5: runtime.url: not an http(s) URL with a host",
    ),
    Case(
        "api_key_env unset",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  api_key_env: PUMA_TEST_UNSET_KEY"),
        "5: runtime.api_key_env: environment variable PUMA_TEST_UNSET_KEY is not set",
        cli=True,
    ),
    Case(
        "api_key_env not a variable name",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  api_key_env: my-key"),
        "5: runtime.api_key_env: expected the name of an environment variable",
    ),
    Case(
        "embedded GGUF file missing",
        _with(GOOD, "  kind: embedded\n", "  kind: embedded\n  model: no/such/model.gguf\n"),
        "4: runtime.model: no GGUF model file at",
    ),
    Case(
        "server model listed twice",
        SERVER.replace("  model: qwen2.5:3b", "  models: [a, a]"),
        "4: runtime.models: model 'a' is listed twice",
    ),
    Case(
        "server without a model",
        _with(GOOD, "kind: embedded", "kind: openai"),
        "2: runtime: runtime kind 'openai' needs 'model' or 'models'",
    ),
    # --- suites --------------------------------------------------------------------------------
    Case(
        "unknown bundled suite",
        _with(GOOD, "id: pm-triage", "id: pm-triag"),
        "5: suites[0].id: unknown suite 'pm-triag'",
        cli=True,
    ),
    Case(
        "subset id not in the suite",
        _suite("  - id: pm-triage\n    subset: [ORBIT-1166, NOPE-1]\n"),
        "6: suites[0].subset[1]: 'NOPE-1' is not an item of suite pm-triage",
        cli=True,
    ),
    Case(
        "subset id is a few-shot example",
        _suite(f"  - id: pm-triage\n    subset:\n      - {EXAMPLE_ID}\n"),
        f"7: suites[0].subset[0]: '{EXAMPLE_ID}' is a few-shot example, not a test item,",
    ),
    Case(
        "empty subset",
        _suite("  - id: pm-triage\n    subset: []\n"),
        "6: suites[0].subset: needs at least 1 item(s)",
    ),
    Case(
        "slice field items do not have",
        _suite("  - id: pm-triage\n    slices: [projekt]\n"),
        "6: suites[0].slices[0]: items of suite pm-triage have no field 'projekt'",
        cli=True,
    ),
    Case(
        "slice by project on pairs",
        _suite("  - id: pm-prioritization\n    limit: 3\n    slices: [project]\n"),
        "7: suites[0].slices[0]: items of suite pm-prioritization have no field 'project'",
    ),
    Case(
        "slice field twice",
        _suite("  - id: pm-triage\n    slices: [project, project]\n"),
        "6: suites[0].slices: slice field 'project' is listed twice",
    ),
    Case(
        "local path missing",
        _suite("  - id: local\n    path: data/issues.csv\n    format: jira\n"),
        "6: suites[0].path: ",
        cli=True,
    ),
    Case(
        "local path is a folder",
        _suite("  - id: local\n    path: data\n    format: jira\n"),
        "6: suites[0].path: ",
        files={"data/x.csv": JIRA_CSV},
    ),
    Case(
        "local data with an unknown priority",
        _suite("  - id: local\n    path: issues.csv\n    format: jira\n"),
        "6: suites[0].path: ",
        files={"issues.csv": JIRA_CSV + "A-3,A,Slow,Urgent\n"},
    ),
    Case(
        "local column mapping with an unknown canonical name",
        _suite(LOCAL_JIRA + "    columns:\n      headline: title\n"),
        "9: suites[0].columns.headline: unknown canonical column 'headline' for jira data",
        files={"issues.csv": JIRA_CSV},
    ),
    Case(
        "local column mapped to a column the file lacks",
        _suite(LOCAL_JIRA + "    columns: {title: Headline}\n"),
        "6: suites[0].path: ",
        files={"issues.csv": JIRA_CSV},
    ),
    Case(
        "local suite without format",
        _suite("  - id: local\n    path: issues.csv\n"),
        "5: suites[0]: a local suite needs 'path' and 'format'",
        files={"issues.csv": JIRA_CSV},
    ),
    Case(
        "path on a bundled suite",
        _suite("  - id: pm-triage\n    path: x.csv\n"),
        "5: suites[0]: 'path', 'format' and 'columns' are for id: local only",
    ),
    Case(
        "suite listed twice",
        _suite("  - id: pm-triage\n  - id: pm-triage\n"),
        "6: suites[1].id: suite pm-triage is already listed as suites[0]",
    ),
    Case(
        "few-shot pool too small",
        _with(GOOD, "few-shot-3", "few-shot-50"),
        "7: strategy: few-shot-50 needs 50 examples but suite pm-triage has 40",
    ),
    Case("no suites", "name: x\n", "1: suites: required key is missing"),
    Case("suites is a mapping", _suite("  id: pm-triage\n"), "4: suites: expected a list"),
    # --- numbers -------------------------------------------------------------------------------
    Case(
        "timeout_s .inf",
        GOOD + "timeout_s: .inf\n",
        "12: timeout_s: expected a finite number, got .inf",
        cli=True,
    ),
    Case(
        "temperature .nan",
        _with(GOOD, "temperature: 0", "temperature: .nan"),
        "9: generation.temperature: expected a finite number, got .nan",
        cli=True,
    ),
    Case(
        "temperature above 2",
        _with(GOOD, "temperature: 0", "temperature: 5"),
        "9: generation.temperature: must be ≤ 2.0, got 5",
    ),
    Case(
        "seed 2**70",
        _with(GOOD, "seed: 42", f"seed: {2**70}"),
        f"10: generation.seed: must be ≤ {SEED_MAX}, got {2**70}",
        cli=True,
    ),
    Case("negative seed", _with(GOOD, "seed: 42", "seed: -1"), "10: generation.seed: must be ≥ 0"),
    Case(
        "llama.cpp's random seed",
        _with(GOOD, "seed: 42", "seed: 4294967295"),
        f"10: generation.seed: must be ≤ {SEED_MAX}",
    ),
    Case(
        "num_ctx 1e9",
        _with(GOOD, "seed: 42", "seed: 42\n  num_ctx: 1e9"),
        '11: generation.num_ctx: expected an integer, got "1e9"',
    ),
    Case(
        "num_ctx a billion",
        _with(GOOD, "seed: 42", "seed: 42\n  num_ctx: 1000000000"),
        "11: generation.num_ctx: must be ≤ 131072, got 1000000000",
        cli=True,
    ),
    Case(
        "num_ctx 1.0e9",
        _with(GOOD, "seed: 42", "seed: 42\n  num_ctx: 1.0e+9"),
        "11: generation.num_ctx: expected an integer, got 1000000000.0",
    ),
    Case(
        "integer of 5000 digits",
        _with(GOOD, "seed: 42", "seed: 1" + "0" * 5000),
        "10: generation.seed: integer of 5001 digits is too long",
    ),
    Case(
        "max_tokens 0",
        _with(GOOD, "max_tokens: 16", "max_tokens: 0"),
        "11: generation.max_tokens: must be ≥ 1",
    ),
    Case(
        "top_p 0",
        _with(GOOD, "seed: 42", "seed: 42\n  top_p: 0"),
        "11: generation.top_p: must be > 0",
    ),
    Case(
        "top_k -1",
        _with(GOOD, "seed: 42", "seed: 42\n  top_k: -1"),
        "11: generation.top_k: must be ≥ 0",
    ),
    Case("repetitions 1000", GOOD + "repetitions: 1000\n", "12: repetitions: must be ≤ 100"),
    Case("concurrency 0", GOOD + "concurrency: 0\n", "12: concurrency: must be ≥ 1"),
    Case("limit 0", _with(GOOD, "limit: 3", "limit: 0"), "6: suites[0].limit: must be ≥ 1"),
    Case(
        "limit of ten million",
        _with(GOOD, "limit: 3", "limit: 10000000"),
        "6: suites[0].limit: must be ≤ 1000000",
    ),
    Case(
        "n_threads 100000",
        _with(GOOD, "kind: embedded", "kind: embedded\n  n_threads: 100000"),
        "4: runtime.n_threads: must be ≤ 1024",
    ),
    Case("timeout of a year", GOOD + "timeout_s: 31536000\n", "12: timeout_s: must be ≤ 86400"),
    # --- wrong types and unknown keys -----------------------------------------------------------
    Case(
        "seed as a string",
        _with(GOOD, "seed: 42", 'seed: "42"'),
        '10: generation.seed: expected an integer, got "42"',
    ),
    Case(
        "temperature true",
        _with(GOOD, "temperature: 0", "temperature: true"),
        "9: generation.temperature: expected a number, got true",
    ),
    Case(
        "limit ten",
        _with(GOOD, "limit: 3", "limit: ten"),
        '6: suites[0].limit: expected an integer, got "ten"',
    ),
    Case(
        "name a list",
        _with(GOOD, "name: demo", "name: [a, b]"),
        "1: name: expected a string, got a list",
    ),
    Case(
        "date as a name",
        _with(GOOD, "name: demo", "name: 2024-13-45"),
        "1: name: cannot read this value",
    ),
    Case("unknown top-level key", GOOD + "modle: x\n", "12: modle: unknown key", cli=True),
    Case(
        "unknown runtime key",
        _with(GOOD, "kind: embedded", "kind: embedded\n  urll: x"),
        "4: runtime.urll: unknown key",
    ),
    Case(
        "ollama option under the embedded runtime",
        _with(GOOD, "kind: embedded", "kind: embedded\n  keep_alive: 5m"),
        "4: runtime.keep_alive: an option of runtime kind ollama, not embedded",
        cli=True,
    ),
    Case(
        "embedded option under a server runtime",
        SERVER.replace("  model: qwen2.5:3b", "  model: m\n  n_threads: 8"),
        "5: runtime.n_threads: an option of runtime kind embedded, not ollama",
    ),
    Case(
        "unknown runtime kind",
        _with(GOOD, "kind: embedded", "kind: lmstudio"),
        "3: runtime.kind: expected 'embedded', 'ollama' or 'openai', got \"lmstudio\"",
        cli=True,
    ),
    Case(
        "typo in generation",
        _with(GOOD, "  seed: 42", "  seed: 42\n  temprature: 0.5"),
        "11: generation.temprature: unknown key",
    ),
    Case("key that is not text", GOOD + "1: x\n", "12: [1]: "),
    Case(
        "unknown strategy",
        _with(GOOD, "few-shot-3", "many-shot"),
        "7: strategy: expected zero-shot",
    ),
    Case(
        "perturbation twice",
        GOOD + "perturbations: [typos, typos]\n",
        "12: perturbations: perturbation 'typos' is listed twice",
    ),
    Case(
        "unknown perturbation",
        GOOD + "perturbations: [shouting]\n",
        "12: perturbations: unknown perturbation",
    ),
    Case(
        "submitter with capitals",
        GOOD + "submitter: Alice\n",
        "12: submitter: expected lower-case letters, digits and hyphens",
    ),
    Case(
        "empty stop sequence",
        _with(GOOD, "seed: 42", "seed: 42\n  stop: ['']"),
        "11: generation.stop[0]: must not be empty",
    ),
    Case(
        "NUL written as an escape",
        GOOD + 'output: "runs\\0"\n',
        "12: output: control character U+0000",
    ),
    # --- the file itself ----------------------------------------------------------------------
    Case(
        "empty file",
        "",
        "1: a spec must be a YAML mapping (key: value lines); this file is empty",
        cli=True,
    ),
    Case("only comments", "# nothing yet\n", "1: a spec must be a YAML mapping"),
    Case(
        "a list at top level",
        "- name: x\n- suites: []\n",
        "1: a spec must be a YAML mapping (key: value lines); this file is a list",
        cli=True,
    ),
    Case(
        "a bare string",
        "hello\n",
        "1: a spec must be a YAML mapping (key: value lines); this file is a single string",
    ),
    Case(
        "invalid UTF-8",
        GOOD.encode() + b"output: caf\xe9\n",
        "12: not UTF-8 (byte 0xe9 at column 12)",
        cli=True,
    ),
    Case(
        "NUL byte",
        _with(GOOD, "name: demo", "name: de\x00mo").encode(),
        "1: control character U+0000 at column 9",
        cli=True,
    ),
    Case(
        "escape character",
        GOOD + "output: \x1b[31mruns\n",
        "12: control character U+001B at column 9",
    ),
    Case(
        "tab indentation",
        _with(GOOD, "  seed: 42", "\tseed: 42"),
        "10: not valid YAML: a tab where YAML needs spaces",
        cli=True,
    ),
    Case("two documents", GOOD + "---\nname: x\n", "12: not valid YAML: a spec is one document"),
    Case("broken YAML", "name: x\nsuites:\n  - id: a: b\n", "3: not valid YAML: mapping values"),
    Case("unhashable key", "? [a]\n: b\n", "1: not valid YAML: found unhashable key"),
    Case(
        "python object tag",
        GOOD + "output: !!python/object/apply:os.system [true]\n",
        "12: not valid YAML: could not determine a constructor",
    ),
    Case(
        "a billion laughs",
        _with(GOOD, "  seed: 42", "  seed: 42\n  stop: *a8").replace(
            "name: demo\n",
            "name: demo\n"
            + "".join(
                f"x{i}: &a{i} [{', '.join([f'*a{i - 1}' if i else 'lol'] * 10)}]\n"
                for i in range(9)
            ),
        ),
        "2: x0: unknown key",
    ),
]


def _write(folder: Path, case: Case) -> Path:
    for name, text in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    spec = folder / "spec.yaml"
    if isinstance(case.content, bytes):
        spec.write_bytes(case.content)
    else:
        spec.write_text(case.content, encoding="utf-8")
    return spec


def test_the_corpus_is_large_and_covers_the_cli() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)
    assert sum(case.cli for case in CASES) >= 12


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_check_spec_locates_the_problem(tmp_path: Path, case: Case) -> None:
    spec = _write(tmp_path, case)
    checked = check_spec(spec, environ={})
    assert checked.problems, "accepted"
    located = [str(problem) for problem in checked.problems]
    assert any(text.startswith(f"{spec}:{case.expected}") for text in located), located
    # `puma run` goes through the same function: it raises the first of the same problems.
    with pytest.raises(SpecError) as caught:
        validate_spec(spec, environ={})
    assert caught.value.where == checked.problems[0].where
    assert caught.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize("case", [c for c in CASES if c.cli], ids=[c.name for c in CASES if c.cli])
def test_spec_check_command_exits_2_with_the_location(tmp_path: Path, case: Case) -> None:
    spec = _write(tmp_path, case)
    env = {k: v for k, v in os.environ.items() if k != "PUMA_TEST_UNSET_KEY"}
    done = subprocess.run(
        [*PUMA, "spec", "check", str(spec)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {spec}:{case.expected}" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_the_shipped_specs_pass_every_check(repo_root: Path) -> None:
    for spec in sorted((repo_root / "specs" / "runs").glob("*.yaml")):
        assert check_spec(spec).problems == (), spec


def test_a_spec_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    # A valid spec padded with a comment: only the size is wrong.
    spec.write_text(GOOD + "# " + "x" * MAX_SPEC_BYTES + "\n")
    started = time.monotonic()
    checked = check_spec(spec)
    assert time.monotonic() - started < 1.0
    assert [str(p).split("\n")[0] for p in checked.problems] == [
        f"{spec}: spec file is larger than 1024 KiB ({MAX_SPEC_BYTES} bytes)"
    ]


def test_deep_nesting_is_a_message_not_a_recursion_error(tmp_path: Path) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text("name: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (problem,) = check_spec(spec).problems
    assert str(problem).startswith(f"{spec}: not valid YAML: nested too deeply")


def test_an_unreadable_path_is_named_without_errno_text(tmp_path: Path) -> None:
    (problem,) = check_spec(tmp_path).problems  # a folder
    assert str(problem) == f"{tmp_path}: cannot read spec: Is a directory"
    (problem,) = check_spec(tmp_path / "missing.yaml").problems
    assert str(problem) == f"{tmp_path / 'missing.yaml'}: no such spec file"


def test_a_local_suite_path_is_relative_to_the_spec_folder(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "issues.csv").write_text(JIRA_CSV)
    spec = tmp_path / "specs" / "local.yaml"
    text = _suite("  - id: local\n    path: issues.csv\n    format: jira\n")
    spec.write_text(_with(text, "few-shot-3", "zero-shot"))  # two rows: no example pool
    assert check_spec(spec).problems == ()
    (tmp_path / "specs" / "issues.csv").rename(tmp_path / "issues.csv")  # beside, not in it
    (problem,) = check_spec(spec).problems
    assert f"{tmp_path / 'specs' / 'issues.csv'} does not exist" in problem.message
    assert problem.hint and "relative to the spec's folder" in problem.hint


def test_every_problem_is_listed_in_line_order(tmp_path: Path) -> None:
    text = _with(GOOD, "temperature: 0", "temperature: .nan")
    text = _with(text, "id: pm-triage", "id: pm-triag") + "name: twice\ntimeout_s: .inf\n"
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    lines = [int(str(p.where).rsplit(":", 1)[1]) for p in check_spec(spec).problems]
    assert lines == [9, 12, 13]  # the unknown suite is found once the file validates


def test_api_key_set_in_the_environment_passes(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SERVER.replace("  model: qwen2.5:3b", "  model: m\n  api_key_env: MY_KEY"))
    assert check_spec(spec, environ={"MY_KEY": "secret"}).problems == ()
    assert check_spec(spec, environ={"MY_KEY": ""}).problems


# --- doctor and run ---------------------------------------------------------------------------

ONE_PER_CLASS = [
    "name twice",
    "url without scheme separator",
    "api_key_env unset",
    "unknown bundled suite",
    "subset id not in the suite",
    "slice field items do not have",
    "local path missing",
    "temperature .nan",
    "seed 2**70",
    "num_ctx a billion",
    "NUL byte",
    "invalid UTF-8",
    "empty file",
    "unknown top-level key",
]


@pytest.mark.parametrize("name", ONE_PER_CLASS)
def test_doctor_reports_each_class_as_a_located_failure(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUMA_TEST_UNSET_KEY", raising=False)
    case = next(c for c in CASES if c.name == name)
    spec = _write(tmp_path, case)
    _, rows = check_spec_file(spec)
    failed = [row for row in rows if row.status == "fail"]
    assert failed and all(row.fix for row in failed)
    assert any(row.detail.startswith(f"{spec}:{case.expected}") for row in failed), rows


def test_doctor_command_is_not_ready_for_a_spec_run_would_refuse(tmp_path: Path) -> None:
    spec = _write(tmp_path, next(c for c in CASES if c.name == "slice field items do not have"))
    wide = {**os.environ, "COLUMNS": "400"}  # one table line per problem, unwrapped
    done = subprocess.run(
        [*PUMA, "doctor", str(spec)], capture_output=True, text=True, timeout=300, env=wide
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{spec}:6: suites[0].slices[0]: items of suite pm-triage have no field" in done.stdout
    assert "ready" not in done.stdout.replace("already", "")


def test_run_refuses_a_bad_spec_before_loading_a_model(tmp_path: Path) -> None:
    spec = _write(tmp_path, next(c for c in CASES if c.name == "slice field items do not have"))
    out = tmp_path / "runs"
    started = time.monotonic()
    done = subprocess.run(
        [*PUMA, "run", str(spec), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {spec}:6: suites[0].slices[0]: items of suite")
    assert done.stdout == ""  # no progress bar, no table
    assert not out.exists()  # no run folder: nothing started
    assert elapsed < 30, elapsed  # loading the model and running 3 calls takes longer


def test_run_with_model_override_does_not_check_the_spec_model_file(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        _with(GOOD, "  kind: embedded\n", "  kind: embedded\n  model: no/such/model.gguf\n")
    )
    assert check_spec(spec, check_models=False).problems == ()
    assert check_spec(spec).problems


def test_anchors_and_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        _suite("  - &triage {id: pm-triage, limit: 3}\n  - <<: *triage\n    id: pm-estimation\n")
    )
    assert check_spec(spec).problems == ()


def test_a_long_list_of_wrong_values_is_summed_up(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(_suite("  - id: pm-triage\n    subset: [" + "1, " * 20_000 + "1]\n"))
    started = time.monotonic()
    problems = check_spec(spec).problems
    assert time.monotonic() - started < 20
    assert len(problems) == 51
    assert str(problems[0]).startswith(f"{spec}:6: suites[0].subset[0]: expected a string, got 1")
    assert str(problems[-1]) == f"{spec}: 19951 more problems of the same kinds"
