"""The library API (`import puma`): run, evaluate and verify from Python, typed results, and
`puma.run` inside a running event loop, as in a Jupyter notebook."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import puma
from puma.submission.builder import Consents, build_submission

SPEC = """\
name: api
runtime:
  kind: embedded
suites:
  - id: pm-triage
    limit: 5
strategy: zero-shot
generation:
  temperature: 0
  seed: 42
  max_tokens: 8
  num_ctx: 2048
output: {output}
"""


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(output=tmp_path / "runs"), encoding="utf-8")
    return path


def test_run_evaluate_and_verify_from_inside_a_running_event_loop(
    spec_path: Path, tmp_path: Path, embedded_model_path: Path
) -> None:
    async def notebook_cell() -> tuple[puma.RunResult, puma.EvaluationResult]:
        asyncio.get_running_loop()  # a notebook's loop is running here; asyncio.run would refuse
        result = puma.run(spec_path, limit=2)
        return result, puma.evaluate(result.folder.root, resamples=200, permutations=0)

    result, evaluation = asyncio.run(notebook_cell())
    assert isinstance(result, puma.RunResult) and result.exit_code == puma.ExitCode.OK
    assert len(result.rows) == 2 and result.manifest.overrides == {"limit": 2}
    assert isinstance(evaluation, puma.EvaluationResult) and evaluation.metrics_path.is_file()

    package = build_submission(
        result.folder.root, tmp_path / "share", consents=Consents.all_given()
    )
    verification = puma.verify(package.files.submission)
    assert isinstance(verification, puma.Verification) and verification.ok
    verification.raise_if_failed()


def test_run_async_is_awaited_in_the_callers_loop(
    spec_path: Path, embedded_model_path: Path
) -> None:
    planned: list[tuple[int, int]] = []

    async def notebook_cell() -> puma.RunResult:
        return await puma.run_async(spec_path, limit=1, on_plan=lambda *n: planned.append(n))

    result = asyncio.run(notebook_cell())
    assert result.exit_code == 0 and len(result.rows) == 1 and planned == [(1, 0)]


def test_a_bad_spec_path_is_a_puma_error_with_its_exit_code(tmp_path: Path) -> None:
    with pytest.raises(puma.PumaError) as caught:
        puma.run(tmp_path / "absent.yaml")
    assert caught.value.exit_code == puma.ExitCode.BAD_INPUT


def test_an_unknown_interval_method_is_a_puma_error(tmp_path: Path) -> None:
    with pytest.raises(puma.PumaError, match="method must be one of bca, percentile"):
        puma.evaluate(tmp_path, method="normal")  # type: ignore[arg-type]


def test_import_puma_stays_light_and_evaluate_stays_the_function() -> None:
    code = (
        "import sys, puma\n"
        "heavy = {'numpy', 'pyarrow', 'llama_cpp', 'httpx'} & set(sys.modules)\n"
        "import puma.evaluate.scoring\n"
        "print(sorted(heavy), callable(puma.evaluate), sorted(puma.__all__) == puma.__all__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True", "True"]
