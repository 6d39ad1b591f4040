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


CLASSIFICATION_COLUMNS = (
    ("accuracy", "accuracy"),
    ("f1_macro", "macro-F1"),
    ("kappa", "Cohen's κ"),
    ("parse_failure_rate", "parse failures"),
)
ESTIMATION_COLUMNS = (
    ("mae", "MAE"),
    ("mdae", "median AE"),
    ("mdmre", "MdMRE"),
    ("within_one_step", "within one step"),
    ("spearman", "Spearman ρ"),
    ("parse_failure_rate", "parse failures"),
)
SPEED_COLUMNS = (
    ("ttft_ms_p50", "TTFT p50 (ms)", 1),
    ("prompt_tps_p50", "prompt tok/s p50", 1),
    ("generation_tps_p50", "gen tok/s p50", 1),
    ("latency_ms_p50", "latency p50 (ms)", 1),
    ("latency_ms_p90", "latency p90 (ms)", 1),
    ("latency_ms_p99", "latency p99 (ms)", 1),
)
PRIMARY = {True: "accuracy", False: "mae"}


def _is_classification(cell: Mapping[str, Any]) -> bool:
    return "accuracy" in cell["metrics"]


def _suite_section(
    suite_id: str, cells: Sequence[Mapping[str, Any]], document: Mapping[str, Any]
) -> dict[str, Any]:
    from puma.report import plots

    overall = [c for c in cells if c["cell"]["slice"] is None]
    baseline = [c for c in overall if c["cell"]["perturbation"] == BASELINE]
    classification = _is_classification(cells[0])
    columns = CLASSIFICATION_COLUMNS if classification else ESTIMATION_COLUMNS
    headline = {
        "columns": ["model", "strategy", "n"] + [label for _, label in columns],
        "rows": [
            [c["cell"]["model"], c["cell"]["strategy"], str(c["n"])]
            + [metric_text(c["metrics"].get(key)) for key, _ in columns]
            for c in baseline
        ],
    }
    comparisons = [c for c in document["comparisons"] if c["suite_id"] == suite_id]
    drawing = plots.available()
    forest = plots.forest_plot(comparisons, PRIMARY[classification]) if drawing else None
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
    if classification:
        for c in baseline:
            matrix = c["metrics"]["confusion_matrix"]
            if drawing:
                confusion.append(
                    plots.confusion_plot(matrix["labels"], matrix["matrix"], c["cell"]["model"])
                )
            cal = c["metrics"].get("calibration")
            if cal:
                reliability[c["cell"]["model"]] = cal["reliability"]
                row = [c["cell"]["model"]] + [
                    metric_text(cal[k]) for k in ("ece", "adaptive_ece", "brier", "nll")
                ]
                methods = (cal.get("recalibration") or {}).get("methods", {})
                row += [
                    _fmt(methods.get(m, {}).get("ece"))
                    for m in ("none", "temperature", "platt", "isotonic")
                ]
                calibration_rows.append(row)
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
            metric_text(r["changes"].get(PRIMARY[classification])),
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
            metric_text(f["gaps"].get(PRIMARY[classification])),
            _fmt(f["p_values"].get(PRIMARY[classification]), 4),
        ]
        for f in document["fairness"]
        if f["suite_id"] == suite_id
    ]
    return {
        "id": suite_id,
        "task": cells[0]["cell"]["task"],
        "primary": PRIMARY[classification],
        "primary_column": columns[0][1],
        "secondary_column": columns[1][1],
        "headline": headline,
        "forest": forest,
        "comparisons": comparison_rows,
        "confusion": confusion,
        "reliability": plots.reliability_plot(reliability) if reliability and drawing else None,
        "calibration": calibration_rows,
        "speed": speed_rows,
        "slices": slice_rows,
        "robustness": robustness,
        "fairness": fairness,
    }


def render_report(
    document: Mapping[str, Any],
    speed_samples: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    title: str,
) -> str:
    """The report as one HTML string; the same document gives the same bytes."""
    from puma.report import plots

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
        document=document,
        suites=[_suite_section(s, by_suite[s], document) for s in sorted(by_suite)],
        speed_plot=plots.speed_plot(speed_samples) if plots.available() else None,
        plots_missing=not plots.available(),
        speed_columns=[label for _, label, _ in SPEED_COLUMNS],
        version=__version__,
    )
