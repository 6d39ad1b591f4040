"""Small programming tasks: a function signature with its docstring in, the function out, scored
by hidden unit tests run in the sandbox (puma.sandbox) when the run is scored, never during it.

Item fields: title, prompt (signature and docstring: all the model sees), entry_point, solution
(the reference solution: what a few-shot example shows), gold (the hidden tests: assert
statements run after the model's code in one namespace). The code is the reply's first ```python
block that defines a function (else its first fenced block, else the whole reply). The metric is
pass@1: the share of answers whose hidden tests all pass. Each answer's outcome (passed, failed,
error, timeout, refused; unparsed when the reply holds no code) is in the cell's `outcomes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from puma.columns import CountedRows, ratio
from puma.sandbox import OUTCOMES, run_many
from puma.scenarios.base import Scenario
from puma.scenarios.parsing import UNPARSED, ParsedOutput, strip_think
from puma.scenarios.strategies import Strategy
from puma.suites.model import Suite
from puma.tasks.base import Chance, Encoded, MetricSink, PointSummary, Task, register_task
from puma.tasks.metrics import Metric, register_metric
from puma.tasks.short_answer import perturbed_text

UNPARSED_CODE = -1  # pred of a reply without code; the others index puma.sandbox.OUTCOMES
CODE_TOKENS = 320  # room for a small function with its docstring and fences

# An opening fence may follow text on its line ("Solution: ```python"); a closing one starts a line.
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)
_DOCSTRING = re.compile(r'(""")(.*?)(""")', re.S)
_DEFINES = re.compile(r"^\s*(?:async\s+)?def\s+\w+\s*\(", re.M)


def extract_code(text: str) -> tuple[str, bool] | None:
    """The code of a reply and whether it came from a fenced block: the first ```python (or
    unlabelled) block that defines a function, else the first such block, else the whole reply
    when it defines a function. None when the reply holds no code."""
    blocks = [
        m.group(2).strip("\n")
        for m in _FENCE.finditer(text)
        if m.group(1).lower() in ("", "python", "py", "python3")
    ]
    blocks = [b for b in blocks if b.strip()]
    if blocks:
        return next((b for b in blocks if _DEFINES.search(b)), blocks[0]), True
    raw = text.strip("\n")
    return (raw, False) if raw.strip() and _DEFINES.search(raw) else None


class PythonTaskScenario(Scenario):
    template = "python_tasks.j2"
    max_tokens_floor = CODE_TOKENS

    def template_context(self, suite: Suite) -> dict[str, Any]:
        return {}

    def answer_text(self, suite: Suite, example: dict[str, Any]) -> str:
        return f"\n```python\n{example['solution'].strip()}\n```"

    def gold_text(self, suite: Suite, item: dict[str, Any]) -> str:
        return str(item["gold"])

    def perturbed(self, item: dict[str, Any], perturbation: str, *, seed: int) -> dict[str, Any]:
        """The docstring is the task's prose and is perturbed; the signature is code and stays."""
        found = _DOCSTRING.search(item["prompt"])
        if found is None:
            return dict(item)
        text = perturbed_text({**item, "doc": found.group(2)}, "doc", perturbation, seed=seed)
        prompt = item["prompt"][: found.start(2)] + text + item["prompt"][found.end(2) :]
        return {**item, "prompt": prompt}

    def strict(self, suite: Suite, answer: str) -> ParsedOutput | None:
        found = extract_code(answer)
        return None if found is None or not found[1] else ParsedOutput(found[0], status="ok")

    def tolerant(self, suite: Suite, text: str) -> ParsedOutput | None:
        found = extract_code(text)
        return None if found is None else ParsedOutput(found[0], status="fuzzy")

    def parse(self, suite: Suite, text: str, strategy: Strategy) -> ParsedOutput:
        # Not the label tasks' parse: removing markup would remove code (quotes, #, *).
        body, stripped = strip_think(text)
        found = self.strict(suite, body) or self.tolerant(suite, body) or UNPARSED
        return ParsedOutput(found.label, status=found.status, reasoning_stripped=stripped)


class PythonTaskStats(CountedRows):
    """Per-item columns: count, unparsed, then one per sandbox outcome (passed, failed, error,
    timeout, refused). `pred` is the outcome's index in puma.sandbox.OUTCOMES, -1 unparsed."""

    width = 2 + len(OUTCOMES)

    def row_columns(self, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        codes = np.asarray(pred, dtype=np.int64)
        out = np.zeros((len(codes), self.width))
        out[:, 0] = 1.0
        out[:, 1] = codes == UNPARSED_CODE
        parsed = codes >= 0
        out[np.flatnonzero(parsed), 2 + codes[parsed]] = 1.0
        return out

    @staticmethod
    def passes(s: np.ndarray) -> np.ndarray:
        return np.asarray(s[..., 2])

    @staticmethod
    def pass_rate(s: np.ndarray) -> np.ndarray:
        return ratio(s[..., 2], s[..., 0])

    @staticmethod
    def outcome_counts(s: np.ndarray) -> dict[str, int]:
        totals = np.asarray(s).reshape(-1, PythonTaskStats.width).sum(axis=0)
        counts = {name: int(totals[2 + i]) for i, name in enumerate(OUTCOMES)}
        return counts | {"unparsed": int(totals[1])}


register_metric(
    Metric(
        "pass_at_1",
        "pass@1",
        higher_is_better=True,
        sums=lambda x: x.stats.pass_rate,
        numerator=lambda stats, m: stats.passes(m),
        proportion=True,
        paired=True,
    )
)


def outcome_codes(golds: Sequence[Any], codes: Sequence[str | None]) -> np.ndarray:
    """Each answer's outcome index (UNPARSED_CODE without code), the answers run in the sandbox."""
    out = np.full(len(codes), UNPARSED_CODE, dtype=np.int64)
    chosen = [i for i, code in enumerate(codes) if code is not None]
    results = run_many([(str(codes[i]), str(golds[i])) for i in chosen])
    for i, result in zip(chosen, results, strict=True):
        out[i] = OUTCOMES.index(result.outcome)
    return out


@register_task
class PythonTask(Task):
    name = "python-tasks"
    scenario_class = PythonTaskScenario
    metrics: ClassVar[tuple[str, ...]] = ("pass_at_1", "parse_failure_rate")
    chance_metrics: ClassVar[tuple[str, ...]] = ("pass_at_1",)
    headline_chance: ClassVar[str] = "no_code"
    chance_names: ClassVar[Mapping[str, str]] = {"no_code": "no code"}
    chance_description: ClassVar[str] = "a reply without code, which fails every task"
    outcomes_description: ClassVar[str | None] = (
        "Each answer's code ran once with the task's hidden tests in the sandbox: passed (the "
        "code and its tests ran through), failed (a test's assertion did not hold), error (the "
        "code did not compile or raised, the memory limit included), timeout (wall or CPU "
        "time), refused (the code tried a socket, a new process or a write outside its folder), "
        "unparsed (the reply held no code)."
    )

    def sufficient_stats(self, labels: Sequence[str]) -> PythonTaskStats:
        return PythonTaskStats()

    def encode(
        self, rows: Sequence[Mapping[str, Any]], labels: Sequence[str], where: str
    ) -> Encoded:
        codes = [
            None if r.get("predicted_label") is None else str(r["predicted_label"]) for r in rows
        ]
        pred = outcome_codes([r["gold"] for r in rows], codes)
        return Encoded(np.zeros(len(rows), dtype=np.int64), pred, np.zeros(len(rows)))

    def outcome(self, stats: PythonTaskStats, gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
        return stats.passes(stats.row_columns(gold, pred)) > 0

    def chance(
        self,
        stats: PythonTaskStats,
        item: np.ndarray,
        gold: np.ndarray,
        columns: np.ndarray,
        mask: np.ndarray,
        n: int,
    ) -> dict[str, Chance]:
        nothing = np.full(len(gold), UNPARSED_CODE, dtype=np.int64)
        return {"no_code": Chance(None, stats.columns(item, gold, nothing, n))}

    def sections(
        self,
        sink: MetricSink,
        stats: PythonTaskStats,
        columns: np.ndarray,
        mask: np.ndarray,
        gold: np.ndarray,
        answer: Sequence[str | None],
    ) -> dict[str, Any]:
        """How many answers had each outcome, and each task's outcome (or its outcome counts
        when the task was answered more than once)."""
        per_task: dict[str, Any] = {}
        for position in np.flatnonzero(mask):
            counts = {k: v for k, v in stats.outcome_counts(columns[position]).items() if v}
            per_task[sink.universe[int(position)]] = (
                next(iter(counts)) if sum(counts.values()) == 1 else counts
            )
        return {"outcomes": stats.outcome_counts(columns[mask]), "per_task": per_task}

    def point_summary(
        self, gold: Sequence[Any], predicted: Sequence[str | None], labels: Sequence[str]
    ) -> PointSummary:
        stats = PythonTaskStats()
        rows = stats.row_columns(np.zeros(len(gold)), outcome_codes(gold, predicted))
        empty = len(gold) == 0
        return PointSummary(
            score=float("nan") if empty else float(stats.pass_rate(rows.sum(axis=0))),
            parse_failure_rate=float("nan") if empty else float(rows[:, 1].mean()),
            model_rows=stats.passes(rows),
            chance_rows=np.zeros(len(gold)),
        )

    def v1_scores(
        self, labels: Sequence[str], gold: Sequence[Any], rows: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # v1_scenario is None: submission/mapping.py refuses the suite before asking.
        raise NotImplementedError("schema v1 has no scenario for programming tasks")
