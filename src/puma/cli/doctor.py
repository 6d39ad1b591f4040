"""`puma doctor`: a ✓/✗/! table of what a run needs on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from puma.cli.console import make_console
from puma.doctor import check_spec_file, run_checks
from puma.errors import ExitCode
from puma.runtimes import RuntimeOptions, runtime_kind, runtime_kinds
from puma.runtimes.base import Check

console = make_console()
MARKS = {"ok": "[green]✓[/]", "fail": "[red]✗[/]", "warn": "[yellow]![/]"}
URL_ONLY_KIND = "ollama"  # `--url` or `--model` without `--runtime` or a spec: the usual server


def doctor(
    spec_file: Annotated[
        Path | None, typer.Argument(help="Check what this run spec needs (default: embedded).")
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option(
            "--runtime", help=f"Check a runtime: {', '.join(k.name for k in runtime_kinds())}."
        ),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="The runtime's base URL.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="A model that must be present.")
    ] = None,
) -> None:
    """Check Python, extras, the embedded model, disk, CodeCarbon and the runtime.

    Exit 0 when everything the spec (or runtime) needs is there, 2 when the spec has a
    problem `puma run` would refuse, 1 otherwise.
    """
    runtime_spec: RuntimeOptions | None = None
    output = Path("runs")
    spec_rows: list[Check] = []
    if spec_file is not None:
        spec, spec_rows = check_spec_file(spec_file)
        if spec is not None:
            runtime_spec, output = spec.runtime, Path(spec.output)
    if runtime is not None or url is not None or model is not None:
        runtime_spec = _with_flags(runtime_spec, runtime, url, model)
    checks = [*spec_rows, *run_checks(runtime_spec, output)]
    table = Table(title="puma doctor", show_header=True)
    table.add_column("")
    table.add_column("check")
    table.add_column("result")
    table.add_column("fix")
    for check in checks:
        table.add_row(
            MARKS[check.status], escape(check.name), escape(check.detail), escape(check.fix or "")
        )
    console.print(table)
    failed = [c for c in checks if c.status == "fail"]
    bad_spec = [c for c in spec_rows if c.status == "fail"]
    if bad_spec:
        console.print(
            f"[red]{len(bad_spec)} problem(s) in the spec[/]: `puma run` would refuse it; "
            "fix them first."
        )
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed[/]: run the commands in 'fix'.")
        raise typer.Exit(int(ExitCode.FAILED_CHECK))
    console.print("[green]ready[/]")


def _with_flags(
    base: RuntimeOptions | None, kind: str | None, url: str | None, model: str | None
) -> RuntimeOptions:
    """The spec's runtime (if any) with the command line's flags over it. Not validated: a
    server runtime without a model is checked for reachability only."""
    fields = base.model_dump() if base else {}
    entry = runtime_kind(kind or fields.get("kind", URL_ONLY_KIND))
    fields.update(kind=entry.name, url=url or fields.get("url"))
    if model:
        fields.update(model=model, models=None)
    known = entry.options.model_fields
    options: RuntimeOptions = entry.options.model_construct(
        **{k: v for k, v in fields.items() if k in known}
    )
    return options


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
