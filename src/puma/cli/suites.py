"""`puma suites list` and `puma suites show ID`: what the bundled suites are, with their hashes."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from puma.cli.console import make_console

HASH_PREFIX = 12
EXAMPLE_TEXT_LIMIT = 600  # characters of the example's description shown by `show`

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of a table (for scripts).")
]

suites_app = typer.Typer(
    name="suites",
    help="List and inspect the bundled benchmark suites.",
    no_args_is_help=True,
)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@suites_app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """List the bundled suites: id, version, task, sizes, labels and content-hash prefix."""
    from puma.suites import list_suites  # on use: the suites package loads pyarrow

    manifests = list_suites()
    console = make_console()  # per call, so the terminal width (COLUMNS) is read when printing
    if as_json:
        _print_json([m.model_dump(mode="json") for m in manifests])
        return
    table = Table(title="bundled suites", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("version")
    table.add_column("task")
    table.add_column("items", justify="right")
    table.add_column("examples", justify="right")
    table.add_column("labels", min_width=12)  # the one column that wraps on narrow terminals
    table.add_column("hash", no_wrap=True, min_width=HASH_PREFIX)
    for m in manifests:
        order = m.gold_order()
        labels = ", ".join(m.labels) or ("points " + "/".join(order) if order else "open answers")
        table.add_row(
            m.id,
            m.version,
            m.task,
            str(m.counts.items),
            str(m.counts.examples),
            escape(labels),
            m.content_hash[:HASH_PREFIX],
        )
    console.print(table)


@suites_app.command("show")
def show_command(
    suite_id: Annotated[
        str, typer.Argument(metavar="ID", help="A suite id from `puma suites list`.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Show one suite: datasheet summary, gold distribution, one item and the full content hash.

    Loading checks the data against its content hash; a modified file is an error (exit 2)."""
    from puma.suites import suite_overview

    overview = suite_overview(suite_id)
    console = make_console()
    if as_json:
        _print_json(overview.model_dump(mode="json"))
        return
    m = overview.manifest
    console.print(f"[bold]{m.id}[/] {m.version} · task {m.task} · license {m.license}")
    console.print(escape(m.description))
    console.print()
    console.print(escape(overview.summary), soft_wrap=False)
    console.print()
    total = sum(overview.gold_distribution.values())
    if total:
        table = Table(title=f"gold distribution ({total} items, {m.counts.examples} examples)")
        table.add_column("gold")
        table.add_column("items", justify="right")
        table.add_column("share", justify="right")
        for label, count in overview.gold_distribution.items():
            table.add_row(escape(label), str(count), f"{100 * count / total:.1f}%")
        console.print(table)
    else:  # open answers (text, code): every item has its own gold
        console.print(f"{m.counts.items} items, {m.counts.examples} examples; open answers")
    item = dict(overview.example_item)
    text = str(item.get("description", ""))
    if len(text) > EXAMPLE_TEXT_LIMIT:
        item["description"] = text[:EXAMPLE_TEXT_LIMIT] + " …"
    console.print("[bold]first item[/]")
    console.print(escape(json.dumps(item, indent=2, ensure_ascii=False)))
    console.print()
    console.print(f"content hash: {m.content_hash}")
    console.print(f"datasheet:    {escape(overview.datasheet_path)}")


def register(app: typer.Typer) -> None:
    app.add_typer(suites_app, name="suites")
