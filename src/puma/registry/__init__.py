"""The registry: a FastAPI service that re-verifies every upload (submission packages and
contributor folders), keeps a public hash-chained log of what it accepted and withdrew, and
serves a leaderboard computed from that log alone.

Public: `create_app`, `RegistrySettings`, `verify_log`, `read_log`, `leaderboard_from_log`.
Each is imported on first use, so importing `puma.registry` does not start FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from puma.registry.app import create_app
    from puma.registry.leaderboard import leaderboard_from_log
    from puma.registry.log import LogVerdict, read_log, verify_log
    from puma.registry.settings import RegistrySettings

_HOME = {
    "create_app": "puma.registry.app",
    "leaderboard_from_log": "puma.registry.leaderboard",
    "LogVerdict": "puma.registry.log",
    "read_log": "puma.registry.log",
    "verify_log": "puma.registry.log",
    "RegistrySettings": "puma.registry.settings",
}
__all__ = [
    "LogVerdict",
    "RegistrySettings",
    "create_app",
    "leaderboard_from_log",
    "read_log",
    "verify_log",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'puma.registry' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
