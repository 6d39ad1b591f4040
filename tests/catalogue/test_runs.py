"""Grading a run: flagship, standard or archive-only, by the criteria of docs/catalogue.md, with
the reasons a run is not graded higher."""

from __future__ import annotations

from pathlib import Path

from contributor_folders import RTX_4090, add_demo_run, folder, write_folder
from puma.catalogue.runs import catalogue_run, grade_run
from puma.evaluate.metadata import aggregate_run


def graded(path: Path, flags: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return catalogue_run(aggregate_run(path, device_tag=path.parent.name), handle="h", flags=flags)


def test_a_complete_canonical_run_on_probed_hardware_is_flagship(tmp_path: Path) -> None:
    run = graded(write_folder(tmp_path, folder("ada-lab", 1)))
    assert (run.grade, run.reasons) == ("flagship", [])
    [cell] = run.cells
    assert cell.speed_phase == "speed" and cell.generation_calls == 15
    assert cell.plausibility.status == "plausible"
    assert cell.joules_per_token is not None


def test_the_demo_run_is_standard_and_says_why(tmp_path: Path) -> None:
    run = graded(add_demo_run(tmp_path))
    assert run.grade == "standard"
    assert any("hardware not fully probed" in r for r in run.reasons)
    assert any("15 items (flagship needs 20)" in r for r in run.reasons)
    assert any("does not name its phases" in r for r in run.reasons)


def test_an_unfinished_ledger_is_archive_only(tmp_path: Path) -> None:
    run = graded(write_folder(tmp_path, folder("ada-lab", 2, sealed=False)))
    assert run.grade == "archive-only"
    assert run.reasons[0].startswith("ledger incomplete")


def test_a_speed_above_the_bandwidth_bound_is_archive_only(tmp_path: Path) -> None:
    run = graded(write_folder(tmp_path, folder("ada-lab", 3, speed_factor=3.0)))
    assert run.grade == "archive-only"
    assert run.cells[0].plausibility.status == "implausible"
    assert any("implausible speed" in r and "1008 GB/s" in r for r in run.reasons)


def test_too_small_a_sample_is_archive_only(tmp_path: Path) -> None:
    run = graded(write_folder(tmp_path, folder("ada-lab", 4, items=5, speed_repetitions=0)))
    assert run.grade == "archive-only"
    assert any("too small a sample" in r for r in run.reasons)


def test_a_folder_finding_caps_the_grade_at_standard(tmp_path: Path) -> None:
    run = graded(write_folder(tmp_path, folder("ada-lab", 5)), flags=("run.md is missing",))
    assert (run.grade, run.reasons) == ("standard", ["run.md is missing"])


def test_deviations_count_by_their_classification(tmp_path: Path) -> None:
    meta = aggregate_run(write_folder(tmp_path, folder("ada-lab", 6)))
    cells = catalogue_run(meta, handle="h").cells

    def grade_with(*deviations: dict[str, object]) -> tuple[str, list[str]]:
        return grade_run(meta.model_copy(update={"deviations": list(deviations)}), cells, ())

    harmless = {"setting": "keep_alive", "requested": "5m", "used": "10m", "effect": "harmless"}
    assert grade_with(harmless) == ("flagship", [])
    smaller = {"setting": "num_ctx", "requested": 8192, "used": 4096, "effect": "changes-cell"}
    assert grade_with(smaller)[0] == "archive-only"
    unclassified = {"setting": "concurrency", "requested": 4, "used": 1, "reason": "server"}
    grade, reasons = grade_with(unclassified)
    assert grade == "standard" and "not classified as harmless: concurrency" in reasons[0]


def test_warm_up_calls_are_counted_but_never_measured(tmp_path: Path) -> None:
    meta = aggregate_run(write_folder(tmp_path, folder("ada-lab", 7, warmups=4)))
    speed = next(a for a in meta.aggregates if a.phase == "speed")
    assert (speed.n_warmup, speed.n_calls, speed.speed.generation_tps.n) == (4, 15, 15)


def test_a_device_without_a_known_bandwidth_is_not_penalised(tmp_path: Path) -> None:
    unknown = RTX_4090.__class__(
        "mystery-box", "discrete-gpu", "x", (("Moore Threads MTT S80", 16 * 2**30),), 2**35, 448.0
    )
    run = graded(write_folder(tmp_path, folder("ada-lab", 8, device=unknown)))
    assert run.cells[0].plausibility.status == "bound unknown"
    assert run.grade == "flagship"
