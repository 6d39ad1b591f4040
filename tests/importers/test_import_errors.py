"""Bad logs get a clear error (exit 2) naming the file and what is wrong, never a traceback and
never a half-written run folder. Each case damages a copy of a real log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

PUMA = [sys.executable, "-m", "puma.cli.app"]


def puma(*args: object) -> subprocess.CompletedProcess[str]:
    # A wide terminal, so the comparison table's cells are not cut.
    env = {**os.environ, "COLUMNS": "250"}
    result = subprocess.run(
        [*PUMA, *map(str, args)], capture_output=True, text=True, timeout=300, env=env
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def _results(logs: Path) -> Path:
    return next((logs / "lm-eval" / "gemma3-270m").glob("results_*.json"))


def _samples(logs: Path) -> Path:
    return next((logs / "lm-eval" / "gemma3-270m").glob("samples_*.jsonl"))


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def another_lm_eval_version(logs: Path) -> tuple[str, Path, str]:
    path = _results(logs)
    _edit_json(path, lambda d: d.update(lm_eval_version="0.3.0"))
    return "lm-eval", path, "written by lm-evaluation-harness 0.3.0"


def truncated_samples(logs: Path) -> tuple[str, Path, str]:
    path = _samples(logs)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 40])
    return "lm-eval", path, "truncated line"


def no_samples_file(logs: Path) -> tuple[str, Path, str]:
    _samples(logs).unlink()
    return "lm-eval", _results(logs), "has no samples file"


def empty_samples_file(logs: Path) -> tuple[str, Path, str]:
    _samples(logs).write_text("")
    return "lm-eval", _results(logs), "no samples"


def inspect_log_given_to_lm_eval(logs: Path) -> tuple[str, Path, str]:
    return "lm-eval", logs / "inspect" / "puma_sequences.json", "use `puma import inspect`"


def lm_eval_results_given_to_inspect(logs: Path) -> tuple[str, Path, str]:
    path = logs / "results.json"
    path.write_bytes(_results(logs).read_bytes())
    return "inspect", path, "use `puma import lm-eval`"


def another_inspect_version(logs: Path) -> tuple[str, Path, str]:
    path = logs / "inspect" / "puma_sequences.json"
    _edit_json(path, lambda d: d.update(version=1))
    return "inspect", path, "format version 1"


def inspect_log_without_samples(logs: Path) -> tuple[str, Path, str]:
    path = logs / "inspect" / "puma_sequences.json"
    _edit_json(path, lambda d: d.update(samples=[]))
    return "inspect", path, "no samples"


def truncated_eval_archive(logs: Path) -> tuple[str, Path, str]:
    path = logs / "inspect" / "puma_sequences.eval"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return "inspect", path, "not a readable .eval archive"


def eval_archive_without_header(logs: Path) -> tuple[str, Path, str]:
    path = logs / "inspect" / "puma_sequences.eval"
    path.unlink()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("samples/x_epoch_1.json", "{}")
    return "inspect", path, "no header.json"


def inspect_json_cut_short(logs: Path) -> tuple[str, Path, str]:
    path = logs / "inspect" / "puma_sequences.json"
    path.write_bytes(path.read_bytes()[:5000])
    return "inspect", path, "invalid JSON"


def not_json_at_all(logs: Path) -> tuple[str, Path, str]:
    path = logs / "inspect" / "puma_sequences.json"
    path.write_bytes(b"\xff\xfe not a log")
    return "inspect", path, "not UTF-8"


def sample_without_doc_id(logs: Path) -> tuple[str, Path, str]:
    path = _samples(logs)
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    del first["doc_id"]
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    return "lm-eval", path, ":1: doc_id is missing"


CASES = [
    another_lm_eval_version,
    truncated_samples,
    no_samples_file,
    empty_samples_file,
    inspect_log_given_to_lm_eval,
    lm_eval_results_given_to_inspect,
    another_inspect_version,
    inspect_log_without_samples,
    truncated_eval_archive,
    eval_archive_without_header,
    inspect_json_cut_short,
    not_json_at_all,
    sample_without_doc_id,
]


@pytest.mark.parametrize("damage", CASES, ids=[c.__name__ for c in CASES])
def test_a_bad_log_is_refused_naming_the_file(
    damage: Callable[[Path], tuple[str, Path, str]], logs: Path, tmp_path: Path
) -> None:
    tool, path, message = damage(logs)
    out = tmp_path / "run"
    result = puma("import", tool, path, "--out", out, "--no-eval")
    assert result.returncode == 2, result.stdout + result.stderr
    text = " ".join(result.stderr.split())
    assert path.name in text
    assert message in text
    assert not out.exists()  # nothing half-written


def test_an_existing_non_empty_output_folder_is_refused(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = puma("import", "lm-eval", logs / "lm-eval", "--out", out, "--no-eval")
    assert result.returncode == 2
    assert "not empty" in result.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_the_command_prints_the_comparison(logs: Path, tmp_path: Path) -> None:
    result = puma(
        "import", "lm-eval", logs / "lm-eval", "--out", tmp_path / "run",
        "--bootstrap-resamples", "200", "--permutations", "200",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "exact_match,none" in result.stdout
    assert "equal" in result.stdout
