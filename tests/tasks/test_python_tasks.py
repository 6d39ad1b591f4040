"""The python-tasks task: the prompt shows a signature and docstring and never the hidden tests;
the code is read from a fenced block or the raw reply; `puma eval` runs it against the hidden
tests in the sandbox and reports pass@1 with a Wilson interval and each task's outcome; every
reference solution passes its tests and a bare signature fails them."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from puma.evaluate import ScoringOptions, evaluate_run
from puma.runfolder import RunFolder
from puma.runfolder.predictions import FULL_SCHEMA
from puma.runner.execute import generation_options
from puma.sandbox import run_many
from puma.suites import load_suite
from puma.tasks import build_prompt, gold_text, parse_output, task_for
from puma.tasks.python_tasks import CODE_TOKENS, extract_code
from run_records import manifest, suite_record

SUITE = load_suite("python-tasks")


def test_the_suite_has_twenty_tasks_each_with_hidden_tests() -> None:
    assert len(SUITE.items) >= 20
    for item in SUITE.items:
        assert f"def {item['entry_point']}(" in item["prompt"]
        assert gold_text(SUITE, item) == item["gold"]
        assert item["gold"].count("assert ") >= 3, item["instance_id"]


def test_every_reference_solution_passes_and_every_bare_signature_fails() -> None:
    tasks = [*SUITE.items, *SUITE.examples]
    solutions = run_many([(t["solution"], t["gold"]) for t in tasks])
    assert {t["instance_id"]: r.outcome for t, r in zip(tasks, solutions, strict=True)} == {
        t["instance_id"]: "passed" for t in tasks
    }
    stubs = run_many([(t["prompt"] + "\n    pass\n", t["gold"]) for t in SUITE.items])
    assert all(r.outcome in ("failed", "error") for r in stubs), stubs


@pytest.mark.parametrize("strategy", ["zero-shot", "few-shot-2", "chain-of-thought"])
def test_the_prompt_shows_the_signature_and_never_the_hidden_tests(strategy: str) -> None:
    for item in SUITE.items:
        prompt = build_prompt(SUITE, item, strategy, seed=42)
        texts = [prompt.text, *(m["content"] for m in prompt.messages)]
        assert item["prompt"] in prompt.text and item["prompt"] in prompt.messages[-1]["content"]
        for text in texts:
            for line in item["gold"].splitlines():
                assert line not in text
            assert item["solution"] not in text


def test_few_shot_examples_show_a_reference_solution_in_a_fenced_block() -> None:
    prompt = build_prompt(SUITE, SUITE.items[0], "few-shot-1", seed=42)
    example = next(e for e in SUITE.examples if e["prompt"] in prompt.text)
    assert f"Solution: \n```python\n{example['solution']}\n```" in prompt.text


def test_a_code_task_gets_room_for_a_function_whatever_the_spec_says() -> None:
    from types import SimpleNamespace

    from puma.spec import SpecFile

    spec = SpecFile.model_validate(
        {"name": "t", "runtime": {"kind": "embedded"}, "suites": [{"id": "python-tasks"}]}
    )
    prompt = build_prompt(SUITE, SUITE.items[0], "zero-shot", seed=42)
    planned = SimpleNamespace(suite=SUITE, prompt=prompt)
    assert spec.generation.max_tokens < CODE_TOKENS
    assert generation_options(spec, planned).max_tokens == CODE_TOKENS  # type: ignore[arg-type]


FENCED = "Here you go:\n```python\ndef f(x):\n    return x\n```\nThat is all."


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (FENCED, ("def f(x):\n    return x", True)),
        ("```\ndef f(x):\n    return x\n```", ("def f(x):\n    return x", True)),
        ("```python\ndef f(x):\n    return x", ("def f(x):\n    return x", True)),  # unclosed
        ("Solution: ```python\ndef f(x):\n    return x\n```", ("def f(x):\n    return x", True)),
        (
            "```python\nprint(1)\n```\n```python\ndef g():\n    return 2\n```",
            ("def g():\n    return 2", True),
        ),
        (
            "```bash\nls\n```\ndef f(x):\n    return x",
            ("```bash\nls\n```\ndef f(x):\n    return x", False),
        ),
        ("def f(x):\n    return x  # done", ("def f(x):\n    return x  # done", False)),
        ("I do not know.", None),
        ("", None),
    ],
)
def test_the_code_is_the_fenced_block_that_defines_a_function_or_the_raw_reply(
    text: str, found: tuple[str, bool] | None
) -> None:
    assert extract_code(text) == found


def test_parsing_keeps_quotes_comments_and_operators_of_the_code() -> None:
    text = '```python\ndef f(s):\n    # "quoted" * 2\n    return s * 2\n```'
    parsed = parse_output(SUITE, text, "zero-shot")
    assert parsed.label == 'def f(s):\n    # "quoted" * 2\n    return s * 2'
    assert parsed.status == "ok"
    assert parse_output(SUITE, "no code here", "zero-shot").status == "unparsed"


def _run(root: Path, answers: dict[str, str | None], repetitions: int = 1) -> Path:
    folder = root / "run-py"
    folder.mkdir()
    items = SUITE.item_by_id()
    rows = [
        {
            "run_id": "py",
            "suite_id": SUITE.id,
            "task": "python-tasks",
            "model": "m",
            "strategy": "zero-shot",
            "phase": "predict",
            "perturbation": "none",
            "repetition": repetition,
            "instance_id": iid,
            "gold": items[iid]["gold"],
            "parse_status": "unparsed" if code is None else "ok",
            "predicted_label": code,
            "output_text": code or "I cannot do that.",
            "error": None,
        }
        for iid, code in answers.items()
        for repetition in range(repetitions)
    ]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=FULL_SCHEMA), folder / "predictions_full.parquet"
    )
    record = suite_record(SUITE.id, "python-tasks", [], n_items=len(answers))
    manifest("py", [record], ["m"]).save(RunFolder(folder))
    return folder


def test_eval_runs_the_code_and_reports_pass_at_1_and_each_outcome(tmp_path: Path) -> None:
    a, b, c, d, e, f = SUITE.items[:6]
    answers: dict[str, str | None] = {
        a["instance_id"]: a["solution"],
        b["instance_id"]: b["solution"],
        c["instance_id"]: c["prompt"] + "\n    return None\n",  # wrong: failed
        d["instance_id"]: "def broken(:\n",  # error
        e["instance_id"]: "import socket\nsocket.socket()\n" + e["solution"],  # refused
        f["instance_id"]: None,  # no code: unparsed
    }
    options = ScoringOptions(resamples=200, permutations=200)
    document = evaluate_run(_run(tmp_path, answers), options).document
    (cell,) = document["cells"]
    metrics = cell["metrics"]
    assert cell["n"] == 6
    pass_at_1 = metrics["pass_at_1"]
    assert pass_at_1["point"] == pytest.approx(2 / 6)
    assert pass_at_1["method"] == "wilson"
    assert pass_at_1["ci_low"] < 2 / 6 < pass_at_1["ci_high"]
    assert metrics["parse_failure_rate"]["point"] == pytest.approx(1 / 6)
    assert metrics["outcomes"] == {
        "passed": 2, "failed": 1, "error": 1, "timeout": 0, "refused": 1, "unparsed": 1
    }  # fmt: skip
    assert metrics["per_task"] == {
        a["instance_id"]: "passed",
        b["instance_id"]: "passed",
        c["instance_id"]: "failed",
        d["instance_id"]: "error",
        e["instance_id"]: "refused",
        f["instance_id"]: "unparsed",
    }
    assert metrics["baselines"]["no_code"]["pass_at_1"]["point"] == 0.0
    again = evaluate_run(tmp_path / "run-py", options).document
    assert again["cells"] == document["cells"]  # deterministic

    # report.html counts the outcomes and lists each task's, with what each outcome means.
    html = (tmp_path / "run-py" / "report.html").read_text(encoding="utf-8")
    section = html[html.index("<h3>Outcomes</h3>") :]
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", section)
    header = cells[: cells.index("unparsed") + 1]
    assert header == [
        "model",
        "strategy",
        "passed",
        "failed",
        "error",
        "timeout",
        "refused",
        "unparsed",
    ]
    assert cells[len(header) : len(header) * 2] == ["m", "zero-shot", "2", "1", "1", "0", "1", "1"]
    assert "refused (the code tried a socket" in section
    for iid, outcome in metrics["per_task"].items():
        assert f"<td>{iid}</td><td>{outcome}</td>" in section


def test_repeated_answers_of_a_task_give_its_outcome_counts(tmp_path: Path) -> None:
    item = SUITE.items[0]
    document = evaluate_run(
        _run(tmp_path, {item["instance_id"]: item["solution"]}, repetitions=2),
        ScoringOptions(resamples=100, permutations=100),
    ).document
    assert document["cells"][0]["metrics"]["per_task"] == {item["instance_id"]: {"passed": 2}}


def test_the_run_summary_point_runs_the_hidden_tests_too() -> None:
    task = task_for("python-tasks")
    items = SUITE.items[:2]
    point = task.point_summary([i["gold"] for i in items], [items[0]["solution"], None], labels=())
    assert point.score == 0.5 and point.parse_failure_rate == 0.5


@pytest.mark.parametrize("perturbation", ["typos", "uppercase", "truncate-half", "gender-female"])
def test_a_perturbation_rewrites_the_docstring_and_keeps_the_signature(perturbation: str) -> None:
    item = SUITE.items[0]
    signature = item["prompt"].split("\n", 1)[0]
    prompt = build_prompt(SUITE, item, "zero-shot", seed=3, perturbation=perturbation).text
    assert signature in prompt
    assert item["prompt"] not in prompt
