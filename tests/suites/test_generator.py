"""scripts/make_suites.py is deterministic and the committed data is exactly what it generates."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from puma.suites.bundled import DATA_DIR, ITEMS_NAME

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_suites.py"
SOURCES = SCRIPT.parent / "suite_sources"


def generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_committed_data_matches_a_fresh_generation(tmp_path: Path) -> None:
    result = generate(tmp_path)
    assert result.returncode == 0, result.stderr
    fresh = tree_bytes(tmp_path)
    assert len(fresh) == 25  # five suites x five files
    assert fresh == tree_bytes(DATA_DIR), "regenerate with: python scripts/make_suites.py"


def test_two_generations_give_identical_bytes(tmp_path: Path) -> None:
    assert generate(tmp_path / "one").returncode == 0
    assert generate(tmp_path / "two").returncode == 0
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")


def test_check_mode_reports_a_modified_file_and_exits_1(tmp_path: Path) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "data")
    assert generate(tmp_path / "data", "--check").returncode == 0
    target = tmp_path / "data" / "pm-triage" / ITEMS_NAME
    target.write_bytes(target.read_bytes() + b"\n")
    result = generate(tmp_path / "data", "--check")
    assert result.returncode == 1
    assert str(target) in result.stderr


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_template_keys_unknown_or_missing_are_refused_naming_file_and_key(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    edit_yaml(sources / "triage_templates.yaml", lambda t: t["Critical"][0].update(severity="high"))
    edit_yaml(sources / "triage_templates.yaml", lambda t: t["Major"][1].pop("titles"))

    result = generate(tmp_path / "out", "--sources", str(sources))

    assert result.returncode == 2
    assert f"{sources / 'triage_templates.yaml'}:" in result.stderr
    assert "Critical[0].severity: unknown key" in result.stderr
    assert "Major[1].titles: missing key" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "quoted", "unquoted", "message"),
    [
        # YAML 1.1 reads 11:03 as the sexagesimal number 663: quoting matters.
        (
            "vocabulary.yaml",
            "  - '11:03'\n",
            "  - 11:03\n",
            "times[3]: Input should be a valid string (found 663; quote it)",
        ),
        (
            "exceptions.yaml",
            "'null':",
            "null:",
            "java.None (the key): Input should be a valid string",
        ),
    ],
)
def test_a_value_yaml_reads_as_another_type_is_refused(
    tmp_path: Path, name: str, quoted: str, unquoted: str, message: str
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    text = (sources / name).read_text(encoding="utf-8")
    assert quoted in text
    (sources / name).write_text(text.replace(quoted, unquoted, 1), encoding="utf-8")

    result = generate(tmp_path / "out", "--sources", str(sources))

    assert result.returncode == 2
    assert f"{sources / name}:" in result.stderr
    assert message in result.stderr
