"""The library API: run a spec, resume a run, evaluate a run folder, verify a submission.

Each function returns a typed result and raises only PumaError (with its exit code). The CLI is
a thin layer over these. `run` and `resume` also work inside a running event loop (a notebook);
`run_async` and `resume_async` are their awaitable twins. Heavy modules load on first call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from puma.errors import PumaError

if TYPE_CHECKING:
    from puma.evaluate import EvaluationResult
    from puma.runner.execute import CallOutcome
    from puma.runner.session import RunResult
    from puma.spec import SpecFile
    from puma.stats.intervals import IntervalMethod
    from puma.stats.paired import Correction
    from puma.submission.verify import Verification

PlanCallback = Callable[[int, int], None]  # (calls to make now, calls already done)
WarningCallback = Callable[[str], None]


def _spec(
    spec: SpecFile | str | os.PathLike[str], model: str | None
) -> tuple[SpecFile, Path | None]:
    """A spec object as given, or the spec file checked as `puma run` checks it (a model given
    here replaces the spec's, so the spec's model files need not exist)."""
    from puma.spec import SpecFile
    from puma.spec_check import validate_spec

    if isinstance(spec, SpecFile):
        return spec, None
    path = Path(spec)
    return validate_spec(path, check_models=model is None), path


async def run_async(
    spec: SpecFile | str | os.PathLike[str],
    *,
    model: str | None = None,
    limit: int | None = None,
    output: str | os.PathLike[str] | None = None,
    phases: str | None = None,
    speed_profile: str | None = None,
    on_plan: PlanCallback | None = None,
    on_outcome: Callable[[CallOutcome], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Run a spec (a SpecFile, or the path of a spec YAML) and write its run folder.

    `model`, `limit` and `output` override the spec's, as `puma run --model/--limit/--out` do
    (recorded in the manifest). `phases` ("speed,context-edge-append" or "all") adds the named
    quality phases' suites and runs the speed phases after them, at `speed_profile` (auto,
    canonical, small, tiny; docs/commands/phases.md). The result's `exit_code` is 3 when some
    call got no answer.
    """
    from puma.runner.session import run_async as start

    checked, path = _spec(spec, model)
    overrides = {
        "model": model,
        "limit": limit,
        "output": output,
        "phases": phases,
        "speed_profile": speed_profile,
    }
    return await start(checked, path, overrides, on_plan, on_outcome, on_warning)


def run(
    spec: SpecFile | str | os.PathLike[str],
    *,
    model: str | None = None,
    limit: int | None = None,
    output: str | os.PathLike[str] | None = None,
    phases: str | None = None,
    speed_profile: str | None = None,
    on_plan: PlanCallback | None = None,
    on_outcome: Callable[[CallOutcome], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """`run_async`, waited for; inside a running event loop it runs in a worker thread.
    Ctrl-C stops it with an Interrupted that says what the ledger kept."""
    from puma.runner.session import start_run

    checked, path = _spec(spec, model)
    overrides = {
        "model": model,
        "limit": limit,
        "output": output,
        "phases": phases,
        "speed_profile": speed_profile,
    }
    return start_run(checked, path, overrides, on_plan, on_outcome, on_warning)


async def resume_async(
    run_dir: str | os.PathLike[str],
    *,
    on_plan: PlanCallback | None = None,
    on_outcome: Callable[[CallOutcome], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Continue a run from its ledger, making only the calls without a successful line yet.
    An altered ledger is refused (CheckFailed, exit 1) before any call."""
    from puma.runner.session import resume_async as resume_run

    return await resume_run(Path(run_dir), on_plan, on_outcome, on_warning)


def resume(
    run_dir: str | os.PathLike[str],
    *,
    on_plan: PlanCallback | None = None,
    on_outcome: Callable[[CallOutcome], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """`resume_async`, waited for; inside a running event loop it runs in a worker thread."""
    from puma.runner.session import resume_run

    return resume_run(Path(run_dir), on_plan, on_outcome, on_warning)


def evaluate(
    run_dir: str | os.PathLike[str],
    *,
    resamples: int = 10_000,
    seed: int = 42,
    level: float = 0.95,
    method: IntervalMethod = "bca",
    permutations: int = 10_000,
    correction: Correction = "holm",
) -> EvaluationResult:
    """Score a run folder's predictions and write metrics.json, metadata.json and report.html
    (the defaults are `puma eval`'s; the same seed gives the same bytes)."""
    from puma.evaluate import evaluate_run
    from puma.evaluate.scoring import ScoringOptions
    from puma.stats.intervals import IntervalMethod
    from puma.stats.paired import Correction

    if method not in get_args(IntervalMethod):
        raise PumaError(f"method must be one of {', '.join(get_args(IntervalMethod))}: {method!r}")
    if correction not in get_args(Correction):
        raise PumaError(
            f"correction must be one of {', '.join(get_args(Correction))}: {correction!r}"
        )
    options = ScoringOptions(
        resamples=resamples,
        seed=seed,
        level=level,
        method=method,
        permutations=permutations,
        correction=correction,
    )
    return evaluate_run(Path(run_dir), options)


def verify(
    submission: str | os.PathLike[str],
    predictions: str | os.PathLike[str] | None = None,
    *,
    rescore: bool = False,
    suite: str | None = None,
    remote: str | None = None,
) -> Verification:
    """Recompute a submission's predictions hash (and, with `rescore`, its metrics against the
    suite's gold). An unreadable file raises InputFileError; a mismatch does not raise: the
    result's `ok` is False (`raise_if_failed()` turns it into CheckFailed, exit 1). A `remote`
    verifier's answer is a warning at most: the local result stands."""
    from puma.submission.verify import verify_submission

    return verify_submission(
        Path(submission),
        Path(predictions) if predictions is not None else None,
        rescore=rescore,
        suite=suite,
        remote_url=remote,
    )
