"""Every predictions file PUMA 4.0's verifier reads, `verify-hash` reads, with the same digest.

A corpus of files, each with the CSV that PUMA 4.0's documented rule renders it to, written out
by hand here (the expected digest is the SHA-256 of that text, never our own function's answer):
rows sorted by `str(instance_id)`, stable (rows sharing an id stay in file order), a missing key
read as null, lines ended by LF, CR LF or a lone CR (Python's text mode), blanks around a line
stripped. Then the files PUMA 4.0 cannot read either, each refused with its line (exit 2); the
forms of a declared hash; and, when puma-cp 4.0.0's wheel can be had, PUMA 4.0's own code run on
the same files, which must agree.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from puma import jsonio
from puma.errors import InputFileError
from puma.integrity import hash_predictions_file, verify_predictions_hash
from puma_cp import harness

PH = "0123456789abcdef"


def row(instance_id: Any = "A-1", label: Any = "Major", value: Any = 0.5, **more: Any) -> str:
    """One predictions line as PUMA writes it (json.dumps), without its line end."""
    fields = {"instance_id": instance_id, "predicted_label": label, "predicted_value": value}
    return json.dumps({**fields, "prompt_hash": PH, **more})


def lines(*texts: str, end: str = "\n", final: bool = True) -> bytes:
    return (end.join(texts) + (end if final else "")).encode("utf-8")


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    csv: tuple[str, ...]  # the rows PUMA 4.0's rule renders, in hash order
    warns: str | None = None  # what our warning must say; None: no warning at all

    @property
    def sha256(self) -> str:
        return hashlib.sha256("\n".join(self.csv).encode("utf-8")).hexdigest()


def csv(instance_id: str, label: str = "Major", value: str = "0.500000", ph: str = PH) -> str:
    return f"{instance_id},{label},{value},{ph}"


ACCEPTED = [
    Case(
        "in-order",
        lines(row("A-1"), row("A-2", "Minor", None)),
        (csv("A-1"), csv("A-2", "Minor", "")),
    ),
    Case("out-of-order", lines(row("B-1"), row("A-1")), (csv("A-1"), csv("B-1"))),
    # A puma-cp triage run with perturbations: two rows per issue key, as its exporter writes
    # them (compact, no line end after the last).
    Case(
        "perturbation-pairs",
        "\n".join(
            json.dumps(
                {"instance_id": k, "predicted_label": lab, "predicted_value": v, "prompt_hash": PH},
                separators=(",", ":"),
            )
            for k, lab, v in [
                ("K-1", "Major", 0.9),
                ("K-1", "Minor", 0.4),
                ("K-2", "Critical", 0.7),
                ("K-2", "Critical", 0.6),
            ]
        ).encode(),
        (
            csv("K-1", "Major", "0.900000"),
            csv("K-1", "Minor", "0.400000"),
            csv("K-2", "Critical", "0.700000"),
            csv("K-2", "Critical", "0.600000"),
        ),
        warns="2 row(s) repeat an instance_id already seen (first: 'K-1', lines 1 and 2)",
    ),
    Case(
        "repeated-id-apart",
        lines(row("a", "Minor"), row("b"), row("a", "Major")),
        (csv("a", "Minor"), csv("a", "Major"), csv("b")),
        warns="1 row(s) repeat an instance_id already seen (first: 'a', lines 1 and 3)",
    ),
    Case(
        "repeated-id-three-times-unsorted",
        lines(row("c"), row("a", "L1"), row("b"), row("a", "L2"), row("a", "L3")),
        (csv("a", "L1"), csv("a", "L2"), csv("a", "L3"), csv("b"), csv("c")),
        warns="2 row(s) repeat an instance_id",
    ),
    Case(
        "null-id-sorts-as-None",
        lines(row("Z-1"), row(None), row("M-1")),
        (csv("M-1"), csv(""), csv("Z-1")),
        warns="1 row(s) have a null instance_id (first: line 2)",
    ),
    Case(
        "absent-id-sorts-first",
        lines(
            row("A-1"),
            json.dumps({"predicted_label": "Minor", "predicted_value": None, "prompt_hash": PH}),
        ),
        (csv("", "Minor", ""), csv("A-1")),
        warns="1 row(s) have no instance_id (first: line 2)",
    ),
    Case(
        "absent-columns",
        lines(json.dumps({"instance_id": "A-1"}), row("A-2")),
        ("A-1,,,", csv("A-2")),
        warns="lack a column (first: line 1, no predicted_label, predicted_value, prompt_hash)",
    ),
    Case("empty-object", lines("{}", row("A-1")), (",,,", csv("A-1")), warns="have no instance_id"),
    Case(
        "nested-values",
        lines(row("A-1", ["Major", "Minor"], {"p": 1})),
        (csv("A-1", "\"['Major', 'Minor']\"", "{'p': 1}"),),
        warns="2 cell(s) hold a JSON array or object (first: line 1, predicted_label)",
    ),
    Case("booleans", lines(row("A-1", True, False)), (csv("A-1", "True", "False"),)),
    Case(
        "numeric-ids-sort-as-text",
        lines(row(9), row("9a"), row(10), row(1.5)),
        (csv("1.500000"), csv("10"), csv("9"), csv("9a")),
    ),
    Case("empty-file", b"", (), warns="the file holds no prediction rows"),
    Case("blank-lines-only", b"\n\n  \n\t\r\n", (), warns="the file holds no prediction rows"),
    Case("cr-line-ends", lines(row("B-1"), row("A-1"), end="\r"), (csv("A-1"), csv("B-1"))),
    Case("cr-lf-line-ends", lines(row("B-1"), row("A-1"), end="\r\n"), (csv("A-1"), csv("B-1"))),
    Case(
        "mixed-line-ends",
        (row("C-1") + "\n" + row("B-1") + "\r\n" + row("A-1") + "\r" + row("D-1")).encode(),
        (csv("A-1"), csv("B-1"), csv("C-1"), csv("D-1")),
    ),
    Case("no-final-line-end", lines(row("A-1"), row("B-1"), final=False), (csv("A-1"), csv("B-1"))),
    Case(
        "blank-lines-and-blanks-around-rows",
        ("\n  " + row("B-1") + "\t\n\n\u00a0" + row("A-1") + "\u3000\x0c\n \n").encode(),
        (csv("A-1"), csv("B-1")),
    ),
    Case(
        "extra-keys-in-any-order",
        lines(
            json.dumps(
                {
                    "prompt_hash": PH,
                    "model": "m",
                    "predicted_value": 1,
                    "predicted_label": "x",
                    "instance_id": "A-1",
                }
            )
        ),
        (csv("A-1", "x", "1"),),
    ),
    Case(
        "non-ascii-escaped-or-not",
        lines(
            row("A-1", "é ✓ 日本"),
            json.dumps(
                {
                    "instance_id": "A-2",
                    "predicted_label": "é ✓ 日本",
                    "predicted_value": None,
                    "prompt_hash": PH,
                },
                ensure_ascii=False,
            ),
        ),
        (csv("A-1", "é ✓ 日本"), csv("A-2", "é ✓ 日本", "")),
    ),
    Case(
        "cells-that-need-quotes",
        lines(row("A,1", 'say "hi"', "two\nlines"), row("A-2", "tab\there")),
        ('"A,1","say ""hi""","two\nlines",' + PH, csv("A-2", "tab\there")),
    ),
    Case(
        "float-cells",
        lines(row("A", 1e-7, 0.8123456789), row("B", -0.0, 1e20), row("C", 2.5e-3, 3.0)),
        (
            csv("A", "0.000000", "0.812346"),
            csv("B", "-0.000000", "100000000000000000000.000000"),
            csv("C", "0.002500", "3.000000"),
        ),
    ),
    Case("integer-cells", lines(row("A", 3, 0)), (csv("A", "3", "0"),)),
    Case(
        "nan-and-infinity",
        b'{"instance_id":"A","predicted_label":NaN,"predicted_value":Infinity,"prompt_hash":-Infinity}\n',
        ("A,nan,inf,-inf",),
    ),
    Case(
        "a-key-twice-in-a-row",
        b'{"instance_id":"A","predicted_label":"Minor","predicted_label":"Major","predicted_value":0.5,"prompt_hash":"0123456789abcdef"}\n',
        (csv("A"),),
    ),
    Case("null-cells", lines(row("A", None, None, prompt_hash=None)), ("A,,,",)),
    Case(
        "code-point-order",
        lines(row("é"), row("a"), row("_"), row("B")),
        (csv("B"), csv("_"), csv("a"), csv("é")),
    ),
]

# A lone CR in a cell: PUMA 4.0 renders through Python's csv module, which quotes it from Python
# 3.13 on and not before; we always quote it (docs/commands/submission.md, "The hash, exactly").
LONE_CR = Case("lone-cr-in-a-cell", lines(row("A", "x\ry")), ('A,"x\ry",0.500000,' + PH,))
ACCEPTED.append(LONE_CR)


@dataclass(frozen=True)
class Refused:
    name: str
    content: bytes
    needle: str  # in our message, with the file and line
    line: int
    puma_4_reads_it: bool = False  # True only for what we refuse and PUMA 4.0 reads (documented)


REFUSED = [
    Refused("byte-order-mark", b"\xef\xbb\xbf" + lines(row("A")), "byte-order mark (BOM)", 1),
    Refused("not-utf-8", lines(row("A")) + b'{"instance_id":"\xff"}\n', "not UTF-8 (byte 0xff", 2),
    Refused("not-json", lines(row("A"), "this is not json"), "not valid JSON", 2),
    Refused(
        "truncated-last-line",
        lines(row("A")) + b'{"instance_id":"B","predicted_la',
        "truncated line (the file ends mid-row)",
        2,
    ),
    Refused("a-json-array", lines(row("A"), "[1, 2]"), "expected a JSON object, got list", 2),
    Refused("a-json-string", lines('"A-1"'), "expected a JSON object, got str", 1),
    Refused(
        "a-json-null", lines(row("A"), row("B"), "null"), "expected a JSON object, got NoneType", 3
    ),
    Refused("a-json-number", lines("42"), "expected a JSON object, got int", 1),
    Refused(
        "a-row-split-by-a-cr",
        b'{"instance_id":"A",\r"predicted_label":"Major"}\n',
        "not valid JSON",
        1,
    ),
    Refused("lone-surrogate", lines(row("A", "\ud800")), "unpaired surrogate", 1),
    Refused(
        "integer-of-5000-digits",
        lines('{"instance_id":"A","predicted_value":' + "7" * 5000 + "}"),
        "not usable JSON",
        1,
    ),
    Refused(
        "a-line-over-1-MiB",
        lines(row("A"), row("B", "x" * (3 << 20))),
        "a line longer than 1024 KiB",
        2,
        puma_4_reads_it=True,
    ),
]


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(content)
    return path


@pytest.fixture(params=["one-block", "tiny-blocks"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The two ways a file is read: whole, and in blocks of 7 bytes (a CR LF split between two
    reads)."""
    if request.param == "tiny-blocks":
        monkeypatch.setattr(jsonio, "BLOCK_BYTES", 7)
    return str(request.param)


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_a_file_puma_4_reads_hashes_to_the_digest_of_its_rule(
    case: Case, tmp_path: Path, reading: str
):
    digest = hash_predictions_file(write(tmp_path, case.name, case.content))
    assert (digest.sha256, digest.n_rows) == (case.sha256, len(case.csv))
    if case.warns is None:
        assert digest.warnings == ()
    else:
        assert any(case.warns in warning for warning in digest.warnings), digest.warnings


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_a_file_puma_4_cannot_read_either_is_refused_with_its_line(case: Refused, tmp_path: Path):
    path = write(tmp_path, case.name, case.content)
    with pytest.raises(InputFileError) as caught:
        hash_predictions_file(path)
    assert case.needle in str(caught.value) and f"{path}:{case.line}" in str(caught.value)
    assert caught.value.exit_code == 2


# --- the declared hash -------------------------------------------------------------------------

FILE = lines(row("B-1"), row("A-1"))
DIGEST = hashlib.sha256(f"{csv('A-1')}\n{csv('B-1')}".encode()).hexdigest()

# (name, declared, what our warning says or None, what PUMA 4.0's verify-hash exits with)
DECLARED_ACCEPTED = [
    ("as-schema-v1-writes-it", DIGEST, None, 0),
    ("upper-case", DIGEST.upper(), "upper-case letters", 0),
    ("sha256-prefix", "sha256:" + DIGEST, "a 'sha256:' prefix", 1),
    ("blanks-around", f"  {DIGEST}\n", "blanks around it", 1),
    ("everything", f"\tSHA256:{DIGEST.upper()} ", "blanks around it and a 'sha256:' prefix", 1),
]
DECLARED_REFUSED = [
    ("empty", ""),
    ("blank", "   "),
    ("prefix-alone", "sha256:"),
    ("63-digits", DIGEST[:63]),
    ("65-digits", DIGEST + "0"),
    ("blank-after-the-prefix", "sha256: " + DIGEST),
    ("not-hex", "g" + DIGEST[1:]),
    ("null", None),
    ("a-number", 42),
    ("a-list", [DIGEST]),
]


@pytest.mark.parametrize(("name", "declared", "warns", "puma_4_exit"), DECLARED_ACCEPTED)
def test_a_declared_hash_in_a_freer_form_matches_and_says_what_puma_4_would_say(
    tmp_path: Path, name: str, declared: str, warns: str | None, puma_4_exit: int
):
    check = verify_predictions_hash(write(tmp_path, name, FILE), declared, where="s.json")
    assert check.match and check.computed == DIGEST
    if warns is None:
        assert check.warnings == ()
    else:
        (warning,) = check.warnings
        assert warning.startswith("s.json: ") and warns in warning
        assert ("would report a mismatch" in warning) == (puma_4_exit == 1)


@pytest.mark.parametrize(("name", "declared"), DECLARED_REFUSED)
def test_a_declared_hash_that_is_not_one_is_refused(tmp_path: Path, name: str, declared: Any):
    with pytest.raises(InputFileError, match=r"s\.json"):
        verify_predictions_hash(write(tmp_path, name, FILE), declared, where="s.json")


# --- PUMA 4.0's own code on the same files ----------------------------------------------------


@pytest.fixture(scope="module")
def puma_4_answers(
    puma_4: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """puma-cp's `hash_predictions_jsonl` on every file of the corpus, in one process."""
    folder = tmp_path_factory.mktemp("corpus")
    named = [(c.name, write(folder, c.name, c.content)) for c in [*ACCEPTED, *REFUSED]]
    answers = harness.hashes(puma_4, [path for _, path in named])
    return {name: answer for (name, _), answer in zip(named, answers, strict=True)}


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_puma_4s_own_verifier_gives_the_same_digest(
    case: Case, puma_4_answers: dict[str, dict[str, Any]]
):
    if case is LONE_CR and sys.version_info < (3, 13):
        pytest.skip("PUMA 4.0 quotes a lone CR only on Python 3.13 and later (documented)")
    assert puma_4_answers[case.name] == {"sha256": case.sha256}


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_puma_4s_own_verifier_cannot_read_what_we_refuse(
    case: Refused, puma_4_answers: dict[str, dict[str, Any]]
):
    answer = puma_4_answers[case.name]
    assert ("sha256" in answer) == case.puma_4_reads_it, answer


@pytest.mark.parametrize(("name", "declared", "warns", "puma_4_exit"), DECLARED_ACCEPTED)
def test_puma_4s_own_verify_hash_on_each_declared_form(
    puma_4: Path, tmp_path: Path, name: str, declared: str, warns: str | None, puma_4_exit: int
):
    submission = tmp_path / "s.json"
    submission.write_text(json.dumps({"integrity": {"predictions_summary_hash": declared}}))
    (tmp_path / "s.predictions.jsonl").write_bytes(FILE)
    result = harness.run(puma_4, "community", "verify-hash", submission)
    assert result.returncode == puma_4_exit, result.stdout + result.stderr
