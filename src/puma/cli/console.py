"""The Rich consoles every command prints through.

When the output is not a terminal (a pipe, a log file, CI), messages are not wrapped: one message
stays one line, so `grep` and log readers see it whole. Tables are laid out for 120 columns
there (or COLUMNS when set) rather than Rich's guess of 80, which cut model names short.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 120


def make_console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    width = None if os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(stderr=stderr, soft_wrap=True, width=width)
