"""The Rich consoles every command prints through.

When the output is not a terminal (a pipe, a log file, CI), messages are not wrapped at the
guessed 80-column width: one message stays one line, so `grep` and log readers see it whole.
Tables still fit the width (COLUMNS, or 80).
"""

from __future__ import annotations

import sys

from rich.console import Console


def make_console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, soft_wrap=not stream.isatty())
