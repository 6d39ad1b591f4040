"""Sweep files: the matrix expands into shards; every mistake is located file:line: field, as in
run specs; `puma sweep plan` prints the shards without running anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sweep_files import WriteSweep, sweep_document
from typer.testing import CliRunner

from puma.cli.app import app
from puma.errors import SpecError
from puma.sweep.model import load_sweep
from puma.sweep.plan import plan_sweep


def test_the_matrix_expands_into_one_shard_per_model_configuration_seed_and_suite(
    write_sweep: WriteSweep, tmp_path: Path
) -> None:
    path = write_sweep(
        seeds=[1, 2, 3],
        configurations=[{"name": "short"}, {"name": "long", "generation": {"max_tokens": 9}}],
    )
    plan = plan_sweep(path)
    assert len(plan.shards) == 6
    assert {(s.configuration, s.seed) for s in plan.shards} == {
        (c, seed) for c in ("short", "long") for seed in (1, 2, 3)
    }
    shard = next(s for s in plan.shards if s.configuration == "long" and s.seed == 2)
    assert shard.spec["generation"]["max_tokens"] == 9 and shard.spec["generation"]["seed"] == 2
    assert shard.local_folder == tmp_path / "out/gemma/long/seed-2/pm-triage"
    assert shard.remote_root == f"{tmp_path}/workers/{shard.short}"


def test_every_sweep_file_of_the_repository_plans(repo_root: Path) -> None:
    files = sorted((repo_root / "specs" / "sweeps").glob("*.yaml"))
    assert files
    for path in files:
        assert plan_sweep(path).shards


def _problem(tmp_path: Path, document: dict[str, object]) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_sweep(path)
    return str(caught.value)


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda d: d["artifacts"][0].update(local_path="out/{modle}/manifest.json"),
            "artifacts[0].local_path",
            "unknown placeholder {modle}",
        ),
        (
            lambda d: d["artifacts"][0].update(remote_path="../manifest.json"),
            "artifacts[0].remote_path",
            "inside the shard's run folder",
        ),
        (
            lambda d: d["artifacts"].pop(3),
            "artifacts",
            "missing: predictions_full.parquet",
        ),
        (
            lambda d: d["matrix"].update(seeds=[1, 1]),
            "matrix.seeds",
            "seed 1 is listed twice",
        ),
        (
            lambda d: d["matrix"]["seeds"].append(2**32),
            "matrix.seeds[2]",
            "must be ≤",
        ),
        (
            lambda d: d["matrix"]["models"][0]["runtime"].update(temperature=0),
            "matrix.models[0].runtime.temperature",
            "unknown key",
        ),
        (
            lambda d: d["template"].update(strategy="mind-reading"),
            "template.strategy",
            "expected",
        ),
        (
            lambda d: d["environment"].update(python="three"),
            "environment.python",
            "expected",
        ),
        (
            lambda d: d.update(worker={"entry": "not a function"}),
            "worker.entry",
            "expected",
        ),
    ],
)
def test_a_mistake_is_located_by_file_line_and_field(
    tmp_path: Path, change: object, field: str, message: str
) -> None:
    document = sweep_document(tmp_path)
    change(document)  # type: ignore[operator]
    text = _problem(tmp_path, document)
    assert "bad.yaml:" in text and f": {field}: " in text and message in text, text


def test_the_line_is_the_line_of_the_field(tmp_path: Path) -> None:
    document = sweep_document(tmp_path)
    document["matrix"]["seeds"] = [1, "two"]  # type: ignore[index]
    text = _problem(tmp_path, document)
    path = tmp_path / "bad.yaml"
    assert f"bad.yaml:{_line_of(path, '- two')}: matrix.seeds[1]: expected an integer" in text


def test_a_server_model_needs_its_digest_and_version(tmp_path: Path) -> None:
    document = sweep_document(
        tmp_path,
        models=[{"name": "qwen", "runtime": {"kind": "ollama", "model": "qwen2.5:3b"}}],
    )
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(SpecError, match=r"matrix\.models\[0\]: a server's model needs 'digest'"):
        plan_sweep(path)


def test_a_missing_model_file_is_located_at_its_model(tmp_path: Path) -> None:
    document = sweep_document(
        tmp_path, models=[{"name": "ghost", "runtime": {"kind": "embedded", "model": "/no.gguf"}}]
    )
    path = tmp_path / "ghost.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(SpecError, match=r"matrix\.models\[0\]\.runtime\.model: model file not"):
        plan_sweep(path)


def test_two_shards_may_not_arrive_in_one_folder(tmp_path: Path) -> None:
    document = sweep_document(tmp_path)
    for artifact in document["artifacts"]:  # type: ignore[union-attr]
        artifact["local_path"] = f"{tmp_path}/out/{{model}}/{artifact['remote_path']}"
    path = tmp_path / "clash.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(SpecError, match="would both arrive in"):
        plan_sweep(path)


def test_plan_prints_the_shards_and_what_each_hands_back_without_running(
    write_sweep: WriteSweep, tmp_path: Path
) -> None:
    path = write_sweep()
    result = CliRunner().invoke(app, ["sweep", "plan", str(path)])
    assert result.exit_code == 0, result.output
    for shard in plan_sweep(path).shards:
        assert shard.short in result.output
    assert "2 shard(s)" in result.output and "predictions_full.parquet" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "workers").exists()
