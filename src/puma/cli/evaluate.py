"""`puma eval RUN_DIR` and `puma merge --root DIR`: score predictions with intervals, offline."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from puma.cli.console import make_console

if TYPE_CHECKING:  # scoring pulls in NumPy and PyArrow: load on use, keep `puma` fast to start
    from puma.evaluate.scoring import ScoringOptions


console = make_console()
stderr = make_console(stderr=True)

Resamples = Annotated[
    int,
    typer.Option(
        "--bootstrap-resamples", min=100, max=1_000_000, help="Bootstrap resamples of the items."
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of every resampling and permutation.")]
Level = Annotated[
    float,
    typer.Option("--ci-level", min=0.5, max=0.999, help="Confidence level of the intervals."),
]
Method = Annotated[
    str,
    typer.Option("--ci-method", help="Interval: bca (bias-corrected, accelerated) or percentile."),
]
Permutations = Annotated[
    int,
    typer.Option(
        "--permutations", min=0, max=1_000_000, help="Sign-flips per paired test (0: none)."
    ),
]
Correction = Annotated[
    str,
    typer.Option(
        "--correction", help="Multiple-comparison correction: holm, bh (Benjamini-Hochberg), none."
    ),
]


def _options(
    resamples: int, seed: int, level: float, method: str, permutations: int, correction: str
) -> ScoringOptions:
    from puma.evaluate.scoring import ScoringOptions

    if method not in ("bca", "percentile"):
        raise typer.BadParameter("expected bca or percentile", param_hint="--ci-method")
    if correction not in ("holm", "bh", "none"):
        raise typer.BadParameter("expected holm, bh or none", param_hint="--correction")
    return ScoringOptions(
        resamples=resamples,
        seed=seed,
        level=level,
        method=method,  # type: ignore[arg-type]
        permutations=permutations,
        correction=correction,  # type: ignore[arg-type]
    )


def _headline(document: dict[str, Any]) -> Table:
    from puma.report.html import metric_text
    from puma.tasks import task_for

    table = Table(title="headline (baseline, all items)")
    for column in ("suite", "model", "strategy", "n", "metric"):
        table.add_column(column)
    table.add_column("point [interval]", no_wrap=True)
    for cell in document["cells"]:
        key = cell["cell"]
        if key["slice"] is not None or key["perturbation"] != "none":
            continue
        name = task_for(key["task"]).headline
        table.add_row(
            escape(key["suite_id"]),
            escape(key["model"]),
            escape(key["strategy"]),
            str(cell["n"]),
            name,
            metric_text(cell["metrics"][name]),
        )
    return table


def eval_command(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (runs/run-<uuid>).")],
    resamples: Resamples = 10_000,
    seed: Seed = 42,
    level: Level = 0.95,
    method: Method = "bca",
    permutations: Permutations = 10_000,
    correction: Correction = "holm",
) -> None:
    """Score a run's predictions: metrics with intervals, paired model comparisons, robustness,
    fairness and calibration, written to metrics.json, metadata.json and report.html in the run
    folder. Needs neither the model nor the runtime; the same seed gives the same bytes.

    Exit 0 on success, 1 when the ledger was altered or the predictions differ from what it
    says, 2 when the run folder or its predictions cannot be read or the run has not finished.
    """
    import puma

    options = _options(resamples, seed, level, method, permutations, correction)
    with console.status("resampling..."):
        result = puma.evaluate(
            run_dir,
            resamples=options.resamples,
            seed=options.seed,
            level=options.level,
            method=options.method,
            permutations=options.permutations,
            correction=options.correction,
        )
    console.print(_headline(result.document))
    for path in (result.metrics_path, result.metadata_path, result.report_path):
        console.print(f"wrote {escape(str(path))}")
    print_answer_warnings(result.warnings)


def print_answer_warnings(warnings: Sequence[str]) -> None:
    """puma.answer_quality's warnings, loud, on stderr (run, eval and share-results use it)."""
    for warning in warnings:
        stderr.print(f"[bold red]WARNING[/] {escape(warning)}", highlight=False)


def merge_command(
    root: Annotated[
        Path, typer.Option("--root", help="Folder holding run folders or sweep shards.")
    ],
    resamples: Resamples = 10_000,
    seed: Seed = 42,
    level: Level = 0.95,
    method: Method = "bca",
    permutations: Permutations = 10_000,
    correction: Correction = "holm",
    allow_missing: Annotated[
        bool,
        typer.Option("--allow-missing", help="Skip run folders without predictions (listed)."),
    ] = False,
) -> None:
    """Score every run folder under --root together: metrics per model, suite, slice and
    strategy, and every pairwise model comparison on the same suite, into ROOT/merged/.

    Exit 0 on success, 1 when a run folder has no predictions (unless --allow-missing),
    2 when a file cannot be read.
    """
    from puma.merge import merge_runs

    options = _options(resamples, seed, level, method, permutations, correction)
    with console.status("resampling..."):
        result = merge_runs(root, options, allow_missing=allow_missing)
    console.print(_headline(result.document))
    for skipped in result.skipped:
        console.print(f"[yellow]skipped[/] {escape(skipped)} (no predictions)")
    for warning in result.warnings:
        stderr.print(f"[bold yellow]WARNING[/] {escape(warning)}", highlight=False)
    console.print(f"merged {len(result.runs)} run(s)")
    for path in (result.metrics_path, result.report_path):
        console.print(f"wrote {escape(str(path))}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("merge")(merge_command)
