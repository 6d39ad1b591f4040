"""JSON messages name the column once: Python ends some messages with "at" ("Unterminated string
starting at"), which a naive "at column N" suffix turned into "starting at at column"."""

from __future__ import annotations

from pathlib import Path

import pytest

from puma.errors import InputFileError
from puma.jsonio import read_json
from puma.runtimes.base import RuntimeCallError
from puma.runtimes.http import parse_json


def test_an_unterminated_string_is_named_once_with_its_column(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": "x')
    with pytest.raises(InputFileError) as caught:
        read_json(path)
    assert caught.value.message == "invalid JSON: Unterminated string starting at column 7"


def test_a_server_body_with_a_control_character_says_at_column_once() -> None:
    with pytest.raises(RuntimeCallError) as caught:
        parse_json('{"a": "x\x01"}', what="the server")
    assert "Invalid control character at column 9" in str(caught.value)
    assert "at at" not in str(caught.value)
