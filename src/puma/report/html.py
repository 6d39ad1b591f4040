"""Builds report.html from a metrics-1.0 document: headline tables with intervals, the forest plot
of model differences, confusion matrices, reliability diagrams, speed distributions, robustness,
fairness and slices. Everything is inline, so the file opens offline and nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from puma import __version__
from puma.predictions import BASELINE
from puma.stats.calibration import FOLD_SEEDS
from puma.tasks import Task, metric_for, metric_label, task_for

_TEMPLATES = Path(__file__).parent


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def metric_text(metric: Mapping[str, Any] | None, digits: int = 3) -> str:
    """'0.712 [0.671, 0.747]', or '—' when the metric has no value."""
    if not metric or metric.get("point") is None:
        return "—"
    text = _fmt(metric["point"], digits)
    if metric.get("ci_low") is not None and metric.get("ci_high") is not None:
        text += f" [{_fmt(metric['ci_low'], digits)}, {_fmt(metric['ci_high'], digits)}]"
        if metric.get("note"):
            # Not the interval asked for (intervals.summarize): name the one it is.
            text += f" ({metric['method']})"
    elif metric.get("note"):
        # No interval: say why, so a bare point never passes for a certain one.
        text += f" ({metric['note']})"
    return text


SPEED_COLUMNS = (
    ("ttft_ms_p50", "TTFT p50 (ms)", 1),
    ("prompt_tps_p50", "prompt tok/s p50", 1),
    ("generation_tps_p50", "gen tok/s p50", 1),
    ("latency_ms_p50", "latency p50 (ms)", 1),
    ("latency_ms_p90", "latency p90 (ms)", 1),
    ("latency_ms_p99", "latency p99 (ms)", 1),
)


def versus_chance(metric: str, difference: Mapping[str, Any] | None) -> str:
    """'beats chance', 'below chance' or 'not distinguishable from chance' from the interval of
    model - baseline (for a metric where lower is better, MAE, a negative difference is the
    better one)."""
    if not difference or difference.get("ci_low") is None or difference.get("ci_high") is None:
        return "—"
    low, high = difference["ci_low"], difference["ci_high"]
    if low == high:
        # A zero-width interval (every resample alike, e.g. a model wrong on every item) shows
        # no sampling variation at all: it cannot tell a model from chance.
        return "cannot tell (zero-width interval)"
    higher = metric_for(metric).higher_is_better
    better, worse = (low > 0, high < 0) if higher else (high < 0, low > 0)
    if better:
        return "beats chance"
    if worse:
        return "below chance"
    return "not distinguishable from chance"


def _chance_rows(cells: Sequence[Mapping[str, Any]], task: Task) -> list[list[str]]:
    rows = []
    for c in cells:
        for name, baseline in (c["metrics"].get("baselines") or {}).items():
            prediction = baseline.get("prediction")
            for metric in task.chance_metrics:
                if metric not in baseline:
                    continue
                difference = baseline["difference"].get(metric)
                rows.append(
                    [
                        c["cell"]["model"],
                        c["cell"]["strategy"],
                        task.chance_names.get(name, name)
                        + ("" if prediction is None else f" ({prediction})"),
                        metric,
                        metric_text(c["metrics"].get(metric)),
                        metric_text(baseline[metric]),
                        metric_text(difference),
                        versus_chance(metric, difference),
                    ]
                )
    return rows


def _headline_chance(cell: Mapping[str, Any], task: Task) -> list[str]:
    """The primary metric's chance baseline, the difference to it and the verdict."""
    baseline = (cell["metrics"].get("baselines") or {}).get(task.headline_chance)
    if not baseline:
        return ["—", "—", "—"]
    primary = task.headline
    difference = baseline["difference"].get(primary)
    return [
        metric_text(baseline.get(primary)),
        metric_text(difference),
        versus_chance(primary, difference),
    ]


def _spread(method: Mapping[str, Any]) -> str:
    """A recalibrated out-of-fold ECE with its [min, max] over fold seeds."""
    text = _fmt(method.get("ece"))
    spread = (method.get("spread") or {}).get("ece")
    if spread and text != "—":
        text += f" [{_fmt(spread[0])}, {_fmt(spread[1])}]"
    return text


def _suite_section(
    suite_id: str, cells: Sequence[Mapping[str, Any]], document: Mapping[str, Any], drawing: bool
) -> dict[str, Any]:
    from puma.report import plots

    overall = [c for c in cells if c["cell"]["slice"] is None]
    baseline = [c for c in overall if c["cell"]["perturbation"] == BASELINE]
    task = task_for(cells[0]["cell"]["task"], where=f"metrics of suite {suite_id}")
    columns = [(name, metric_label(name)) for name in task.metrics]
    chance_name = task.chance_names[task.headline_chance]
    headline = {
        "columns": ["model", "strategy", "n"]
        + [label for _, label in columns]
        + [f"{columns[0][1]} of {chance_name}", "Δ vs chance", "verdict"],
        "rows": [
            [c["cell"]["model"], c["cell"]["strategy"], str(c["n"])]
            + [metric_text(c["metrics"].get(key)) for key, _ in columns]
            + _headline_chance(c, task)
            for c in baseline
        ],
    }
    comparisons = [c for c in document["comparisons"] if c["suite_id"] == suite_id]
    forest = plots.forest_plot(comparisons, task.headline) if drawing else None
    comparison_rows = [
        [
            f"{c['a']} − {c['b']}",
            c["strategy"],
            c["metric"],
            metric_text(c["difference"]),
            _fmt(c["p_value"], 4),
            _fmt(c["p_adjusted"], 4),
            c["test"] + (f" ({c['note']})" if c.get("note") else ""),
        ]
        for c in comparisons
    ]
    confusion = []
    calibration_rows = []
    reliability: dict[str, Any] = {}
    for c in baseline:
        matrix = c["metrics"].get("confusion_matrix")
        if matrix and drawing:
            confusion.append(
                plots.confusion_plot(matrix["labels"], matrix["matrix"], c["cell"]["model"])
            )
        cal = c["metrics"].get("calibration")
        if cal:
            reliability[c["cell"]["model"]] = cal["reliability"]
            # metrics.json written before the rename call the multi-class Brier "brier".
            brier = cal.get("brier_multiclass", cal.get("brier"))
            row = [c["cell"]["model"]] + [
                metric_text(v) for v in (cal["ece"], cal["adaptive_ece"], brier, cal["nll"])
            ]
            methods = (cal.get("recalibration") or {}).get("methods", {})
            row += [_fmt(methods.get("none", {}).get("ece"))]
            row += [_spread(methods.get(m, {})) for m in ("temperature", "platt", "isotonic")]
            temperature = methods.get("temperature", {})
            row += [
                _fmt(temperature.get("temperature"), 2)
                + (" (at its bound)" if temperature.get("at_bound") else "")
            ]
            calibration_rows.append(row)
    outcomes = _outcome_tables(baseline)
    speed_rows = [
        [c["cell"]["model"], str(c["speed"]["n_calls"]), str(c["speed"]["n_errors"])]
        + [metric_text(c["speed"].get(key), digits) for key, _, digits in SPEED_COLUMNS]
        for c in baseline
        if c.get("speed")
    ]
    slice_rows = [
        [
            c["cell"]["model"],
            ", ".join(f"{k}={v}" for k, v in c["cell"]["slice"].items()),
            str(c["n"]),
        ]
        + [metric_text(c["metrics"].get(key)) for key, _ in columns[:2]]
        for c in cells
        if c["cell"]["slice"] is not None and c["cell"]["perturbation"] == BASELINE
    ]
    robustness = [
        [
            r["model"],
            r["perturbation"],
            str(r["n_pairs"]),
            metric_text(r["changes"].get(task.headline)),
            metric_text(r["flip_rate"]),
            str(r["flip_counts"]["to_correct"]),
            str(r["flip_counts"]["to_incorrect"]),
            metric_text(r["consistency"]),
        ]
        for r in document["robustness"]
        if r["suite_id"] == suite_id
    ]
    fairness = [
        [
            f["model"],
            f"{f['a']} − {f['b']}",
            str(f["n_pairs"]),
            metric_text(f["gaps"].get(task.headline)),
            _fmt(f["p_values"].get(task.headline), 4),
        ]
        for f in document["fairness"]
        if f["suite_id"] == suite_id
    ]
    return {
        "id": suite_id,
        "task": cells[0]["cell"]["task"],
        "primary": task.headline,
        "primary_column": columns[0][1],
        "secondary_column": columns[1][1],
        "headline": headline,
        "chance": _chance_rows(baseline, task),
        "chance_description": task.chance_description,
        "forest": forest,
        "comparisons": comparison_rows,
        "confusion": confusion,
        "reliability": plots.reliability_plot(reliability) if reliability and drawing else None,
        "calibration": calibration_rows,
        "fold_seeds": FOLD_SEEDS,
        "outcomes": outcomes,
        "outcomes_description": task.outcomes_description,
        "speed": speed_rows,
        "slices": slice_rows,
        "robustness": robustness,
        "fairness": fairness,
    }


def _outcome_tables(baseline: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """For cells that count their answers by outcome (python-tasks): the outcome names, one row
    of counts per (model, strategy), and one row per item with its outcome in each of them (or
    its counts, when the item was answered more than once). None for other cells."""
    cells = [c for c in baseline if c["metrics"].get("outcomes")]
    if not cells:
        return None
    kinds = list(dict.fromkeys(k for c in cells for k in c["metrics"]["outcomes"]))
    items = sorted({item for c in cells for item in c["metrics"].get("per_task") or {}})

    def said(value: Any) -> str:
        if isinstance(value, Mapping):
            return " · ".join(f"{kind} {count}" for kind, count in value.items())
        return "" if value is None else str(value)

    return {
        "kinds": kinds,
        "rows": [
            [c["cell"]["model"], c["cell"]["strategy"]]
            + [str(c["metrics"]["outcomes"].get(kind, 0)) for kind in kinds]
            for c in cells
        ],
        "columns": [f"{c['cell']['model']} · {c['cell']['strategy']}" for c in cells],
        "per_item": [
            [item] + [said((c["metrics"].get("per_task") or {}).get(item)) for c in cells]
            for item in items
        ],
    }


def render_report(
    document: Mapping[str, Any],
    speed_samples: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    title: str,
    warnings: Sequence[str] = (),
    plots_wanted: bool = True,
) -> str:
    """The report as one HTML string; the same document gives the same bytes. `warnings` are
    shown above everything (puma.answer_quality: suites with many answers without a label).
    Without `plots_wanted` the tables stay and the figures are left out (an imported log with
    dozens of subtasks would spend most of its time drawing them)."""
    from puma.report import plots

    drawing = plots.available() and plots_wanted

    by_suite: dict[str, list[Mapping[str, Any]]] = {}
    for cell in document["cells"]:
        by_suite.setdefault(cell["cell"]["suite_id"], []).append(cell)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        title=title,
        warnings=list(warnings),
        document=document,
        suites=[_suite_section(s, by_suite[s], document, drawing) for s in sorted(by_suite)],
        speed_plot=plots.speed_plot(speed_samples) if drawing else None,
        plots_missing=not plots.available(),
        plots_skipped=plots.available() and not plots_wanted,
        speed_columns=[label for _, label, _ in SPEED_COLUMNS],
        version=__version__,
    )
