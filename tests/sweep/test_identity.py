"""A shard's identity is a hash of what determines its predictions: the same inputs give the
same identity; anything that changes predictions, even max_tokens, gives another."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sweep_files import WriteSweep, sweep_document

from puma.errors import SpecError
from puma.sweep.plan import plan_sweep


def _identities(tmp_path: Path, file_name: str, **options: object) -> set[str]:
    path = tmp_path / file_name
    path.write_text(yaml.safe_dump(sweep_document(tmp_path, **options)), encoding="utf-8")  # type: ignore[arg-type]
    return {s.identity for s in plan_sweep(path).shards}


def test_the_same_sweep_gives_the_same_identities(write_sweep: WriteSweep) -> None:
    path = write_sweep()
    assert [s.identity for s in plan_sweep(path).shards] == [
        s.identity for s in plan_sweep(path).shards
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"configurations": [{"name": "default", "generation": {"max_tokens": 5}}]},
        {"configurations": [{"name": "default", "generation": {"top_k": 1}}]},
        {"configurations": [{"name": "default", "strategy": "few-shot-3"}]},
        {"configurations": [{"name": "default", "perturbations": ["typos"]}]},
        {"limit": 4},
        {"seeds": [3, 4]},
    ],
)
def test_anything_that_changes_predictions_is_a_new_shard(
    tmp_path: Path, change: dict[str, object]
) -> None:
    before = _identities(tmp_path, "before.yaml")
    after = _identities(tmp_path, "after.yaml", **change)
    assert not before & after


def test_names_and_paths_are_not_part_of_the_identity(tmp_path: Path) -> None:
    before = _identities(tmp_path, "before.yaml")
    renamed = [
        {
            "name": "other",
            "family": "fam",
            "runtime": {"kind": "embedded", "model": "embedded-default"},
        }
    ]
    after = _identities(tmp_path, "after.yaml", models=renamed, name="renamed-sweep")
    assert before == after


def test_other_model_bytes_are_another_shard(tmp_path: Path, embedded_model_path: Path) -> None:
    copy = tmp_path / "model.gguf"
    shutil.copyfile(embedded_model_path, copy)
    same = _identities(
        tmp_path,
        "a.yaml",
        models=[{"name": "m", "runtime": {"kind": "embedded", "model": str(copy)}}],
    )
    with copy.open("r+b") as handle:  # one byte of the weights
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 1]))
    changed = _identities(
        tmp_path,
        "b.yaml",
        models=[{"name": "m", "runtime": {"kind": "embedded", "model": str(copy)}}],
    )
    assert not same & changed


def test_two_entries_that_differ_only_in_name_are_refused(tmp_path: Path) -> None:
    document = sweep_document(tmp_path, configurations=[{"name": "a"}, {"name": "b"}])
    path = tmp_path / "twins.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(SpecError, match="would make the same predictions"):
        plan_sweep(path)
