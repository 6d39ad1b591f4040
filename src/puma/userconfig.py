"""The user's PUMA folder: credentials (when no OS keyring is available) and the local history of
submissions. Nothing in a run folder or a submission ever points here.

`PUMA_CONFIG_DIR` overrides the location (tests, several profiles); otherwise the XDG rule:
`$XDG_CONFIG_HOME/puma`, else `~/.config/puma`.
"""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """The folder (not created here: writers create it with mode 0700 when they first need it)."""
    override = os.environ.get("PUMA_CONFIG_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "puma"
