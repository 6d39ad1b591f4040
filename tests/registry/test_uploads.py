"""Uploading submission packages: what the registry accepts, what it refuses and why, and what it
answers when the same upload comes twice. Real packages, a real database (SQLite, and
PostgreSQL where the test says `any_registry`)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from puma.registry.log import verify_log
from registry.conftest import Package, Registry, make_registry


def error_of(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["check"], body["error"]["message"]


# --- accepted ------------------------------------------------------------------------------------


def test_an_honest_package_is_accepted_logged_and_listed(any_registry: Registry, package: Package):
    response = any_registry.upload(package.wire())
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["submission_id"] == package.submission_id
    assert view["status"] == "accepted" and view["accepted_seq"] == 1
    record = view["record"]
    assert record["suite_id"] == "pm-triage" and record["n_instances"] == 40
    assert record["metrics"]["f1_macro"] == pytest.approx(package.data["metrics"]["f1_macro"])

    log = any_registry.log()
    assert [e["action"] for e in log] == ["accept"]
    assert log[0]["submission_id"] == package.submission_id and log[0]["record"] == record
    assert verify_log(log).ok

    listed = any_registry.client.get("/api/v1/submissions").json()
    assert (
        listed["total"] == 1 and listed["submissions"][0]["submission_id"] == view["submission_id"]
    )
    fetched = any_registry.client.get(f"/api/v1/submissions/{package.submission_id}").json()
    assert {f["name"] for f in fetched["files"]} == {
        f"{package.submission_id}.json",
        f"{package.submission_id}.predictions.jsonl",
        f"{package.submission_id}.provenance.jsonld",
    }


def test_a_package_without_its_provenance_sidecar_is_rescored_by_its_scenario(
    registry: Registry, base_packages: list[Package]
):
    estimation = base_packages[1].with_id(str(uuid.uuid4()))
    wire = estimation.wire()
    del wire["files"]["provenance"]
    response = registry.upload(wire)
    assert response.status_code == 201, response.text
    assert response.json()["record"]["suite_id"] == "pm-estimation"
    assert set(response.json()["record"]["metrics"]) >= {"mae"}


def test_the_same_upload_again_answers_200_with_the_record_and_logs_nothing(
    any_registry: Registry, package: Package
):
    first = any_registry.upload(package.wire())
    again = any_registry.upload(package.wire())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(any_registry.log()) == 1


def test_the_same_id_with_different_bytes_is_a_409_conflict(
    any_registry: Registry, package: Package
):
    assert any_registry.upload(package.wire()).status_code == 201
    changed = package.edited(lambda d: d.update(notes="an afterthought"))
    status, check, message = error_of(any_registry.upload(changed.wire()))
    assert (status, check) == (409, "conflict")
    assert package.submission_id in message and "new submission id" in message
    assert len(any_registry.log()) == 1


# --- refused -------------------------------------------------------------------------------------


def test_a_changed_prediction_fails_the_hash_check_naming_the_instance(
    registry: Registry, package: Package
):
    def flip(rows: list[dict[str, Any]]) -> None:
        rows[3]["predicted_label"] = (
            "Critical" if rows[3]["predicted_label"] != "Critical" else "Low"
        )

    tampered = package.with_rows(flip)
    status, check, message = error_of(registry.upload(tampered.wire()))
    assert (status, check) == (422, "hash")
    instance = package.with_rows(lambda rows: None).predictions.splitlines()[3]
    assert "first differing row is instance" in message and instance.split('"')[3] in message
    assert registry.log() == []


def test_predictions_and_hash_forged_together_fail_the_rescore(
    registry: Registry, package: Package
):
    from puma.integrity import predictions_summary_hash

    rows: list[dict[str, Any]] = []

    def all_bugs(changed: list[dict[str, Any]]) -> None:
        for row in changed:
            row["predicted_label"] = "Bug"
        rows.extend(changed)

    forged = package.with_rows(all_bugs)
    forged = forged.edited(
        lambda d: d["integrity"].update(predictions_summary_hash=predictions_summary_hash(rows))
    )
    status, check, message = error_of(registry.upload(forged.wire()))
    assert (status, check) == (422, "rescore")
    assert "f1_macro: declared" in message and "pm-triage" in message


def test_an_inflated_metric_fails_the_rescore(registry: Registry, package: Package):
    inflated = package.edited(lambda d: d["metrics"].update(accuracy=0.99))
    status, check, message = error_of(registry.upload(inflated.wire()))
    assert (status, check) == (422, "rescore")
    assert "accuracy: declared 0.990000" in message


def test_a_row_count_that_disagrees_with_n_instances_is_refused(
    registry: Registry, package: Package
):
    from puma.integrity import predictions_summary_hash

    def drop_last(rows: list[dict[str, Any]]) -> None:
        rows.pop()

    shorter = package.with_rows(drop_last)
    rows = [json.loads(line) for line in shorter.predictions.splitlines()]
    shorter = shorter.edited(
        lambda d: d["integrity"].update(predictions_summary_hash=predictions_summary_hash(rows))
    )
    status, check, message = error_of(registry.upload(shorter.wire()))
    assert (status, check) == (422, "predictions")
    assert "declares 40 instances" in message and "39 rows" in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["submitter"].update(consent_research_use=False), "submitter"),
        (lambda d: d.update(favourite_colour="blue"), "favourite_colour"),
        (lambda d: d["integrity"].update(predictions_summary_hash="not-a-hash"), "integrity"),
        (lambda d: d["run_metadata"].update(scenario="chess"), "run_metadata.scenario"),
        (lambda d: d.update(notes="mail me at alice@example.org"), "notes"),
    ],
)
def test_a_schema_violation_is_refused_naming_the_field(
    registry: Registry, package: Package, change: Any, field: str
):
    status, check, message = error_of(registry.upload(package.edited(change).wire()))
    assert (status, check) == (422, "schema")
    assert field in message


def test_unreadable_predictions_are_refused_with_the_line(registry: Registry, package: Package):
    broken = Package(package.submission, package.predictions + "{not json\n", package.provenance)
    status, check, message = error_of(registry.upload(broken.wire()))
    assert (status, check) == (422, "predictions")
    assert ".predictions.jsonl:41" in message and "/tmp" not in message


@pytest.mark.parametrize(
    ("body", "status", "check"),
    [
        ("{not json", 400, "request"),
        ({"kind": "tarball", "files": {}}, 422, "request"),
        ({"kind": "package", "files": {"submission": "{}"}}, 422, "request"),
        ({"kind": "package", "files": {"submission": "[1]", "predictions": ""}}, 400, "json"),
        ({"kind": "package", "files": {"submission": "{", "predictions": ""}}, 400, "json"),
        (
            {"kind": "package", "files": {"submission": '{"submission_id": 7}', "predictions": ""}},
            422,
            "schema",
        ),
    ],
)
def test_malformed_uploads_are_refused_with_a_json_error(
    registry: Registry, body: Any, status: int, check: str
):
    if isinstance(body, str):
        response = registry.client.post(
            "/api/v1/submissions",
            content=body,
            headers={**registry.headers(), "Content-Type": "application/json"},
        )
    else:
        response = registry.upload(body)
    assert error_of(response)[:2] == (status, check)


def test_an_unpaired_surrogate_in_a_file_is_a_400(registry: Registry, package: Package):
    body = json.dumps(package.wire()).replace('"predictions": "', '"predictions": "\\ud800', 1)
    response = registry.client.post(
        "/api/v1/submissions",
        content=body,
        headers={**registry.headers(), "Content-Type": "application/json"},
    )
    assert error_of(response)[:2] == (400, "request")
    assert "unpaired surrogate" in error_of(response)[2]


# --- tokens and limits ---------------------------------------------------------------------------


def test_uploads_need_a_live_token(registry: Registry, package: Package):
    from puma.registry.tokens import revoke_stored_token, stored_tokens

    no_token = registry.client.post("/api/v1/submissions", json=package.wire())
    assert error_of(no_token)[:2] == (401, "auth")
    assert no_token.headers["WWW-Authenticate"] == "Bearer"
    assert error_of(registry.upload(package.wire(), token="puma_guessed"))[:2] == (401, "auth")
    uploader = next(t for t in stored_tokens(registry.url) if t.name == "uploader")
    revoke_stored_token(registry.url, uploader.id)
    assert error_of(registry.upload(package.wire()))[:2] == (401, "auth")


def test_tokens_are_stored_only_as_their_sha256(registry: Registry):
    from sqlalchemy import create_engine, text

    from puma.hashing import sha256_hex

    engine = create_engine(registry.url)
    with engine.connect() as connection:
        stored = [row[0] for row in connection.execute(text("SELECT token_sha256 FROM api_tokens"))]
        dump = "\n".join(str(row) for row in connection.execute(text("SELECT * FROM api_tokens")))
    engine.dispose()
    assert sha256_hex(registry.uploader) in stored and sha256_hex(registry.admin) in stored
    assert registry.uploader not in dump and registry.admin not in dump


def test_a_request_over_the_size_limit_is_a_413(sqlite_url: str, package: Package):
    for registry in make_registry(sqlite_url, max_request_bytes=2000):
        declared = registry.upload(package.wire())
        assert error_of(declared)[:2] == (413, "size")

        def chunks() -> Any:  # no Content-Length: the limit is counted as the body arrives
            for _ in range(10):
                yield b" " * 500

        chunked = registry.client.post(
            "/api/v1/submissions",
            content=chunks(),
            headers={**registry.headers(), "Content-Type": "application/json"},
        )
        assert error_of(chunked)[:2] == (413, "size")
        assert registry.log() == []


def test_uploads_over_the_rate_limit_are_a_429_with_retry_after(
    sqlite_url: str, base_packages: list[Package]
):
    for registry in make_registry(sqlite_url, uploads_per_minute=1.0, upload_burst=2):
        answers = [
            registry.upload(base_packages[0].with_id(str(uuid.uuid4())).wire()) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert error_of(answers[2])[1] == "rate-limit"
        assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
        # Another token has a bucket of its own.
        other = registry.upload(base_packages[0].with_id(str(uuid.uuid4())).wire(), registry.admin)
        assert other.status_code == 201


# --- withdrawing ---------------------------------------------------------------------------------


def test_a_withdrawal_is_logged_and_removes_the_run_from_the_leaderboard(
    any_registry: Registry, package: Package
):
    sid = package.submission_id
    assert any_registry.upload(package.wire()).status_code == 201
    assert len(any_registry.client.get("/api/v1/leaderboard").json()) == 1
    response = any_registry.client.post(
        f"/api/v1/submissions/{sid}/withdraw",
        json={"reason": "wrong model file"},
        headers=any_registry.headers(),
    )
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    log = any_registry.log()
    assert [e["action"] for e in log] == ["accept", "withdraw"]
    assert log[1]["record"] == {"by": "uploader", "reason": "wrong model file"}
    assert verify_log(log).ok
    assert any_registry.client.get("/api/v1/leaderboard").json() == []
    again = any_registry.client.post(
        f"/api/v1/submissions/{sid}/withdraw", headers=any_registry.headers()
    )
    assert again.status_code == 200 and len(any_registry.log()) == 2


def test_only_the_uploader_or_an_admin_may_withdraw(registry: Registry, package: Package):
    from puma.registry.tokens import issue_token

    sid = package.submission_id
    assert registry.upload(package.wire()).status_code == 201
    stranger = issue_token(registry.url, "someone else").token
    refused = registry.client.post(
        f"/api/v1/submissions/{sid}/withdraw", headers=registry.headers(stranger)
    )
    assert error_of(refused)[:2] == (403, "forbidden")
    by_admin = registry.client.post(
        f"/api/v1/submissions/{sid}/withdraw", headers=registry.headers(registry.admin)
    )
    assert by_admin.status_code == 200
    assert registry.log()[-1]["record"] == {"by": "admin"}
    unknown = registry.client.post(
        f"/api/v1/submissions/{uuid.uuid4()}/withdraw", headers=registry.headers()
    )
    assert error_of(unknown)[:2] == (404, "not-found")
