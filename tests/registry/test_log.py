"""The public log: anyone can check a copy (verify_log names the first entry that breaks the
chain), read one from a URL or a file (read_log), and rebuild the leaderboard from it alone."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from puma.errors import InputFileError
from puma.registry.leaderboard import leaderboard_from_log, plain_leaderboard
from puma.registry.log import entry_hash, read_log, verify_log
from registry.conftest import LiveServer, Package, Registry

GENESIS = "0" * 64


def chain(*specs: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A valid log of (action, submission id, record) entries."""
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for seq, (action, sid, record) in enumerate(specs, start=1):
        entry = {
            "seq": seq,
            "at": f"2026-01-01T00:00:{seq:02d}Z",
            "action": action,
            "submission_id": sid,
            "kind": "package",
            "record": record,
            "prev_hash": prev,
        }
        entry["hash"] = entry_hash(entry)
        entries.append(entry)
        prev = entry["hash"]
    return entries


def record(model: str, f1: float, scenario: str = "triage_jira") -> dict[str, Any]:
    return {
        "submitter": "alice-lab",
        "model": model,
        "scenario": scenario,
        "suite_id": "pm-triage",
        "hardware_profile": "rtx-4090-pc",
        "n_instances": 40,
        "metrics": {"f1_macro": f1},
    }


@pytest.fixture
def log() -> list[dict[str, Any]]:
    return chain(
        ("accept", "a", record("m1", 0.5)),
        ("accept", "b", record("m2", 0.7)),
        ("withdraw", "a", {"by": "uploader"}),
        ("accept", "c", record("m3", 0.7)),
    )


# --- verify_log ----------------------------------------------------------------------------------


def test_an_intact_log_verifies_and_reports_its_head(log: list[dict[str, Any]]):
    verdict = verify_log(log)
    assert verdict.ok and verdict.n_entries == 4 and verdict.head_hash == log[-1]["hash"]
    assert verify_log([]).ok and verify_log([]).head_hash == GENESIS


def edit_record(log: list[dict[str, Any]]) -> None:
    log[1]["record"]["metrics"]["f1_macro"] = 0.99


def edit_and_rehash(log: list[dict[str, Any]]) -> None:
    log[1]["record"]["metrics"]["f1_macro"] = 0.99
    log[1]["hash"] = entry_hash(log[1])


def drop_entry(log: list[dict[str, Any]]) -> None:
    del log[1]


def swap_entries(log: list[dict[str, Any]]) -> None:
    log[1], log[2] = log[2], log[1]


def add_field(log: list[dict[str, Any]]) -> None:
    log[2]["note"] = "hi"


def drop_field(log: list[dict[str, Any]]) -> None:
    del log[0]["prev_hash"]


def not_an_object(log: list[dict[str, Any]]) -> None:
    log[3] = ["accept"]  # type: ignore[call-overload]


def unknown_action(log: list[dict[str, Any]]) -> None:
    log[0]["action"] = "delete"


@pytest.mark.parametrize(
    ("tamper", "position", "words"),
    [
        (edit_record, 2, "does not recompute"),
        (edit_and_rehash, 3, "is not the previous hash"),
        (drop_entry, 2, "expected 2"),
        (swap_entries, 2, "expected 2"),
        (add_field, 3, "unknown field(s): note"),
        (drop_field, 1, "missing field(s): prev_hash"),
        (not_an_object, 4, "not a JSON object"),
        (unknown_action, 1, "unknown action 'delete'"),
    ],
)
def test_a_tampered_log_is_broken_at_the_first_entry_that_shows_it(
    log: list[dict[str, Any]], tamper: Any, position: int, words: str
):
    copied = copy.deepcopy(log)
    tamper(copied)
    verdict = verify_log(copied)
    assert not verdict.ok and verdict.first_broken == position, verdict
    assert words in (verdict.reason or "")
    assert f"broken at entry {position}" in verdict.describe()


# --- read_log ------------------------------------------------------------------------------------


def test_a_log_is_read_from_a_json_array_or_json_lines_file(
    log: list[dict[str, Any]], tmp_path: Path
):
    as_array = tmp_path / "log.json"
    as_array.write_text(json.dumps(log, indent=2), encoding="utf-8")
    as_lines = tmp_path / "log.jsonl"
    as_lines.write_text("".join(json.dumps(e) + "\n" for e in log), encoding="utf-8")
    assert read_log(str(as_array)) == log == read_log(str(as_lines))
    assert verify_log(read_log(str(as_lines))).ok


def test_an_unreadable_log_is_an_input_error_naming_it(tmp_path: Path):
    with pytest.raises(InputFileError, match="cannot read"):
        read_log(str(tmp_path / "absent.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"broken\.json"):
        read_log(str(broken))
    with pytest.raises(InputFileError, match="cannot fetch the log"):
        read_log("http://127.0.0.1:9")


def test_the_log_of_a_running_registry_is_fetched_by_url_and_verifies(
    live_registry: LiveServer, base_packages: list[Package]
):
    import httpx

    token = live_registry.token()
    for _ in range(3):
        upload = base_packages[0].with_id(str(uuid.uuid4())).wire()
        response = httpx.post(
            f"{live_registry.url}/api/v1/submissions",
            json=upload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 201, response.text
    for url in (live_registry.url, live_registry.url + "/api/v1/log"):
        entries = read_log(url)
        assert len(entries) == 3 and verify_log(entries).ok


# --- the leaderboard from the log ----------------------------------------------------------------


def test_the_leaderboard_is_the_accepted_runs_not_withdrawn(log: list[dict[str, Any]]):
    runs = leaderboard_from_log(log)
    assert [run.submission_id for run in runs] == ["b", "c"]
    assert leaderboard_from_log(log) == runs  # a pure function: same log, same board


def test_the_catalogue_grades_only_the_contributor_folders_of_the_log(
    log: list[dict[str, Any]],
):
    """Packages stay in the plain table; folders are graded by the catalogue from their stored
    files (a folder whose files do not grade is listed as broken, never dropped silently)."""
    from puma.registry.leaderboard import catalogue_leaderboard

    asked: list[str] = []

    def files(submission_id: str) -> dict[str, bytes]:
        asked.append(submission_id)
        return {"manifest.json": b"{}"}

    run = "run-00000000-0000-4000-8000-000000000001"
    folder = {
        "seq": len(log) + 1,
        "at": "2026-01-01T00:01:00Z",
        "action": "accept",
        "submission_id": run.removeprefix("run-"),
        "kind": "contributor-folder",
        "record": {"handle": "ada-l", "device_tag": "rtx-4090-pc", "run": run},
    }
    view = catalogue_leaderboard([*log, folder], files)
    assert asked == [folder["submission_id"]]  # the packages "b" and "c" are not asked for
    assert view.runs == {} and [b.folder for b in view.broken] == [f"ada-l/rtx-4090-pc/{run}"]


def test_equal_values_share_a_rank_and_lower_error_ranks_first():
    entries = chain(
        ("accept", "a", record("m1", 0.5)),
        ("accept", "b", record("m2", 0.7)),
        ("accept", "c", record("m3", 0.7)),
        ("accept", "d", {**record("e1", 0.0, "effort_tawos"), "metrics": {"mae": 2.5}}),
        ("accept", "e", {**record("e2", 0.0, "effort_tawos"), "metrics": {"mae": 1.5}}),
    )
    rows = plain_leaderboard(leaderboard_from_log(entries))
    triage = [(r.model, r.rank) for r in rows if r.metric == "f1_macro"]
    assert triage == [("m2", 1), ("m3", 1), ("m1", 3)]
    effort = [(r.model, r.rank) for r in rows if r.metric == "mae"]
    assert effort == [("e2", 1), ("e1", 2)]


def test_the_served_leaderboard_is_what_the_log_rebuilds(
    registry: Registry, base_packages: list[Package]
):
    for base in (*base_packages, base_packages[0]):
        assert registry.upload(base.with_id(str(uuid.uuid4())).wire()).status_code == 201
    served = registry.client.get("/api/v1/leaderboard").json()
    rebuilt = [row.__dict__ for row in plain_leaderboard(leaderboard_from_log(registry.log()))]
    assert served == rebuilt and len(served) == 3
