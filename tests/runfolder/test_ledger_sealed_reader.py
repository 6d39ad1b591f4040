"""read_sealed_ledger: the one-pass reader gives what judge_ledger + read_ledger give for a sealed
ledger, and None (leaving the verdict to judge_ledger) for anything else."""

from __future__ import annotations

import shutil
from pathlib import Path

from puma.runfolder import RunFolder
from puma.runfolder.ledger import judge_ledger, read_ledger, read_sealed_ledger
from puma.runfolder.manifest import Manifest

DEMO = Path(__file__).parents[1] / "fixtures" / "demo-run"


def _copy(tmp_path: Path) -> tuple[Path, Manifest]:
    folder = tmp_path / "run"
    shutil.copytree(DEMO, folder)
    return folder / "run.jsonl", Manifest.load(RunFolder(folder))


def test_a_sealed_ledger_reads_as_the_full_check_reads_it(tmp_path: Path) -> None:
    ledger, manifest = _copy(tmp_path)
    assert judge_ledger(ledger, manifest.ledger_seal).state == "sealed"
    assert read_sealed_ledger(ledger, manifest.ledger_seal) == read_ledger(ledger).events


def test_anything_but_a_clean_sealed_ledger_is_left_to_the_full_check(tmp_path: Path) -> None:
    ledger, manifest = _copy(tmp_path)
    assert read_sealed_ledger(ledger, None) is None
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join(lines[:-1]))  # the footer cut off
    assert read_sealed_ledger(ledger, manifest.ledger_seal) is None
    ledger.write_bytes(b"".join(lines).replace(b'"Critical"', b'"Minor"', 1))  # an edit
    assert read_sealed_ledger(ledger, manifest.ledger_seal) is None
    ledger.write_bytes(b"".join(lines)[:-1])  # a partial last line
    assert read_sealed_ledger(ledger, manifest.ledger_seal) is None
