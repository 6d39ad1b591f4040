"""The tamper corpus: every single edit to a finished run folder's ledger, predictions or metrics
is caught before anything is resumed, scored or packaged; an interrupted run is told apart from
an altered one, and a run from an older PUMA (no seal) still reads.

Each case changes one copy of a real run folder (the demo spec on the embedded model, 3 items:
ledger lines meta, call, call, call, footer) and states what every reader must then say.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.errors import CheckFailed, InputFileError, PumaError
from puma.evaluate import ScoringOptions, evaluate_run
from puma.evaluate.loading import load_run
from puma.runfolder import RunFolder
from puma.runfolder.ledger import LedgerEvent, LedgerWriter, read_ledger
from puma.runner.audit import verify_run_ledger
from puma.runner.session import check_resumable
from puma.submission.builder import Consents, build_submission

PUMA = [sys.executable, "-m", "puma.cli.app"]
REPO_ROOT = Path(__file__).resolve().parents[2]
Fault = Callable[[Path], None]
SUBMISSION_ID = "5b0c3f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"


# --- ways to damage a run folder ----------------------------------------------------------------


def _lines(run: Path) -> list[bytes]:
    return (run / "run.jsonl").read_bytes().splitlines(keepends=True)


def _put_lines(run: Path, lines: list[bytes]) -> None:
    (run / "run.jsonl").write_bytes(b"".join(lines))


def _edit_line(index: int, **changes: Any) -> Fault:
    """Change fields of one ledger line in place, as an editor would (prev_hash left alone)."""

    def fault(run: Path) -> None:
        lines = _lines(run)
        event = json.loads(lines[index])
        event.update(changes)
        lines[index] = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        _put_lines(run, lines)

    return fault


def _respace_line(index: int) -> Fault:
    """The same JSON in other bytes: only the hash can tell."""

    def fault(run: Path) -> None:
        lines = _lines(run)
        lines[index] = lines[index].replace(b"{", b"{ ", 1)
        _put_lines(run, lines)

    return fault


def _drop_lines(*indexes: int) -> Fault:
    def fault(run: Path) -> None:
        lines = _lines(run)
        _put_lines(run, [line for i, line in enumerate(lines) if i not in indexes])

    return fault


def _cut_tail(keep: int) -> Fault:
    """Cut the file `keep` bytes into its last line (keep 0 on the newline: drop only that)."""

    def fault(run: Path) -> None:
        lines = _lines(run)
        last = lines[-1]
        lines[-1] = last[:keep] if keep else last.rstrip(b"\n")
        _put_lines(run, lines)

    return fault


def _swap_lines(a: int, b: int) -> Fault:
    def fault(run: Path) -> None:
        lines = _lines(run)
        lines[a], lines[b] = lines[b], lines[a]
        _put_lines(run, lines)

    return fault


def _rechain(run: Path, events: list[LedgerEvent]) -> LedgerWriter:
    """Write events as a fresh, correctly hash-chained ledger: what a careful forger does."""
    (run / "run.jsonl").unlink()
    writer = LedgerWriter.create(run / "run.jsonl")
    for event in events:
        writer.append(event)
    writer.close()
    return writer


def _append_forged_call(run: Path) -> None:
    """A line after the footer whose prev_hash is right: the chain alone cannot object."""
    events = read_ledger(run / "run.jsonl").events
    forged = events[1].model_copy(update={"parsed_label": "Forged"})
    writer = LedgerWriter.reopen(run / "run.jsonl")
    writer.append(forged)
    writer.close()


def _rechained_forgery(run: Path) -> None:
    events = read_ledger(run / "run.jsonl").events
    events[1] = events[1].model_copy(update={"parsed_label": "Forged"})
    _rechain(run, events)


def _rechained_and_resealed(run: Path) -> None:
    """Ledger forged, re-chained and re-sealed: only the predictions still tell the truth."""
    events = read_ledger(run / "run.jsonl").events
    events[1] = events[1].model_copy(update={"parsed_label": "Forged"})
    writer = _rechain(run, events)
    _update_manifest(ledger_seal=writer.seal().model_dump())(run)


def _update_manifest(**changes: Any) -> Fault:
    def fault(run: Path) -> None:
        path = run / "manifest.json"
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(manifest.get(key), dict):
                manifest[key] = {**manifest[key], **value}
            else:
                manifest[key] = value
        path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    return fault


def _both(*faults: Fault) -> Fault:
    def fault(run: Path) -> None:
        for one in faults:
            one(run)

    return fault


def _interrupted(run: Path) -> None:
    """What a run killed before its footer leaves: no footer, no seal, no completed_at."""
    _drop_lines(len(_lines(run)) - 1)(run)
    _update_manifest(ledger_seal=None, completed_at=None)(run)


def _edit_jsonl(index: int, transform: Callable[[bytes], bytes] | None = None) -> Fault:
    def fault(run: Path) -> None:
        path = run / "predictions.jsonl"
        lines = path.read_bytes().splitlines(keepends=True)
        if transform is None:
            del lines[index]
        else:
            lines[index] = transform(lines[index])
        path.write_bytes(b"".join(lines))

    return fault


def _jsonl_field(index: int, **changes: Any) -> Fault:
    def change(line: bytes) -> bytes:
        return json.dumps({**json.loads(line), **changes}, separators=(",", ":")).encode() + b"\n"

    return _edit_jsonl(index, change)


def _jsonl_whole(transform: Callable[[list[bytes]], list[bytes]]) -> Fault:
    def fault(run: Path) -> None:
        path = run / "predictions.jsonl"
        path.write_bytes(b"".join(transform(path.read_bytes().splitlines(keepends=True))))

    return fault


def _parquet(transform: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Fault:
    def fault(run: Path) -> None:
        path = run / "predictions_full.parquet"
        table = pq.read_table(path)
        pq.write_table(
            pa.Table.from_pylist(transform(table.to_pylist()), schema=table.schema), path
        )

    return fault


def _parquet_field(**changes: Any) -> Fault:
    return _parquet(lambda rows: [{**rows[0], **changes}, *rows[1:]])


def _parquet_without_column(run: Path) -> None:
    path = run / "predictions_full.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["output_text"]), path)


def _metrics(transform: Callable[[dict[str, Any]], None]) -> Fault:
    def fault(run: Path) -> None:
        path = run / "metrics.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        transform(document)
        path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")

    return fault


def _baseline_accuracy(document: dict[str, Any]) -> dict[str, Any]:
    cell = next(
        c
        for c in document["cells"]
        if c["cell"]["perturbation"] == "none" and c["cell"]["slice"] is None
    )
    accuracy: dict[str, Any] = cell["metrics"]["accuracy"]
    return accuracy


def _forge_interval(document: dict[str, Any]) -> None:
    accuracy = _baseline_accuracy(document)
    accuracy["ci_low"], accuracy["ci_high"] = 0.61, 0.93


def _forge_point(document: dict[str, Any]) -> None:
    _baseline_accuracy(document)["point"] = 0.9


def _forge_source(key: str, value: str | None) -> Callable[[dict[str, Any]], None]:
    def forge(document: dict[str, Any]) -> None:
        if value is None:
            del document["sources"][0][key]
        else:
            document["sources"][0][key] = value

    return forge


# --- the corpus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    fault: Fault
    ledger: str  # what verify_run_ledger says: sealed | broken | unsealed | incomplete
    refused_by: type[PumaError]  # what share-results raises
    names: str  # the file (and line) the message names
    scored: bool = False  # `puma eval` still scores it (the fault is in metrics.json only)


LAST = 4  # the footer: lines are meta, call, call, call, footer
BROKEN = ("broken", CheckFailed)

CORPUS: dict[str, Case] = {
    # The last line, which no later line protects: the seal in manifest.json does.
    "footer failed_calls 0 -> 2": Case(_edit_line(LAST, failed_calls=2), *BROKEN, "run.jsonl:5"),
    "footer re-spaced": Case(_respace_line(LAST), *BROKEN, "run.jsonl:5"),
    "footer removed": Case(_drop_lines(LAST), *BROKEN, "run.jsonl:4"),
    "footer and last call removed": Case(_drop_lines(LAST - 1, LAST), *BROKEN, "run.jsonl:3"),
    "footer newline cut": Case(_cut_tail(0), *BROKEN, "run.jsonl:5"),
    "footer cut in half": Case(_cut_tail(40), *BROKEN, "run.jsonl:5"),
    "forged call after the footer": Case(_append_forged_call, *BROKEN, "run.jsonl:6"),
    "ledger re-chained after an edit": Case(_rechained_forgery, *BROKEN, "run.jsonl:5"),
    "seal head edited": Case(_update_manifest(ledger_seal={"head": "0" * 64}), *BROKEN, ":5"),
    "seal line count edited": Case(_update_manifest(ledger_seal={"lines": 9}), *BROKEN, ":5"),
    # Every line, edited in place.
    **{
        f"line {i + 1} edited": Case(_edit_line(i, ts="2020-01-01T00:00:00Z"), *BROKEN, f":{i + 2}")
        for i in range(LAST)
    },
    "call label forged": Case(_edit_line(1, parsed_label="Forged"), *BROKEN, "run.jsonl:3"),
    "meta re-spaced": Case(_respace_line(0), *BROKEN, "run.jsonl:2"),
    "middle call removed": Case(_drop_lines(2), *BROKEN, "run.jsonl:3"),
    "two calls swapped": Case(_swap_lines(1, 2), *BROKEN, "run.jsonl:2"),
    # A seal taken away is no pass: the run counts as not finished.
    "seal removed, footer edited": Case(
        _both(_update_manifest(ledger_seal=None), _edit_line(LAST, failed_calls=2)),
        "unsealed",
        InputFileError,
        "run.jsonl",
    ),
    "interrupted run": Case(_interrupted, "incomplete", InputFileError, "--resume"),
    # Past the ledger: the prediction files must be what it says.
    "ledger forged, re-chained and re-sealed": Case(
        _rechained_and_resealed, "sealed", CheckFailed, "predictions_full.parquet"
    ),
    "jsonl label edited": Case(
        _jsonl_field(0, predicted_label="Forged"), "sealed", CheckFailed, "predictions.jsonl:1"
    ),
    "jsonl value edited": Case(
        _jsonl_field(1, predicted_value=0.99), "sealed", CheckFailed, "predictions.jsonl:2"
    ),
    "jsonl prompt_hash edited": Case(
        _jsonl_field(2, prompt_hash="0" * 16), "sealed", CheckFailed, "predictions.jsonl:3"
    ),
    "jsonl re-spaced": Case(
        _edit_jsonl(0, lambda line: line.replace(b":", b": ")),
        "sealed",
        CheckFailed,
        "predictions.jsonl:1",
    ),
    "jsonl line removed": Case(_edit_jsonl(2), "sealed", CheckFailed, "predictions.jsonl"),
    "jsonl line doubled": Case(
        _jsonl_whole(lambda lines: [*lines, lines[0]]), "sealed", CheckFailed, "predictions.jsonl"
    ),
    "jsonl lines reordered": Case(
        _jsonl_whole(lambda lines: lines[::-1]), "sealed", CheckFailed, "predictions.jsonl:1"
    ),
    "parquet label edited": Case(
        _parquet_field(predicted_label="Forged"), "sealed", CheckFailed, "predicted_label"
    ),
    "parquet latency edited": Case(
        _parquet_field(total_ms=1.0), "sealed", CheckFailed, "predictions_full.parquet"
    ),
    "parquet output edited": Case(
        _parquet_field(output_text="Forged"), "sealed", CheckFailed, "output_text"
    ),
    "parquet error added": Case(_parquet_field(error="timeout"), "sealed", CheckFailed, "error"),
    "parquet row removed": Case(
        _parquet(lambda rows: rows[1:]), "sealed", CheckFailed, "no row for"
    ),
    "parquet row doubled": Case(
        _parquet(lambda rows: [*rows, rows[0]]), "sealed", CheckFailed, "two rows"
    ),
    "parquet column dropped": Case(
        _parquet_without_column, "sealed", CheckFailed, "predictions_full.parquet"
    ),
    # metrics.json: what the predictions give, computed from the predictions now in the folder.
    "metrics interval forged": Case(
        _metrics(_forge_interval), "sealed", CheckFailed, "metrics.json", scored=True
    ),
    "metrics point forged": Case(
        _metrics(_forge_point), "sealed", CheckFailed, "metrics.json", scored=True
    ),
    "metrics from other predictions": Case(
        _metrics(_forge_source("predictions_sha256", "0" * 64)),
        "sealed",
        CheckFailed,
        "stale",
        scored=True,
    ),
    "metrics from another ledger head": Case(
        _metrics(_forge_source("ledger_head", "0" * 64)),
        "sealed",
        CheckFailed,
        "stale",
        scored=True,
    ),
    "metrics without a record of its inputs": Case(
        _metrics(_forge_source("predictions_sha256", None)),
        "sealed",
        CheckFailed,
        "older PUMA",
        scored=True,
    ),
}


def _share(run: Path, out: Path) -> None:
    build_submission(run, out, consents=Consents.all_given(), submission_id=SUBMISSION_ID)


@pytest.mark.parametrize("name", list(CORPUS))
def test_tamper_corpus(name: str, copy_run: Callable[[], Path], tmp_path: Path) -> None:
    case = CORPUS[name]
    run = copy_run()
    assert len(_lines(run)) == LAST + 1
    case.fault(run)
    folder = RunFolder(run)

    verdict = verify_run_ledger(folder)
    assert verdict.state == case.ledger, verdict.message

    # share-results: refused, naming the file, and nothing written.
    with pytest.raises(case.refused_by) as refused:
        _share(run, tmp_path / "package")
    assert case.names in str(refused.value)
    assert not (tmp_path / "package").exists()

    # eval: refuses whatever share-results refused before metrics.json.
    if case.scored:
        load_run(folder)
    else:
        with pytest.raises(PumaError):
            load_run(folder)

    # resume: refuses an altered ledger before it appends; anything else it may continue.
    if verdict.state == "broken":
        with pytest.raises(CheckFailed, match="cannot resume") as resumed:
            check_resumable(run)
        assert f"run.jsonl:{verdict.line}" in str(resumed.value)
    else:
        check_resumable(run)


def test_the_untouched_run_passes_every_check(copy_run: Callable[[], Path], tmp_path: Path):
    run = copy_run()
    assert verify_run_ledger(RunFolder(run)).state == "sealed"
    _share(run, tmp_path / "package")
    provenance = json.loads(
        (tmp_path / "package" / f"{SUBMISSION_ID}.provenance.jsonld").read_text()
    )
    seal = json.loads((run / "manifest.json").read_text())["ledger_seal"]
    assert provenance["ledger"] == {
        "last_hash": seal["head"],
        "lines": seal["lines"],
        "sealed_in": "manifest.json",
    }
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["sources"][0]["ledger_head"] == seal["head"]


# --- an interrupted run is not a tampered one ---------------------------------------------------


def test_a_half_written_last_line_is_an_interrupted_run_that_resume_repairs(
    copy_run: Callable[[], Path],
):
    run = copy_run()
    _interrupted(run)
    _cut_tail(60)(run)  # the process died writing the last call
    verdict = verify_run_ledger(RunFolder(run))
    assert verdict.state == "incomplete" and verdict.report.partial_tail
    assert verdict.report.lines == LAST - 1
    check_resumable(run)
    writer = LedgerWriter.reopen(run / "run.jsonl")  # what resume does next: cut it off
    writer.close()
    assert len(_lines(run)) == LAST - 1 and _lines(run)[-1].endswith(b"\n")


def test_resume_refuses_a_forged_label_in_an_interrupted_run(copy_run: Callable[[], Path]):
    """The audit's case: an edited call line of an unfinished run must not reach predictions."""
    run = copy_run()
    _interrupted(run)
    _edit_line(1, parsed_label="Forged")(run)
    before = (run / "predictions.jsonl").read_bytes()
    done = subprocess.run(
        [*PUMA, "run", "--resume", str(run)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert f"{run / 'run.jsonl'}:3" in done.stderr and "cannot resume" in done.stderr
    assert "puma ledger verify" in done.stderr  # what to do
    assert done.stdout == ""  # refused before any progress bar
    assert (run / "predictions.jsonl").read_bytes() == before


def test_resume_seals_again_and_a_metrics_json_from_before_is_stale(
    copy_run: Callable[[], Path], tmp_path: Path
):
    """eval, then resume (or an eval killed before it wrote): share-results sees metrics.json
    was computed from another state of the run, and says to run eval again."""
    run = copy_run()
    old_seal = json.loads((run / "manifest.json").read_text())["ledger_seal"]
    done = subprocess.run(
        [*PUMA, "run", "--resume", str(run), "--quiet"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    seal = json.loads((run / "manifest.json").read_text())["ledger_seal"]
    assert seal["lines"] == old_seal["lines"] + 2  # resume and a new footer, sealed
    assert verify_run_ledger(RunFolder(run)).state == "sealed"
    with pytest.raises(CheckFailed, match="stale") as refused:
        _share(run, tmp_path / "package")
    assert "metrics.json" in str(refused.value) and "puma eval" in str(refused.value)
    evaluate_run(run, ScoringOptions(resamples=200, permutations=0))
    _share(run, tmp_path / "package")


# --- a run folder from an older PUMA still reads ------------------------------------------------


def _as_written_by_an_older_puma(run: Path) -> None:
    """ledger-1.0, no seal in the manifest: what PUMA wrote before the seal."""
    events = read_ledger(run / "run.jsonl").events
    events[0] = events[0].model_copy(update={"schema_version": "ledger-1.0"})
    _rechain(run, events)
    path = run / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["ledger_seal"]
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    evaluate_run(run, ScoringOptions(resamples=200, permutations=0))


def test_an_older_run_without_a_seal_reads_with_a_warning(
    copy_run: Callable[[], Path], tmp_path: Path
):
    run = copy_run()
    _as_written_by_an_older_puma(run)
    verdict = verify_run_ledger(RunFolder(run))
    assert verdict.state == "older" and verdict.finished
    assert "no seal recorded (written by an older PUMA)" in verdict.message
    package = build_submission(run, tmp_path / "p", consents=Consents.all_given())
    assert package.provenance.ledger["sealed_in"] is None
    assert any("no seal" in caveat for caveat in package.provenance.caveats)

    done = subprocess.run(
        [*PUMA, "ledger", "verify", str(run)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert "warning" in done.stderr and "older PUMA" in done.stderr


# --- what a person sees -------------------------------------------------------------------------


def _puma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PUMA, *args], capture_output=True, text=True, timeout=300)


def test_ledger_verify_names_an_edited_footer_exit_1(copy_run: Callable[[], Path]):
    run = copy_run()
    _edit_line(LAST, failed_calls=2)(run)
    done = _puma("ledger", "verify", str(run))
    assert done.returncode == 1
    assert f"{run / 'run.jsonl'}:5" in done.stderr and "sealed head" in done.stderr


def test_ledger_verify_calls_an_interrupted_run_unsealed_not_tampered(
    copy_run: Callable[[], Path],
):
    run = copy_run()
    _interrupted(run)
    done = _puma("ledger", "verify", str(run))
    assert done.returncode == 0, done.stderr
    assert "unsealed" in done.stdout and "did not finish" in done.stdout
    assert "--resume" in done.stdout


@pytest.mark.parametrize("command", ["eval", "share-results"])
def test_eval_and_share_results_refuse_edited_predictions_exit_1(
    command: str, copy_run: Callable[[], Path], tmp_path: Path
):
    run = copy_run()
    _jsonl_field(0, predicted_label="Forged")(run)
    extra = ["--dry-run", "--yes", "--out", str(tmp_path / "p")] if command != "eval" else []
    done = _puma(command, str(run), *extra)
    assert done.returncode == 1, done.stderr
    assert f"{run / 'predictions.jsonl'}:1" in done.stderr
    assert "--resume" in done.stderr  # what to do
