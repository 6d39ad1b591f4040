"""Predicted values: numeric predictions are canonicalised here (`3`, `3.0`, ` 3 ` are one value)
so hashes are stable. The prediction files themselves are puma.runfolder.predictions's.
"""

from __future__ import annotations

import math
import re
from typing import Any

BASELINE = "none"  # the perturbation name of unperturbed items

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def canonical_number(value: Any) -> int | float | None:
    """One value for `3`, `3.0`, ` 3 ` and "3": an int when integral, else a float (6 d.p.)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.match(text):
            return None
        value = float(text)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    number = float(value)
    if number.is_integer():
        return int(number)
    return round(number, 6)


def canonical_number_text(value: Any) -> str | None:
    number = canonical_number(value)
    return None if number is None else str(number)
