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


def test_the_one_json_lines_reader_reads_lines_as_python_text_mode_does(tmp_path: Path) -> None:
    from puma.jsonio import iter_jsonl

    path = tmp_path / "x.jsonl"
    # CR alone, CR LF, a blank line, blanks around a row (a no-break space too), as PUMA 4.0 reads
    path.write_text('{"a": 1}\r{"a": 2}\r\n\n  {"a": 3}\u00a0\n', encoding="utf-8", newline="")
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (2, {"a": 2}), (4, {"a": 3})]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"a": ', "x.jsonl:2: truncated line (the file ends mid-row)"),
        (b'{"a": 1}\n[1]\n', "x.jsonl:2: expected a JSON object, got list"),
        (b"\xef\xbb\xbf{}\n", "x.jsonl:1: starts with a byte-order mark (BOM)"),
        (b'{"a": 1}\rnope\n', "x.jsonl:2: not valid JSON: Expecting value at column 1"),
    ],
)
def test_the_one_json_lines_reader_names_the_file_and_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    from puma.jsonio import iter_jsonl

    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as caught:
        list(iter_jsonl(path))
    assert message in str(caught.value)
