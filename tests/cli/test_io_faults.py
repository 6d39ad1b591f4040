"""The fault corpus: every disk, permission and malformed-file fault a user can meet, run through
the real `puma` CLI in a subprocess. Each gets its documented exit code and one located message
(`error: where: what`, at most a hint line after it), never a traceback or a bare Python
exception text, and leaves no half-written file behind.

Read-only folders are real read-only bind mounts and full disks are tiny tmpfs mounts (we run as
root, so permissions alone would not stop a write); those cases are skipped where mounting is not
permitted. The run folders are copies of one real embedded run (`--limit 3`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.errors import ExitCode
from puma.runfolder.ledger import verify_chain

PUMA = [sys.executable, "-m", "puma.cli.app"]
PAGE = 4096
SPEC = """\
name: faults
runtime:
  kind: embedded
suites:
  - id: pm-triage
    limit: {limit}
strategy: zero-shot
generation:
  temperature: 0
  seed: 42
  max_tokens: 8
  num_ctx: 2048
output: {output}
"""
DEEP_JSON = b"[" * 200_000 + b"]" * 200_000
LONG_NAME = "n" * 300
PYTHON_TEXT = re.compile(r"\[Errno \d+\]|codec can't|Traceback|object has no attribute")


def puma(
    *args: object, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PUMA, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_fails_cleanly(
    done: subprocess.CompletedProcess[str], code: ExitCode, where: str, *words: str
) -> str:
    """The exit code, and one `error: <where>...: <what>` line (plus at most a hint line)."""
    output = done.stderr + done.stdout
    assert not PYTHON_TEXT.search(output), output
    assert done.returncode == code, output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    if len(lines) == 2:
        assert lines[1].startswith("  hint: "), done.stderr
    assert where in lines[0], done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    return done.stderr


def leftovers(*roots: Path) -> list[Path]:
    """Half-written files: temporary files of an atomic write, or probe files."""
    return [
        p for root in roots for p in root.rglob("*") if p.name.endswith(".tmp") or "probe" in p.name
    ]


# --- fixtures: one real run, and the disks to break it with ------------------------------------


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real embedded run of three calls; each test works on a copy."""
    root = tmp_path_factory.mktemp("real")
    spec = root / "spec.yaml"
    spec.write_text(SPEC.format(limit=3, output=root / "runs"))
    done = puma("run", spec, "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    return Path(json.loads(done.stdout)["run_dir"])


@pytest.fixture(scope="session")
def real_package(real_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The submission file of a package made from the real run."""
    out = tmp_path_factory.mktemp("package")
    done = puma("share-results", real_run, "--dry-run", "--yes", "--out", out)
    assert done.returncode == 0, done.stderr
    (submission,) = [p for p in out.glob("*.json") if not p.name.endswith(".provenance.json")]
    return submission


@pytest.fixture
def run_copy(real_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "runs" / real_run.name
    shutil.copytree(real_run, copy)
    return copy


@pytest.fixture
def package_copy(real_package: Path, tmp_path: Path) -> Path:
    out = tmp_path / "package"
    shutil.copytree(real_package.parent, out)
    return out / real_package.name


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting is not permitted here ({done.stderr.strip()})")


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """`read_only(folder)` makes folder a read-only bind mount of itself (root cannot write)."""
    mounted: list[Path] = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        _mount("--bind", str(folder), str(folder))
        mounted.append(folder)
        _mount("-o", "remount,bind,ro", str(folder))
        return folder

    yield make
    for folder in reversed(mounted):
        _unmount(folder)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """`tiny_disk(free_pages)`: a 64 KiB tmpfs with only that many 4 KiB pages left free."""
    mounted: list[Path] = []

    def make(free_pages: int) -> Path:
        folder = tmp_path / f"disk-{len(mounted)}"
        folder.mkdir()
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder))
        mounted.append(folder)
        (folder / "filler").write_bytes(b"\0" * (16 - free_pages) * PAGE)
        return folder

    yield make
    for folder in mounted:
        _unmount(folder)


def free_space(disk: Path) -> None:
    (disk / "filler").unlink()


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(limit=3, output=tmp_path / "out"))
    return path


# --- write faults: run ---------------------------------------------------------------------------

OutTarget = Callable[[Path, Callable[[Path], Path], Callable[[int], Path]], Path]

WRITE_TARGETS: dict[str, tuple[OutTarget, str]] = {
    "read-only folder": (lambda tmp, ro, disk: ro(tmp / "ro") / "out", "read-only"),
    "a file, not a folder": (
        lambda tmp, ro, disk: _touch(tmp / "plain-file"),
        "exists and is not a folder",
    ),
    "a file in the path": (
        lambda tmp, ro, disk: _touch(tmp / "plain-file") / "out",
        "part of the path is a file",
    ),
    "/dev/null": (lambda tmp, ro, disk: Path("/dev/null"), "exists and is not a folder"),
    "a 300-character name": (lambda tmp, ro, disk: tmp / LONG_NAME, "too long"),
    "a full disk": (lambda tmp, ro, disk: disk(0) / "out", "the disk is full"),
}


def _touch(path: Path) -> Path:
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("command", ["run", "share-results"])
@pytest.mark.parametrize("target", WRITE_TARGETS, ids=list(WRITE_TARGETS))
def test_an_output_folder_that_cannot_be_written_stops_the_command_before_any_work(
    command: str,
    target: str,
    spec_file: Path,
    run_copy: Path,
    tmp_path: Path,
    read_only: Callable[[Path], Path],
    tiny_disk: Callable[[int], Path],
) -> None:
    make, words = WRITE_TARGETS[target]
    out = make(tmp_path, read_only, tiny_disk)
    if command == "run":
        done = puma("run", spec_file, "--out", out)
    else:
        done = puma("share-results", run_copy, "--dry-run", "--yes", "--out", out)
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(out)[:60], words)
    assert done.stdout == ""  # no progress bar, no package: nothing ran, no model loaded
    assert not leftovers(tmp_path)


def test_share_results_on_a_disk_that_fills_leaves_no_half_package(
    run_copy: Path, tiny_disk: Callable[[int], Path]
) -> None:
    disk = tiny_disk(2)  # room for the probe and the predictions, not the provenance
    done = puma("share-results", run_copy, "--dry-run", "--yes", "--out", disk / "pkg")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(disk / "pkg"), "the disk is full")
    assert list((disk / "pkg").iterdir()) == []


def test_run_resume_of_a_read_only_run_folder_stops_before_the_model_loads(
    run_copy: Path, read_only: Callable[[Path], Path]
) -> None:
    read_only(run_copy)
    done = puma("run", "--resume", run_copy)
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(run_copy), "read-only")


def test_a_disk_that_fills_mid_run_keeps_every_completed_call_and_resume_finishes(
    tmp_path: Path, tiny_disk: Callable[[int], Path]
) -> None:
    # Three free pages: manifest, hardware and a ledger page of four calls; the fifth call's
    # line does not fit.
    disk = tiny_disk(3)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(limit=6, output=disk / "runs"))
    done = puma("run", spec, "-q", timeout=600)
    message = assert_fails_cleanly(
        done, ExitCode.CANNOT_WRITE, str(disk / "runs"), "the disk is full", "puma run --resume"
    )
    (run_dir,) = (disk / "runs").iterdir()
    kept = re.search(r"run\.jsonl keeps (\d) of 6 calls", message)
    assert kept, message
    assert not leftovers(disk)

    free_space(disk)
    resumed = puma("run", "--resume", run_dir, "--json", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    calls = [json.loads(line) for line in (run_dir / "run.jsonl").read_text().splitlines()]
    answered = {c["instance_id"] for c in calls if c["type"] == "call" and c["error"] is None}
    assert len(answered) == 6
    made_again = sum(1 for c in calls if c["type"] == "call") - 6
    assert made_again == 0  # no completed call was lost, none repeated
    assert verify_chain(run_dir / "run.jsonl").ok


# --- write faults: eval and merge ------------------------------------------------------------


def test_eval_of_a_run_on_a_read_only_disk(run_copy: Path, read_only: Callable[[Path], Path]):
    read_only(run_copy)
    done = puma("eval", run_copy, "--bootstrap-resamples", "200", "--permutations", "0")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(run_copy), "read-only")


def test_eval_of_a_run_on_a_full_disk(real_run: Path, tiny_disk: Callable[[int], Path]):
    disk = tiny_disk(16)
    run_dir = disk / real_run.name
    shutil.copytree(real_run, run_dir)
    _fill(disk)
    done = puma("eval", run_dir, "--bootstrap-resamples", "200", "--permutations", "0")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(run_dir), "the disk is full")
    assert not (run_dir / "metrics.json").exists()
    assert not leftovers(disk)


def _fill(disk: Path) -> None:
    """Fill what is left of a tmpfs."""
    with (disk / "filler").open("ab", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * PAGE)
        except OSError:
            pass


def test_eval_where_a_folder_sits_in_place_of_metrics_json(run_copy: Path) -> None:
    (run_copy / "metrics.json").mkdir()
    done = puma("eval", run_copy, "--bootstrap-resamples", "200", "--permutations", "0")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, "metrics.json", "a folder is in the way")
    assert not (run_copy / "metadata.json").exists()  # the three files are written as one
    assert not leftovers(run_copy)


def test_merge_into_a_read_only_root(run_copy: Path, read_only: Callable[[Path], Path]) -> None:
    root = read_only(run_copy.parent)
    done = puma("merge", "--root", root, "--bootstrap-resamples", "200", "--permutations", "0")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(root / "merged"), "read-only")


def test_merge_where_a_file_sits_in_place_of_merged(run_copy: Path) -> None:
    _touch(run_copy.parent / "merged")
    done = puma("merge", "--root", run_copy.parent, "--bootstrap-resamples", "200")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, "merged", "not a folder")


def test_merge_on_a_full_disk(real_run: Path, tiny_disk: Callable[[int], Path]) -> None:
    disk = tiny_disk(16)
    shutil.copytree(real_run, disk / "runs" / real_run.name)
    _fill(disk)
    done = puma("merge", "--root", disk / "runs", "--bootstrap-resamples", "200")
    assert_fails_cleanly(done, ExitCode.CANNOT_WRITE, str(disk / "runs"), "the disk is full")
    assert not leftovers(disk)


# --- malformed run folders -------------------------------------------------------------------


def _replace_line(path: Path, lineno: int, raw: bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[lineno - 1] = raw + b"\n"
    path.write_bytes(b"".join(lines))


def _drop_key(path: Path, lineno: int, key: str) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[lineno - 1])
    del event[key]
    lines[lineno - 1] = json.dumps(event).encode() + b"\n"
    path.write_bytes(b"".join(lines))


def _edit_manifest_spec(run: Path) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["spec"]["generation"]["temperature"] = "warm"
    (run / "manifest.json").write_text(json.dumps(manifest))


def _only_jsonl(run: Path) -> None:
    """Predictions read from predictions.jsonl alone (a copy of the predictions, made elsewhere:
    no ledger to check them against, no parquet)."""
    (run / "predictions_full.parquet").unlink()
    (run / "run.jsonl").unlink()


def _jsonl_line(run: Path, raw: bytes) -> None:
    _only_jsonl(run)
    _replace_line(run / "predictions.jsonl", 2, raw)


Mutation = Callable[[Path], None]
# (mutation of a real run folder, command after the run folder, exit code, where, words)
MALFORMED: dict[str, tuple[Mutation, tuple[str, ...], ExitCode, str, str]] = {
    # the ledger
    "ledger verify: ledger line not UTF-8": (
        lambda r: _replace_line(r / "run.jsonl", 2, b'\xf1{"type":"call"}'),
        ("ledger", "verify"),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "not UTF-8",
    ),
    "ledger verify: ledger line is a JSON array": (
        lambda r: _replace_line(r / "run.jsonl", 2, b"[1, 2]"),
        ("ledger", "verify"),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "not a ledger event",
    ),
    "ledger verify: ledger line nested 200,000 deep": (
        lambda r: _replace_line(r / "run.jsonl", 2, DEEP_JSON),
        ("ledger", "verify"),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "nested too deeply",
    ),
    "ledger verify: run.jsonl is a folder": (
        lambda r: _folder_in_place_of(r / "run.jsonl"),
        ("ledger", "verify"),
        ExitCode.BAD_INPUT,
        "run.jsonl",
        "a folder, not a file",
    ),
    "ledger verify: no run.jsonl": (
        lambda r: (r / "run.jsonl").unlink(),
        ("ledger", "verify"),
        ExitCode.BAD_INPUT,
        "run.jsonl",
        "is missing",
    ),
    "resume: ledger line not UTF-8": (
        lambda r: _replace_line(r / "run.jsonl", 2, b'\xf1{"type":"call"}'),
        ("--resume",),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "not UTF-8",
    ),
    "resume: ledger line is a JSON array": (
        lambda r: _replace_line(r / "run.jsonl", 2, b"[1, 2]"),
        ("--resume",),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "not a ledger event",
    ),
    "resume: call line without error": (
        lambda r: _drop_key(r / "run.jsonl", 3, "error"),
        ("--resume",),
        ExitCode.FAILED_CHECK,
        "run.jsonl:4",
        "prev_hash does not match",
    ),
    "resume: ledger line nested 200,000 deep": (
        lambda r: _replace_line(r / "run.jsonl", 2, DEEP_JSON),
        ("--resume",),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "nested too deeply",
    ),
    "resume: manifest spec no longer validates": (
        _edit_manifest_spec,
        ("--resume",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "spec.generation.temperature",
    ),
    "share-results: ledger line not UTF-8": (
        lambda r: _replace_line(r / "run.jsonl", 2, b'\xf1{"type":"call"}'),
        ("share-results",),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "not UTF-8",
    ),
    "share-results: ledger line nested 200,000 deep": (
        lambda r: _replace_line(r / "run.jsonl", 2, DEEP_JSON),
        ("share-results",),
        ExitCode.FAILED_CHECK,
        "run.jsonl:2",
        "nested too deeply",
    ),
    # the manifest
    "eval: manifest not UTF-8": (
        lambda r: (r / "manifest.json").write_bytes(b"\xf1{}"),
        ("eval",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "not UTF-8",
    ),
    "eval: manifest is a JSON array": (
        lambda r: (r / "manifest.json").write_text("[]"),
        ("eval",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "manifest.json",
    ),
    "eval: manifest nested 200,000 deep": (
        lambda r: (r / "manifest.json").write_bytes(DEEP_JSON),
        ("eval",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "nested too deeply",
    ),
    "share-results: manifest nested 200,000 deep": (
        lambda r: (r / "manifest.json").write_bytes(DEEP_JSON),
        ("share-results",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "nested too deeply",
    ),
    "merge: manifest nested 200,000 deep": (
        lambda r: (r / "manifest.json").write_bytes(DEEP_JSON),
        ("merge",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "nested too deeply",
    ),
    "resume: manifest not UTF-8": (
        lambda r: (r / "manifest.json").write_bytes(b"\xf1{}"),
        ("--resume",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "not UTF-8",
    ),
    "ledger verify: manifest.json is a folder": (
        lambda r: _folder_in_place_of(r / "manifest.json"),
        ("ledger", "verify"),
        ExitCode.BAD_INPUT,
        "run-",
        "not a run folder",
    ),
    # the predictions
    "eval: predictions line not UTF-8": (
        lambda r: _jsonl_line(r, b'\xf1{"instance_id": "x"}'),
        ("eval",),
        ExitCode.BAD_INPUT,
        "predictions.jsonl:2",
        "not UTF-8",
    ),
    "eval: predictions line is a JSON array": (
        lambda r: _jsonl_line(r, b"[1, 2]"),
        ("eval",),
        ExitCode.BAD_INPUT,
        "predictions.jsonl:2",
        "expected a JSON object",
    ),
    "eval: predictions line nested 200,000 deep": (
        lambda r: _jsonl_line(r, DEEP_JSON),
        ("eval",),
        ExitCode.BAD_INPUT,
        "predictions.jsonl:2",
        "nested too deeply",
    ),
    "eval: parquet file is not parquet": (
        lambda r: (r / "predictions_full.parquet").write_bytes(b"PAR1 but not really"),
        ("eval",),
        ExitCode.BAD_INPUT,
        "predictions_full.parquet",
        "parquet",
    ),
    "share-results: predictions line not UTF-8": (
        lambda r: _replace_line(r / "predictions.jsonl", 2, b'\xf1{"instance_id": "x"}'),
        ("share-results",),
        ExitCode.FAILED_CHECK,
        "predictions.jsonl:2",
        "not what the ledger says",
    ),
    "share-results: predictions line nested 200,000 deep": (
        lambda r: _replace_line(r / "predictions.jsonl", 2, DEEP_JSON),
        ("share-results",),
        ExitCode.FAILED_CHECK,
        "predictions.jsonl:2",
        "not what the ledger says",
    ),
    "share-results: parquet file is not parquet": (
        lambda r: (r / "predictions_full.parquet").write_bytes(b"PAR1 but not really"),
        ("share-results",),
        ExitCode.BAD_INPUT,
        "predictions_full.parquet",
        "parquet",
    ),
    "share-results: metrics.json nested 200,000 deep": (
        lambda r: (r / "metrics.json").write_bytes(DEEP_JSON),
        ("share-results",),
        ExitCode.BAD_INPUT,
        "metrics.json",
        "nested too deeply",
    ),
    "share-results: hardware.json not UTF-8": (
        lambda r: (r / "hardware.json").write_bytes(b"\xf1{}"),
        ("share-results",),
        ExitCode.BAD_INPUT,
        "hardware.json",
        "not UTF-8",
    ),
    # not a PUMA run
    "eval: an empty folder": (
        lambda r: _emptied(r),
        ("eval",),
        ExitCode.BAD_INPUT,
        "run-",
        "not a run folder",
    ),
    "eval: another tool's manifest.json": (
        lambda r: _foreign(r),
        ("eval",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "manifest.json",
    ),
    "merge: another tool's manifest.json": (
        lambda r: _foreign(r),
        ("merge",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "manifest.json",
    ),
    "share-results: another tool's manifest.json": (
        lambda r: _foreign(r),
        ("share-results",),
        ExitCode.BAD_INPUT,
        "manifest.json",
        "manifest.json",
    ),
    "ledger verify: another tool's manifest.json": (
        lambda r: _foreign(r),
        ("ledger", "verify"),
        ExitCode.BAD_INPUT,
        "run.jsonl",
        "is missing",
    ),
    "resume: another tool's manifest.json": (
        lambda r: _foreign(r),
        ("--resume",),
        ExitCode.BAD_INPUT,
        "run-",
        "no ledger",
    ),
    "eval: a file, not a folder": (
        lambda r: _file_in_place_of(r),
        ("eval",),
        ExitCode.BAD_INPUT,
        "run-",
        "no such run folder",
    ),
    "eval: a 300-character name": (
        lambda r: None,
        ("eval", LONG_NAME),
        ExitCode.BAD_INPUT,
        LONG_NAME[:40],
        "too long",
    ),
}


def _folder_in_place_of(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _emptied(run: Path) -> None:
    shutil.rmtree(run)
    run.mkdir()


def _file_in_place_of(run: Path) -> None:
    shutil.rmtree(run)
    _touch(run)


def _foreign(run: Path) -> None:
    """A folder of another tool that happens to hold a manifest.json (a web app, say)."""
    shutil.rmtree(run)
    run.mkdir()
    (run / "manifest.json").write_text('{"name": "my-web-app", "icons": []}')


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_run_folders_get_a_located_message(case: str, run_copy: Path) -> None:
    mutate, command, code, where, words = MALFORMED[case]
    mutate(run_copy)
    if command == ("--resume",):
        args: tuple[object, ...] = ("run", "--resume", run_copy)
    elif command == ("share-results",):
        args = ("share-results", run_copy, "--dry-run", "--yes", "--out", run_copy / "share")
    elif command == ("merge",):
        args = ("merge", "--root", run_copy.parent, "--bootstrap-resamples", "200")
    elif command[0] == "eval" and len(command) == 2:
        args = ("eval", run_copy.parent / command[1])
    else:
        args = (*command, run_copy)
    done = puma(*args)
    assert_fails_cleanly(done, code, where, words)
    assert not leftovers(run_copy.parent)
    assert not (run_copy / "share").exists() or not any((run_copy / "share").iterdir())


# --- malformed packages ----------------------------------------------------------------------


def _predictions(submission: Path) -> Path:
    return submission.with_name(submission.name.removesuffix(".json") + ".predictions.jsonl")


PACKAGE_FAULTS: dict[str, tuple[Callable[[Path], Path], str, ExitCode, str, str]] = {
    "verify-hash: a predictions line over 1 MiB": (
        lambda s: _long_line(_predictions(s)),
        "verify-hash",
        ExitCode.BAD_INPUT,
        "predictions.jsonl:2",
        "1024 KiB",
    ),
    "verify-hash: predictions line not UTF-8": (
        lambda s: _replace_line(_predictions(s), 1, b'\xf1{"instance_id": "x"}') or s,
        "verify-hash",
        ExitCode.BAD_INPUT,
        "predictions.jsonl:1",
        "not UTF-8",
    ),
    "verify-hash: submission nested 200,000 deep": (
        lambda s: _written(s, DEEP_JSON),
        "verify-hash",
        ExitCode.BAD_INPUT,
        ".json",
        "",
    ),
    "verify-hash: the submission is a folder": (
        lambda s: s.parent,
        "verify-hash",
        ExitCode.BAD_INPUT,
        "package",
        "",
    ),
    "submission validate: nested 200,000 deep": (
        lambda s: _written(s, DEEP_JSON),
        "validate",
        ExitCode.BAD_INPUT,
        ".json",
        "",
    ),
    "submission validate: not UTF-8": (
        lambda s: _written(s, b"\xf1{}"),
        "validate",
        ExitCode.BAD_INPUT,
        ".json",
        "not UTF-8",
    ),
    "submission validate: a folder": (
        lambda s: s.parent,
        "validate",
        ExitCode.BAD_INPUT,
        "package",
        "",
    ),
}


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _long_line(predictions: Path) -> Path:
    lines = predictions.read_bytes().splitlines(keepends=True)
    row = json.loads(lines[1])
    row["predicted_label"] = "x" * (1 << 20)
    lines[1] = json.dumps(row).encode() + b"\n"
    predictions.write_bytes(b"".join(lines))
    return predictions.with_name(predictions.name.removesuffix(".predictions.jsonl") + ".json")


@pytest.mark.parametrize("case", PACKAGE_FAULTS, ids=list(PACKAGE_FAULTS))
def test_malformed_packages_get_a_located_message(case: str, package_copy: Path) -> None:
    mutate, command, code, where, words = PACKAGE_FAULTS[case]
    target = mutate(package_copy)
    args = ("verify-hash", target) if command == "verify-hash" else ("submission", command, target)
    assert_fails_cleanly(puma(*args), code, where, words)


# --- Ctrl-C and the last line of defence -------------------------------------------------------


def _interrupt_when(
    args: tuple[object, ...], ready: Callable[[psutil.Process], bool]
) -> subprocess.CompletedProcess[str]:
    """Run puma, send SIGINT (Ctrl-C) once `ready(process)`, and collect what it printed."""
    process = subprocess.Popen(
        [*PUMA, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watched = psutil.Process(process.pid)
    deadline = time.monotonic() + 300
    while process.poll() is None and not ready(watched) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_ctrl_c_in_a_run_says_what_was_kept_and_how_to_resume(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(limit=3, output=tmp_path / "runs"))

    def first_call_written(_: psutil.Process) -> bool:
        return any(b'"type":"call"' in p.read_bytes() for p in tmp_path.rglob("run.jsonl"))

    done = _interrupt_when(("run", spec, "-q"), first_call_written)
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    assert not PYTHON_TEXT.search(done.stderr), done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert re.fullmatch(
        r"interrupted: run\.jsonl keeps [1-3] of 3 calls; resume with: puma run --resume \S+",
        line,
    ), line
    run_dir = Path(line.rsplit(" ", 1)[1])
    assert verify_chain(run_dir / "run.jsonl").ok
    assert not leftovers(tmp_path)


def _enlarged(run: Path, factor: int) -> None:
    """The run's predictions repeated under new instance ids: an eval that takes minutes."""
    path = run / "predictions_full.parquet"
    table = pq.read_table(path)
    rows = [
        {**row, "instance_id": f"{row['instance_id']}-{i}"}
        for i in range(factor)
        for row in table.to_pylist()
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)


def test_ctrl_c_in_eval_writes_nothing(run_copy: Path) -> None:
    _enlarged(run_copy, 300)
    (run_copy / "run.jsonl").unlink()  # predictions made elsewhere: nothing to check them against

    def resampling(process: psutil.Process) -> bool:  # CPU time, not wall: the box may be busy
        return process.cpu_times().user > 6

    done = _interrupt_when(("eval", run_copy, "--bootstrap-resamples", "1000000"), resampling)
    assert done.returncode == ExitCode.INTERRUPTED, done.stderr
    assert done.stderr.strip() == "interrupted; nothing was written"
    assert not (run_copy / "metrics.json").exists()
    assert not leftovers(run_copy)


def test_an_unexpected_exception_is_one_line_and_exit_70(tmp_path: Path) -> None:
    # A command that fails in a way no code expects stands for any bug in PUMA.
    script = (
        "import puma.cli.app as cli\ncli.app.command('boom')(lambda: {}['missing'])\ncli.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "boom"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == ExitCode.INTERNAL_ERROR == 70
    assert "Traceback" not in done.stderr
    first, hint = done.stderr.strip().splitlines()
    assert first == "internal error: KeyError: 'missing'"
    assert "bug in PUMA" in hint and "PUMA_DEBUG=1" in hint


def test_puma_debug_shows_the_traceback_of_an_unexpected_exception() -> None:
    script = "import puma.cli.app as cli\ncli.app.command('boom')(lambda: 1 / 0)\ncli.main()\n"
    done = subprocess.run(
        [sys.executable, "-c", script, "boom"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PUMA_DEBUG": "1"},
    )
    assert done.returncode == 70
    assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr


# --- paths that are not what a command reads -------------------------------------------------


def _not_utf8_spec(tmp: Path) -> Path:
    path = tmp / "spec.yaml"
    path.write_bytes(b"name: x\n\xf1\n")
    return path


WRONG_PATHS: dict[str, tuple[Callable[[Path], tuple[object, ...]], str, str]] = {
    "eval /dev/null": (lambda t: ("eval", "/dev/null"), "/dev/null", "no such run folder"),
    "ledger verify /dev/null": (
        lambda t: ("ledger", "verify", "/dev/null"),
        "/dev/null",
        "no such run folder",
    ),
    "run --resume /dev/null": (
        lambda t: ("run", "--resume", "/dev/null"),
        "/dev/null",
        "no such run folder",
    ),
    "merge --root /dev/null": (
        lambda t: ("merge", "--root", "/dev/null"),
        "/dev/null",
        "no such folder",
    ),
    "share-results /dev/null": (
        lambda t: ("share-results", "/dev/null", "--dry-run", "--yes"),
        "/dev/null",
        "no such run folder",
    ),
    "verify-hash /dev/null": (lambda t: ("verify-hash", "/dev/null"), "/dev/null", "not a file"),
    "submission validate /dev/null": (
        lambda t: ("submission", "validate", "/dev/null"),
        "/dev/null",
        "not a file",
    ),
    "run with a folder as the spec": (lambda t: ("run", t), "TMP", "Is a directory"),
    "spec check of a folder": (lambda t: ("spec", "check", t), "TMP", "Is a directory"),
    "run with a spec that is not UTF-8": (
        lambda t: ("run", _not_utf8_spec(t)),
        "spec.yaml:2",
        "not UTF-8",
    ),
    "run --resume of a 300-character name": (
        lambda t: ("run", "--resume", t / LONG_NAME),
        LONG_NAME[:40],
        "too long",
    ),
    "merge --root of a 300-character name": (
        lambda t: ("merge", "--root", t / LONG_NAME),
        LONG_NAME[:40],
        "too long",
    ),
    "share-results of a 300-character name": (
        lambda t: ("share-results", t / LONG_NAME, "--dry-run", "--yes"),
        LONG_NAME[:40],
        "too long",
    ),
}


@pytest.mark.parametrize("case", WRONG_PATHS, ids=list(WRONG_PATHS))
def test_a_path_that_is_not_what_the_command_reads(case: str, tmp_path: Path) -> None:
    make_args, where, words = WRONG_PATHS[case]
    args = make_args(tmp_path)
    done = puma(*args)
    assert_fails_cleanly(done, ExitCode.BAD_INPUT, where.replace("TMP", str(tmp_path)), words)
    assert done.stdout == ""  # not even an empty progress bar


@pytest.mark.parametrize(
    "target", ["read-only folder", "/dev/null", "a 300-character name", "a file in the path"]
)
def test_doctor_is_not_ready_for_an_output_folder_run_would_refuse(
    target: str,
    tmp_path: Path,
    read_only: Callable[[Path], Path],
    tiny_disk: Callable[[int], Path],
) -> None:
    make, _ = WRITE_TARGETS[target]
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(limit=3, output=make(tmp_path, read_only, tiny_disk)))
    done = puma("doctor", spec)
    assert done.returncode == ExitCode.FAILED_CHECK, done.stdout
    assert not PYTHON_TEXT.search(done.stdout + done.stderr)
    assert "output folder" in done.stdout
    assert "check(s) failed" in done.stdout.splitlines()[-1]  # not "ready"
