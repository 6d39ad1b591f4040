"""The report's figures, drawn with matplotlib's Agg backend and returned as base64 PNG.

Each function takes plain data from metrics.json (or raw timings) and returns a data URI, or None
when there is nothing to draw. The same data gives the same bytes.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

_COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795")


def available() -> bool:
    """Whether matplotlib (the `report` extra) is installed; without it the report has tables
    only."""
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
        }
    )
    return plt


def _png(figure: Any) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    # No software tag: the bytes then depend on the data, not on the installed matplotlib build.
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def forest_plot(comparisons: Sequence[Mapping[str, Any]], metric: str) -> str | None:
    """Each model pair's difference (a - b) with its interval; a filled marker when the adjusted
    p-value is below 0.05."""
    rows = [
        c for c in comparisons if c["metric"] == metric and c["difference"]["point"] is not None
    ]
    if not rows:
        return None
    plt = _pyplot()
    height = 0.9 + 0.32 * len(rows)
    figure, axis = plt.subplots(figsize=(6.4, height))
    for i, c in enumerate(rows):
        d = c["difference"]
        y = len(rows) - 1 - i
        low = d["ci_low"] if d["ci_low"] is not None else d["point"]
        high = d["ci_high"] if d["ci_high"] is not None else d["point"]
        significant = c.get("p_adjusted") is not None and c["p_adjusted"] < 0.05
        axis.plot([low, high], [y, y], color=_COLORS[0], linewidth=1.6)
        axis.plot(
            d["point"],
            y,
            marker="o",
            markersize=6,
            color=_COLORS[0],
            markerfacecolor=_COLORS[0] if significant else "white",
        )
    axis.axvline(0.0, color="#718096", linewidth=0.8, linestyle="--")
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels([f"{c['a']} − {c['b']}" for c in reversed(rows)])
    level = rows[0]["difference"]["level"]
    axis.set_xlabel(f"difference in {metric} ({level:.0%} interval; filled: adjusted p < 0.05)")
    axis.set_ylim(-0.7, len(rows) - 0.3)
    return _png(figure)


def confusion_plot(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> str:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(2.9, 2.6))
    data = [list(map(int, row)) for row in matrix]
    peak = max((max(row) for row in data if row), default=0) or 1
    axis.imshow(data, cmap="Blues", vmin=0, vmax=peak)
    for i, row in enumerate(data):
        for j, value in enumerate(row):
            color = "white" if value > peak * 0.6 else "#1a202c"
            axis.text(j, i, str(value), ha="center", va="center", color=color, fontsize=8)
    axis.set_xticks(range(len(labels)))
    axis.set_xticklabels(labels, rotation=35, ha="right")
    axis.set_yticks(range(len(labels)))
    axis.set_yticklabels(labels)
    axis.set_xlabel("predicted (unparsed answers not shown)")
    axis.set_ylabel("gold")
    axis.set_title(title, fontsize=9)
    return _png(figure)


def reliability_plot(tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> str | None:
    """Accuracy against mean confidence per equal-width bin, one line per model."""
    series = {name: [r for r in rows if r["n"]] for name, rows in tables.items()}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.2, 3.6))
    axis.plot([0, 1], [0, 1], color="#a0aec0", linewidth=0.8, linestyle="--", label="perfect")
    for i, (name, rows) in enumerate(sorted(series.items())):
        color = _COLORS[i % len(_COLORS)]
        axis.plot(
            [r["confidence"] for r in rows],
            [r["accuracy"] for r in rows],
            marker="o",
            markersize=4,
            color=color,
            label=name,
        )
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("mean confidence in bin")
    axis.set_ylabel("accuracy in bin")
    axis.legend(fontsize=7, frameon=False, loc="upper left")
    return _png(figure)


def speed_plot(samples: Mapping[str, Mapping[str, Sequence[float]]]) -> str | None:
    """Distributions per model of per-call latency, time to first token and tokens/s."""
    panels = (
        ("total_ms", "latency per call (ms)"),
        ("ttft_ms", "time to first token (ms)"),
        ("prompt_tps", "prompt tokens/s"),
        ("generation_tps", "generation tokens/s"),
    )
    models = sorted(samples)
    shown = [
        (column, label)
        for column, label in panels
        if any(_finite(samples[m].get(column, ())) for m in models)
    ]
    if not shown:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(shown), figsize=(3.0 * len(shown), 0.8 + 0.45 * len(models)))
    if len(shown) == 1:
        axes = [axes]
    for axis, (column, label) in zip(axes, shown, strict=True):
        data = [_finite(samples[m].get(column, ())) or [math.nan] for m in models]
        parts = axis.boxplot(data, vert=False, widths=0.6, patch_artist=True, showfliers=True)
        for i, box in enumerate(parts["boxes"]):
            box.set_facecolor(_COLORS[i % len(_COLORS)] + "55")
            box.set_edgecolor(_COLORS[i % len(_COLORS)])
        axis.set_yticks(range(1, len(models) + 1))
        axis.set_yticklabels(models if axis is axes[0] else [""] * len(models))
        axis.set_xlabel(label)
    return _png(figure)


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]
