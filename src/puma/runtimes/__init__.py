"""Runtimes: one module per model runtime behind the interface in `runtimes.base`.

`create_runtime(spec)` builds the runtime a spec names; runtimes register themselves with
`@register_runtime`, so adding one is a new module and one import line below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from puma.errors import SpecError

if TYPE_CHECKING:
    from puma.runtimes.base import Runtime
    from puma.spec import RuntimeSpec

_FACTORIES: dict[str, Callable[[RuntimeSpec, float], Runtime]] = {}
_MODULES = {
    "embedded": "puma.runtimes.embedded",
    "ollama": "puma.runtimes.ollama",
    "openai": "puma.runtimes.openai",
}


def register_runtime(
    name: str,
) -> Callable[[Callable[[RuntimeSpec, float], Runtime]], Callable[[RuntimeSpec, float], Runtime]]:
    """Register a factory `(runtime_spec, timeout_s) -> Runtime` under a spec's `runtime.kind`."""

    def decorate(
        factory: Callable[[RuntimeSpec, float], Runtime],
    ) -> Callable[[RuntimeSpec, float], Runtime]:
        _FACTORIES[name] = factory
        return factory

    return decorate


def create_runtime(spec: RuntimeSpec, timeout_s: float = 120.0) -> Runtime:
    if spec.kind not in _FACTORIES and spec.kind in _MODULES:
        importlib.import_module(_MODULES[spec.kind])  # registers itself on import
    try:
        factory = _FACTORIES[spec.kind]
    except KeyError:
        raise SpecError(f"unknown runtime kind {spec.kind!r}", where="runtime.kind") from None
    return factory(spec, timeout_s)
