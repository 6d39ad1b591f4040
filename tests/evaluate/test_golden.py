"""`puma eval` gives the same bytes for the same inputs as the code that wrote the stored files.

The golden files under tests/evaluate/golden/ were written by the scoring code before task kinds
and metrics became registries; a refactor of scoring, the report or the task modules must leave
metrics.json, metadata.json and the report's text unchanged for a triage, an estimation and a
prioritization run. To write them again on purpose: PUMA_WRITE_GOLDEN=1 pytest this file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from puma.evaluate import ScoringOptions, evaluate_run

GOLDEN = Path(__file__).parent / "golden"
OPTIONS = ScoringOptions(resamples=300, permutations=300)
PERTURBATIONS = ("typos", "gender-male", "gender-female")
RUNS: dict[str, dict[str, Any]] = {
    "triage": {"task": "triage", "repetitions": 2},
    "estimation": {"task": "estimation", "repetitions": 2},
    "prioritization": {"task": "prioritization", "with_probs": True},
    "triage-no-probs": {"task": "triage", "with_probs": False, "models": ("alpha", "beta")},
}
# Plots are PNG bytes from matplotlib, whose output changes between its versions: the report is
# compared with every image's data left out (its tables, notes and layout stay).
_IMAGE = re.compile(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"')


def _report_text(path: Path) -> bytes:
    return _IMAGE.sub('src="data:image/png;base64,…"', path.read_text(encoding="utf-8")).encode()


@pytest.mark.parametrize("name", sorted(RUNS))
def test_eval_writes_the_stored_bytes(
    name: str, make_run: Callable[..., Path], tmp_path: Path
) -> None:
    run = make_run(
        tmp_path, seed=11, n_items=40, perturbations=PERTURBATIONS, run_id=name, **RUNS[name]
    )
    evaluate_run(run, OPTIONS)
    produced = {
        f"{name}.metrics.json": (run / "metrics.json").read_bytes(),
        f"{name}.metadata.json": (run / "metadata.json").read_bytes(),
        f"{name}.report.html": _report_text(run / "report.html"),
    }
    if os.environ.get("PUMA_WRITE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        for file, data in produced.items():
            (GOLDEN / file).write_bytes(data)
    for file, data in produced.items():
        assert data == (GOLDEN / file).read_bytes(), f"{file} differs from the stored bytes"
