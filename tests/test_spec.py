"""Run specs: the shipped specs validate, and every mistake names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from puma.errors import ExitCode, SpecError
from puma.spec import load_spec, parse_spec

GOOD = """\
name: demo
runtime:
  kind: embedded
suites:
  - id: pm-triage
    limit: 15
strategy: few-shot-3
generation:
  temperature: 0
  seed: 42
  max_tokens: 16
"""


@pytest.mark.parametrize("name", ["demo_publication", "baseline_triage", "baseline_estimation"])
def test_shipped_specs_are_valid(repo_root: Path, name: str) -> None:
    spec = load_spec(repo_root / "specs" / "runs" / f"{name}.yaml")
    assert spec.runtime.kind == "embedded"
    assert spec.suites


def test_demo_spec_keeps_the_documented_key_names(repo_root: Path) -> None:
    spec = load_spec(repo_root / "specs" / "runs" / "demo_publication.yaml")
    assert spec.name == "demo-publication"
    assert spec.suites[0].id == "pm-triage" and spec.suites[0].limit == 15
    assert spec.strategy == "few-shot-3"
    assert (spec.generation.temperature, spec.generation.seed) == (0, 42)
    assert spec.generation.max_tokens == 16
    assert (spec.repetitions, spec.concurrency, spec.output) == (1, 1, "runs")
    assert (spec.submitter, spec.device_tag) == ("anonymous", "auto")


def test_wrong_type_names_file_line_and_field_path() -> None:
    text = GOOD.replace("limit: 15", 'limit: "ten"')
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="specs/x.yaml")
    assert str(caught.value) == 'specs/x.yaml:6: suites[0].limit: expected an integer, got "ten"'
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_unknown_key_is_an_error_at_its_line() -> None:
    text = GOOD.replace("  seed: 42", "  seed: 42\n  temprature: 0.5")
    with pytest.raises(SpecError, match=r"^<spec>:11: generation.temprature: unknown key"):
        parse_spec(text)


def test_unknown_strategy_is_explained() -> None:
    with pytest.raises(SpecError, match=r":7: strategy: expected zero-shot, few-shot-K"):
        parse_spec(GOOD.replace("few-shot-3", "many-shot"))


def test_missing_required_key() -> None:
    with pytest.raises(SpecError, match=r"suites: required key is missing"):
        parse_spec("name: x\n")


def test_server_runtime_needs_a_model() -> None:
    text = GOOD.replace("kind: embedded", "kind: ollama")
    with pytest.raises(SpecError, match=r":2: runtime: runtime kind 'ollama' needs 'model'"):
        parse_spec(text)


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(SpecError, match=r"^s.yaml:3: not valid YAML: mapping values"):
        parse_spec("name: x\nsuites:\n  - id: a: b\n", source="s.yaml")


def test_missing_file() -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(Path("/nonexistent/spec.yaml"))


def test_spec_hash_is_stable_and_sensitive() -> None:
    a, b = parse_spec(GOOD), parse_spec(GOOD)
    assert a.content_hash() == b.content_hash()
    assert parse_spec(GOOD.replace("seed: 42", "seed: 7")).content_hash() != a.content_hash()
