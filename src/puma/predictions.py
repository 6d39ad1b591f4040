"""The prediction files of a run: the columns of `predictions_full.parquet` and the canonical rows.

Written by the runner at run end, read by evaluation and the submission builder. Numeric
predictions are canonicalised here (`3`, `3.0`, ` 3 ` are one value) so hashes are stable.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pyarrow as pa

BASELINE = "none"  # the perturbation name of unperturbed items

# One row per final call: (suite_id, model, perturbation, repetition, instance_id) is unique.
FULL_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("suite_id", pa.string()),
        ("task", pa.string()),  # triage | estimation | prioritization
        ("model", pa.string()),
        ("strategy", pa.string()),
        ("phase", pa.string()),  # "predict" for benchmark items
        ("perturbation", pa.string()),  # "none" for the baseline
        ("repetition", pa.int32()),
        ("instance_id", pa.string()),
        ("gold", pa.string()),  # canonical text: "Major", "5", "A"
        ("slices", pa.string()),  # JSON object of slice field -> value, e.g. {"project":"HDFS"}
        ("prompt_hash", pa.string()),
        ("output_text", pa.string()),
        ("parse_status", pa.string()),  # ok | fuzzy | unparsed | error (the call failed)
        ("predicted_label", pa.string()),  # canonical; null when unparsed or failed
        ("predicted_value", pa.float64()),  # triage: label probability; estimation: estimate
        ("label_probs", pa.string()),  # JSON object label -> probability, or null
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("tokens_counted_locally", pa.bool_()),
        ("ttft_ms", pa.float64()),
        ("total_ms", pa.float64()),
        ("prompt_tps", pa.float64()),
        ("generation_tps", pa.float64()),
        ("attempt", pa.int32()),
        ("error", pa.string()),
        ("runtime_timings", pa.string()),  # JSON object of the runtime's own figures
        ("warnings", pa.string()),  # JSON list of strings
        ("seq", pa.int64()),  # the ledger line this row came from
    ]
)

CANONICAL_COLUMNS = ("instance_id", "predicted_label", "predicted_value", "prompt_hash")

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
