"""The predictions hash: PUMA 4.0's rendering rules, the project's test vectors, streaming a file
in bounded memory, and what a broken file gets told (test_puma4_corpus.py holds the corpus of
files PUMA 4.0 reads and those it cannot)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puma import integrity, jsonio
from puma.errors import InputFileError
from puma.integrity import (
    first_difference,
    hash_predictions_file,
    normalize_declared_hash,
    predictions_summary_hash,
    render_cell,
    rendered_row_digests,
    verify_predictions_hash,
)

# The project's own copy, with where the vectors came from (its "provenance" field).
VECTORS = Path(__file__).with_name("vectors") / "predictions_hash.json"


def write_jsonl(path: Path, rows: list[dict[str, Any]], *, trailing_newline: bool = True) -> Path:
    text = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text(text + ("\n" if trailing_newline else ""), encoding="utf-8")
    return path


def row(instance_id: Any, label: Any = "Major", value: Any = 0.5, ph: Any = "abcdef0123456789"):
    return {
        "instance_id": instance_id,
        "predicted_label": label,
        "predicted_value": value,
        "prompt_hash": ph,
    }


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the test vectors --------------------------------------------------------------------------


def load_vectors() -> list[dict[str, Any]]:
    return list(json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"])


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["name"])
def test_every_vector_hashes_to_its_expected_digest_in_memory(vector: dict[str, Any]):
    assert predictions_summary_hash(vector["rows"]) == vector["sha256"]


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["name"])
def test_every_vector_hashes_to_its_expected_digest_from_a_file(
    vector: dict[str, Any], tmp_path: Path
):
    path = write_jsonl(tmp_path / "p.jsonl", vector["rows"])
    assert hash_predictions_file(path).sha256 == vector["sha256"]


def test_the_vectors_are_there_to_be_tested_and_say_where_they_came_from():
    assert len(load_vectors()) >= 3
    assert "PUMA 4.0" in json.loads(VECTORS.read_text(encoding="utf-8"))["provenance"]


# --- the rendering rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (0.1, "0.100000"),
        (0.8123456789, "0.812346"),
        (5.0, "5.000000"),
        (1e-7, "0.000000"),
        (5, "5"),
        (-3, "-3"),
        ("5.0", "5.0"),
        ("Major", "Major"),
        ("", ""),
        (True, "True"),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("line\nbreak", '"line\nbreak"'),
        ("carriage\rreturn", '"carriage\rreturn"'),
        ("naïve ✓", "naïve ✓"),
    ],
)
def test_a_cell_is_rendered_as_puma_4_renders_it(value: Any, cell: str):
    assert render_cell(value) == cell


def test_a_lone_carriage_return_is_quoted_whatever_the_python_version():
    # Python 3.11's csv module would leave it bare, 3.13's quotes it: we always quote.
    rows = [row("A", label="x\ry")]
    assert predictions_summary_hash(rows) == sha('A,"x\ry",0.500000,abcdef0123456789')


def test_rows_are_joined_by_lf_with_no_trailing_newline_and_sorted_by_str_id():
    rows = [row("b", value=None), row("a", value=3), row(10, label=None)]
    expected = "\n".join(
        ["10,,0.500000,abcdef0123456789", "a,Major,3,abcdef0123456789", "b,Major,,abcdef0123456789"]
    )
    assert predictions_summary_hash(rows) == sha(expected)


def test_a_nested_value_is_rendered_as_puma_4_renders_it_with_str():
    assert render_cell({"a": 1}) == "{'a': 1}"
    assert render_cell(["x", "y"]) == "\"['x', 'y']\""
    with pytest.raises(TypeError):
        render_cell(object())


# --- properties --------------------------------------------------------------------------------

cells = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)


@st.composite
def prediction_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=30, unique=True))
    return [
        {
            "instance_id": instance_id,
            "predicted_label": draw(st.one_of(st.none(), st.text(max_size=10))),
            "predicted_value": draw(
                st.one_of(st.none(), st.floats(0, 1, allow_nan=False), st.integers(0, 100))
            ),
            "prompt_hash": draw(st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)),
        }
        for instance_id in ids
    ]


@settings(deadline=None)  # the machine may be busy; the property, not the speed, is tested
@given(rows=prediction_rows(), seed=st.integers())
def test_reordering_rows_never_changes_the_hash(rows: list[dict[str, Any]], seed: int):
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    assert predictions_summary_hash(shuffled) == predictions_summary_hash(rows)


@settings(deadline=None)
@given(rows=prediction_rows(), data=st.data())
def test_changing_any_predicted_value_changes_the_hash(rows: list[dict[str, Any]], data: Any):
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(["predicted_label", "predicted_value"]))
    new = data.draw(cells.filter(lambda v: render_cell(v) != render_cell(rows[index][column])))
    changed = [dict(r) for r in rows]
    changed[index][column] = new
    assert predictions_summary_hash(changed) != predictions_summary_hash(rows)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=prediction_rows(), seed=st.integers())
def test_a_file_in_any_order_hashes_like_the_rows_in_memory(
    rows: list[dict[str, Any]], seed: int, tmp_path: Path
):
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    path = write_jsonl(tmp_path / f"p{seed}.jsonl", shuffled)
    assert hash_predictions_file(path).sha256 == predictions_summary_hash(rows)


# --- streaming a file --------------------------------------------------------------------------


def test_a_sorted_file_streams_once_and_says_it_was_in_order(tmp_path: Path):
    rows = [row(f"ID-{i:05d}", value=i / 7) for i in range(5000)]
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert (digest.sha256, digest.n_rows, digest.in_order) == (
        predictions_summary_hash(rows),
        5000,
        True,
    )


def test_an_unsorted_file_is_sorted_and_hashes_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(jsonio, "BLOCK_BYTES", 4096)  # read in many blocks
    rows = [row(f"ID-{i:05d}", value=i / 3) for i in range(1000)]
    shuffled = list(rows)
    random.Random(5).shuffle(shuffled)
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", shuffled))
    assert digest.sha256 == predictions_summary_hash(rows)
    assert digest.in_order is False


def test_small_blocks_give_the_same_hash_as_one_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    rows = [row(f"ID-{i:04d}", label=f"l{i % 5}", value=i * 0.37) for i in range(800)]
    path = write_jsonl(tmp_path / "p.jsonl", rows, trailing_newline=False)
    whole = hash_predictions_file(path).sha256
    monkeypatch.setattr(jsonio, "BLOCK_BYTES", 97)
    assert hash_predictions_file(path).sha256 == whole == predictions_summary_hash(rows)


def test_escaped_strings_blank_lines_crlf_and_extra_keys_are_read_like_puma_reads_them(
    tmp_path: Path,
):
    rows = [
        row("a", label='quote " and \\ backslash'),
        row("b", label="tab\there", value=None),
        row("c", label="{brace} [bracket]"),
        {**row("d", label="é ✓ 日本"), "suite_id": "pm-triage", "model": "m"},
    ]
    text = "\r\n".join(json.dumps(r) for r in rows[:2]) + "\r\n\n  \n"
    text += "\n".join(json.dumps(r, ensure_ascii=False) for r in rows[2:])
    path = tmp_path / "p.jsonl"
    path.write_bytes(text.encode("utf-8"))
    assert hash_predictions_file(path).sha256 == predictions_summary_hash(rows)


@pytest.mark.parametrize(
    "lines",
    [
        # Each line alone is not one JSON object, but joined with commas they would parse as
        # one object per line: the fast path must not be fooled.
        ['{"a":1,"x":[', "2]}", '{"y":1},{"z":2}'],
        ['{"a":"}","b":1', '"c":"{"}', '{"p":1},{"q":2}'],
        ['{"a":"x', 'y"}'],
    ],
)
def test_lines_that_only_parse_when_joined_are_refused(tmp_path: Path, lines: list[str]):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError):
        hash_predictions_file(path)


# --- what a broken file is told ----------------------------------------------------------------


def error_for(path: Path) -> str:
    with pytest.raises(InputFileError) as caught:
        hash_predictions_file(path)
    return str(caught.value)


def test_a_truncated_last_line_is_called_truncated_with_its_line_number(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    good = "\n".join(json.dumps(row(f"r{i}")) for i in range(3))
    path.write_text(good + '\n{"instance_id":"r3","predicted_la', encoding="utf-8")
    message = error_for(path)
    assert "p.jsonl:4" in message and "truncated" in message


def test_a_line_that_is_not_json_names_its_line(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row("a")) + "\nthis is not json\n", encoding="utf-8")
    message = error_for(path)
    assert "p.jsonl:2" in message and "not valid JSON" in message


def test_a_non_utf8_byte_names_its_line_and_byte(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(json.dumps(row("a")).encode() + b'\n{"instance_id":"b\xff"}\n')
    message = error_for(path)
    assert "p.jsonl:2" in message and "0xff" in message


def test_rows_sharing_an_id_are_hashed_in_file_order_and_both_lines_are_named(tmp_path: Path):
    rows = [row("a"), row("b"), row("a", label="Minor")]
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert digest.sha256 == predictions_summary_hash(rows)  # a stable sort keeps file order
    assert digest.sha256 != predictions_summary_hash([rows[2], rows[1], rows[0]])
    (warning,) = digest.warnings
    assert "p.jsonl: 1 row(s) repeat" in warning and "'a', lines 1 and 3" in warning


def test_rows_sharing_an_id_in_a_sorted_file_stream_once(tmp_path: Path):
    rows = [row("a"), row("b"), row("b", label="Minor")]
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert digest.in_order and "'b', lines 2 and 3" in digest.warnings[0]


def test_rows_sharing_an_id_in_an_unsorted_file_keep_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(jsonio, "BLOCK_BYTES", 4096)
    rows = [row(f"ID-{i % 7}", label=f"L{i}") for i in range(400)]
    rows.reverse()
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert digest.sha256 == predictions_summary_hash(rows) and not digest.in_order
    assert "393 row(s) repeat" in digest.warnings[0]


def test_a_row_without_a_column_is_hashed_as_null_and_says_which(tmp_path: Path):
    rows = [row("a"), {"instance_id": "b", "predicted_label": "x"}]
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", rows))
    assert digest.sha256 == predictions_summary_hash(rows)
    assert "line 2, no predicted_value, prompt_hash" in digest.warnings[0]


def test_a_row_that_is_not_an_object_is_refused(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row("a")) + "\n" + json.dumps([1, 2, 3]) + "\n", encoding="utf-8")
    message = error_for(path)
    assert "JSON object" in message and "p.jsonl:2" in message


def test_a_file_of_blank_lines_hashes_as_no_bytes_and_says_so(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    digest = hash_predictions_file(path)
    assert (digest.sha256, digest.n_rows) == (sha(""), 0)
    assert "holds no prediction rows" in digest.warnings[0]


def test_a_last_line_that_is_whole_but_wrong_is_not_called_truncated(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row("a")) + "\nnot json", encoding="utf-8")
    message = error_for(path)
    assert "p.jsonl:2" in message and "not valid JSON" in message


def test_a_missing_file_cannot_be_read(tmp_path: Path):
    assert "cannot read" in error_for(tmp_path / "absent.jsonl")


def test_a_giant_line_is_refused_without_reading_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(jsonio, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(jsonio, "BLOCK_BYTES", 4096)
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row("a")) + "\n" + "x" * 50_000, encoding="utf-8")
    message = error_for(path)
    assert "longer than" in message and "p.jsonl:2" in message


def test_a_lone_surrogate_is_refused_rather_than_crashing(tmp_path: Path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"instance_id":"a","predicted_label":"\\ud800","predicted_value":null,'
        '"prompt_hash":null}\n',
        encoding="utf-8",
    )
    assert "surrogate" in error_for(path)


# --- comparing hashes --------------------------------------------------------------------------


def test_a_declared_hash_may_carry_blanks_a_sha256_prefix_and_upper_case():
    digest = "ab" * 32
    assert normalize_declared_hash(f"sha256:{digest.upper()}", where="x") == digest
    assert normalize_declared_hash(f"  SHA256:{digest} ", where="x") == digest


@pytest.mark.parametrize("bad", [None, "", "abc", "zz" * 32, 42, "sha256:" + "ab" * 31])
def test_a_declared_hash_that_is_not_64_hex_is_refused(bad: Any):
    with pytest.raises(InputFileError):
        normalize_declared_hash(bad, where="x")


def test_verify_predictions_hash_accepts_upper_case_and_says_match(tmp_path: Path):
    rows = [row("a"), row("b")]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    check = verify_predictions_hash(path, predictions_summary_hash(rows).upper())
    assert check.match and check.n_rows == 2


def test_first_difference_names_the_changed_missing_or_extra_instance(tmp_path: Path):
    rows = [row(f"r{i}") for i in range(5)]
    reference = rendered_row_digests(rows)
    changed = [dict(r) for r in rows]
    changed[3]["predicted_label"] = "Minor"
    assert "'r3' (line 4)" in str(first_difference(write_jsonl(tmp_path / "a", changed), reference))
    assert "'r2' is missing" in str(
        first_difference(write_jsonl(tmp_path / "b", rows[:2] + rows[3:]), reference)
    )
    extra = [*rows, row("r9")]
    assert "'r9' (line 6) was not" in str(
        first_difference(write_jsonl(tmp_path / "c", extra), reference)
    )
    assert first_difference(write_jsonl(tmp_path / "d", rows), reference) is None


# --- many blocks ------------------------------------------------------------------------------


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read even a small file in many blocks."""
    monkeypatch.setattr(jsonio, "BLOCK_BYTES", 4096)


def test_an_unsorted_file_read_in_blocks_is_sorted_across_them(tmp_path: Path, small_blocks: None):
    rows = [row(f"ID-{i:05d}") for i in range(2000)]
    swapped = rows[:1500] + rows[1600:] + rows[1500:1600]  # out of order across blocks
    digest = hash_predictions_file(write_jsonl(tmp_path / "p.jsonl", swapped))
    assert digest.sha256 == predictions_summary_hash(rows) and digest.in_order is False


def test_an_error_in_a_later_block_names_its_line(tmp_path: Path, small_blocks: None):
    rows = [row(f"ID-{i:05d}") for i in range(2000)]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    path.write_text(path.read_text() + "{broken\n", encoding="utf-8")
    assert "p.jsonl:2001" in error_for(path)


def test_rows_sharing_an_id_across_blocks_are_noted(tmp_path: Path, small_blocks: None):
    rows = [row(f"ID-{i:05d}") for i in range(2000)]
    duplicated = [*rows[:1000], rows[999], *rows[1000:]]
    digest = hash_predictions_file(write_jsonl(tmp_path / "d.jsonl", duplicated))
    assert digest.in_order and digest.sha256 == predictions_summary_hash(duplicated)
    assert "'ID-00999', lines 1000 and 1001" in digest.warnings[0]


def test_the_hashed_columns_are_the_canonical_prediction_columns():
    from puma.runfolder.predictions import CANONICAL_COLUMNS

    assert integrity.HASH_COLUMNS == CANONICAL_COLUMNS
