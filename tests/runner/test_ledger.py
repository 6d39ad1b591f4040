"""The ledger: append-only, hash-chained, flushed per event, and honest about tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from puma.errors import InputFileError
from puma.runfolder.ledger import LedgerWriter, line_hash, read_ledger, verify_chain
from run_records import call_event, footer_event, meta_event, resume_event


def _write(path: Path, calls: int = 3, footer: bool = True) -> None:
    ledger = LedgerWriter.create(path)
    ledger.append(meta_event())
    for i in range(calls):
        ledger.append(call_event(f"X-{i}"))
    if footer:
        ledger.append(footer_event())
    ledger.close()


def test_each_line_carries_the_hash_of_the_previous_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path)
    raw = path.read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in raw]
    assert events[0]["prev_hash"] is None
    for before, event in zip(raw, events[1:], strict=False):
        assert event["prev_hash"] == line_hash(before)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events] == ["meta", "call", "call", "call", "footer"]


def test_lines_are_on_disk_before_the_writer_closes(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    ledger = LedgerWriter.create(path)
    ledger.append(meta_event())
    ledger.append(call_event("A"))
    assert len(path.read_text().splitlines()) == 2  # flushed per event
    ledger.close()


def test_intact_chain_verifies(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path)
    report = verify_chain(path)
    assert report.ok and report.complete and report.lines == 5
    assert report.last_hash == line_hash(path.read_bytes().splitlines()[-1])


def test_edited_line_breaks_the_chain_at_the_next_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"X-1"', '"X-9"')
    path.write_text("".join(lines))
    report = verify_chain(path)
    assert not report.ok
    assert report.broken_line == 4
    assert "prev_hash" in (report.reason or "")


def test_removed_line_breaks_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path)
    lines = path.read_text().splitlines(keepends=True)
    del lines[1]
    path.write_text("".join(lines))
    assert verify_chain(path).broken_line == 2


def test_run_without_footer_is_intact_but_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path, footer=False)
    report = verify_chain(path)
    assert report.ok and not report.complete


def test_reopen_cuts_a_partial_last_line_and_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path, footer=False)
    with path.open("a") as handle:
        handle.write('{"type":"call","seq":4,"instance')  # the process died mid-write
    with pytest.raises(InputFileError, match="partial last line"):
        read_ledger(path)
    ledger = LedgerWriter.reopen(path)
    assert ledger.next_seq == 4
    ledger.append(resume_event())
    ledger.close()
    report = verify_chain(path)
    assert report.ok and report.lines == 5


def test_a_line_of_an_unknown_event_type_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _write(path, calls=1, footer=False)
    with path.open("a") as handle:
        handle.write('{"type":"gossip","seq":2,"prev_hash":null}\n')
    with pytest.raises(InputFileError, match="known 'type'") as caught:
        read_ledger(path)
    assert caught.value.where == f"{path}:3"
