"""The Rich consoles every command prints through.

When the output is not a terminal (a pipe, a log file, CI), messages are not wrapped: one message
stays one line, so `grep` and log readers see it whole. Tables are laid out for 120 columns
there (or COLUMNS when set) rather than Rich's guess of 80, which cut model names short.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.theme import Theme

PIPED_WIDTH = 120

# Named styles (`[puma.ok]✓[/]`) per theme: `auto` suits most terminals and follows NO_COLOR;
# `light` is for light backgrounds; `plain` has no colour or emphasis at all (logs, screen readers).
_DARK = {
    "puma.ok": "bold green",
    "puma.bad": "bold red",
    "puma.warn": "yellow",
    "puma.muted": "grey62",
    "puma.accent": "cyan",
    "puma.title": "bold cyan",
}
THEMES: dict[str, dict[str, str]] = {
    "auto": _DARK,
    "dark": _DARK,
    "light": {
        "puma.ok": "bold dark_green",
        "puma.bad": "bold red3",
        "puma.warn": "dark_orange3",
        "puma.muted": "grey37",
        "puma.accent": "blue",
        "puma.title": "bold blue",
    },
    "plain": dict.fromkeys(_DARK, "none"),
}


def make_console(*, stderr: bool = False, theme: str = "auto") -> Console:
    stream = sys.stderr if stderr else sys.stdout
    styles = Theme(THEMES[theme])
    plain = {"no_color": True, "highlight": False} if theme == "plain" else {}
    if stream.isatty():
        return Console(stderr=stderr, theme=styles, **plain)  # type: ignore[arg-type]
    width = None if os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(stderr=stderr, soft_wrap=True, width=width, theme=styles, **plain)  # type: ignore[arg-type]
