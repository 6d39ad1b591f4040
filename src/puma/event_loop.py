"""Running a coroutine to its end from synchronous code, inside a running event loop or not.

The library's synchronous functions (`puma.run`, the remote verifier) are twins of async ones;
this is the one place that bridges them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")


def run_sync(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """The coroutine's result. Inside a running event loop (a Jupyter notebook) `asyncio.run`
    refuses, and blocking that loop's thread on its own work would deadlock: the coroutine then
    gets a fresh loop in a worker thread, as inspect_ai's `eval` does (callbacks are then called
    from that thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="puma-run") as pool:
        return pool.submit(asyncio.run, coroutine).result()
