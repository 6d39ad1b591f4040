"""Runtimes: one module per runtime kind behind the interface in `runtimes.base`.

Every module of this package is imported here once, so each runtime module registers itself
(`runtimes.registry`): adding a runtime is adding its module. `options_union()` is the spec's
`runtime:` section, a discriminated union of the registered kinds' options on `kind`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Discriminator, Tag

from puma.runtimes.registry import (
    RuntimeOptions,
    create_runtime,
    diagnose,
    migrate_flat,
    runtime_kind,
    runtime_kinds,
)

__all__ = [
    "DEFAULT_KIND",
    "RuntimeOptions",
    "create_runtime",
    "default_options",
    "diagnose",
    "options_union",
    "runtime_kind",
    "runtime_kinds",
]

DEFAULT_KIND = "embedded"  # a spec without `runtime:` (or without `kind:`) runs in-process

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")


def default_options() -> RuntimeOptions:
    options: RuntimeOptions = runtime_kind(DEFAULT_KIND).options()
    return options


def _kind_of(value: Any) -> str | None:
    """The tag of a runtime section; None (reported as "expected a mapping") when it has none."""
    if isinstance(value, RuntimeOptions):
        return value.kind
    if not isinstance(value, dict):
        return None
    kind = value.get("kind", DEFAULT_KIND)
    # Any other value is not a registered tag, and pydantic reports it with the known kinds.
    return kind if isinstance(kind, str) else repr(kind)


def options_union() -> Any:
    """The type of `SpecFile.runtime`: the registered options models told apart by `kind`,
    with older manifests' flat sections migrated first."""
    members = tuple(Annotated[k.options, Tag(k.name)] for k in runtime_kinds())
    return Annotated[
        Union[members],  # noqa: UP007 - a Union built from a tuple has no `|` spelling
        Discriminator(_kind_of),
        BeforeValidator(migrate_flat),
    ]
