"""The privacy scan: what it finds, what it must not find, how it redacts, and its measured recall
and false positives (printed, and quoted in the README and docs/commands/privacy.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.errors import CheckFailed, InputFileError
from puma.submission.privacy import (
    KINDS,
    UNSCANNED,
    Identity,
    redact_folder,
    refuse_on_findings,
    scan_folder,
)
from puma.submission.privacy.detectors import line_hits

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "privacy_corpus"
REPO = HERE.parents[1]
PUMA = REPO / ".venv" / "bin" / "puma"
# The corpus plants these as "this machine's" names (see make_corpus.py).
CORPUS_IDENTITY = Identity(hostnames=("heron-ws",), usernames=("mkowalski",))


def answer_key() -> set[tuple[str, int, str]]:
    return {
        (e["file"], e["line"], e["kind"])
        for e in json.loads((CORPUS / "answer_key.json").read_text())
    }


def corpus_findings() -> set[tuple[str, int, str]]:
    found = set()
    for folder in sorted(CORPUS.glob("run-*")):
        for f in scan_folder(folder, identity=CORPUS_IDENTITY):
            found.add((str(f.path.relative_to(CORPUS)), f.line, f.kind))
    return found


def kinds_of(line: str) -> list[str]:
    return [kind for _, _, kind in line_hits(line, Identity())]


def test_recall_on_the_planted_corpus_is_at_least_98_percent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = answer_key()
    found = corpus_findings()
    per_kind = {k: sum(1 for e in key if e[2] == k) for k in {e[2] for e in key}}
    assert len(key) >= 100 and min(per_kind.values()) >= 8, per_kind
    recall = len(key & found) / len(key)
    precision = len(key & found) / len(found)
    with capsys.disabled():
        print(
            f"\nprivacy scan: recall {recall:.1%} ({len(key & found)}/{len(key)} planted values, "
            f"{len(per_kind)} kinds), precision {precision:.1%} ({len(found - key)} false "
            "positives in the corpus)"
        )
    assert recall >= 0.98, sorted(key - found)


def test_bundled_suites_and_a_clean_run_give_zero_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    suites = scan_folder(REPO / "src" / "puma" / "suites" / "data", identity=CORPUS_IDENTITY)
    run = scan_folder(REPO / "tests" / "fixtures" / "demo-run", identity=CORPUS_IDENTITY)
    n_files = sum(1 for p in (REPO / "src" / "puma" / "suites" / "data").rglob("*") if p.is_file())
    with capsys.disabled():
        print(
            f"\nprivacy scan: {len(suites)} false positives in the bundled suites ({n_files} "
            f"files), {len(run)} in the clean run folder tests/fixtures/demo-run"
        )
    assert [f"{f.location()} {f.kind} {f.excerpt}" for f in suites + run] == []


def test_every_kind_is_planted_in_the_corpus() -> None:
    assert {kind for _, _, kind in answer_key()} == set(KINDS)


def test_an_excerpt_never_shows_the_value_it_reports() -> None:
    for folder in sorted(CORPUS.glob("run-*")):
        for f in scan_folder(folder, identity=CORPUS_IDENTITY):
            if f.kind == "private-key":
                continue
            line = f.path.read_text().splitlines()[f.line - 1]
            (start, end, _) = next(
                h for h in line_hits(line, CORPUS_IDENTITY) if h[0] == f.column - 1
            )
            assert line[start:end] not in f.excerpt, f
            assert "********" in f.excerpt


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('"url": "http://192.168.1.20:11434"', "ipv4"),
        ("peer 8.8.4.4 answered", "ipv4"),
        ("host fe80::1ff:fe23:4567:890a%en0", "ipv6"),
        ("bound to [2001:db8::8a2e:370:7334]:80", "ipv6"),
        ("reached gpu01.lab.acme-research.net", "hostname"),
        ("ping alice-mbp.local", "hostname"),
        ('"hostname": "rig-3090"', "hostname"),
        ("OLLAMA_HOST=http://gpu-box:11434", "hostname"),
        ('"path": "/home/alice/runs"', "home-path"),
        ('"path": "C:\\\\Users\\\\Chen\\\\puma"', "home-path"),
        ("mail alice.novak@fastmail.fm", "email"),
        ("ether 3c:22:fb:9a:41:0e", "mac-address"),
        ('"serial_number": "C02XK1ABJG5H"', "serial-number"),
        ("GPU Serial Number : 1322017034851", "serial-number"),
        ("token ghp_" + "a1B2" * 9, "github-token"),
        ("key sk-proj-" + "Ab3_" * 10, "openai-key"),
        ("hf_" + "AbCdEfGhIj" * 4, "huggingface-token"),
        ("AKIA" + "ABCDEFGHIJKLMNOP", "aws-access-key"),
        (
            "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
            "aws-secret-key",
        ),
        ("xoxb-123456789012-abcdefABCDEF", "slack-token"),
        ('"password": "hunter22"', "generic-secret"),
        ("KAGGLE_KEY=8f3c2a7b1e9d4c6f0a5b2e8d7c1f3a94", "generic-secret"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "private-key"),
    ],
)
def test_finds(line: str, kind: str) -> None:
    assert kind in kinds_of(line)


@pytest.mark.parametrize(
    "line",
    [
        '"llama_cpp_python": "0.3.36", "python": "3.11.7"',  # versions
        '"driver": "535.104.05.01"',  # a 4-part version in a version field
        "firmware version 1.2.3.4 and v10.0.0.1",
        "http://127.0.0.1:11434 and [::1]:8080 and 0.0.0.0 and 255.255.255.0",  # loopback, masks
        "http://localhost:11434/api/chat",
        '"head": "bc80fb5cdc1ac62d23b0894f4d4b0919d5231409fd820f732bfa66a4c833ad4c"',
        '"run_id": "2c416afd-3696-4da9-b76a-b021e28c55f8", "ts": "2026-11-29T12:37:02Z"',
        "a[1::2] and b[::3] and 12:37:23",  # Python slices, times
        '"max_tokens": 16, "api_key_env": "OPENAI_API_KEY", "completion_tokens": 2',
        "write to user@example.com or /home/user/x or /Users/you or /home/runner/work",
        "see https://github.com/ggml-org/llama.cpp and api.openai.com and huggingface.co",
        "com.halyard.app.trips, puma.submission.privacy, manifest.json, docs/run.md, setup.py",
        '"hostname": "vm", "user": "root", "submitter": "anonymous"',  # generic names
        "a <redacted:ipv4:1> and <redacted:api-key:2>",  # placeholders never flag again
        "sk-learn is not a key; the password policy: see docs",
        "git@github.com:ggml-org/llama.cpp.git",
        "User: What is the capital of France?",
        "from puma.suites.local import load; Path.home() / '.cache'; python -m puma.cli.app",
        "    hostname: str = short_hostname()",  # code a model may write
        "https://pumacp.github.io/puma-community/schema.json and http://h:1",
    ],
)
def test_does_not_flag(line: str) -> None:
    assert kinds_of(line) == []


def test_this_machines_own_names_are_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "albatross-ws.lan.example")
    monkeypatch.setattr("platform.node", lambda: "albatross-ws")
    monkeypatch.setattr("getpass.getuser", lambda: "qzhang")
    (tmp_path / "run.md").write_text("ran on albatross-ws by qzhang\n")
    found = [(f.kind, f.column) for f in scan_folder(tmp_path)]
    assert found == [("hostname", 8), ("username", 24)]


def test_generic_machine_names_are_not_flagged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "vm")
    monkeypatch.setattr("platform.node", lambda: "vm")
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    (tmp_path / "run.md").write_text("the vm ran as root\n")
    assert scan_folder(tmp_path) == []


def test_a_finding_names_file_line_column_and_kind(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{\n  "url": "http://10.1.2.3:8000"\n}\n')
    (f,) = scan_folder(tmp_path, identity=Identity())
    assert (f.path.name, f.line, f.column, f.kind) == ("manifest.json", 2, 18, "ipv4")
    assert f.location(tmp_path) == "manifest.json:2:18"


def test_a_private_key_block_is_one_finding_and_its_body_is_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text(
        "intro\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow+10.0.0.1/AAAA\n"
        "-----END RSA PRIVATE KEY-----\nend\n"
    )
    assert [(f.line, f.kind) for f in scan_folder(tmp_path, identity=Identity())] == [
        (2, "private-key")
    ]


def test_binary_files_and_links_are_findings_because_they_were_not_read(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"GGUF\0\0\x01")
    (tmp_path / "link.txt").symlink_to("/etc/hostname")
    found = sorted((f.path.name, f.kind) for f in scan_folder(tmp_path, identity=Identity()))
    assert found == [("link.txt", UNSCANNED), ("model.bin", UNSCANNED)]


def test_parquet_string_columns_are_scanned_and_redacted(tmp_path: Path) -> None:
    table = pa.table(
        {
            "instance_id": ["A-1", "A-2", "A-3"],
            "output_text": ["fine", "see /home/alice/x", "mail bob.r@posteo.de"],
            "tokens": [1, 2, 3],
        }
    )
    pq.write_table(table, tmp_path / "extra.parquet")
    found = [(f.line, f.field, f.kind) for f in scan_folder(tmp_path, identity=Identity())]
    assert found == [(2, "output_text", "home-path"), (3, "output_text", "email")]
    report = redact_folder(tmp_path, identity=Identity())
    assert report.counts == {"email": 1, "home-path": 1}
    again = pq.read_table(tmp_path / "extra.parquet")
    assert again.column("tokens").to_pylist() == [1, 2, 3]
    assert again.column("output_text").to_pylist()[1] == "see <redacted:home-path:1>/x"
    assert scan_folder(tmp_path, identity=Identity()) == []


def test_unreadable_input_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputFileError):
        scan_folder(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputFileError):
        scan_folder(tmp_path / "file")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputFileError):
        scan_folder(tmp_path / "d")


# --- redaction ---------------------------------------------------------------------------------


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(CORPUS / "run-02", folder)
    return folder


def test_redaction_leaves_nothing_the_scan_flags_and_keeps_json_valid(corpus_copy: Path) -> None:
    before = scan_folder(corpus_copy, identity=CORPUS_IDENTITY)
    ledger = (corpus_copy / "run.jsonl").read_bytes()
    report = redact_folder(corpus_copy, identity=CORPUS_IDENTITY)
    after = scan_folder(corpus_copy, identity=CORPUS_IDENTITY)
    # The ledger is hash-chained: left as it was, its findings reported, nothing else remains.
    assert (corpus_copy / "run.jsonl").read_bytes() == ledger
    assert {f.path.name for f in after} <= {"run.jsonl"}
    assert [(f.line, f.kind) for f in after] == [(f.line, f.kind) for f in report.left]
    assert len(report.redactions) == len([f for f in before if f.path.name != "run.jsonl"])
    for name in ("manifest.json", "hardware.json"):
        json.loads((corpus_copy / name).read_text())
    for line in (corpus_copy / "run.jsonl").read_text().splitlines():
        json.loads(line)


def test_redaction_record_names_kinds_and_places_never_values(corpus_copy: Path) -> None:
    values = [
        (corpus_copy / f.path.name).read_text().splitlines()[f.line - 1]
        for f in scan_folder(corpus_copy, identity=CORPUS_IDENTITY)
    ]
    report = redact_folder(corpus_copy, identity=CORPUS_IDENTITY)
    record = json.loads((corpus_copy / "redactions.json").read_text())
    assert record["counts"] == report.counts
    assert {(e["file"], e["line"], e["kind"]) for e in record["redacted"]} == {
        (r.file, r.line, r.kind) for r in report.redactions
    }
    assert all(e["reason"] == "hash-bearing file" for e in record["left_unredacted"])
    text = json.dumps(record)
    for line in values:
        for hit_start, hit_end, _ in line_hits(line, CORPUS_IDENTITY.specific()):
            assert line[hit_start:hit_end] not in text


def test_the_same_value_gets_the_same_placeholder_in_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("server 10.9.8.7\nother 10.9.8.6\n")
    (tmp_path / "b.json").write_text('{"url": "http://10.9.8.7:1"}\n')
    redact_folder(tmp_path, identity=Identity())
    assert (tmp_path / "a.md").read_text() == "server <redacted:ipv4:1>\nother <redacted:ipv4:2>\n"
    assert json.loads((tmp_path / "b.json").read_text()) == {"url": "http://<redacted:ipv4:1>:1"}
    # A later redaction of the same folder numbers on from the record, never reusing a number.
    (tmp_path / "c.md").write_text("new 10.9.8.5\n")
    redact_folder(tmp_path, identity=Identity())
    assert (tmp_path / "c.md").read_text() == "new <redacted:ipv4:3>\n"


def test_a_multi_line_private_key_is_removed_whole(tmp_path: Path) -> None:
    (tmp_path / "run.md").write_text(
        "before\nkey:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        "AAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\nafter\n"
    )
    redact_folder(tmp_path, identity=Identity())
    assert (tmp_path / "run.md").read_text() == "before\nkey:\n<redacted:private-key:1>\nafter\n"


def test_include_hash_bearing_redacts_the_ledger_too(corpus_copy: Path) -> None:
    report = redact_folder(corpus_copy, identity=CORPUS_IDENTITY, include_hash_bearing=True)
    assert report.left == []
    assert scan_folder(corpus_copy, identity=CORPUS_IDENTITY) == []
    for line in (corpus_copy / "run.jsonl").read_text().splitlines():
        json.loads(line)


def test_prepare_and_publish_refuse_with_a_located_list(corpus_copy: Path) -> None:
    findings = scan_folder(corpus_copy, identity=CORPUS_IDENTITY)
    with pytest.raises(CheckFailed) as raised:
        refuse_on_findings(corpus_copy, findings, "the folder")
    first = findings[0]
    assert f"{first.path.name}:{first.line}:{first.column} {first.kind}" in str(raised.value)
    assert "puma submission scan" in str(raised.value)
    refuse_on_findings(corpus_copy, [])  # nothing found: no refusal


# --- the command -------------------------------------------------------------------------------


def puma(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        [str(PUMA), *map(str, args)], capture_output=True, text=True, timeout=120, env=env
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_scan_command_exit_codes_and_masked_output(corpus_copy: Path, tmp_path: Path) -> None:
    clean = puma("submission", "scan", REPO / "tests" / "fixtures" / "demo-run")
    assert clean.returncode == 0 and "clean" in clean.stdout
    found = puma("submission", "scan", corpus_copy)
    assert found.returncode == 1
    assert "manifest.json:" in found.stdout and "private value(s)" in found.stderr
    assert "********" in found.stdout
    for f in scan_folder(corpus_copy, identity=CORPUS_IDENTITY):
        line = f.path.read_text().splitlines()[f.line - 1]
        start, end, _ = next(h for h in line_hits(line, CORPUS_IDENTITY) if h[0] == f.column - 1)
        assert line[start:end] not in found.stdout  # every value is masked
    assert puma("submission", "scan", tmp_path / "missing").returncode == 2


def test_scan_redact_command(corpus_copy: Path) -> None:
    result = puma("submission", "scan", corpus_copy, "--redact")
    assert result.returncode == 1  # the ledger's findings are left, and listed
    assert "redacted" in result.stdout and "left as they are" in result.stdout
    (corpus_copy / "run.jsonl").unlink()
    assert puma("submission", "scan", corpus_copy).returncode == 0
    assert puma("submission", "scan", corpus_copy, "--include-hashed").returncode == 2
