"""overlay.yaml: a maintainer's redactions, read strictly (a redaction silently ignored would
publish what was meant to be hidden)."""

from __future__ import annotations

from pathlib import Path

import pytest

from puma.catalogue.overlay import read_overlay
from puma.errors import InputFileError

RUN = "0f7c2a9e-3b1d-4c55-9a61-2f5e8d7c1b40"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "overlay.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_no_overlay_hides_nothing(tmp_path: Path) -> None:
    assert read_overlay(tmp_path) == {}
    assert read_overlay(write(tmp_path, "")) == {}


def test_an_entry_names_the_run_its_visibility_and_the_reason(tmp_path: Path) -> None:
    overlay = read_overlay(
        write(tmp_path, f"- run_id: {RUN}\n  visibility: redacted\n  reason: host name leaked\n")
    )
    assert overlay[RUN].visibility == "redacted" and overlay[RUN].reason == "host name leaked"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run_id: x\n", "must be a list"),
        (f"- {{run_id: {RUN}, visibility: hidden, reason: r}}\n", "entry 1: visibility"),
        (f"- {{run_id: {RUN}, visibility: redacted}}\n", "entry 1: reason"),
        (f"- {{run_id: {RUN}, visibility: redacted, reason: '  '}}\n", "reason is empty"),
        (f"- {{run_id: {RUN}, visibility: redacted, reason: r, by: me}}\n", "entry 1: by"),
        (
            f"- {{run_id: {RUN}, visibility: redacted, reason: r}}\n"
            f"- {{run_id: {RUN}, visibility: public, reason: r}}\n",
            "listed twice",
        ),
        ("- [unclosed\n", "not YAML"),
    ],
)
def test_a_malformed_overlay_stops_the_build(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_overlay(write(tmp_path, text))
