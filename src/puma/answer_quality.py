"""How many answers carry no label: the loud warning for a suite whose answers are mostly empty
or unparsed, so a score of 0 that says "the parser found nothing" is not read as "the model is
wrong" (seen: 10 of 10 empty answers, scored 0, packaged anyway).

One function serves the run summary, `puma eval`, the report and `share-results`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# At or above this share of a suite's answers without a label (empty or unparsed), the suite's
# scores describe the prompt, the stop sequences or the parser more than the model.
UNUSABLE_SHARE_WARNING = 0.20


@dataclass(frozen=True)
class UnusableAnswers:
    suite_id: str
    model: str
    answered: int  # calls that returned an answer (failed and skipped calls are counted apart)
    empty: int  # answers that are blank
    unparsed: int  # non-blank answers the scenario's parser could not read

    @property
    def share(self) -> float:
        return (self.empty + self.unparsed) / self.answered if self.answered else 0.0

    @property
    def warning(self) -> str:
        parts = [f"{self.empty} empty"] if self.empty else []
        parts += [f"{self.unparsed} unparsed"] if self.unparsed else []
        return (
            f"{self.suite_id} · {self.model}: {self.empty + self.unparsed} of {self.answered} "
            f"answers ({self.share:.0%}) have no label ({', '.join(parts)}); each is scored as "
            "wrong, so the score says more about the prompt, max_tokens or stop sequences than "
            "about the model (see output_text in predictions_full.parquet)"
        )


def unusable_answers(rows: Iterable[Mapping[str, Any]]) -> list[UnusableAnswers]:
    """Per (suite, model), sorted: answered calls and those without a label. A row is a
    prediction row (puma.runfolder.predictions.FULL_SCHEMA, or the canonical subset of it)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if row.get("error") is not None or row.get("parse_status") in ("error", "skipped"):
            continue
        tally = counts.setdefault((str(row["suite_id"]), str(row["model"])), [0, 0, 0])
        tally[0] += 1
        if row.get("predicted_label") is None:
            text = row.get("output_text")
            blank = isinstance(text, str) and not text.strip()
            tally[1 if blank else 2] += 1
    return [
        UnusableAnswers(suite, model, answered, empty, unparsed)
        for (suite, model), (answered, empty, unparsed) in sorted(counts.items())
    ]


def unusable_answer_warnings(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One warning per (suite, model) whose share of answers without a label is at least
    UNUSABLE_SHARE_WARNING."""
    return [u.warning for u in unusable_answers(rows) if u.share >= UNUSABLE_SHARE_WARNING]
