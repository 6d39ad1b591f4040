"""`puma import lm-eval|inspect PATH... --out RUN_DIR`: another tool's saved samples as a PUMA run
folder, scored with PUMA's intervals and compared with the figures the tool reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from puma.cli.console import make_console
from puma.cli.evaluate import (
    Correction,
    Level,
    Method,
    Permutations,
    Resamples,
    Seed,
    _headline,
    _options,
)

if TYPE_CHECKING:
    from puma.importers import ImportResult

console = make_console()

import_app = typer.Typer(
    help="Re-score what other evaluation tools saved (lm-evaluation-harness, Inspect): a run "
    "folder with PUMA's intervals, paired tests and hashes, without running any model.",
    no_args_is_help=True,
)

Paths = Annotated[list[Path], typer.Argument(help="Log files or folders (several models at once).")]
Out = Annotated[Path, typer.Option("--out", help="The run folder to write (new or empty).")]
Plots = Annotated[
    bool,
    typer.Option("--plots/--no-plots", help="Draw the report's figures (slow for many tasks)."),
]
NoEval = Annotated[
    bool, typer.Option("--no-eval", help="Write the run folder only; score it later.")
]


def _comparisons(result: ImportResult) -> Table:
    table = Table(title="the tool's figures beside PUMA's points")
    for column in ("suite", "model", "tool metric", "reported", "PUMA metric", "PUMA", "status"):
        table.add_column(column)
    colour = {"equal": "green", "differs": "bold red", "not re-derived": "yellow"}
    for c in result.comparisons:
        status = c.status + (f": {c.note}" if c.note else "")
        table.add_row(
            escape(c.suite_id),
            escape(c.model),
            escape(c.metric),
            "—" if c.reported is None else f"{c.reported:.6g}",
            c.puma_metric or "—",
            "—" if c.puma is None else f"{c.puma:.6g}",
            f"[{colour.get(c.status, 'white')}]{escape(status)}[/]",
        )
    return table


def _run(
    tool: str,
    paths: list[Path],
    out: Path,
    no_eval: bool,
    plots: bool,
    resamples: int,
    seed: int,
    level: float,
    method: str,
    permutations: int,
    correction: str,
) -> None:
    from puma.importers import import_logs

    options = _options(resamples, seed, level, method, permutations, correction)
    with console.status("reading logs and resampling..."):
        result = import_logs(tool, paths, out, evaluate=not no_eval, options=options, plots=plots)
    console.print(
        f"imported {result.rows} sample(s) of {len(result.models)} model(s) on "
        f"{len(result.suites)} suite(s) from {escape(result.tool)}"
    )
    if result.document is not None:
        console.print(_headline(result.document))
    console.print(_comparisons(result))
    console.print(f"wrote {escape(str(result.folder.root))}")


def _command(tool: str, summary: str) -> Callable[..., None]:
    """The command of one tool: the same options for every tool, its own help text."""

    def command(
        paths: Paths,
        out: Out,
        no_eval: NoEval = False,
        plots: Plots = True,
        resamples: Resamples = 10_000,
        seed: Seed = 42,
        level: Level = 0.95,
        method: Method = "bca",
        permutations: Permutations = 10_000,
        correction: Correction = "holm",
    ) -> None:
        _run(tool, paths, out, no_eval, plots, resamples, seed, level, method, permutations,
             correction)  # fmt: skip

    command.__doc__ = (
        f"{summary}\n\nExit 0 on success, 2 when a log cannot be read (another tool, another "
        "version, truncated, no samples), 5 when the run folder cannot be written."
    )
    return command


def register(app: typer.Typer) -> None:
    import_app.command("lm-eval")(
        _command(
            "lm-eval",
            "Import `lm_eval --log_samples` output: results_<ts>.json files, "
            "samples_<task>_<ts>.jsonl files, or folders holding them.",
        )
    )
    import_app.command("inspect")(
        _command("inspect", "Import Inspect logs: .eval or .json files, or folders holding them.")
    )
    app.add_typer(import_app, name="import")
