"""`puma community publish`: nothing is sent unless the folder verifies and scans clean; each
channel is tested against a real local HTTP server that checks the payload the service documents.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from community_http import LocalServer, Request
from puma.community import last_submission, publish
from puma.errors import CheckFailed, InputFileError, RemoteUnavailable

REPO = Path(__file__).resolve().parents[2]
PUMA = REPO / ".venv" / "bin" / "puma"


def submission_id(package: Path) -> str:
    (path,) = [p for p in package.glob("*.json")]
    return path.name.removesuffix(".json")


# --- notifications -----------------------------------------------------------------------------


def test_discord_gets_the_documented_webhook_payload(server: LocalServer, package: Path) -> None:
    # Discord's "Execute Webhook": POST the webhook URL with JSON {"content": ...}; 204 No Content.
    server.answer = lambda request: (204, None)
    webhook = f"{server.url}/api/webhooks/1234567890/tok-en_SECRET"
    outcome = publish(package, "discord", env={"DISCORD_WEBHOOK": webhook})
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/api/webhooks/1234567890/tok-en_SECRET")
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert list(body) == ["content"] and len(body["content"]) <= 2000
    assert body["content"].startswith("New PUMA submission accepted: embedded-default on ")
    assert submission_id(package) in body["content"]
    assert outcome.channel == "discord"
    last = last_submission()
    assert last is not None and last.kind == "publish:discord"


def test_telegram_gets_the_documented_bot_api_call(server: LocalServer, package: Path) -> None:
    # Telegram Bot API: POST /bot<token>/sendMessage {"chat_id", "text"} -> {"ok": true, "result"}.
    server.answer = lambda request: (200, {"ok": True, "result": {"message_id": 77}})
    env = {
        "TELEGRAM_BOT_TOKEN": "123456789:AAtestTOKEN",
        "TELEGRAM_CHAT_ID": "@puma_results",
        "PUMA_TELEGRAM_API": server.url,
    }
    outcome = publish(package, "telegram", env=env)
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/bot123456789:AAtestTOKEN/sendMessage")
    body = request.json()
    assert body["chat_id"] == "@puma_results"
    assert body["text"].startswith("New PUMA submission accepted") and len(body["text"]) <= 4096
    assert outcome.details == {"message_id": 77}


def test_telegram_without_a_chat_is_bad_input(server: LocalServer, package: Path) -> None:
    with pytest.raises(InputFileError, match="TELEGRAM_CHAT_ID"):
        publish(
            package, "telegram", env={"TELEGRAM_BOT_TOKEN": "1:A", "PUMA_TELEGRAM_API": server.url}
        )
    assert server.requests == []


def test_a_service_that_says_no_is_unavailable_without_leaking_the_webhook(
    server: LocalServer, package: Path
) -> None:
    server.answer = lambda request: (404, {"message": "Unknown Webhook", "code": 10015})
    with pytest.raises(RemoteUnavailable, match="HTTP 404") as raised:
        publish(package, "discord", env={"DISCORD_WEBHOOK": f"{server.url}/api/webhooks/1/SECRET"})
    assert "SECRET" not in str(raised.value)
    with pytest.raises(RemoteUnavailable) as raised:
        publish(
            package, "discord", env={"DISCORD_WEBHOOK": "http://127.0.0.1:9/api/webhooks/1/SECRET"}
        )
    assert "SECRET" not in str(raised.value)


# --- refusals: nothing is sent -----------------------------------------------------------------


def test_a_package_that_does_not_verify_is_not_sent(
    server: LocalServer, package_copy: Path
) -> None:
    predictions = next(package_copy.glob("*.predictions.jsonl"))
    lines = predictions.read_text().splitlines()
    row = json.loads(lines[0])
    row["predicted_label"] = "Trivial" if row["predicted_label"] != "Trivial" else "Major"
    predictions.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(CheckFailed):
        publish(package_copy, "discord", env={"DISCORD_WEBHOOK": f"{server.url}/api/webhooks/1/t"})
    assert server.requests == []


def test_a_package_with_a_private_value_is_not_sent(
    server: LocalServer, package_copy: Path
) -> None:
    (package_copy / "notes.md").write_text("served from 192.168.1.20\n")
    with pytest.raises(CheckFailed, match=r"notes.md:1:13 ipv4"):
        publish(package_copy, "discord", env={"DISCORD_WEBHOOK": f"{server.url}/api/webhooks/1/t"})
    assert server.requests == []


def test_unconfigured_unknown_and_mismatched_channels_are_bad_input(package: Path) -> None:
    with pytest.raises(InputFileError, match="DISCORD_WEBHOOK is not set"):
        publish(package, "discord", env={})
    with pytest.raises(InputFileError, match="unknown channel"):
        publish(package, "myspace", env={})
    with pytest.raises(InputFileError, match="takes a catalogue"):
        publish(package, "zenodo", env={"ZENODO_TOKEN": "x"})


# --- the registry ------------------------------------------------------------------------------


def registry_env(server: LocalServer) -> dict[str, str]:
    return {"PUMA_REGISTRY_URL": server.url, "PUMA_REGISTRY_TOKEN": "reg-token-1"}


def test_registry_gets_the_package_and_its_answer_is_recorded(
    server: LocalServer, package: Path
) -> None:
    sid = submission_id(package)
    server.answer = lambda request: (201, {"id": sid, "status": "accepted"})
    outcome = publish(package, "registry", env=registry_env(server))
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/api/v1/submissions")
    assert request.headers["Authorization"] == "Bearer reg-token-1"
    body = request.json()
    assert body["kind"] == "package"
    assert set(body["files"]) == {"submission", "predictions", "provenance"}
    assert body["files"]["submission"] == (package / f"{sid}.json").read_text()
    assert outcome.identifier == sid and outcome.where.endswith(f"/api/v1/submissions/{sid}")
    last = last_submission()
    assert last is not None and (last.kind, last.identifier) == ("publish:registry", sid)


def test_registry_answer_with_submission_id_and_a_repeat(
    server: LocalServer, package: Path
) -> None:
    server.answer = lambda request: (200, {"submission_id": "abc", "status": "accepted"})
    outcome = publish(package, "registry", env=registry_env(server))
    assert outcome.identifier == "abc" and outcome.details["stored_before"] is True


def test_a_registry_rejection_names_its_check(server: LocalServer, package: Path) -> None:
    answer = {"error": {"check": "predictions_hash", "message": "the hash does not match"}}
    server.answer = lambda request: (422, answer)
    with pytest.raises(CheckFailed, match=r"check predictions_hash\): the hash does not match"):
        publish(package, "registry", env=registry_env(server))
    assert last_submission() is None


def test_a_registry_that_fails_is_unavailable(server: LocalServer, package: Path) -> None:
    server.answer = lambda request: (503, None)
    with pytest.raises(RemoteUnavailable, match="HTTP 503"):
        publish(package, "registry", env=registry_env(server))
    with pytest.raises(InputFileError, match="PUMA_REGISTRY_TOKEN"):
        publish(package, "registry", env={"PUMA_REGISTRY_URL": server.url})


def test_registry_gets_a_contributor_folder(server: LocalServer, tmp_path: Path) -> None:
    from puma.submission import contributor

    run = tmp_path / "run"
    import shutil

    shutil.copytree(REPO / "tests" / "fixtures" / "demo-run", run)
    folder = contributor.prepare_contributor_folder(run, tmp_path / "submissions", "ada")
    server.answer = lambda request: (201, {"id": "s-1", "status": "accepted"})
    publish(folder, "registry", env=registry_env(server))
    body = server.requests[0].json()
    assert body["kind"] == "contributor-folder" and body["handle"] == "ada"
    assert set(body["files"]) == {
        "manifest.json",
        "hardware.json",
        "run.jsonl",
        "metadata.json",
        "run.md",
    }


# --- mirrors -----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    """What `puma catalogue build` writes under data/ (small tables written here)."""
    folder = tmp_path / "site"
    (folder / "data").mkdir(parents=True)
    described = pa.field("cell_id", pa.string(), metadata={"description": "device tag / model"})
    runs = pa.table(
        {
            "run_id": ["r1", "r2"],
            "cell_id": ["rtx-4090-pc/gemma3", "mac-m1-8gb/gemma3"],
            "tps": [91.5, 22.0],
        }
    )
    runs = runs.cast(pa.schema([runs.schema.field("run_id"), described, runs.schema.field("tps")]))
    pq.write_table(runs, folder / "data" / "runs.parquet")
    pq.write_table(
        pa.table({"cell_id": ["rtx-4090-pc/gemma3"], "runs": [2]}),
        folder / "data" / "cells.parquet",
    )
    (folder / "index.html").write_text("<html>leaderboard</html>\n")
    return folder


def test_huggingface_upload_through_the_official_client(
    server: LocalServer, catalogue: Path
) -> None:
    def hub(request: Request) -> tuple[int, Any]:
        if "/preupload/" in request.path:
            files = request.json()["files"]
            return 200, {
                "files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in files
                ]
            }
        if "/commit/" in request.path:
            url = f"{server.url}/datasets/pumacp/puma-community/commit/abc123"
            return 200, {"commitUrl": url, "commitOid": "abc123", "pullRequestUrl": None}
        return 200, {}

    server.answer = hub
    outcome = publish(
        catalogue, "huggingface", env={"HF_TOKEN": "hf_test", "HF_ENDPOINT": server.url}
    )
    commit = next(r for r in server.requests if "/commit/" in r.path)
    assert commit.path == "/api/datasets/pumacp/puma-community/commit/main"
    assert commit.headers["authorization"] == "Bearer hf_test"
    files = {
        op["value"]["path"]: base64.b64decode(op["value"]["content"])
        for op in map(json.loads, commit.body.splitlines())
        if op["key"] == "file"
    }
    assert set(files) == {
        "README.md",
        "runs.parquet",
        "cells.parquet",
        "zenodo.json",
        "dataset-metadata.json",
    }
    card = files["README.md"].decode()
    assert card.startswith("---\nlicense: cc-by-4.0\n")
    assert "- config_name: runs\n  data_files: runs.parquet" in card
    assert "| `cell_id` | string | device tag / model |" in card
    assert files["runs.parquet"] == (catalogue / "data" / "runs.parquet").read_bytes()
    assert outcome.where.endswith("/commit/abc123")


def test_zenodo_deposition_through_its_rest_api(server: LocalServer, catalogue: Path) -> None:
    def zenodo(request: Request) -> tuple[int, Any]:
        if request.path == "/api/deposit/depositions":
            links = {"bucket": f"{server.url}/api/files/bkt-1", "html": f"{server.url}/deposit/42"}
            return 201, {"id": 42, "links": links}
        return 200, {}

    server.answer = zenodo
    outcome = publish(
        catalogue, "zenodo", env={"ZENODO_TOKEN": "zen", "PUMA_ZENODO_URL": server.url}
    )
    calls = [(r.method, r.path) for r in server.requests]
    assert calls == [
        ("POST", "/api/deposit/depositions"),
        ("PUT", "/api/files/bkt-1/README.md"),
        ("PUT", "/api/files/bkt-1/cells.parquet"),
        ("PUT", "/api/files/bkt-1/dataset-metadata.json"),
        ("PUT", "/api/files/bkt-1/runs.parquet"),
        ("PUT", "/api/deposit/depositions/42"),
    ]
    assert all(r.headers["Authorization"] == "Bearer zen" for r in server.requests)
    metadata = server.requests[-1].json()["metadata"]
    assert (metadata["upload_type"], metadata["license"]) == ("dataset", "cc-by-4.0")
    assert not any("publish" in r.path for r in server.requests)  # a person publishes the DOI
    assert (outcome.identifier, outcome.where) == ("42", f"{server.url}/deposit/42")


@pytest.mark.skipif(importlib.util.find_spec("kaggle") is not None, reason="kaggle is installed")
def test_kaggle_without_its_package_exports_and_says_what_to_run(catalogue: Path) -> None:
    env = {"KAGGLE_KEY": "k", "KAGGLE_USERNAME": "ada"}
    with pytest.raises(RemoteUnavailable, match="kaggle package is not installed") as raised:
        publish(catalogue, "kaggle", env=env)
    export = catalogue / "mirror" / "kaggle"
    assert str(export) in str(raised.value) and "kaggle datasets version" in str(raised.value)
    metadata = json.loads((export / "dataset-metadata.json").read_text())
    assert metadata["id"] == "ada/puma-community"
    assert metadata["licenses"] == [{"name": "CC-BY-4.0"}]
    assert {r["path"] for r in metadata["resources"]} == {"cells.parquet", "runs.parquet"}


def test_a_catalogue_with_a_private_value_in_a_table_is_not_mirrored(
    server: LocalServer, catalogue: Path
) -> None:
    pq.write_table(pa.table({"note": ["run by alice@posteo.de"]}), catalogue / "data" / "x.parquet")
    with pytest.raises(CheckFailed, match=r"x.parquet:1:8 \[note\] email"):
        publish(catalogue, "zenodo", env={"ZENODO_TOKEN": "z", "PUMA_ZENODO_URL": server.url})
    assert server.requests == []


# --- the command -------------------------------------------------------------------------------


def test_publish_command(server: LocalServer, package: Path) -> None:
    server.answer = lambda request: (204, None)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env["DISCORD_WEBHOOK"] = f"{server.url}/api/webhooks/1/t"
    sent = subprocess.run(
        [str(PUMA), "community", "publish", str(package), "--channel", "discord"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert sent.returncode == 0, sent.stderr
    assert "sent" in sent.stdout and len(server.requests) == 1
    unknown = subprocess.run(
        [str(PUMA), "community", "publish", str(package), "--channel", "myspace"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert unknown.returncode == 2 and "unknown channel" in unknown.stderr
