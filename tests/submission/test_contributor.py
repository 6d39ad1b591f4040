"""The contributor folder (`submissions/<handle>/<device-tag>/run-<uuid>/`): `prepare` writes it
whole from a finished run or not at all, and `validate` accepts it and nothing else.

The run is tests/fixtures/demo-run, a real run on the embedded model. Tests of `validate` build
their folder with `prepare` but without the privacy scan (`validate` does not scan; the scan's
part in `prepare` is tested on its own below, with the real puma.submission.privacy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from puma.errors import CheckFailed, InputFileError, OutputWriteError
from puma.evaluate.metadata import aggregate_run
from puma.runfolder.hardware import HardwareReport
from puma.runfolder.metadata import metadata_bytes
from puma.submission import contributor
from puma.submission.contributor import (
    CONTRIBUTOR_FILES,
    NARRATIVE_SECTIONS,
    prepare_contributor_folder,
    validate_contributor_folder,
)

DEMO = Path(__file__).parents[1] / "fixtures" / "demo-run"
RUN_ID = json.loads((DEMO / "manifest.json").read_text())["run_id"]
OTHER_UUID = "0f7c2a9e-3b1d-4c55-9a61-2f5e8d7c1b40"


def puma(*args: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "puma.cli.app", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "runs" / f"run-{RUN_ID}"
    shutil.copytree(DEMO, copy)
    return copy


@pytest.fixture
def unscanned(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare without the privacy scan: for tests of what prepare writes and validate reads."""
    monkeypatch.setattr(contributor, "refuse_private_values", lambda folder, what: None)
    monkeypatch.setattr(contributor, "privacy_checks", lambda: ("(not scanned in this test)",))


@pytest.fixture
def folder(run_dir: Path, tmp_path: Path, unscanned: None) -> Path:
    return prepare_contributor_folder(run_dir, tmp_path / "submissions", "ada-l", "epyc-24gb")


# --- prepare ------------------------------------------------------------------------------------


def test_prepare_writes_the_five_files_under_handle_device_tag_and_run(
    run_dir: Path, tmp_path: Path
) -> None:
    made = prepare_contributor_folder(run_dir, tmp_path / "submissions", "ada-l", "epyc-24gb")
    assert made == tmp_path / "submissions" / "ada-l" / "epyc-24gb" / f"run-{RUN_ID}"
    assert sorted(p.name for p in made.iterdir()) == sorted(CONTRIBUTOR_FILES)
    for name in ("hardware.json", "run.jsonl"):
        assert (made / name).read_bytes() == (DEMO / name).read_bytes(), name
    # The manifest is the run's, field for field, but for the two fields naming the machine.
    run_manifest = json.loads((DEMO / "manifest.json").read_text())
    copied = json.loads((made / "manifest.json").read_text())
    assert (copied.pop("hostname"), copied.pop("spec_path")) == ("", "demo_publication.yaml")
    assert {k: v for k, v in run_manifest.items() if k not in ("hostname", "spec_path")} == copied
    assert (made / "metadata.json").read_bytes() == metadata_bytes(
        aggregate_run(made, device_tag="epyc-24gb")
    )
    assert validate_contributor_folder(made).path.handle == "ada-l"
    # nothing else was left beside it (no staging folder)
    assert [p.name for p in made.parent.iterdir()] == [made.name]


def test_run_md_has_headline_with_interval_deviations_caveats_attestation_and_command(
    folder: Path,
) -> None:
    text = (folder / "run.md").read_text()
    for section in NARRATIVE_SECTIONS:
        assert section in text.splitlines()
    headline = text.split("## Headline numbers")[1].split("## Deviations")[0]
    assert "`epyc-24gb/embedded-default` | pm-triage | 15 | accuracy 0.133 [0.0237, 0.379]" in (
        headline
    )
    assert "None: the run used the settings its spec asks for." in text
    assert "15 items only" in text  # a caveat PUMA found itself
    assert "no findings" in text.split("## Privacy attestation")[1]
    assert "```bash\npuma run spec.yaml\n```" in text
    assert "puma run specs/runs/demo_publication.yaml" in text
    assert "/tmp/demo_fx" not in text  # the output folder names this machine only


def test_run_md_lists_each_deviation_and_override(run_dir: Path, tmp_path: Path, unscanned: None):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["deviations"] = [
        {
            "setting": "concurrency",
            "requested": 4,
            "used": 1,
            "reason": "the server allows one request at a time",
            "ts": "2026-11-29T12:37:02Z",
        }
    ]
    manifest["overrides"] = {"limit": 15, "output": "/tmp/demo_fx"}
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    made = prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l")
    deviations = (made / "run.md").read_text().split("## Deviations")[1].split("## Caveats")[0]
    assert "- `concurrency`: 4 → 1 (the server allows one request at a time)" in deviations
    assert "- `limit` set on the command line to 15" in deviations
    assert "output" not in deviations
    assert "puma run specs/runs/demo_publication.yaml --limit 15" in (made / "run.md").read_text()


def test_the_same_run_gives_the_same_run_md(run_dir: Path, tmp_path: Path, unscanned: None):
    first = prepare_contributor_folder(run_dir, tmp_path / "a", "ada-l")
    second = prepare_contributor_folder(run_dir, tmp_path / "b", "ada-l")
    for name in CONTRIBUTOR_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_device_tag_given_names_the_folder_and_the_cell(
    run_dir: Path, tmp_path: Path, unscanned: None
) -> None:
    made = prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l", "epyc-cloud-vm")
    assert made.parent.name == "epyc-cloud-vm"
    metadata = json.loads((made / "metadata.json").read_text())
    assert metadata["aggregates"][0]["cell_id"] == "epyc-cloud-vm/embedded-default"


def test_device_tag_defaults_to_the_hardware_suggestion_then_the_run_s(
    run_dir: Path, tmp_path: Path, unscanned: None
) -> None:
    model = HardwareReport
    hardware = model.model_validate_json((run_dir / "hardware.json").read_bytes())
    suggested = getattr(hardware, "device_tag_suggestion", None)
    made = prepare_contributor_folder(run_dir, tmp_path / "a", "ada-l")
    assert made.parent.name == (suggested or "epyc-24gb")  # else the manifest's device_tag
    data = hardware.model_dump(mode="json")
    data["device_tag_suggestion"] = "amd-epyc-cpu"
    (run_dir / "hardware.json").write_text(json.dumps(data))
    made = prepare_contributor_folder(run_dir, tmp_path / "b", "ada-l")
    assert made.parent.name == "amd-epyc-cpu"


def test_a_second_prepare_of_the_same_run_is_refused(folder: Path, run_dir: Path) -> None:
    before = {name: (folder / name).read_bytes() for name in CONTRIBUTOR_FILES}
    for tag in (None, "epyc-24gb", "another-tag"):
        with pytest.raises(OutputWriteError, match=r"already prepared"):
            prepare_contributor_folder(run_dir, folder.parents[2], "ada-l", tag)
    assert {name: (folder / name).read_bytes() for name in CONTRIBUTOR_FILES} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
    assert sorted(p.name for p in folder.parents[1].iterdir()) == ["epyc-24gb"]


@pytest.mark.parametrize(
    ("handle", "tag"),
    [("Ada", None), ("ada_l", None), ("-ada", None), ("ada-l", "RTX 4090"), ("ada-l", "a/b")],
)
def test_a_bad_handle_or_device_tag_is_refused_and_nothing_written(
    run_dir: Path, tmp_path: Path, unscanned: None, handle: str, tag: str | None
) -> None:
    with pytest.raises(InputFileError, match=r"is not allowed"):
        prepare_contributor_folder(run_dir, tmp_path / "s", handle, tag)
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.json"))


def test_a_run_whose_ledger_was_edited_is_not_prepared(
    run_dir: Path, tmp_path: Path, unscanned: None
) -> None:
    ledger = run_dir / "run.jsonl"
    ledger.write_text(
        ledger.read_text().replace('"parsed_label":"Critical"', '"parsed_label":"Minor"', 1)
    )
    with pytest.raises(CheckFailed, match=r"hash chain is broken") as caught:
        prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l")
    assert caught.value.where is not None and caught.value.where.endswith("run.jsonl:3")
    assert not (tmp_path / "s").exists()


def test_an_unfinished_run_is_not_prepared(run_dir: Path, tmp_path: Path, unscanned: None):
    ledger = run_dir / "run.jsonl"
    ledger.write_text("".join(ledger.read_text().splitlines(keepends=True)[:-1]))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["ledger_seal"] = None
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputFileError, match=r"has not finished"):
        prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l")


def test_a_run_without_hardware_json_is_not_prepared(
    run_dir: Path, tmp_path: Path, unscanned: None
) -> None:
    (run_dir / "hardware.json").unlink()
    with pytest.raises(InputFileError, match=r"hardware.json is missing"):
        prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l")


def test_a_privacy_finding_refuses_the_folder_and_lists_it(run_dir: Path, tmp_path: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["spec"]["notes"] = "run on /home/alice/puma by alice@example.org"
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    with pytest.raises(CheckFailed, match=r"privacy scan found") as caught:
        prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l")
    assert "manifest.json:" in caught.value.message
    assert not list((tmp_path / "s").rglob("run-*")) and not list((tmp_path / "s").rglob(".run-*"))


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    mounted: list[Path] = []

    def make(size: str) -> Path:
        where = tmp_path / f"disk-{len(mounted)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"mounting is not permitted here ({done.stderr.strip()})")
        mounted.append(where)
        return where

    yield make
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_leaves_no_folder_at_all(
    run_dir: Path, tiny_disk: Callable[[str], Path], unscanned: None
) -> None:
    disk = tiny_disk("16k")  # four 4 KiB pages: the ledger alone needs four
    with pytest.raises(OutputWriteError, match=r"disk is full"):
        prepare_contributor_folder(run_dir, disk / "submissions", "ada-l")
    assert not list((disk / "submissions").rglob("*.json"))
    assert not list((disk / "submissions").rglob("*run-*"))


# --- validate: the folder that prepare wrote --------------------------------------------------


def test_validate_accepts_what_prepare_wrote(folder: Path) -> None:
    report = validate_contributor_folder(folder)
    assert (report.path.handle, report.path.device_tag, report.path.run_id) == (
        "ada-l",
        "epyc-24gb",
        RUN_ID,
    )
    assert (report.ledger_lines, report.seal, report.metadata_rows) == (17, "sealed", 1)


def test_validate_accepts_a_contributor_s_own_caveats_in_run_md(folder: Path) -> None:
    narrative = folder / "run.md"
    narrative.write_text(
        narrative.read_text().replace(
            "## Privacy attestation", "- The laptop ran on battery.\n\n## Privacy attestation"
        )
    )
    validate_contributor_folder(folder)


def test_validate_cli_says_valid_and_lists_its_checks(folder: Path) -> None:
    done = puma("submission", "validate", folder)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "metadata.json is what the ledger gives" in done.stdout


# --- validate: bad inputs, each named -----------------------------------------------------------


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("missing", CONTRIBUTOR_FILES)
def test_a_missing_file_does_not_verify(folder: Path, missing: str) -> None:
    (folder / missing).unlink()
    with pytest.raises(CheckFailed, match=f"missing {missing}"):
        validate_contributor_folder(folder)


@pytest.mark.parametrize("extra", ["notes.txt", "predictions.jsonl", ".DS_Store"])
def test_an_extra_file_does_not_verify(folder: Path, extra: str) -> None:
    (folder / extra).write_text("x")
    with pytest.raises(CheckFailed, match=f"do not belong: {extra}"):
        validate_contributor_folder(folder)


def test_a_folder_in_place_of_a_file_does_not_verify(folder: Path) -> None:
    (folder / "run.md").unlink()
    (folder / "run.md").mkdir()
    with pytest.raises(CheckFailed, match=r"not plain files: run.md"):
        validate_contributor_folder(folder)


@pytest.mark.parametrize(
    ("handle", "tag", "run"),
    [
        ("Ada", "epyc-24gb", f"run-{RUN_ID}"),
        ("ada-l", "epyc_24gb", f"run-{RUN_ID}"),
        ("ada-l", "epyc-24gb", RUN_ID),
        ("ada-l", "epyc-24gb", f"run-{RUN_ID.upper()}"),
        ("ada-l", "epyc-24gb", "run-latest"),
    ],
)
def test_a_path_off_the_convention_does_not_verify(
    folder: Path, tmp_path: Path, handle: str, tag: str, run: str
) -> None:
    moved = tmp_path / "elsewhere" / handle / tag / run
    shutil.copytree(folder, moved)
    with pytest.raises(CheckFailed, match=r"not a contributor folder path"):
        validate_contributor_folder(moved)


def test_a_folder_named_for_another_run_does_not_verify(folder: Path) -> None:
    moved = folder.parent / f"run-{OTHER_UUID}"
    folder.rename(moved)
    with pytest.raises(CheckFailed, match=f"named for run {OTHER_UUID}"):
        validate_contributor_folder(moved)


def test_an_edited_ledger_line_does_not_verify_and_is_named(folder: Path) -> None:
    ledger = folder / "run.jsonl"
    lines = ledger.read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace('"attempt":1', '"attempt":2')
    ledger.write_text("".join(lines))
    with pytest.raises(CheckFailed, match=r"hash chain is broken") as caught:
        validate_contributor_folder(folder)
    assert str(caught.value.where).endswith("run.jsonl:7")  # the next line no longer chains


def test_a_line_added_after_the_sealed_head_does_not_verify(folder: Path) -> None:
    ledger = folder / "run.jsonl"
    last = ledger.read_text().splitlines()[-1]
    with ledger.open("a") as handle:
        handle.write(last + "\n")
    with pytest.raises(CheckFailed, match=r"after the sealed head|hash chain is broken"):
        validate_contributor_folder(folder)


def test_an_edited_seal_does_not_verify(folder: Path) -> None:
    _edit_json(folder / "manifest.json", lambda m: m["ledger_seal"].update(head="0" * 64))
    with pytest.raises(CheckFailed, match=r"not the sealed head"):
        validate_contributor_folder(folder)


def test_a_removed_seal_does_not_verify(folder: Path) -> None:
    _edit_json(folder / "manifest.json", lambda m: m.update(ledger_seal=None))
    with pytest.raises(CheckFailed, match=r"unsealed"):
        validate_contributor_folder(folder)


def test_an_edited_metadata_figure_does_not_verify_and_is_named(folder: Path) -> None:
    def better(meta: dict[str, Any]) -> None:
        meta["aggregates"][0]["quality"]["value"]["point"] = 0.9

    _edit_json(folder / "metadata.json", better)
    with pytest.raises(CheckFailed, match=r"aggregates\[0\]\.quality\.value\.point .* 0\.9"):
        validate_contributor_folder(folder)


def test_metadata_of_another_device_tag_does_not_verify(folder: Path) -> None:
    moved = folder.parents[1] / "other-tag" / folder.name
    moved.parent.mkdir()
    folder.rename(moved)
    with pytest.raises(CheckFailed, match=r"cell_id|device_tag"):
        validate_contributor_folder(moved)


@pytest.mark.parametrize("name", ["manifest.json", "hardware.json", "metadata.json"])
def test_bad_json_is_unreadable(folder: Path, name: str) -> None:
    (folder / name).write_text('{"schema_version": ')
    with pytest.raises(InputFileError, match=r"invalid JSON"):
        validate_contributor_folder(folder)


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("manifest.json", "manifest-9.0"),
        ("hardware.json", "hardware-0.1"),
        ("metadata.json", "metadata-2.0"),
    ],
)
def test_another_schema_version_is_unreadable(folder: Path, name: str, version: str) -> None:
    _edit_json(folder / name, lambda d: d.update(schema_version=version))
    with pytest.raises(InputFileError, match=r"schema_version"):
        validate_contributor_folder(folder)


def test_a_hardware_field_of_the_wrong_type_is_unreadable_and_named(folder: Path) -> None:
    _edit_json(folder / "hardware.json", lambda d: d.update(python=3.11))
    with pytest.raises(InputFileError, match=r"hardware.json: python"):
        validate_contributor_folder(folder)


def test_run_md_without_a_section_does_not_verify(folder: Path) -> None:
    narrative = folder / "run.md"
    narrative.write_text(narrative.read_text().replace("## Privacy attestation", "## Privacy"))
    with pytest.raises(CheckFailed, match=r"Privacy attestation"):
        validate_contributor_folder(folder)


def test_run_md_that_is_not_utf8_is_unreadable(folder: Path) -> None:
    (folder / "run.md").write_bytes(b"# Run\n\xff\xfe\n")
    with pytest.raises(InputFileError, match=r"not UTF-8"):
        validate_contributor_folder(folder)


def test_no_such_folder_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"no such folder"):
        validate_contributor_folder(tmp_path / "ada-l" / "x" / f"run-{RUN_ID}")


def test_validate_cli_exit_codes_name_what_fails(folder: Path, tmp_path: Path) -> None:
    (folder / "notes.txt").write_text("x")
    failed = puma("submission", "validate", folder)
    assert failed.returncode == 1 and "notes.txt" in failed.stderr
    (folder / "notes.txt").unlink()
    (folder / "manifest.json").write_text("{")
    unreadable = puma("submission", "validate", folder)
    assert unreadable.returncode == 2 and "manifest.json" in unreadable.stderr
    assert puma("submission", "validate", tmp_path / "nowhere").returncode == 2


def test_prepare_cli_refuses_a_bad_handle_with_exit_2(run_dir: Path, tmp_path: Path) -> None:
    done = puma("submission", "prepare", run_dir, "--handle", "Ada Lovelace", "--root", tmp_path)
    assert done.returncode == 2 and "handle 'Ada Lovelace' is not allowed" in done.stderr


def test_prepare_cli_writes_the_folder_and_says_what_comes_next(
    run_dir: Path, tmp_path: Path
) -> None:
    done = puma("submission", "prepare", run_dir, "--handle", "ada-l", "--root", tmp_path / "s")
    assert done.returncode == 0, done.stderr
    assert "prepared" in done.stdout and "puma publish" in done.stdout
    assert len(list((tmp_path / "s" / "ada-l").glob(f"*/run-{RUN_ID}/run.md"))) == 1


def test_prepare_blanks_the_host_name_and_the_spec_folder_that_the_scan_would_refuse(
    run_dir: Path, tmp_path: Path
) -> None:
    """On a real machine the manifest names the host and a home path: prepare does not refuse
    the run for them; it writes them blank, and validate accepts exactly that."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["hostname"] = "alice-workstation"
    manifest["spec_path"] = "/home/alice/puma/specs/mine.yaml"
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    made = prepare_contributor_folder(run_dir, tmp_path / "s", "ada-l", "epyc-24gb")
    text = (made / "manifest.json").read_text()
    assert "alice" not in text and '"spec_path": "mine.yaml"' in text
    assert "`hostname` (empty)" in (made / "run.md").read_text()
    assert validate_contributor_folder(made).path.device_tag == "epyc-24gb"


@pytest.mark.parametrize(
    ("field", "value"), [("hostname", "alice-workstation"), ("spec_path", "specs/x.yaml")]
)
def test_validate_refuses_a_manifest_that_names_the_machine(
    folder: Path, field: str, value: str
) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[field] = value
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with pytest.raises(CheckFailed, match=f"names this machine \\({field}\\)"):
        validate_contributor_folder(folder)


def test_validate_refuses_any_other_edit_of_the_manifest(folder: Path) -> None:
    path = folder / "manifest.json"
    path.write_text(path.read_text().replace('\n  "', '\n   "', 1))  # one more space
    with pytest.raises(CheckFailed, match="not as `prepare` writes it"):
        validate_contributor_folder(folder)


def test_prepare_validate_and_catalogue_agree_on_the_folder(run_dir: Path, tmp_path: Path) -> None:
    """The same inputs everywhere: the device tag is the folder's parent, metadata.json is
    recomputed the same way, and the catalogue shows the run with no disagreement flag."""
    from puma.catalogue import build_catalogue

    root = tmp_path / "submissions"
    made = prepare_contributor_folder(run_dir, root, "ada-l", "epyc-24gb")
    validate_contributor_folder(made)
    assert (made / "metadata.json").read_bytes() == metadata_bytes(
        aggregate_run(made, device_tag=made.parent.name)
    )
    import pyarrow.parquet as pq

    summary = build_catalogue(root, tmp_path / "site")
    assert (summary.runs, summary.broken) == (1, [])
    (run,) = pq.read_table(tmp_path / "site" / "data" / "runs.parquet").to_pylist()
    assert run["run_id"] == RUN_ID
    assert json.loads(run["flags"]) == []  # no "metadata.json disagrees", nothing else
    assert "epyc-24gb/embedded-default" in (tmp_path / "site" / "index.html").read_text()


def test_redacting_a_contributor_folder_records_beside_it_and_it_still_validates(
    folder: Path,
) -> None:
    """`submission scan --redact` on a contributor folder: the record goes beside the folder
    (it holds exactly five files), so validate still passes."""
    from puma.submission.privacy import redact_folder

    report = redact_folder(folder)
    assert report.record == folder.parent / f"{folder.name}.redactions.json"
    assert sorted(p.name for p in folder.iterdir()) == sorted(CONTRIBUTOR_FILES)
    validate_contributor_folder(folder)


def test_a_folder_with_none_of_the_five_files_is_bad_input_not_a_failed_check(
    tmp_path: Path,
) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "0f7c2a9e.json").write_text("{}")
    with pytest.raises(InputFileError, match="not a contributor folder"):
        validate_contributor_folder(package)
