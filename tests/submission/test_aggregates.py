"""metadata-1.0 (puma.evaluate.metadata): recomputed from manifest.json, hardware.json and
run.jsonl alone, the same bytes every time, agreeing with what `puma eval` computed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from puma.errors import CheckFailed, InputFileError
from puma.evaluate.metadata import aggregate_run
from puma.jsonio import write_json
from puma.runfolder.ledger import LedgerWriter
from puma.runfolder.metadata import metadata_bytes, read_metadata, write_metadata
from puma.suites import load_bundled_suite
from puma.tasks import gold_text
from run_records import call_event, footer_event, hardware, manifest, meta_event, suite_record

DEMO = Path(__file__).parents[1] / "fixtures" / "demo-run"
CONTRIBUTOR_FILES = ("manifest.json", "hardware.json", "run.jsonl")


def contributor_copy(tmp_path: Path, device_tag: str = "epyc-24gb") -> Path:
    """The demo run laid out as a contributor folder, holding only the files it reads."""
    run_id = json.loads((DEMO / "manifest.json").read_text())["run_id"]
    folder = tmp_path / "submissions" / "zq-handle" / device_tag / f"run-{run_id}"
    folder.mkdir(parents=True)
    for name in CONTRIBUTOR_FILES:
        shutil.copyfile(DEMO / name, folder / name)
    return folder


def test_quality_is_what_puma_eval_computed_from_the_same_run(tmp_path: Path) -> None:
    meta = aggregate_run(contributor_copy(tmp_path))
    [entry] = meta.aggregates
    assert (entry.cell_id, entry.phase, entry.task) == (
        "epyc-24gb/embedded-default",
        "pm-triage",
        "triage",
    )
    assert (entry.n_calls, entry.n_items, entry.n_errors, entry.n_warmup) == (15, 15, 0, 0)
    evaluated = json.loads((DEMO / "metrics.json").read_text())["cells"][0]["metrics"]
    assert entry.quality is not None and entry.quality.metric == "accuracy"
    value = entry.quality.value
    assert (value.point, value.ci_low, value.ci_high) == (
        evaluated["accuracy"]["point"],
        evaluated["accuracy"]["ci_low"],
        evaluated["accuracy"]["ci_high"],
    )


def test_speed_figures_are_medians_of_answered_calls(tmp_path: Path) -> None:
    import numpy as np
    import pyarrow.parquet as pq

    entry = aggregate_run(contributor_copy(tmp_path)).aggregates[0]
    rows = pq.read_table(DEMO / "predictions_full.parquet").to_pylist()
    for name in ("prompt_tps", "ttft_ms", "generation_tps"):
        values = [r[name] for r in rows if r["error"] is None and r[name] is not None]
        assert getattr(entry.speed, name).n == len(values)
        assert getattr(entry.speed, name).median == pytest.approx(float(np.median(values)))
    assert entry.energy is None  # the demo's runtime records no per-call energy


def test_the_same_folder_gives_the_same_bytes(tmp_path: Path) -> None:
    folder = contributor_copy(tmp_path)
    write_metadata(aggregate_run(folder), folder / "metadata.json")
    again = metadata_bytes(aggregate_run(folder))
    assert (folder / "metadata.json").read_bytes() == again
    assert read_metadata(folder / "metadata.json") == aggregate_run(folder)


def test_no_handle_host_name_or_path_is_in_the_metadata(tmp_path: Path) -> None:
    text = metadata_bytes(aggregate_run(contributor_copy(tmp_path))).decode()
    for private in ('"vm"', "/tmp/demo_fx", "anonymous", "zq-handle"):
        assert private not in text


def test_device_tag_of_the_contributor_folder_names_the_cell(tmp_path: Path) -> None:
    meta = aggregate_run(contributor_copy(tmp_path, "epyc-cloud-vm"), device_tag="epyc-cloud-vm")
    assert meta.aggregates[0].cell_id == "epyc-cloud-vm/embedded-default"


def test_old_hardware_json_is_read_and_its_class_derived(tmp_path: Path) -> None:
    hardware = aggregate_run(contributor_copy(tmp_path)).provenance.hardware
    assert (hardware.probed, hardware.hardware_class, hardware.cpu) == (
        False,
        "cpu-only",
        "AMD EPYC",
    )


def test_an_edited_ledger_line_is_refused(tmp_path: Path) -> None:
    folder = contributor_copy(tmp_path)
    ledger = folder / "run.jsonl"
    ledger.write_text(
        ledger.read_text().replace('"parsed_label":"Critical"', '"parsed_label":"Major"', 1)
    )
    with pytest.raises(CheckFailed, match="does not verify"):
        aggregate_run(folder)


@pytest.mark.parametrize("missing", CONTRIBUTOR_FILES)
def test_a_missing_file_is_named(tmp_path: Path, missing: str) -> None:
    folder = contributor_copy(tmp_path)
    (folder / missing).unlink()
    with pytest.raises(InputFileError, match=missing.split(".")[0]):
        aggregate_run(folder)


def test_puma_evals_metadata_is_what_the_ledger_gives() -> None:
    """One format: the run folder's metadata.json (written by `puma eval` from the predictions)
    is byte for byte what aggregate_run recomputes from the ledger for a bundled suite."""
    assert (DEMO / "metadata.json").read_bytes() == metadata_bytes(aggregate_run(DEMO))


def _ledger_folder(tmp_path: Path, calls: list[Any], *, content_hash: str | None = None) -> Path:
    """A sealed contributor folder whose ledger holds exactly `calls` (pm-triage items)."""
    suite = load_bundled_suite("pm-triage")
    folder = tmp_path / "run-folder"
    folder.mkdir()
    writer = LedgerWriter.create(folder / "run.jsonl")
    writer.append(meta_event(run_id="r1", planned_calls=len(calls)))
    for call in calls:
        writer.append(call)
    writer.append(footer_event())
    seal = writer.seal()
    writer.close(sync=False)
    record = suite_record(
        "pm-triage",
        "triage",
        list(suite.labels),
        content_hash=content_hash or suite.content_hash,
        n_items=4,
    )
    document = manifest("r1", [record], ["m"], ledger_seal=seal, device_tag="test-box")
    write_json(folder / "manifest.json", document.model_dump(mode="json"))
    write_json(folder / "hardware.json", hardware().model_dump(mode="json"))
    return folder


def _items() -> list[tuple[str, str]]:
    suite = load_bundled_suite("pm-triage")
    return [(item["instance_id"], gold_text(suite, item)) for item in suite.items[:4]]


def test_unparsed_failed_and_skipped_answers_count_as_wrong(tmp_path: Path) -> None:
    (a, gold_a), (b, gold_b), (c, _), (d, _) = _items()
    calls = [
        call_event(a, parsed_label=gold_a),
        call_event(b, parsed_label=gold_b),
        call_event(c, parsed_label=None, parse_status="unparsed", output_text="hmm"),
        call_event(d, parsed_label=None, output_text=None, error="timeout", attempt=1),
        call_event(d, parsed_label=None, output_text=None, error="timeout", attempt=2),
    ]
    [entry] = aggregate_run(_ledger_folder(tmp_path, calls)).aggregates
    assert entry.quality is not None
    assert (entry.n_calls, entry.n_items, entry.n_errors) == (4, 4, 1)  # retries count once
    assert (entry.quality.n_unparsed, entry.quality.n_failed) == (1, 1)
    assert entry.quality.value.point == 0.5 and entry.quality.value.n == 4


def test_warm_up_and_cold_calls_are_excluded_from_speed(tmp_path: Path) -> None:
    (a, gold), (b, gold_b), *_ = _items()
    calls = [
        call_event(a, phase="warmup", parsed_label=gold, generation_tps=1.0, ttft_ms=9000.0),
        call_event(b, parsed_label=gold_b, generation_tps=2.0, runtime_timings={"cold": True}),
        call_event(a, parsed_label=gold, generation_tps=40.0, ttft_ms=10.0),
    ]
    [entry] = aggregate_run(_ledger_folder(tmp_path, calls)).aggregates
    assert (entry.n_warmup, entry.n_cold, entry.n_calls) == (1, 1, 2)
    assert entry.quality is not None and entry.quality.value.n == 2  # a cold answer counts
    assert (entry.speed.generation_tps.median, entry.speed.ttft_ms.median) == (40.0, 10.0)
    assert entry.speed.generation_tps.n == 1


def test_energy_is_summed_from_the_calls_that_record_it(tmp_path: Path) -> None:
    (a, ga), (b, gb), *_ = _items()
    calls = [
        call_event(a, parsed_label=ga, completion_tokens=10, runtime_timings={"energy_j": 2.5}),
        call_event(b, parsed_label=gb, completion_tokens=30, runtime_timings={"energy_j": 7.5}),
    ]
    [entry] = aggregate_run(_ledger_folder(tmp_path, calls)).aggregates
    assert entry.energy is not None
    assert (entry.energy.joules, entry.energy.joules_per_token) == (10.0, 0.25)


def test_a_suite_other_than_the_bundled_one_gives_no_quality_and_says_why(
    tmp_path: Path,
) -> None:
    (a, gold), *_ = _items()
    folder = _ledger_folder(tmp_path, [call_event(a, parsed_label=gold)], content_hash="e" * 64)
    [entry] = aggregate_run(folder).aggregates
    assert entry.quality is None and entry.n_calls == 1
    assert entry.quality_note is not None and "content hash eeeeeeeeeeee" in entry.quality_note


def test_an_unsealed_ledger_gives_the_same_figures_with_its_state(tmp_path: Path) -> None:
    folder = contributor_copy(tmp_path)
    sealed = aggregate_run(folder)
    data = json.loads((folder / "manifest.json").read_text())
    data["ledger_seal"] = None
    (folder / "manifest.json").write_text(json.dumps(data))
    unsealed = aggregate_run(folder)
    assert unsealed.provenance.ledger.state == "unsealed"
    assert unsealed.aggregates == sealed.aggregates
