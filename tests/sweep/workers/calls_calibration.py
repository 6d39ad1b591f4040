"""A worker body that fits a calibration on the worker (for the lint tests)."""

from __future__ import annotations

from typing import Any


def run_and_calibrate(shard: Any, environment: dict[str, Any]) -> Any:
    import numpy as np

    confidences = np.zeros(3)
    return fit_calibration(confidences)


def fit_calibration(values: Any) -> Any:
    return values
