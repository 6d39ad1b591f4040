"""One model per run-folder file: each reads the files PUMA writes (the stored demo run, made by
`puma run` and `puma eval`), writes them back byte for byte, and reads what older PUMAs wrote
through a migration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from puma.errors import InputFileError
from puma.jsonio import dump_pretty, dumps_line
from puma.runfolder import RunFolder
from puma.runfolder.emissions import Emissions
from puma.runfolder.ledger import (
    CALL_FIELDS,
    CallEvent,
    FooterEvent,
    LedgerEvent,
    LedgerWriter,
    MetaEvent,
    ResumeEvent,
    SkippedEvent,
    read_ledger,
    verify_chain,
)
from puma.runfolder.manifest import Manifest
from puma.runfolder.metadata import read_metadata
from puma.runfolder.metrics import read_metrics
from puma.runfolder.predictions import (
    CANONICAL_COLUMNS,
    FULL_SCHEMA,
    CanonicalRow,
    FullRow,
    canonical_predictions_text,
    read_canonical,
)
from puma.spec import SpecFile
from run_records import (
    call_event,
    footer_event,
    manifest,
    meta_event,
    resume_event,
    skipped_event,
    suite_record,
)

STORED = RunFolder(Path(__file__).resolve().parents[1] / "fixtures" / "demo-run")


# --- the ledger -----------------------------------------------------------------------------------


def test_every_line_of_a_stored_ledger_reads_as_its_model_and_re_dumps_to_the_same_bytes() -> None:
    events = read_ledger(STORED.ledger).events
    lines = STORED.ledger.read_bytes().splitlines()
    assert [e.type for e in events] == ["meta", *["call"] * 15, "footer"]
    for event, line in zip(events, lines, strict=True):
        assert dumps_line(event.line_fields()).encode("utf-8") == line


EVERY_TYPE: list[LedgerEvent] = [
    meta_event(planned_calls=2),
    call_event("A", predicted_value=3, ttft_ms=7, label_probs={"Major": 0.5, "Minor": 0.5}),
    skipped_event("B"),
    resume_event(planned_calls=2, remaining_calls=1),
    footer_event(planned_calls=2, calls_this_session=2, attempts=2, skipped_calls=1),
]


def test_events_of_every_type_round_trip_through_the_writer_and_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    writer = LedgerWriter.create(path)
    written = [writer.append(event) for event in EVERY_TYPE]
    writer.close()
    read = read_ledger(path).events
    assert read == written
    assert [type(e) for e in read] == [MetaEvent, CallEvent, SkippedEvent, ResumeEvent, FooterEvent]
    assert verify_chain(path).ok and verify_chain(path).complete
    # Numbers keep their type (3 stays 3, not 3.0): the line's bytes are the hash chain's input.
    call = json.loads(path.read_text().splitlines()[1])
    assert call["predicted_value"] == 3 and isinstance(call["predicted_value"], int)
    assert list(call)[:2] == ["type", "seq"] and list(call)[-1] == "prev_hash"
    skipped = json.loads(path.read_text().splitlines()[2])
    assert list(skipped)[-2:] == ["reason", "prev_hash"]  # reason after the call's fields


def test_the_readers_need_every_call_field() -> None:
    assert CALL_FIELDS[0] == "ts" and "parsed_label" in CALL_FIELDS and "reason" not in CALL_FIELDS


def _write_lines(path: Path, objects: list[dict[str, Any]]) -> None:
    """Lines as an older PUMA wrote them, chained as it chained them."""
    from puma.runfolder.ledger import line_hash

    prev = None
    lines = []
    for obj in objects:
        line = dumps_line({**obj, "prev_hash": prev})
        prev = line_hash(line.encode("utf-8"))
        lines.append(line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def test_a_ledger_1_0_footer_without_skipped_calls_reads_as_none_skipped(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    meta = meta_event().line_fields() | {"schema_version": "ledger-1.0", "seq": 0}
    call = call_event("A").line_fields() | {"seq": 1}
    footer = footer_event().line_fields() | {"seq": 2}
    del footer["skipped_calls"]
    _write_lines(path, [meta, call, footer])
    events = read_ledger(path).events
    assert isinstance(events[0], MetaEvent) and events[0].schema_version == "ledger-1.0"
    assert isinstance(events[-1], FooterEvent) and events[-1].skipped_calls == 0
    assert verify_chain(path).ok


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e.pop("prompt_hash"), "call event lacks prompt_hash"),
        (lambda e: e.update(repetition="first"), "repetition"),
        (lambda e: e.update(surprise=1), "surprise"),
    ],
)
def test_a_call_line_that_is_not_a_call_is_refused_naming_its_line(
    tmp_path: Path, edit: Any, message: str
) -> None:
    path = tmp_path / "run.jsonl"
    call = call_event("A").line_fields() | {"seq": 1}
    edit(call)
    _write_lines(path, [meta_event().line_fields() | {"seq": 0}, call])
    with pytest.raises(InputFileError, match=message) as caught:
        read_ledger(path)
    assert caught.value.where == f"{path}:2"


# --- manifest.json --------------------------------------------------------------------------------


def test_the_stored_manifest_reads_and_saves_back_byte_for_byte(tmp_path: Path) -> None:
    stored = Manifest.load(STORED)
    assert stored.ledger_seal is not None and stored.ledger_seal.lines == 17
    copy = RunFolder(tmp_path)
    stored.save(copy)
    assert copy.manifest.read_bytes() == STORED.manifest.read_bytes()


def test_an_older_manifest_reads_through_the_migration(tmp_path: Path) -> None:
    """What PUMA wrote before suites recorded their selection, models their details, runs their
    deviations and the ledger seal, with the flat runtime section of that time in its spec."""
    current = manifest("old", [suite_record("pm-triage", "triage", ["A", "B"])], ["m"])
    older = current.model_dump(mode="json", exclude={"deviations", "ledger_seal"})
    for suite in older["suites"]:
        del suite["selection"]
    for model in older["models"]:
        del model["details"]
    flat = dict.fromkeys(
        ("url", "model", "models", "preset", "api_key_env", "keep_alive", "n_threads", "mode")
    )
    older["spec"] = {
        "name": "old",
        "suites": [{"id": "pm-triage"}],
        "runtime": {**flat, "kind": "embedded", "n_threads": 2},
    }
    folder = RunFolder(tmp_path)
    folder.manifest.write_text(json.dumps(older), encoding="utf-8")
    read = Manifest.load(folder)
    assert read.suites[0].selection == {} and read.deviations == [] and read.ledger_seal is None
    assert read.spec == older["spec"]  # kept as written: spec_hash covers it
    assert SpecFile.model_validate(read.spec).runtime.kind == "embedded"


def test_a_manifest_with_an_unknown_field_is_refused_naming_the_field(tmp_path: Path) -> None:
    document = manifest("x", [], ["m"]).model_dump(mode="json") | {"colour": "blue"}
    folder = RunFolder(tmp_path)
    folder.manifest.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputFileError, match="colour"):
        Manifest.load(folder)


# --- the prediction files -------------------------------------------------------------------------


def test_full_rows_are_the_parquet_columns_in_order() -> None:
    assert list(FullRow.model_fields) == FULL_SCHEMA.names
    assert tuple(CanonicalRow.model_fields)[:4] == CANONICAL_COLUMNS


def test_a_row_takes_the_ledger_s_parsed_label_as_its_predicted_label() -> None:
    event = call_event("A", parsed_label="Minor", label_probs={"Minor": 1.0}, seq=4)
    row = FullRow.of_event(
        event, run_id="r", task="triage", strategy="s", gold="Major", slices="{}"
    )
    assert row.predicted_label == "Minor" and row.seq == 4
    assert row.label_probs == '{"Minor": 1.0}'
    assert CanonicalRow.of(row).predicted_label == "Minor"


def test_the_stored_prediction_files_read_as_rows_and_agree() -> None:
    full = [FullRow(**r) for r in pq.read_table(STORED.predictions_full).to_pylist()]
    assert canonical_predictions_text(full) == STORED.predictions.read_text(encoding="utf-8")
    canonical = [row for _, row in read_canonical(STORED.predictions)]
    assert [r.instance_id for r in canonical] == sorted(r.instance_id for r in full)


# --- metrics.json, metadata.json, emissions.json (hardware.json: test_hardware.py) ------------


def test_the_stored_evaluation_and_machine_files_read_and_re_dump_byte_for_byte(
    tmp_path: Path,
) -> None:
    metrics = read_metrics(STORED.metrics)
    assert dump_pretty(metrics.model_dump(mode="json")) == STORED.metrics.read_text("utf-8")
    metadata = read_metadata(STORED.metadata)
    assert dump_pretty(metadata.model_dump(mode="json")) == STORED.metadata.read_text("utf-8")
    copy = RunFolder(tmp_path)
    Emissions.load(STORED).save(copy)
    assert copy.emissions.read_bytes() == STORED.emissions.read_bytes()
