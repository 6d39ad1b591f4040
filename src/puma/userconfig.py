"""The user's PUMA folders. The config folder holds credentials (when no OS keyring is
available) and the local history of submissions; the cache folder holds what is costly to find
again and safe to lose (model digests, the energy meter's hardware detection). Nothing in a run
folder or a submission ever points here.

`PUMA_CONFIG_DIR` / `PUMA_CACHE_DIR` override the locations (tests, several profiles); otherwise
the XDG rule: `$XDG_CONFIG_HOME/puma`, else `~/.config/puma`; `$XDG_CACHE_HOME/puma`, else
`~/.cache/puma`.
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


def cache_dir() -> Path:
    """The cache folder (not created here). Its files are conveniences: a reader that cannot use
    one works it out again, a writer that cannot write one goes on without it."""
    explicit = os.environ.get("PUMA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "puma"
