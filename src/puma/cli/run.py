"""`puma run`: run a spec (or resume a run) with a progress bar and a closing summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from puma.cli.console import make_console
from puma.cli.evaluate import print_answer_warnings
from puma.errors import InputFileError
from puma.spec import MAX_LIMIT

if TYPE_CHECKING:  # the runner pulls in llama.cpp, pyarrow and the suites: load on use
    from puma.run_summary import RunSummary
    from puma.runner.execute import CallOutcome
    from puma.runner.session import RunResult

console = make_console()
stderr = make_console(stderr=True)


class _RateColumn(TextColumn):
    """Calls per second since the bar started."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        from rich.text import Text

        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:5.2f} calls/s", style="progress.data.speed")


def run_command(
    spec_file: Annotated[
        Path | None, typer.Argument(help="Run spec (YAML), e.g. specs/runs/demo_publication.yaml")
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Resume this run folder: make only the calls "
            "that have no successful ledger line yet.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Override the model: a GGUF path for the "
            "embedded runtime, a model name for servers.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, max=MAX_LIMIT, help="Override every suite's item limit."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Override the output folder (spec: output).")
    ] = None,
    phases: Annotated[
        str | None,
        typer.Option(
            "--phases",
            help="Phases to run besides the spec's suites: NAME,... or all "
            "(docs/commands/phases.md lists them).",
        ),
    ] = None,
    speed_profile: Annotated[
        str,
        typer.Option(
            "--speed-profile",
            help="Sizes of the speed phases: auto (canonical with a GPU, small without), "
            "canonical, small, tiny (tests only).",
        ),
    ] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object (for scripts).")
    ] = False,
) -> None:
    """Run a spec against its runtime and write a run folder (exit 3: finished with failures)."""
    if (spec_file is None) == (resume is None):
        raise InputFileError(
            "give a spec file, or --resume RUN_DIR (not both)",
            hint="puma run specs/runs/demo_publication.yaml",
        )
    if resume is not None and phases is not None:
        raise InputFileError(
            "--phases is for a new run; a resumed run makes the phases its manifest planned",
            hint=f"puma run --resume {resume}",
        )
    import puma
    from puma.run_summary import summarize_run
    from puma.runner.session import check_resumable
    from puma.spec_check import validate_spec

    if resume is not None:
        check_resumable(resume)  # refuse an altered ledger before any progress bar is drawn
    else:  # everything the spec check refuses stops here, before a model loads or a bar is drawn
        assert spec_file is not None
        validate_spec(spec_file, check_models=model is None)

    show_progress = not (quiet or as_json)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TextColumn("unanswered: {task.fields[errors]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    )
    task_id = progress.add_task("calls", total=None, errors=0)
    errors = 0
    drawn = False

    def on_plan(todo: int, done: int) -> None:
        nonlocal drawn
        drawn = True
        progress.start()  # only now: nothing is drawn before the model has loaded
        progress.update(task_id, total=todo + done, completed=done)
        if done and show_progress:
            console.print(f"resuming: {done} calls already done, {todo} to make")
        progress.reset(task_id, total=todo + done, completed=done)

    def on_outcome(outcome: CallOutcome) -> None:
        nonlocal errors
        errors += 0 if outcome.ok else 1
        progress.update(task_id, advance=1, errors=errors)

    def on_warning(text: str) -> None:  # stderr: --json keeps stdout one object
        stderr.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)

    started = time.monotonic()
    try:
        if resume is not None:
            result = puma.resume(
                resume, on_plan=on_plan, on_outcome=on_outcome, on_warning=on_warning
            )
        else:
            assert spec_file is not None
            result = puma.run(
                spec_file,
                model=model,
                limit=limit,
                output=out,
                phases=phases,
                speed_profile=None if speed_profile == "auto" else speed_profile,
                on_plan=on_plan,
                on_outcome=on_outcome,
                on_warning=on_warning,
            )
    finally:
        if drawn:
            progress.stop()
    summary = summarize_run(result, wall_s=time.monotonic() - started)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), sort_keys=True))
    elif not quiet:
        _render(result, summary)
    print_answer_warnings(summary.warnings)  # last, on stderr, whatever the output mode
    raise typer.Exit(int(result.exit_code))


def _render(result: RunResult, summary: RunSummary) -> None:
    table = Table(title=f"run {result.manifest.run_id}", show_lines=False)
    columns = ["suite", "model", "n", "score", "parse failures", "errors"]
    if summary.skipped:
        columns.append("skipped")
    for column in columns:
        table.add_column(column, justify="left" if column in ("suite", "model") else "right")
    for cell in summary.cells:
        values = [
            cell.suite_id,
            cell.model,
            str(cell.n),
            cell.score_text,
            f"{cell.parse_failure_rate:.1%}",
            str(cell.errors),
        ]
        table.add_row(*values, *([str(cell.skipped)] if summary.skipped else []))
    console.print(table)
    console.print(
        f"calls {summary.calls} · errors {summary.errors} · skipped {summary.skipped} · "
        f"wall {summary.wall_s:.1f} s · {summary.speed_text}"
    )
    console.print(f"run folder: [bold]{result.folder.root}[/]")
    _render_speed(result)
    for deviation in summary.deviations:
        console.print(
            f"[yellow]deviation:[/] {deviation['setting']} {deviation['requested']} → "
            f"{deviation['used']} (recorded in manifest.json)",
            highlight=False,
        )
    if summary.skipped:
        console.print(
            f"[yellow]{_calls(summary.skipped)} skipped: the prompt did not fit the model's "
            "context[/] (each counts as a wrong answer). Raise generation.num_ctx in the spec, "
            "or use a strategy with a shorter prompt, and start a new run."
        )
    if summary.errors:
        console.print(
            f"[yellow]{_calls(summary.errors)} failed after every retry.[/] Fix the "
            f"runtime, then: puma run --resume {result.folder.root}"
        )
    else:
        console.print(
            f"next: puma eval {result.folder.root}   then   puma share-results "
            f"{result.folder.root} --dry-run --out submission/"
        )


def _render_speed(result: RunResult) -> None:
    """One line per speed phase from speed.json (docs/commands/phases.md has the method)."""
    if not result.folder.speed.is_file():
        return
    from puma.runfolder.speed import SpeedReport

    report = SpeedReport.load(result.folder)
    for phase in report.phases:
        text = f"{phase.name}: {phase.status}, {phase.calls} calls + {phase.warmup_calls} warm-up"
        if phase.reason:
            text += f" ({phase.reason})"
        for model, row in phase.figures.get("headline", {}).items():
            text += f" · {model}: pp {row.get('pp_tps')} tg {row.get('tg_tps')} tokens/s"
        console.print(escape(text), highlight=False)
    console.print(f"speed figures (profile {report.profile}): {result.folder.speed}")


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
