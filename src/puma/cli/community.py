"""`puma community status|channels|publish`: the community side, thin.

status and channels read only local state (credentials store, history, environment) and make no
network call; publish validates, privacy-scans and sends one folder to one channel.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from puma.cli.console import make_console

community_app = typer.Typer(
    name="community",
    help="The community channels, your last submission, and publishing to them.",
    no_args_is_help=True,
)


class ThemeName(StrEnum):  # the keys of puma.cli.console.THEMES
    auto = "auto"
    dark = "dark"
    light = "light"
    plain = "plain"


ThemeOption = Annotated[
    ThemeName | None,
    typer.Option("--theme", help="Colours: auto (default), dark, light, plain (no colour)."),
]


@community_app.callback()
def _group(ctx: typer.Context, theme: ThemeOption = None) -> None:
    ctx.obj = {"theme": theme}


def _console(ctx: typer.Context, theme: ThemeName | None) -> Console:
    chosen = theme or (ctx.obj or {}).get("theme") or ThemeName.auto
    return make_console(theme=chosen.value)


def status(ctx: typer.Context, theme: ThemeOption = None) -> None:
    """Show whether you are logged in, your last submission and how many channels are set up
    (local only: no network call)."""
    from puma.community import collect_status

    state = collect_status()
    console = _console(ctx, theme)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="puma.accent")
    table.add_column()
    if state.authenticated:
        table.add_row("Authenticated", f"[puma.ok]✓[/] logged in ({escape(state.auth_detail)})")
    else:
        table.add_row("Authenticated", "[puma.bad]✗[/] not logged in (run `puma auth login`)")
    last = state.last
    table.add_row(
        "Last submission",
        f"{escape(last.identifier)} → {escape(last.where)} [puma.muted]({last.ts}, "
        f"{escape(last.kind)})[/]"
        if last
        else "[puma.muted]— none yet[/]",
    )
    style = (
        "puma.ok"
        if state.configured == state.total
        else "puma.warn"
        if state.configured
        else "puma.muted"
    )
    table.add_row("Channels", f"[{style}]{state.configured}/{state.total} channels configured[/]")
    console.print(
        Panel(
            table, title="[puma.title]PUMA community[/]", border_style="puma.accent", expand=False
        )
    )


def channels(ctx: typer.Context, theme: ThemeOption = None) -> None:
    """List the five community channels and whether each is configured here (its environment
    variable is set)."""
    from puma.community import CHANNELS

    console = _console(ctx, theme)
    table = Table(title="[puma.title]PUMA community channels[/]", title_justify="left")
    for column in ("Channel", "Kind", "Variable", "Configured?"):
        table.add_column(column, style="puma.accent" if column == "Channel" else None)
    for channel in CHANNELS:
        mark = "[puma.ok]✓[/]" if channel.configured() else "[puma.muted]—[/]"
        table.add_row(channel.name, channel.kind, channel.env_var, mark)
    console.print(table)
    console.print(
        "[puma.muted]`puma community publish DIR --channel NAME` sends to one "
        "(huggingface, zenodo, kaggle, discord, telegram, or registry).[/]",
        soft_wrap=True,
    )


def publish(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(
            help="A submission package, a contributor folder, or (for mirrors) a catalogue."
        ),
    ],
    channel: Annotated[
        str,
        typer.Option(
            "--channel",
            help="huggingface, zenodo, kaggle (mirrors: a catalogue folder); discord, telegram "
            "(notifications) or registry (a package or contributor folder).",
        ),
    ],
    theme: ThemeOption = None,
) -> None:
    """Validate, privacy-scan and send FOLDER to one channel: exit 0 sent, 1 refused (a check or
    the privacy scan), 2 bad input or set-up, 4 the service did not answer."""
    from puma.community import publish as send

    outcome = send(folder, channel)
    console = _console(ctx, theme)
    console.print(
        f"[puma.ok]sent[/] {escape(outcome.identifier)} to {escape(outcome.channel)}: "
        f"{escape(outcome.where)}",
        soft_wrap=True,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    community_app.command("status")(status)
    community_app.command("channels")(channels)
    community_app.command("publish")(publish)
    app.add_typer(community_app)
