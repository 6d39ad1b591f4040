"""verify-hash as a library: the hash check, what a mismatch is explained as, re-scoring against
a suite, and a registry verifier on a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import puma
from puma.errors import CheckFailed, ExitCode, InputFileError, PumaError, RemoteUnavailable
from puma.integrity import hash_predictions_file, predictions_summary_hash
from puma.submission import Consents, SubmissionPackage, build_submission, verify_submission
from puma.submission.remote import ask_remote_verifier, verify_endpoint
from puma.submission.verify import Verification, raise_for, rescore_rows
from puma.suites.model import TRIAGE_LABELS, Suite

RunFactory = Callable[..., Path]


def bundled_suite(suite_id: str) -> Suite:
    try:
        from puma.suites import load_suite  # type: ignore[attr-defined]
    except ImportError:
        from puma.suites.bundled import load_suite
    suite: Suite = load_suite(suite_id)
    return suite


def package_of(run: Path, out: Path) -> SubmissionPackage:
    return build_submission(run, out, consents=Consents.all_given())


def rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def rewrite_rows(path: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    change(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def package(run_factory: RunFactory, tmp_path: Path) -> SubmissionPackage:
    return package_of(run_factory(n_items=20), tmp_path / "out")


# --- the hash ----------------------------------------------------------------------------------


def test_an_untouched_package_verifies(package: SubmissionPackage):
    result = verify_submission(package.files.submission)
    assert result.ok and result.check.match and result.check.n_rows == 20
    assert result.predictions == package.files.predictions
    raise_for(result)  # nothing to raise


def test_a_declared_hash_with_prefix_and_upper_case_still_matches(package: SubmissionPackage):
    def shout(data: dict[str, Any]) -> None:
        declared = data["integrity"]["predictions_summary_hash"]
        data["integrity"]["predictions_summary_hash"] = "sha256:" + declared.upper()

    rewrite(package.files.submission, shout)
    assert verify_submission(package.files.submission).check.match


def test_a_changed_prediction_is_a_mismatch_that_names_the_instance(package: SubmissionPackage):
    def flip(rows: list[dict[str, Any]]) -> None:
        rows[6]["predicted_value"] = 0.5

    rewrite_rows(package.files.predictions, flip)
    result = verify_submission(package.files.submission)
    assert not result.ok
    assert result.mismatch is not None and "line 7" in result.mismatch
    with pytest.raises(CheckFailed, match="line 7"):
        raise_for(result)


def test_a_dropped_row_is_a_mismatch_that_says_the_row_count_differs(package: SubmissionPackage):
    rewrite_rows(package.files.predictions, lambda rows: rows.pop(3))
    result = verify_submission(package.files.submission)
    assert result.mismatch is not None
    assert "declares 20 instances, the file has 19 rows" in result.mismatch
    assert "is missing" in result.mismatch


def test_an_edited_declared_hash_is_told_apart_from_edited_rows(package: SubmissionPackage):
    rewrite(
        package.files.submission, lambda d: d["integrity"].update(predictions_summary_hash="0" * 64)
    )
    result = verify_submission(package.files.submission)
    assert result.mismatch is not None and "declared hash itself was changed" in result.mismatch


def test_without_the_sidecar_a_mismatch_still_fails_and_says_so(package: SubmissionPackage):
    package.files.provenance.unlink()
    rewrite_rows(package.files.predictions, lambda rows: rows[0].update(predicted_label="Trivial"))
    result = verify_submission(package.files.submission)
    assert not result.ok and "no provenance sidecar" in str(result.mismatch)


def test_the_sidecar_under_its_first_name_is_still_read(package: SubmissionPackage):
    # Packages written before the sidecar became <id>.provenance.jsonld
    first_name = package.files.submission.with_name(f"{package.files.stem}.provenance.json")
    package.files.provenance.rename(first_name)
    rewrite_rows(package.files.predictions, lambda rows: rows[6].update(predicted_value=0.5))
    result = verify_submission(package.files.submission)
    assert result.mismatch is not None and "line 7" in result.mismatch


def test_the_sidecar_does_not_end_in_json_so_a_glob_of_submissions_skips_it(
    package: SubmissionPackage,
):
    assert sorted(package.files.submission.parent.glob("*.json")) == [package.files.submission]


def test_a_predictions_file_puma_4_accepts_verifies_with_its_warnings(package: SubmissionPackage):
    rows = [json.loads(line) for line in package.files.predictions.read_text().splitlines()]
    pairs = [r for row in rows for r in (row, {**row, "predicted_label": "Minor"})]
    package.files.predictions.write_text("\r".join(json.dumps(r) for r in pairs))
    rewrite(
        package.files.submission,
        lambda d: d["integrity"].update(predictions_summary_hash=predictions_summary_hash(pairs)),
    )
    result = verify_submission(package.files.submission)
    assert result.ok and result.check.n_rows == 40
    assert any("20 row(s) repeat an instance_id" in w for w in result.warnings)


def test_predictions_can_be_given_explicitly(package: SubmissionPackage, tmp_path: Path):
    moved = tmp_path / "elsewhere.jsonl"
    package.files.predictions.rename(moved)
    with pytest.raises(InputFileError, match="--predictions"):
        verify_submission(package.files.submission)
    assert verify_submission(package.files.submission, moved).ok


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("integrity"),
        lambda d: d["integrity"].pop("predictions_summary_hash"),
        lambda d: d["integrity"].update(predictions_summary_hash="not-a-hash"),
        lambda d: d.update(integrity="flat"),
    ],
)
def test_a_submission_declaring_no_usable_hash_is_bad_input(
    package: SubmissionPackage, change: Callable[[dict[str, Any]], None]
):
    rewrite(package.files.submission, change)
    with pytest.raises(InputFileError):
        verify_submission(package.files.submission)


# --- re-scoring --------------------------------------------------------------------------------


def test_rescoring_against_the_real_suite_confirms_honest_metrics(
    run_factory: RunFactory, tmp_path: Path
):
    suite = bundled_suite("pm-triage")
    items = [(item["instance_id"], item["gold"]) for item in suite.items[:40]]
    run = run_factory(suites=[("pm-triage", "triage", items)])
    package = package_of(run, tmp_path / "out")
    result = verify_submission(package.files.submission, rescore=True)
    assert result.rescore is not None and result.rescore.ok, result.rescore
    assert result.ok and result.rescore.suite_id == "pm-triage"


def test_predictions_and_hash_edited_together_are_caught_by_rescoring(
    run_factory: RunFactory, tmp_path: Path
):
    suite = bundled_suite("pm-estimation")
    items = [(item["instance_id"], item["gold"]) for item in suite.items[:30]]
    package = package_of(
        run_factory(suites=[("pm-estimation", "estimation", items)]), tmp_path / "o"
    )
    gold = suite.gold_by_id()

    def make_perfect(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row["predicted_label"] = str(gold[row["instance_id"]])
            row["predicted_value"] = gold[row["instance_id"]]

    rewrite_rows(package.files.predictions, make_perfect)
    forged = hash_predictions_file(package.files.predictions).sha256
    rewrite(
        package.files.submission, lambda d: d["integrity"].update(predictions_summary_hash=forged)
    )
    result = verify_submission(package.files.submission, rescore=True)
    assert result.check.match
    assert result.rescore is not None and not result.rescore.ok
    assert any(d.startswith("mae: declared") for d in result.rescore.differences)
    with pytest.raises(CheckFailed, match="declared metrics"):
        raise_for(result)


def tiny_suite() -> Suite:
    items = tuple(
        {"instance_id": f"T-{i}", "gold": TRIAGE_LABELS[i % 4], "title": "t"} for i in range(8)
    )
    return Suite(
        id="tiny",
        version="1",
        task="triage",
        labels=TRIAGE_LABELS,
        content_hash="0" * 64,
        items=items,
        source="bundled",
    )


def rows_for(suite: Suite, wrong: int = 0) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(suite.items):
        label = item["gold"] if i >= wrong else "Trivial" if item["gold"] != "Trivial" else "Major"
        rows.append(
            {"instance_id": item["instance_id"], "predicted_label": label, "predicted_value": 0.9}
        )
    return rows


def test_rescore_rows_accepts_metrics_within_the_documented_tolerance():
    suite = tiny_suite()
    rows = rows_for(suite, wrong=2)
    computed = rescore_rows({"accuracy": 0.75}, rows, suite).computed
    declared = {**computed, "accuracy": computed["accuracy"] + 5e-7}
    assert rescore_rows(declared, rows, suite).ok
    declared["accuracy"] = computed["accuracy"] + 1e-4
    assert rescore_rows(declared, rows, suite).differences == [
        "accuracy: declared 0.750100, the predictions give 0.750000"
    ]


def test_rescore_rows_checks_only_what_is_declared_and_every_class():
    suite = tiny_suite()
    rows = rows_for(suite)
    assert rescore_rows({"f1_macro": None, "accuracy": 1.0}, rows, suite).ok
    wrong_classes = {"f1_per_class": {"Critical": 1.0, "Major": 1.0}}
    assert rescore_rows(wrong_classes, rows, suite).differences[0].startswith("f1_per_class")
    not_applicable = rescore_rows({"mae": 0.0}, rows, suite)
    assert not_applicable.differences == ["mae: declared 0.000000, but it does not apply here"]


def test_rescore_rows_refuses_predictions_of_another_suite():
    suite = tiny_suite()
    rows = [
        *rows_for(suite)[:4],
        {"instance_id": "X-1", "predicted_label": "Major", "predicted_value": None},
    ]
    result = rescore_rows({"accuracy": 1.0}, rows, suite)
    assert not result.ok and "not in suite tiny" in result.differences[0]


def test_rescore_of_a_local_suite_package_asks_for_the_suite_file(package: SubmissionPackage):
    def local(data: dict[str, Any]) -> None:
        data["suite"].update(id="local-orbit", source="orbit.csv")

    rewrite(package.files.provenance, local)
    with pytest.raises(InputFileError) as caught:
        verify_submission(package.files.submission, rescore=True)
    assert "local suite (local-orbit, file 'orbit.csv')" in caught.value.message
    assert "--suite PATH/TO/orbit.csv" in str(caught.value.hint)


def test_rescore_of_a_file_without_rows_is_a_difference_not_a_crash(package: SubmissionPackage):
    package.files.predictions.write_text("")
    rewrite(
        package.files.submission,
        lambda d: d["integrity"].update(predictions_summary_hash=hashlib.sha256(b"").hexdigest()),
    )
    result = verify_submission(package.files.submission, rescore=True)
    assert result.rescore is not None and result.rescore.differences == [
        "the predictions file holds no rows"
    ]


def test_rescore_without_a_suite_to_name_is_bad_input(package: SubmissionPackage):
    package.files.provenance.unlink()
    rewrite(package.files.submission, lambda d: d["run_metadata"].update(scenario="unknown"))
    with pytest.raises(InputFileError, match="--suite"):
        verify_submission(package.files.submission, rescore=True)


# --- the remote verifier -----------------------------------------------------------------------


class Verifier:
    """A small registry verifier on loopback: answers per `mode`, records what it received."""

    def __init__(self) -> None:
        self.mode = "honest"
        self.received: list[dict[str, bytes]] = []
        verifier = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
                parts = {
                    str(p.get_param("name", header="content-disposition")): p.get_payload(
                        decode=True
                    )
                    for p in message.iter_parts()
                }
                verifier.received.append({"path": self.path.encode(), **parts})
                status, answer = verifier.answer(parts)
                payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, parts: dict[str, bytes]) -> tuple[int, Any]:
        rows = [json.loads(line) for line in parts["predictions"].decode().splitlines() if line]
        computed = predictions_summary_hash(rows)
        declared = json.loads(parts["submission"])["integrity"]["predictions_summary_hash"]
        if self.mode == "honest":
            return 200, {"match": computed == declared, "computed_hash": computed}
        if self.mode == "contrary":
            return 200, {"match": computed != declared, "computed_hash": "f" * 64}
        if self.mode == "broken":
            return 500, {"detail": "database is down"}
        return 200, b"<html>not json</html>"


@pytest.fixture
def verifier() -> Iterator[Verifier]:
    server = Verifier()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_the_remote_verifier_receives_both_files_and_agrees(
    package: SubmissionPackage, verifier: Verifier
):
    result = verify_submission(package.files.submission, remote_url=verifier.url)
    assert result.ok and result.remote is not None and result.remote.match
    assert result.warnings == []
    request = verifier.received[0]
    assert request["path"] == b"/api/v1/verify"
    assert request["submission"] == package.files.submission.read_bytes()
    assert (
        hashlib.sha256(request["predictions"]).hexdigest()
        == hashlib.sha256(package.files.predictions.read_bytes()).hexdigest()
    )


def test_a_disagreeing_remote_is_a_warning_and_the_local_result_stands(
    package: SubmissionPackage, verifier: Verifier
):
    verifier.mode = "contrary"
    result = verify_submission(package.files.submission, remote_url=verifier.url + "/api/v1/verify")
    assert result.ok
    assert len(result.warnings) == 1 and "remote verifier says mismatch" in result.warnings[0]


@pytest.mark.parametrize(("mode", "needle"), [("broken", "HTTP 500"), ("garbage", "not JSON")])
def test_a_failing_remote_is_a_warning_and_the_local_result_stands(
    package: SubmissionPackage, verifier: Verifier, mode: str, needle: str
):
    verifier.mode = mode
    result = verify_submission(package.files.submission, remote_url=verifier.url)
    assert result.ok and result.remote is None
    assert needle in result.warnings[0] and "local result stands" in result.warnings[0]


def test_an_unreachable_remote_is_a_warning(package: SubmissionPackage, verifier: Verifier):
    url = verifier.url
    verifier.server.shutdown()
    verifier.server.server_close()
    result = verify_submission(package.files.submission, remote_url=url)
    assert result.ok and "could not be asked" in result.warnings[0]


def test_the_remote_verifier_is_asked_from_inside_a_running_event_loop(
    package: SubmissionPackage, verifier: Verifier
):
    async def notebook_cell() -> Verification:
        return puma.verify(package.files.submission, remote=verifier.url)

    result = asyncio.run(notebook_cell())
    assert result.ok and result.remote is not None and result.remote.match


def test_an_unreachable_remote_is_a_puma_error_named_by_the_http_wrapper(tmp_path: Path):
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(PumaError, match="cannot connect to the registry verifier") as caught:
        ask_remote_verifier("http://127.0.0.1:9", tmp_path / "s.json", tmp_path / "s.json")
    assert isinstance(caught.value, RemoteUnavailable)
    assert caught.value.exit_code == ExitCode.RUNTIME_UNAVAILABLE


def test_the_verify_endpoint_is_appended_once():
    assert verify_endpoint("https://registry.example/") == "https://registry.example/api/v1/verify"
    assert verify_endpoint("http://h:1/api/v1/verify") == "http://h:1/api/v1/verify"
