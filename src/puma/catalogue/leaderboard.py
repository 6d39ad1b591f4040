"""The leaderboard: a pure function of a list of graded runs (`build_leaderboard`), so the
static catalogue and the registry (which keeps its runs in a database) compute the same one.

Per cell (device tag + model) and figure: the median of per-run figures with a 95 % interval
from a bootstrap clustered by contributor, the spread between runs, the rank interval from
interval overlap, outlier runs flagged (never dropped) and whether two or more contributors
reproduced it. Only shown runs graded flagship or standard count; archive-only runs are listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from puma.catalogue.runs import CatalogueRun, Grade, RunCell
from puma.catalogue.statistics import (
    clustered_median,
    finite,
    outliers,
    rank_intervals,
    spread,
)
from puma.stats.intervals import clean_float
from puma.submission.cells import cell_slug

LEADERBOARD_SCHEMA = "leaderboard-1.0"
# Minimum runs with a figure before a cell is ranked on it (Chatbot Arena ranks no model before
# it has enough votes); below it the median and spread are still shown.
MIN_RUNS_RANKED = 3


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Model):
    """A figure the leaderboard ranks cells by."""

    key: str  # "quality:<phase>", "generation_tps", ...
    label: str
    unit: str
    higher_is_better: bool
    digits: int  # decimals shown


class Estimate(_Model):
    median: float
    ci_low: float | None
    ci_high: float | None
    runs: int
    contributors: int
    p25: float
    p75: float
    min: float
    max: float
    ranked: bool
    rank_best: int | None = None
    rank_worst: int | None = None
    tie: bool = False  # another ranked cell shares the same rank interval start


class RunLink(_Model):
    run_id: str
    handle: str
    grade: Grade
    outlier_in: list[str]  # column keys where the run's figure is an outlier in its cell
    implausible: bool


class CellRow(_Model):
    cell_id: str
    slug: str
    device_tag: str
    model: str
    hardware_classes: list[str]
    runs: int  # ranked runs (shown, flagship or standard)
    contributors: int
    items: int  # quality items answered over the ranked runs
    reproduced: bool  # two or more contributors
    archive_only: int
    redacted: int
    implausible: int
    bound_tps: float | None
    estimates: dict[str, Estimate]
    run_links: list[RunLink]  # every shown run, ranked ones first


class Leaderboard(_Model):
    schema_version: str = LEADERBOARD_SCHEMA
    columns: list[Column]
    cells: list[CellRow]
    hardware_classes: list[str]
    models: list[str]
    runs: int  # every run given, redacted included
    ranked_runs: int
    contributors: int
    min_runs_ranked: int = MIN_RUNS_RANKED

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def outlier_index(self) -> dict[str, list[str]]:
        """run id -> the column keys where the run is an outlier in its cell (flagged runs only)."""
        return {
            link.run_id: link.outlier_in
            for cell in self.cells
            for link in cell.run_links
            if link.outlier_in
        }


SPEED_COLUMNS = (
    Column(
        key="generation_tps", label="generation", unit="tokens/s", higher_is_better=True, digits=1
    ),
    Column(key="prompt_tps", label="prompt", unit="tokens/s", higher_is_better=True, digits=0),
    Column(key="ttft_ms", label="TTFT", unit="ms", higher_is_better=False, digits=0),
    Column(
        key="joules_per_token", label="energy", unit="J/token", higher_is_better=False, digits=3
    ),
)


@dataclass
class _Figure:
    value: float
    handle: str
    run_id: str


@dataclass
class _Cell:
    """What the leaderboard keeps of a cell's runs while it reads them: a few numbers per run,
    so a catalogue of many thousands of runs stays small in memory."""

    device_tag: str
    model: str
    classes: set[str] = field(default_factory=set)
    figures: dict[str, list[_Figure]] = field(default_factory=dict)
    links: list[tuple[str, str, Grade, bool]] = field(default_factory=list)
    handles: set[str] = field(default_factory=set)
    items: int = 0
    runs: int = 0
    archive_only: int = 0
    redacted: int = 0
    implausible: int = 0
    bound: float | None = None


def build_leaderboard(runs: Iterable[CatalogueRun]) -> Leaderboard:
    """The leaderboard of these runs. Reads them once, in any order: the result does not depend
    on the order (cells, runs and contributors are sorted, the bootstrap is seeded per cell)."""
    cells: dict[str, _Cell] = {}
    quality_columns: dict[str, Column] = {}
    total = ranked_total = 0
    everyone: set[str] = set()
    for run in runs:
        total += 1
        for rc in run.cells:
            cell = cells.setdefault(rc.cell_id, _Cell(run.device_tag, rc.model))
            if not run.shown:
                cell.redacted += 1
                continue
            cell.classes.add(run.hardware.hardware_class)
            implausible = rc.plausibility.status == "implausible"
            cell.implausible += implausible
            if rc.plausibility.bound_tps is not None:
                cell.bound = rc.plausibility.bound_tps
            cell.links.append((run.run_id, run.handle, run.grade, implausible))
            if not run.ranked:
                cell.archive_only += 1
                continue
            cell.runs += 1
            cell.handles.add(run.handle)
            everyone.add(run.handle)
            for q in rc.quality:
                key = f"quality:{q.phase}"
                quality_columns.setdefault(
                    key,
                    Column(
                        key=key,
                        label=f"{q.phase} {q.metric}",
                        unit="",
                        higher_is_better=q.higher_is_better,
                        digits=3,
                    ),
                )
            cell.items += max((q.n_items for q in rc.quality), default=0)
            for key, value in _figures(rc).items():
                cell.figures.setdefault(key, []).append(_Figure(value, run.handle, run.run_id))
        ranked_total += run.ranked
    columns = [quality_columns[k] for k in sorted(quality_columns)] + list(SPEED_COLUMNS)
    rows = [_row(cell_id, cells[cell_id], columns) for cell_id in sorted(cells)]
    rows = _ranked(rows, columns)
    return Leaderboard(
        columns=columns,
        cells=rows,
        hardware_classes=sorted({c for row in rows for c in row.hardware_classes}),
        models=sorted({row.model for row in rows}),
        runs=total,
        ranked_runs=ranked_total,
        contributors=len(everyone),
    )


def _figures(rc: RunCell) -> dict[str, float]:
    out = {f"quality:{q.phase}": q.point for q in rc.quality}
    out.update(
        generation_tps=rc.generation_tps,
        prompt_tps=rc.prompt_tps,
        ttft_ms=rc.ttft_ms,
        joules_per_token=rc.joules_per_token,
    )
    return {k: v for k, v in out.items() if v is not None and finite(v)}


def _row(cell_id: str, cell: _Cell, columns: list[Column]) -> CellRow:
    estimates: dict[str, Estimate] = {}
    flagged: dict[str, list[str]] = {}
    for column in columns:
        figures = sorted(cell.figures.get(column.key, []), key=lambda f: f.run_id)
        if not figures:
            continue
        values = [f.value for f in figures]
        interval = clustered_median(
            values, [f.handle for f in figures], key=f"{cell_id}|{column.key}"
        )
        p25, p75, low, high = spread(values)
        estimates[column.key] = Estimate(
            median=_clean(interval.median),
            ci_low=None if interval.low is None else _clean(interval.low),
            ci_high=None if interval.high is None else _clean(interval.high),
            runs=len(figures),
            contributors=len({f.handle for f in figures}),
            p25=_clean(p25),
            p75=_clean(p75),
            min=_clean(low),
            max=_clean(high),
            ranked=len(figures) >= MIN_RUNS_RANKED and interval.low is not None,
        )
        for i in outliers(values):
            flagged.setdefault(figures[i].run_id, []).append(column.key)
    order = {"flagship": 0, "standard": 1, "archive-only": 2}
    links = [
        RunLink(
            run_id=run_id,
            handle=handle,
            grade=grade,
            outlier_in=flagged.get(run_id, []),
            implausible=implausible,
        )
        for run_id, handle, grade, implausible in sorted(
            cell.links, key=lambda link: (order[link[2]], link[0])
        )
    ]
    return CellRow(
        cell_id=cell_id,
        slug=cell_slug(cell_id),
        device_tag=cell.device_tag,
        model=cell.model,
        hardware_classes=sorted(cell.classes),
        runs=cell.runs,
        contributors=len(cell.handles),
        items=cell.items,
        reproduced=len(cell.handles) >= 2,
        archive_only=cell.archive_only,
        redacted=cell.redacted,
        implausible=cell.implausible,
        bound_tps=cell.bound,
        estimates=estimates,
        run_links=links,
    )


def _clean(value: float) -> float:
    cleaned = clean_float(value, 6)
    return 0.0 if cleaned is None else cleaned


def _ranked(rows: list[CellRow], columns: list[Column]) -> list[CellRow]:
    """Each ranked estimate with its rank interval among the cells ranked on that column."""
    updates: dict[int, dict[str, Estimate]] = {}
    for column in columns:
        members = [
            (i, row.estimates[column.key])
            for i, row in enumerate(rows)
            if column.key in row.estimates and row.estimates[column.key].ranked
        ]
        bounds = [
            (
                e.median if e.ci_low is None else e.ci_low,
                e.median if e.ci_high is None else e.ci_high,
            )
            for _, e in members
        ]
        ranks = rank_intervals(bounds, column.higher_is_better)
        starts = [best for best, _ in ranks]
        for (i, estimate), (best, worst) in zip(members, ranks, strict=True):
            updates.setdefault(i, {})[column.key] = estimate.model_copy(
                update={"rank_best": best, "rank_worst": worst, "tie": starts.count(best) > 1}
            )
    return [
        row.model_copy(update={"estimates": {**row.estimates, **updates.get(i, {})}})
        for i, row in enumerate(rows)
    ]
