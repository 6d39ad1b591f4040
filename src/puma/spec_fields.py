"""The field types of run specs, shared by `puma.spec` and each runtime's options model (which
live in the runtime modules, below the spec in the import order).

Strict models: YAML gives real types, so `seed: "42"`, `temperature: true` and `num_ctx: 1.0e9`
are mistakes, not values to coerce; unknown keys are errors; no inf or nan for any number.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _no_control_characters(value: str) -> str:
    match = CONTROL.search(value)
    if match:
        raise ValueError(f"control character U+{ord(match.group()):04X} in {value!r}")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(f"NUL character in {value!r}")
    return value


def distinct(what: str) -> AfterValidator:
    """A list validator: each value once (a repeated model, suite slice or perturbation would
    plan the same calls twice)."""

    def check(values: list[str]) -> list[str]:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{what} {value!r} is listed twice")
            seen.add(value)
        return values

    return AfterValidator(check)


# Strings that become names, paths and ids: one line of printable text.
Text = Annotated[str, AfterValidator(_no_control_characters)]
NonEmptyText = Annotated[str, Field(min_length=1), AfterValidator(_no_control_characters)]
StopText = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_nul)]
EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def is_http_url(value: str) -> bool:
    """http:// or https://, a host, an optional port from 1 to 65535, no spaces."""
    if any(c.isspace() for c in value) or CONTROL.search(value):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a port that is not a number or out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0
