"""AGENTS.md is a runbook that runs: its `step` blocks are taken out of the file and run in bash,
in order and word for word, on the embedded model, and end with a contributor folder that
`puma submission validate` accepts and a branch pushed to a bare repository. Only the settings
block is replaced (by this test's handle, spec, phases and remote), so the file and the test
cannot drift apart.

Every command runs for real (the hardware probe and the privacy scan included). One option is
still another helper's (SEAMS: `puma run --phases`); until it is part of this PUMA the test drops
exactly that option, and says so. Also here: CONTRIBUTING.md says what
the issue asks, and submissions/EXAMPLE/ is a folder that validates.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main

from puma.submission.contributor import CONTRIBUTOR_FILES, validate_contributor_folder

REPO_ROOT = Path(__file__).resolve().parents[1]
AGENTS = REPO_ROOT / "AGENTS.md"
DEMO = REPO_ROOT / "tests" / "fixtures" / "demo-run"
STEP = re.compile(r"<!-- step: (?P<name>[a-z-]+) -->\n```bash\n(?P<body>.*?)```", re.S)
STEPS = ["settings", "probe", "doctor", "run", "scan", "prepare", "validate", "publish"]
SETTINGS = ("HANDLE", "SPEC", "PHASES", "FORK_URL")
# Options of other helpers' work not merged yet: (command words + the option, who brings it).
SEAMS = {
    ("run", "--phases"): "puma run --phases (helper speed)",
}
TEST_PHASES = "small-model-eval"  # the quality phase of ~40 short questions (helper phases)
TINY_SPEC = """\
name: runbook-test
runtime:
  kind: embedded
suites:
  - id: pm-triage
    limit: 3
strategy: few-shot-1
generation:
  temperature: 0
  seed: 42
  max_tokens: 8
  num_ctx: 2048
output: runs
submitter: anonymous
device_tag: auto
"""


def agents_steps() -> dict[str, str]:
    return {m["name"]: m["body"] for m in STEP.finditer(AGENTS.read_text(encoding="utf-8"))}


def _cli() -> Any:
    """The app's command tree (Typer's own, vendored Click: read by duck typing)."""
    from puma.cli.app import app

    return typer.main.get_command(app)


def available(words: tuple[str, ...]) -> bool:
    """Whether `puma <words>` exists: a command path, its last word an option when it starts
    with --."""
    command = _cli()
    for word in words:
        if word.startswith("--"):
            return any(word in p.opts for p in command.params)
        if word not in getattr(command, "commands", {}):
            return False
        command = command.commands[word]
    return True


def runnable(body: str, left_out: list[str]) -> str:
    """The block as bash runs it: word for word, except that an option of SEAMS this PUMA does
    not have yet is dropped from its line. A missing command fails the test (and
    test_every_command_of_the_runbook_exists...)."""
    lines = []
    for line in body.splitlines():
        for words, owner in SEAMS.items():
            option = words[-1]
            command = "puma " + " ".join(words[:-1])
            if command not in line or available(words):
                continue
            if option in line:
                left_out.append(f"{option} of `{line.strip()}`  ({owner})")
                line = re.sub(rf' {option} ("[^"]*"|\S+)', "", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def script(steps: list[str], settings: dict[str, str], left_out: list[str]) -> str:
    blocks = agents_steps()
    parts = ["set -euo pipefail"]
    parts += [f"export {name}={value}" for name, value in settings.items()]
    for name in steps:
        parts.append(f"echo '::step {name}'")
        parts.append(runnable(blocks[name], left_out))
    return "\n".join(parts)


def bare_remote(tmp_path: Path) -> Path:
    bare = tmp_path / "fork.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(bare), str(seed)], check=True, capture_output=True)
    (seed / "README.md").write_text("results\n")
    for args in (
        ["add", "."],
        ["-c", "user.name=m", "-c", "user.email=m@example.invalid", "commit", "-qm", "init"],
        ["push", "-q", "origin", "HEAD:refs/heads/main"],
    ):
        subprocess.run(["git", *args], cwd=seed, check=True, capture_output=True)
    return bare


def run_script(text: str, cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("GITHUB_TOKEN", None)
    env["PUMA_CONFIG_DIR"] = str(cwd / "config")
    return subprocess.run(
        ["bash", "-c", text], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def check_the_end(workdir: Path, bare: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    (folder,) = (workdir / "submissions" / "ada-l").glob("*/run-*")
    assert sorted(p.name for p in folder.iterdir()) == sorted(CONTRIBUTOR_FILES)
    assert validate_contributor_folder(folder).path.handle == "ada-l"
    branches = subprocess.run(
        ["git", "branch", "--list", "--format=%(refname:short)"],
        cwd=bare,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert f"submission/ada-l/{folder.name.removeprefix('run-')}" in branches


# --- the file itself ----------------------------------------------------------------------------


def test_agents_md_has_every_step_in_order() -> None:
    assert list(agents_steps()) == STEPS


def test_the_settings_block_sets_exactly_what_the_test_replaces() -> None:
    names = re.findall(r"^export (\w+)=", agents_steps()["settings"], re.M)
    assert tuple(names) == SETTINGS


def test_every_command_of_the_runbook_exists_or_is_a_known_seam() -> None:
    for body in agents_steps().values():
        for line in (raw.strip() for raw in body.splitlines()):
            if not line.startswith("puma "):
                continue
            words = tuple(w for w in line.split()[1:3] if re.fullmatch(r"[a-z-]+", w))
            if any(words[: len(seam)] == seam for seam in SEAMS):
                continue
            path = (
                words[:2] if words[:1] in (("submission",), ("ledger",), ("spec",)) else words[:1]
            )
            assert available(path), line


def test_contributing_md_says_what_we_ask_and_commit_to_and_the_licences() -> None:
    text = (REPO_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for heading in (
        "## What you need",
        "## How it works",
        "## What we ask of you",
        "## What the maintainers commit to",
        "## Licences",
    ):
        assert heading in text.splitlines(), heading
    assert "Apache-2.0" in text and "CC-BY-4.0" in text
    assert 'license = "Apache-2.0"' in (REPO_ROOT / "pyproject.toml").read_text()


def test_the_example_folder_validates_and_says_it_is_synthetic() -> None:
    example = REPO_ROOT / "submissions" / "EXAMPLE"
    readme = (example / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower()
    (folder,) = example.glob("*/*/run-*")
    report = validate_contributor_folder(folder)
    assert report.seal == "sealed"
    assert sum(p.stat().st_size for p in folder.iterdir()) < 64 * 1024  # small


# --- the runbook, run ---------------------------------------------------------------------------


def test_agents_md_from_a_finished_run_to_a_pushed_branch(tmp_path: Path) -> None:
    """Fast: the steps after the run, on a copy of tests/fixtures/demo-run (a real run)."""
    bare = bare_remote(tmp_path)
    run_dir = tmp_path / "runs" / "run-2c416afd-3696-4da9-b76a-b021e28c55f8"
    shutil.copytree(DEMO, run_dir)
    left_out: list[str] = []
    settings = {"HANDLE": "ada-l", "SPEC": "unused", "PHASES": "unused", "FORK_URL": str(bare)}
    text = script(["probe", "scan", "prepare", "validate", "publish"], settings, left_out)
    done = run_script(f"export RUN_DIR={run_dir}\n{text}", tmp_path, timeout=300)
    print("left out until merged:", left_out or "nothing")
    check_the_end(tmp_path, bare, done)


@pytest.mark.slow
def test_agents_md_step_by_step_on_the_embedded_model(tmp_path: Path) -> None:
    """Every step, the run included, on the embedded model with a 3-item spec."""
    bare = bare_remote(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(TINY_SPEC)
    left_out: list[str] = []
    settings = {"HANDLE": "ada-l", "SPEC": str(spec), "PHASES": TEST_PHASES, "FORK_URL": str(bare)}
    done = run_script(script(STEPS[1:], settings, left_out), tmp_path, timeout=1200)
    print("left out until merged:", left_out or "nothing")
    check_the_end(tmp_path, bare, done)
    summary = json.loads((tmp_path / "run-summary.json").read_text())
    assert summary["run_dir"]
