"""`POST /api/v1/verify` is the verifier `puma verify-hash --remote` asks: the real client
(puma.submission.remote, and the CLI) against the real server on a loopback port."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from puma.submission import verify_submission
from puma.submission.package import SubmissionFiles
from registry.conftest import REPO_ROOT, LiveServer, Package, Registry


def on_disk(package: Package, folder: Path) -> SubmissionFiles:
    folder.mkdir(parents=True, exist_ok=True)
    files = SubmissionFiles.in_folder(folder, package.submission_id)
    files.submission.write_text(package.submission, encoding="utf-8")
    files.predictions.write_text(package.predictions, encoding="utf-8")
    files.provenance.write_text(package.provenance, encoding="utf-8")
    return files


def test_the_client_hears_a_match_from_the_registry(
    live_registry: LiveServer, package: Package, tmp_path: Path
):
    files = on_disk(package, tmp_path)
    result = verify_submission(files.submission, remote_url=live_registry.url)
    assert result.ok and result.warnings == []
    assert result.remote is not None and result.remote.match
    assert result.remote.computed_hash == result.check.computed
    assert result.remote.url == live_registry.url + "/api/v1/verify"


def test_the_client_hears_a_mismatch_and_the_registry_says_why(
    live_registry: LiveServer, package: Package, tmp_path: Path
):
    def flip(rows: list[dict[str, Any]]) -> None:
        rows[0]["predicted_value"] = 0.5

    files = on_disk(package.with_rows(flip), tmp_path)
    result = verify_submission(files.submission, remote_url=live_registry.url + "/api/v1/verify")
    assert not result.ok and result.remote is not None and not result.remote.match
    assert result.remote.computed_hash == result.check.computed
    assert result.remote.message is not None and "mismatch" in result.remote.message
    assert result.warnings == []  # the two agree


def test_verify_hash_remote_on_the_command_line_agrees_with_the_registry(
    live_registry: LiveServer, package: Package, tmp_path: Path
):
    files = on_disk(package, tmp_path)
    completed = subprocess.run(
        [
            str(REPO_ROOT / ".venv/bin/python"),
            "-m",
            "puma.cli.app",
            "verify-hash",
            str(files.submission),
            "--remote",
            live_registry.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO_ROOT / "src"), "PATH": "/usr/bin:/bin", "NO_PROXY": "*"},
    )
    assert completed.returncode == 0, completed.stderr
    assert "remote" in completed.stdout.lower() and "warning" not in completed.stderr.lower()


def test_a_form_without_both_parts_is_a_400(registry: Registry):
    response = registry.client.post("/api/v1/verify", files={"submission": ("s.json", b"{}")})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "check": "request",
        "message": "the form lacks the part(s): predictions",
    }
    not_a_form = registry.client.post("/api/v1/verify", json={"submission": "{}"})
    assert not_a_form.status_code == 400


def test_unreadable_predictions_are_a_422_naming_the_line(registry: Registry, package: Package):
    response = registry.client.post(
        "/api/v1/verify",
        files={
            "submission": ("s.json", package.submission.encode()),
            "predictions": ("p.jsonl", b'{"instance_id": "X"}\n[1, 2]\n'),
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["check"] == "predictions" and ":2" in error["message"]
    assert "/tmp" not in error["message"]


def test_the_verifier_is_public_but_rate_limited_per_address(sqlite_url: str, package: Package):
    from registry.conftest import make_registry

    for registry in make_registry(sqlite_url, verifies_per_minute=2.0):
        form = {
            "submission": ("s.json", package.submission.encode()),
            "predictions": ("p.jsonl", package.predictions.encode()),
        }
        answers = [registry.client.post("/api/v1/verify", files=form) for _ in range(3)]
        statuses = [answer.status_code for answer in answers]
        assert statuses == [200, 200, 429]


def test_the_verify_endpoint_is_in_the_openapi_spec_as_the_client_sends_it(registry: Registry):
    spec = registry.client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"]
    assert set(body["multipart/form-data"]["schema"]["required"]) == {"submission", "predictions"}
