"""The publication commands as a user runs them: the installed `puma` script in a subprocess,
every documented exit code, and never a traceback."""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from puma.integrity import predictions_summary_hash
from puma.submission import Consents, build_submission

RunFactory = Callable[..., Path]


def puma(cli: Path, *args: Any, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(cli), *map(str, args)],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def shared(cli: Path, run: Path, out: Path) -> Path:
    result = puma(cli, "share-results", run, "--dry-run", "--out", out, "--yes")
    assert result.returncode == 0, result.stderr
    (submission,) = out.glob("*.json")  # the provenance sidecar ends in .jsonld
    return submission


@pytest.fixture
def submission(run_factory: RunFactory, tmp_path: Path) -> Path:
    """A package written by the library (the CLI's own run is tested above): faster setup."""
    package = build_submission(
        run_factory(n_items=16), tmp_path / "out", consents=Consents.all_given()
    )
    return package.files.submission


def predictions_of(submission: Path) -> Path:
    return submission.with_name(submission.name.removesuffix(".json") + ".predictions.jsonl")


# --- share-results -----------------------------------------------------------------------------


def test_share_results_writes_the_package_and_says_what_to_run_next(
    puma_cli: Path, run_factory: RunFactory, tmp_path: Path
):
    out = tmp_path / "out"
    result = puma(puma_cli, "share-results", run_factory(), "--dry-run", "--out", out, "--yes")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name.split(".", 1)[1] for p in out.iterdir())
    assert names == ["json", "predictions.jsonl", "provenance.jsonld"]
    assert "nothing was sent" in result.stdout and "puma verify-hash" in result.stdout


def test_share_results_asks_each_consent_and_writes_nothing_when_one_is_refused(
    puma_cli: Path, run_factory: RunFactory, tmp_path: Path
):
    run = run_factory()
    agreed = puma(
        puma_cli, "share-results", run, "--dry-run", "--out", tmp_path / "a", stdin="y\ny\ny\n"
    )
    assert agreed.returncode == 0, agreed.stderr
    assert agreed.stdout.count("Do you agree") == 3
    refused = puma(
        puma_cli, "share-results", run, "--dry-run", "--out", tmp_path / "b", stdin="y\nn\n"
    )
    assert refused.returncode == 2 and "three consents" in refused.stderr
    assert not (tmp_path / "b").exists()
    no_answer = puma(puma_cli, "share-results", run, "--dry-run", "--out", tmp_path / "c")
    assert no_answer.returncode == 2 and "--yes" in no_answer.stderr


def test_share_results_help_spells_out_the_consents_given_by_yes(puma_cli: Path):
    help_text = " ".join(puma(puma_cli, "share-results", "--help").stdout.split())
    for words in ("leaderboard", "CC-BY-4.0", "research"):
        assert words in help_text


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ((), "--dry-run"),  # publishing is not there yet: say so, send nothing
        (("--dry-run", "--yes", "--strategy-typo"), "No such option"),
    ],
)
def test_share_results_misuse_is_exit_2(
    puma_cli: Path, run_factory: RunFactory, tmp_path: Path, options: tuple[str, ...], needle: str
):
    result = puma(puma_cli, "share-results", run_factory(), "--out", tmp_path / "o", *options)
    assert result.returncode == 2 and needle in result.stderr + result.stdout


def test_share_results_on_a_run_with_two_models_lists_them(
    puma_cli: Path, run_factory: RunFactory, tmp_path: Path
):
    run = run_factory(models=("qwen2.5:3b", "gemma3:4b"))
    result = puma(puma_cli, "share-results", run, "--dry-run", "--yes", "--out", tmp_path / "o")
    assert result.returncode == 2 and "--model (qwen2.5:3b, gemma3:4b)" in result.stderr
    chosen = puma(
        puma_cli,
        "share-results",
        run,
        "--dry-run",
        "--yes",
        "--out",
        tmp_path / "o",
        "--model",
        "gemma3:4b",
    )
    assert chosen.returncode == 0, chosen.stderr


def test_share_results_on_something_that_is_not_a_run_folder_is_exit_2(
    puma_cli: Path, tmp_path: Path
):
    result = puma(puma_cli, "share-results", tmp_path, "--dry-run", "--yes")
    assert result.returncode == 2 and "manifest.json is missing" in result.stderr


# --- verify-hash -------------------------------------------------------------------------------


def test_verify_hash_exit_0_on_the_package_as_written(puma_cli: Path, submission: Path):
    result = puma(puma_cli, "verify-hash", submission)
    assert result.returncode == 0, result.stderr
    assert "match" in result.stdout and "(16 rows)" in result.stdout


def test_verify_hash_exit_1_names_the_first_differing_instance(puma_cli: Path, submission: Path):
    path = predictions_of(submission)
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[4])
    row["predicted_label"] = "Critical" if row["predicted_label"] != "Critical" else "Minor"
    lines[4] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = puma(puma_cli, "verify-hash", submission)
    assert result.returncode == 1 and "MISMATCH" in result.stdout
    assert f"instance {row['instance_id']!r} (line 5)" in result.stderr


def test_verify_hash_exit_1_says_the_row_count_differs(
    puma_cli: Path, submission: Path, tmp_path: Path
):
    short = tmp_path / "short.jsonl"
    short.write_text("".join(predictions_of(submission).read_text().splitlines(True)[:10]))
    result = puma(puma_cli, "verify-hash", submission, "--predictions", short)
    assert result.returncode == 1
    assert "declares 16 instances, the file has 10 rows" in result.stderr


def test_verify_hash_accepts_an_upper_case_declared_hash(puma_cli: Path, submission: Path):
    data = json.loads(submission.read_text())
    data["integrity"]["predictions_summary_hash"] = data["integrity"][
        "predictions_summary_hash"
    ].upper()
    submission.write_text(json.dumps(data))
    assert puma(puma_cli, "verify-hash", submission).returncode == 0


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-30]), "truncated"),
        (lambda p: p.write_text(p.read_text() + "not json\n"), "not valid JSON"),
        (
            lambda p: p.write_bytes(
                p.read_bytes().replace(b'"prompt_hash":"', b'"prompt_hash":"\xff', 1)
            ),
            "not UTF-8",
        ),
        (lambda p: p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()), "byte-order mark"),
        (lambda p: p.unlink(), "no predictions file"),
    ],
    ids=["truncated", "not-json", "non-utf8", "bom", "missing"],
)
def test_verify_hash_exit_2_on_a_broken_predictions_file(
    puma_cli: Path, submission: Path, damage: Callable[[Path], Any], needle: str
):
    damage(predictions_of(submission))
    result = puma(puma_cli, "verify-hash", submission)
    assert result.returncode == 2, result.stdout + result.stderr
    assert needle in result.stderr


def declare(submission: Path, digest: str) -> None:
    data = json.loads(submission.read_text())
    data["integrity"]["predictions_summary_hash"] = digest
    submission.write_text(json.dumps(data))


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def perturbation_pairs(path: Path) -> str:
    """Each row twice, as a puma-cp triage run with perturbations exports them (compact, no
    final line end)."""
    rows = [r for row in rows_of(path) for r in (row, {**row, "predicted_label": "Minor"})]
    compact = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in rows]
    path.write_text("\n".join(compact), encoding="utf-8")
    return predictions_summary_hash(rows)


def cr_line_ends(path: Path) -> str:
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    return predictions_summary_hash(rows_of(path))


def a_null_id(path: Path) -> str:
    rows = rows_of(path)
    rows[3]["instance_id"] = None
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return predictions_summary_hash(rows)


def no_rows(path: Path) -> str:
    path.write_bytes(b"")
    return hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(
    ("rewrite", "warning"),
    [
        (perturbation_pairs, "16 row(s) repeat an instance_id"),
        (cr_line_ends, None),
        (a_null_id, "1 row(s) have a null instance_id (first: line 4)"),
        (no_rows, "holds no prediction rows"),
    ],
    ids=["perturbation-pairs", "cr-line-ends", "null-id", "no-rows"],
)
def test_verify_hash_exit_0_on_files_puma_4_verifies_with_a_warning_on_what_puma_never_writes(
    puma_cli: Path, submission: Path, rewrite: Callable[[Path], str], warning: str | None
):
    declare(submission, rewrite(predictions_of(submission)))
    result = puma(puma_cli, "verify-hash", submission)
    assert result.returncode == 0, result.stdout + result.stderr
    if warning is None:
        assert "warning" not in result.stderr
    else:
        assert warning in " ".join(result.stderr.split())


def test_verify_hash_warns_that_a_declared_hash_with_blanks_fails_in_puma_4(
    puma_cli: Path, submission: Path
):
    data = json.loads(submission.read_text())
    declare(submission, f" {data['integrity']['predictions_summary_hash']} ")
    result = puma(puma_cli, "verify-hash", submission)
    assert result.returncode == 0, result.stderr
    stderr = " ".join(result.stderr.split())
    assert "blanks around it" in stderr and "PUMA 4.0's verifier would report a mismatch" in stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"integrity": {', "invalid JSON"),
        (b"[]", "JSON object"),
        (b'{"integrity": {}}', "no predictions hash declared"),
        (b'{"integrity": {"predictions_summary_hash": "sha256:xyz"}}', "not 64 hexadecimal"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_verify_hash_exit_2_on_an_unusable_submission(
    puma_cli: Path, submission: Path, content: bytes, needle: str
):
    submission.write_bytes(content)
    result = puma(puma_cli, "verify-hash", submission)
    assert result.returncode == 2 and needle in result.stderr


def test_verify_hash_exit_2_on_a_missing_or_huge_submission(puma_cli: Path, tmp_path: Path):
    assert puma(puma_cli, "verify-hash", tmp_path / "nope.json").returncode == 2
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:
        out.truncate(200 * 2**20)  # a sparse 200 MB file: no disk, no time
    result = puma(puma_cli, "verify-hash", huge)
    assert result.returncode == 2 and "far too large" in result.stderr


def test_verify_hash_rescore_of_a_local_suite_package_says_to_pass_the_suite_file(
    puma_cli: Path, submission: Path
):
    sidecar = submission.with_name(submission.name.removesuffix(".json") + ".provenance.jsonld")
    provenance = json.loads(sidecar.read_text())
    provenance["suite"].update(id="local-orbit-issues", source="orbit-issues.csv")
    sidecar.write_text(json.dumps(provenance))
    result = puma(puma_cli, "verify-hash", submission, "--rescore")
    assert result.returncode == 2, result.stdout + result.stderr
    stderr = " ".join(result.stderr.split())
    assert "made from a local suite (local-orbit-issues, file 'orbit-issues.csv')" in stderr
    assert "--rescore --suite PATH/TO/orbit-issues.csv" in stderr


def test_verify_hash_with_rescore_exit_1_when_declared_metrics_were_inflated(
    puma_cli: Path, run_factory: RunFactory, tmp_path: Path
):
    try:
        from puma.suites import load_suite  # type: ignore[attr-defined]
    except ImportError:
        from puma.suites.bundled import load_suite
    items = [(i["instance_id"], i["gold"]) for i in load_suite("pm-triage").items[:24]]
    sub = shared(puma_cli, run_factory(suites=[("pm-triage", "triage", items)]), tmp_path / "o")
    assert puma(puma_cli, "verify-hash", sub, "--rescore").returncode == 0
    data = json.loads(sub.read_text())
    data["metrics"]["accuracy"] = 0.99
    sub.write_text(json.dumps(data))
    result = puma(puma_cli, "verify-hash", sub, "--rescore")
    assert result.returncode == 1 and "accuracy: declared 0.990000" in result.stderr


def test_verify_hash_with_an_unreachable_remote_warns_and_keeps_exit_0(
    puma_cli: Path, submission: Path
):
    result = puma(puma_cli, "verify-hash", submission, "--remote", "http://127.0.0.1:9")
    assert result.returncode == 0
    assert "warning" in result.stderr and "local result stands" in result.stderr


def write_big_predictions(path: Path, size_bytes: int) -> str:
    """Write sorted rows until the file reaches size_bytes; return their hash, computed here
    from the CSV rule itself rather than by the code under test."""
    template = (
        '{{"instance_id":"ID-{:08d}","predicted_label":"Major","predicted_value":0.{:06d},'
        '"prompt_hash":"0123456789abcdef"}}\n'
    )
    digest = hashlib.sha256()
    written, i, chunk = 0, 0, 50_000
    with path.open("w", encoding="utf-8") as out:
        while written < size_bytes:
            text = "".join(template.format(n, n % 999_983) for n in range(i, i + chunk))
            csv = "\n".join(
                f"ID-{n:08d},Major,0.{n % 999_983:06d},0123456789abcdef"
                for n in range(i, i + chunk)
            )
            digest.update((b"\n" if i else b"") + csv.encode())
            out.write(text)
            written += len(text)
            i += chunk
    return digest.hexdigest()


def verify_with_memory(cli: Path, submission: Path, predictions: Path) -> tuple[int, float, str]:
    """Exit code, peak memory (MiB, proportional set size, so pages a forked worker shares with
    the command count once) summed over the command and its workers, and stderr."""
    command = [str(cli), "verify-hash", str(submission), "--predictions", str(predictions)]
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):  # a worker ended between listing and reading
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_full_info().pss for p in tree))
        time.sleep(0.01)
    return process.returncode, peak / 2**20, process.stderr.read()


@pytest.mark.parametrize(
    "size_mb", [20, pytest.param(200, marks=pytest.mark.slow)], ids=["20MB", "200MB"]
)
def test_verify_hash_streams_a_large_predictions_file_in_flat_memory(
    puma_cli: Path, submission: Path, tmp_path: Path, size_mb: int
):
    big = tmp_path / "big.jsonl"
    expected = write_big_predictions(big, size_mb * 10**6)
    data = json.loads(submission.read_text())
    data["integrity"]["predictions_summary_hash"] = expected
    data["run_metadata"]["n_instances"] = None
    submission.write_text(json.dumps(data))
    code, peak_mib, stderr = verify_with_memory(puma_cli, submission, big)
    assert code == 0, stderr
    # The command and its worker processes together; none holds the file.
    assert peak_mib < 250, f"verify-hash peaked at {peak_mib:.0f} MiB on a {size_mb} MB file"


# --- submission validate -----------------------------------------------------------------------


def test_validate_exit_0_on_a_package_share_results_wrote(puma_cli: Path, submission: Path):
    result = puma(puma_cli, "submission", "validate", submission)
    assert result.returncode == 0 and "valid" in result.stdout


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.update(extra_field=1), "extra_field"),
        (lambda d: d["run_metadata"].pop("model"), "run_metadata.model: required field is missing"),
        (
            lambda d: d["integrity"].update(predictions_summary_hash="AB" * 32),
            "predictions_summary_hash",
        ),
    ],
    ids=["extra-field", "missing-field", "upper-case-hash"],
)
def test_validate_exit_1_lists_what_is_wrong(
    puma_cli: Path, submission: Path, change: Callable[[dict[str, Any]], Any], needle: str
):
    data = json.loads(submission.read_text())
    change(data)
    submission.write_text(json.dumps(data))
    result = puma(puma_cli, "submission", "validate", submission)
    assert result.returncode == 1
    assert needle in " ".join(result.stdout.split()).replace("│ ", "")


def test_validate_lists_each_problem_once_and_which_checks_found_it(
    puma_cli: Path, submission: Path
):
    data = json.loads(submission.read_text())
    data["integrity"]["predictions_summary_hash"] = "AB" * 32
    data["favourite_colour"] = "teal"
    del data["run_metadata"]["model"]
    data["run_metadata"]["n_instances"] = "16"  # only JSON Schema minds: the models take "16"
    submission.write_text(json.dumps(data))
    result = puma(puma_cli, "submission", "validate", submission)
    assert result.returncode == 1 and "4 problem(s)" in result.stderr
    out = " ".join(result.stdout.split())
    for field in (
        "integrity.predictions_summary_hash:",
        "favourite_colour:",
        "run_metadata.model:",
        "run_metadata.n_instances:",
    ):
        assert out.count(field) == 1, out
    assert out.count("(json-schema and model)") == 3 and out.count("(json-schema)") == 1
    assert "pattern '^[a-f0-9]{64}$'" in out  # shown as written, not taken for markup


@pytest.mark.parametrize("content", [b"{not json", b"\xff", None])
def test_validate_exit_2_on_an_unreadable_file(
    puma_cli: Path, tmp_path: Path, content: bytes | None
):
    path = tmp_path / "s.json"
    if content is not None:
        path.write_bytes(content)
    result = puma(puma_cli, "submission", "validate", path)
    assert result.returncode == 2 and "error:" in result.stderr
